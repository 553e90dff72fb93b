"""The README's "Stack outputs" table lists every output the program exports, with its type.

Every shipped stack (and the load-balancer example, and a stack with pools) is planned
offline; each output name must match one row (`<role>` standing for a role) and each row
must be exported by some plan, with a value of the row's type.
"""
from __future__ import annotations

import os
import re

from kubeports.core.paths import ROOT
from kubeports.core.spec import ROLES
from kubeports.plan.offline import run_plan
from tests.plans import STACK_FILES, plan_of, variant

README = os.path.join(ROOT, "README.md")
EXAMPLES = [os.path.join(ROOT, "examples", "api-load-balancer", f) for f in ("Pulumi.nlb.yaml", "Pulumi.octavia.yaml")]
TYPES = {"map": dict, "list": list, "string": str, "number": int}


def table() -> dict[str, str]:
    """output pattern -> its type column."""
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## Stack outputs", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|", section, flags=re.MULTILINE))


def row_of(name: str, rows: dict[str, str]) -> str | None:
    for pattern in rows:
        regex = re.escape(pattern).replace(re.escape("<role>"), "(" + "|".join(map(re.escape, ROLES)) + ")")
        if re.fullmatch(regex, name):
            return pattern
    return None


def plans(tmp_path) -> list:
    def pools(config):
        config["kubeports:cluster"]["roles"]["worker"] = {"pools": {"default": {"count": 1}, "gpu": {"count": 1}}}
    pooled = run_plan(variant(tmp_path, os.path.join(ROOT, "Pulumi.dev.yaml"), "dev", pools))
    return [plan_of(s) for s in STACK_FILES + EXAMPLES] + [pooled]


def test_the_outputs_table_matches_what_the_program_exports(tmp_path):
    rows = table()
    seen: dict[str, set[type]] = {}
    for plan in plans(tmp_path):
        for name, value in plan.outputs.items():
            row = row_of(name, rows)
            assert row is not None, f"output {name} is missing from the README's Stack outputs table"
            seen.setdefault(row, set()).add(type(value))
    assert sorted(seen) == sorted(rows), "the table lists outputs no stack exports"
    for row, types in seen.items():
        want = TYPES[rows[row].split(":")[0].split()[0]]
        assert types == {want}, (row, types)
