"""What one `pulumi up` does to each role's nodes: which nodes it replaces, in which
order (create-first or delete-first), and whether that is within the role's rollout
limits. Pure: reads two plans' JSON and their diff (kubeports.plan.compare), no pulumi.

Rules of this file:
- a node is a server (OpenStack Instance, AWS Instance); it counts as replaced when the
  server is replaced, deleted, or held by nothing while its port is re-created;
- the limits come from the new plan's `lifecycle` output (maxUnavailable per role, or
  per pool: a role with pools is one step per pool, `role/pool`, its nodes told apart by
  their names, `lifecycle.<role>.pools.<pool>.nodes` + `-<index>`) and
  from kubeports.core.quorum.replaceable_at_once (etcd quorum); a step over either is
  a refusal `kubeports diff` prints first;
- image notes come from the `images` output: a pinned name that now resolves elsewhere,
  an unpinned name (held by ignoreChanges).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeports.core.quorum import replaceable_at_once

from .compare import PlanDiff

SERVER_TYPES = ("openstack:compute/instance:Instance", "aws:ec2/instance:Instance")


@dataclass(frozen=True)
class NodeStep:
    name: str
    action: str  # replace / delete / create
    order: str  # create-first / delete-first / "" (a plain create or delete)


@dataclass(frozen=True)
class RoleStep:
    role: str
    count: int
    max_unavailable: int
    nodes: tuple[NodeStep, ...]
    quorum_limit: int
    step: int | None = None
    steps_to_finish: int = 0

    @property
    def replaced(self) -> int:
        return sum(1 for n in self.nodes if n.action in ("replace", "delete"))

    @property
    def problems(self) -> list[str]:
        out = []
        if self.replaced > self.max_unavailable:
            out.append(f"{self.role}: this step replaces {self.replaced} nodes, more than maxUnavailable "
                       f"{self.max_unavailable}; change node settings through `rollout`")
        if self.replaced > self.quorum_limit:
            out.append(f"{self.role}: replacing {self.replaced} of {self.count} nodes at once breaks quorum "
                       f"(at most {self.quorum_limit})")
        return out


def _options(plan: Mapping[str, Any]) -> Mapping[str, Any]:
    return plan.get("options") or {}


def role_steps(plan_diff: PlanDiff, old_plan: Mapping[str, Any], new_plan: Mapping[str, Any]) -> list[RoleStep]:
    """One RoleStep per role with nodes in either plan."""
    lifecycle: Mapping[str, Any] = (new_plan.get("outputs") or {}).get("lifecycle") or {}
    options = {**_options(old_plan), **_options(new_plan)}
    by_role: dict[str, list[NodeStep]] = {}
    for change in plan_diff.changes:
        if change.type not in SERVER_TYPES or change.role is None:
            continue
        if change.action == "replace":
            order = "delete-first" if options.get(change.urn, {}).get("deleteBeforeReplace") else "create-first"
            by_role.setdefault(change.role, []).append(NodeStep(change.name, "replace", order))
        elif change.action in ("create", "delete"):
            by_role.setdefault(change.role, []).append(NodeStep(change.name, change.action, ""))
    by_role, limits = _by_pool(by_role, lifecycle)
    roles = sorted(set(by_role) | set(limits))
    out = []
    for role in roles:
        info = limits.get(role) or {}
        count = int(info.get("count", 0))
        out.append(RoleStep(role, count, int(info.get("maxUnavailable", 1)), tuple(sorted(by_role.get(role, []),
                            key=lambda n: n.name)), replaceable_at_once(role, count, lifecycle),
                            info.get("step"), int(info.get("stepsToFinish", 0))))
    return out


def _by_pool(by_role: dict[str, list[NodeStep]], lifecycle: Mapping[str, Any]) -> tuple[dict, dict]:
    """Nodes and limits with each role that has pools split into its pools (`role/pool`)."""
    nodes: dict[str, list[NodeStep]] = {}
    limits: dict[str, Any] = {}
    for role in sorted(set(by_role) | set(lifecycle)):
        info = lifecycle.get(role) or {}
        pools = info.get("pools") if isinstance(info, Mapping) else None
        if not isinstance(pools, Mapping):
            nodes[role], limits[role] = by_role.get(role, []), info
            continue
        for step in by_role.get(role, []):
            owner = next((name for name, pool in sorted(pools.items()) if _named_by(step.name, pool.get("nodes"))), None)
            nodes.setdefault(f"{role}/{owner}" if owner else role, []).append(step)
        limits.update({f"{role}/{name}": pool for name, pool in pools.items()})
    return {k: v for k, v in nodes.items() if v}, limits


def _named_by(node: str, prefix: Any) -> bool:
    """`dev-worker-gpu-3` is a node of the pool whose names start `dev-worker-gpu`."""
    return isinstance(prefix, str) and node.startswith(prefix + "-") and node[len(prefix) + 1:].isdigit()


def image_notes(outputs: Mapping[str, Any]) -> list[str]:
    """What plan and diff say about image names: one line each."""
    notes = []
    for role, refs in sorted((outputs.get("images") or {}).items()):
        for ref in refs or []:
            if ref.get("pinned") is None:
                notes.append(f"{role}: image {ref['image']!r} is not pinned; it resolves to {ref['resolved']} now, "
                             f"and nodes keep the image they were created with (ignoreChanges); pin it with "
                             f"imageId: {ref['resolved']}")
            elif ref.get("moved") and ref.get("rollout"):
                notes.append(f"{role}: rollout moves nodes to {ref['pinned']}; image {ref['image']!r} resolves to "
                             f"{ref['resolved']} now")
            elif ref.get("moved"):
                notes.append(f"{role}: image {ref['image']!r} now points to {ref['resolved']}, not the pinned "
                             f"{ref['pinned']}; nodes stay on {ref['pinned']} until a rollout moves them")
    return notes


def to_markdown(steps: list[RoleStep], notes: list[str]) -> str:
    """The `kubeports diff` section: refusals first, then nodes per role."""
    out = []
    problems = [p for s in steps for p in s.problems]
    if problems:
        out.append("**Refused (rollout limits):**\n" + "".join(f"- {p}\n" for p in problems) + "\n")
    touched = [s for s in steps if s.nodes]
    if touched or any(s.step is not None for s in steps):
        out.append("| Role | Step | Nodes replaced (limit) | Nodes | Order |\n|------|-----:|------:|------|------|\n")
        for s in steps:
            if not s.nodes and s.step is None:
                continue
            step = f"{s.step}/{s.steps_to_finish}" if s.step is not None else "-"
            names = ", ".join(f"{n.name} ({n.action})" for n in s.nodes) or "none"
            orders = ", ".join(sorted({n.order for n in s.nodes if n.order})) or "-"
            out.append(f"| {s.role} | {step} | {s.replaced} ({min(s.max_unavailable, s.quorum_limit)}) | {names} "
                       f"| {orders} |\n")
    if notes:
        out.append("\n**Images:**\n" + "".join(f"- {n}\n" for n in notes))
    return ("**Nodes this `pulumi up` replaces**\n\n" + "".join(out)) if out else ""  # no heading: the comment has one per stack


def to_text(steps: list[RoleStep], notes: list[str]) -> str:
    """The same section as to_markdown, as plain text for a terminal (no markup)."""
    out = []
    problems = [p for s in steps for p in s.problems]
    if problems:
        out += ["  Refused (rollout limits):", *(f"    - {p}" for p in problems), ""]
    rows = [(s.role, f"{s.step}/{s.steps_to_finish}" if s.step is not None else "-",
             f"{s.replaced} ({min(s.max_unavailable, s.quorum_limit)})",
             ", ".join(f"{n.name} ({n.action})" for n in s.nodes) or "none",
             ", ".join(sorted({n.order for n in s.nodes if n.order})) or "-")
            for s in steps if s.nodes or s.step is not None]
    if rows:
        table = [("Role", "Step", "Nodes replaced (limit)", "Nodes", "Order"), *rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        out += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[4]
                for row in table]
    text = "Nodes this `pulumi up` replaces:\n" + "".join(f"{line}\n" for line in out) if out else ""
    if notes:  # the heading only over nodes: a note about images alone replaces nothing
        text += ("\n" if text else "") + "Images:\n" + "".join(f"  - {n}\n" for n in notes)
    return text
