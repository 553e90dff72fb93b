"""README.md promises: generated port tables are current; documented keys exist."""
from __future__ import annotations

import re

from kubeports.settings import ClusterSettings, StackConfig
from tests.readme_tables import BEGIN, END, README, generated, render


def readme() -> str:
    with open(README, encoding="utf-8") as handle:
        return handle.read()


def test_the_resolved_port_tables_are_not_stale():
    text = readme()
    assert BEGIN in text and END in text
    assert render(text) == text, "README port tables are stale: run `make docs`"


def test_a_catalog_change_would_make_them_stale():
    text = readme()
    tampered = text.replace(generated(), generated().replace("| 6443 |", "| 6444 |", 1))
    assert render(tampered) != tampered


def test_every_stack_config_key_is_documented():
    text = readme()
    keys = [f"kubeports:{f.alias or n}" for n, f in StackConfig.model_fields.items()]
    keys += [f.alias or n for n, f in ClusterSettings.model_fields.items()]
    for key in keys:
        assert re.search(rf"`{re.escape(key)}`", text), f"README does not document `{key}`"


def test_the_two_commands_are_there():
    text = readme()
    assert "make plan" in text and "make test" in text
