"""Rules between two stacks' nodes of one role (a second worker pool beside the main
stack's workers), pure: the Cluster component renders them, the quota preflight counts them.

Rules of this file:
- for each rule between two nodes of a role in `siblings`, the same rule towards the other
  stack's group (peer `<role>-sibling`) and its mirror on that group: both ways, so the
  pools reach each other; the alias only names the group in rule keys
  (e.g. `worker-in-proto4-from-worker-sibling-v4`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .rules import Rule

SIBLING_SUFFIX = "-sibling"


def sibling_rules(rules: Sequence[Rule], siblings: Sequence[str]) -> list[Rule]:
    out: list[Rule] = []
    for rule in rules:
        if rule.peer_kind == "role" and rule.peer == rule.role and rule.role in siblings:
            alias = rule.role + SIBLING_SUFFIX
            out += [replace(rule, peer=alias), replace(rule, role=alias)]
    return out
