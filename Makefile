# The two commands for a fresh machine (see README): `make plan` and `make test`.
# Both create .venv and install kubeports with its dev tools on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))

.PHONY: plan test lint docs install

install: $(BIN)/kubeports

$(BIN)/kubeports: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The offline plan of the example stack: Pulumi's mock runtime, no cloud, no credentials.
plan: install
	$(BIN)/kubeports plan --stack $(STACK)

lint: install
	$(BIN)/ruff check .
	$(BIN)/kubeports lint
	$(BIN)/kubeports schema --check
	$(BIN)/python -m kubeports.provider --check

# The whole suite: lint, then every test (the real-packet test needs root, else it skips).
test: lint
	$(BIN)/pytest

# Regenerate the resolved port tables embedded in README.md.
docs: install
	$(BIN)/python -m tests.doc_tables --write
