"""The bench scripts run and print a markdown table (tiny sizes; no timing is asserted)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubeports.core.paths import ROOT

BENCH = os.path.join(ROOT, "bench")


def run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, os.path.join(BENCH, script), *args], capture_output=True, text=True,
                          cwd="/", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not set(line) <= set("|-: ")]


@pytest.mark.parametrize(("script", "args", "first_cells"), [
    ("rules.py", ("--stacks", "dev", "--no-details"), ["dev", "openstack"]),
    ("diff.py", ("--stacks", "dev", "--edits", "reorder,add-port"), ["dev", "add-port"]),
    ("scale.py", ("--sizes", "10", "--clouds", "openstack", "--no-replay"), ["openstack", "10"]),
])
def test_script_prints_a_markdown_table(script, args, first_cells):
    out = run(script, *args)
    rows = table_rows(out)
    assert rows[0][0] in ("Stack", "Cloud"), out
    assert any(row[: len(first_cells)] == first_cells for row in rows[1:]), out
    if script == "scale.py":
        assert "### Profile: openstack, 10 nodes" in out and "Top 15 functions by own time" in out
        # the fair floor registers the plan's own requests (inputs, aliases and other options), or it compares nothing
        assert "- The typed floor registered exactly the plan's inputs and options." in out, out


def test_usage_is_documented():
    for script in ("rules.py", "diff.py", "scale.py"):
        text = open(os.path.join(BENCH, script), encoding="utf-8").read()
        assert "Usage:" in text.split('"""')[1], script
