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


def _scale_module():
    import importlib.util
    sys.path.insert(0, BENCH)  # scale.py imports its sibling _util, as it does when run
    try:
        spec = importlib.util.spec_from_file_location("bench_scale", os.path.join(BENCH, "scale.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(BENCH)
    return module


def _row(nodes: int, resources: int, plan: float, bare: float, typed: float) -> dict:
    return {"cloud": "aws", "nodes": nodes,
            "plan": {"cpu": plan, "resources": resources, "rss_mb": 100.0},
            "floor": {"cpu": bare, "resources": resources}, "typed": {"cpu": typed, "resources": resources}}


def test_scale_verdict_states_each_floors_own_spread():
    """A rise the typed floor shares while the bare floor stays flat is the resources' own
    cost: the verdict prints each floor's ms/res per size beside the plan's."""
    scale = _scale_module()
    rows = [_row(100, 200, 0.24, 0.076, 0.20), _row(5000, 5000, 7.25, 1.90, 7.10)]
    lines = scale.verdict(rows).splitlines()
    assert "- aws: ms/res from 100 to 5,000 nodes: 1.20 -> 1.45 (spread 21%; flat: not met, target within 15%)." in lines
    assert ("  The floors' own ms/res over the same sizes (what registering these resources costs without "
            "kubeports; the mix of servers and rules moves them as it moves the plan): "
            "bare 0.38 -> 0.38 (0%); typed 1.00 -> 1.42 (42%).") in lines
    # a floor not measured at every size is left out, not printed from part of the sizes
    del rows[1]["floor"]
    assert scale.floor_spreads(rows) == ["typed 1.00 -> 1.42 (42%)"]
