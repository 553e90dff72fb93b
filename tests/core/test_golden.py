"""Golden snapshots of `kubeports rules --format json|markdown` for every example stack.

A change to the catalog, the resolver or a stack shows up here as a diff to review.
Regenerate after reviewing it:  UPDATE_GOLDEN=1 .venv/bin/pytest tests/core/test_golden.py
"""
from __future__ import annotations

import difflib
import glob
import os

import pytest

from kubeports.core.paths import ROOT

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
STACKS = sorted(os.path.basename(p)[len("Pulumi."):-len(".yaml")] for p in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
FORMATS = {"json": "json", "markdown": "md"}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check(path: str, actual: str) -> None:
    if UPDATE:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(actual)
        return
    name = os.path.relpath(path, ROOT)
    if not os.path.exists(path):
        pytest.fail(f"{name} is missing; review the output and run UPDATE_GOLDEN=1 .venv/bin/pytest tests/core/test_golden.py")
    with open(path, encoding="utf-8") as handle:
        expected = handle.read()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            fromfile=f"{name} (golden)", tofile=f"{name} (now)"))
        pytest.fail(f"output differs from {name}; if the change is intended, run "
                    f"UPDATE_GOLDEN=1 .venv/bin/pytest tests/core/test_golden.py\n{diff}", pytrace=False)


def test_there_are_stacks():
    assert len(STACKS) >= 4


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("stack", STACKS)
def test_rules_match_the_golden_snapshot(run_cli, stack, fmt):
    code, out, err = run_cli("rules", "--stack", stack, "--format", fmt)
    assert code == 0, err
    assert out.strip()
    check(os.path.join(GOLDEN, f"{stack}.{FORMATS[fmt]}"), out)


def test_no_snapshot_without_a_stack():
    """A golden file whose stack is gone would never be checked again."""
    if UPDATE:
        for path in glob.glob(os.path.join(GOLDEN, "*")):
            name, ext = os.path.splitext(os.path.basename(path))
            if name not in STACKS and ext in (".json", ".md"):
                os.remove(path)
    wanted = {f"{s}.{ext}" for s in STACKS for ext in FORMATS.values()}
    present = set(os.listdir(GOLDEN)) if os.path.isdir(GOLDEN) else set()
    assert present - wanted == set(), "golden files without a stack; run UPDATE_GOLDEN=1 to remove them"
