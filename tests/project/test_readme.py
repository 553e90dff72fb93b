"""Docs promises: generated port tables are current; every config key is documented;
the README is a front door (the two commands, a map of the docs, under 200 lines)."""
from __future__ import annotations

import os
import re

from kubeports.core.paths import ROOT
from kubeports.core.settings import ClusterSettings, StackConfig
from tests.doc_tables import BEGIN, END, README, generated, render

FRONT_DOOR = os.path.join(ROOT, "README.md")
CONFIGURATION = os.path.join(ROOT, "docs", "configuration.md")


def readme(path: str = README) -> str:
    with open(path, encoding="utf-8") as handle:
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
    text = readme(CONFIGURATION)
    keys = [f"kubeports:{f.alias or n}" for n, f in StackConfig.model_fields.items()]
    keys += [f.alias or n for n, f in ClusterSettings.model_fields.items()]
    for key in keys:
        assert re.search(rf"`{re.escape(key)}`", text), f"README does not document `{key}`"


def test_the_readme_is_a_front_door():
    text = readme(FRONT_DOOR)
    assert "make plan" in text and "make test" in text
    assert len(text.splitlines()) < 200
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert os.path.exists(os.path.join(ROOT, link)), link
    assert len(re.findall(r"\]\((docs/[^)]+)\)", text)) == len(os.listdir(os.path.join(ROOT, "docs")))
