"""The README's "Stack outputs" table lists every output the program exports, with its type.

Every shipped stack (and the load-balancer and node-pools examples) is planned
offline; each output name must match one row (`<role>` standing for a role) and each row
must be exported by some plan, with a value of the row's type.
"""
from __future__ import annotations

import os
import re

from kubeports.core.paths import ROOT
from kubeports.core.spec import ROLES
from tests.plans import STACK_FILES, plan_of

README = os.path.join(ROOT, "README.md")
EXAMPLES = [os.path.join(ROOT, "examples", "api-load-balancer", f) for f in ("Pulumi.nlb.yaml", "Pulumi.octavia.yaml")]
EXAMPLES += [os.path.join(ROOT, "examples", "node-pools", f) for f in ("Pulumi.pools.yaml", "Pulumi.pools-aws.yaml")]
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


def test_the_outputs_table_matches_what_the_program_exports():
    rows = table()
    seen: dict[str, set[type]] = {}
    for plan in [plan_of(s) for s in STACK_FILES + EXAMPLES]:
        for name, value in plan.outputs.items():
            row = row_of(name, rows)
            assert row is not None, f"output {name} is missing from the README's Stack outputs table"
            seen.setdefault(row, set()).add(type(value))
    assert sorted(seen) == sorted(rows), "the table lists outputs no stack exports"
    for row, types in seen.items():
        want = TYPES[rows[row].split(":")[0].split()[0]]
        assert types == {want}, (row, types)
