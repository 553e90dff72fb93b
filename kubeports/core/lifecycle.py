"""Rolling replacement, pure: which settings each node of a role runs in this `pulumi up`.

Rules of this file:
- nodes move in a fixed order, by index: at rollout step k the nodes 0 .. k*m-1 run the
  rollout's settings (m = maxUnavailable), the others keep the role's; so step k
  replaces exactly the nodes (k-1)*m .. k*m-1 and each `pulumi up` is one step;
- every node's settings are explicit (a per-node pin), so an offline plan shows what
  each node runs, and two plans compare node by node;
- a role with pools rolls out per pool: each pool has its own rollout, step and
  maxUnavailable, as if it were a role of its own;
- a node's `generation` is a digest of its settings as written (never of a lookup
  result): it names the node's port, so a node whose settings move gets a new port
  and its server can be created before the old one is deleted (see components/clouds/).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from .settings import NodeSettings, RoleSettings, pool_prefix

NODE_FIELDS = tuple(NodeSettings.model_fields)


@dataclass(frozen=True)
class NodeSlot:
    """One node of a role in this step."""

    index: int
    settings: NodeSettings  # what this node runs (the role's or the rollout's)
    moved: bool  # runs the rollout's settings
    replacing: bool  # moves in this very step
    generation: str  # 8 hex digits of `settings`

    @property
    def pinned(self) -> bool:
        return self.settings.image_id is not None


def effective(base: NodeSettings, override: NodeSettings | None) -> NodeSettings:
    """`override`'s fields where it sets them, else `base`'s. A rollout naming a new image
    without its id leaves the old pin behind, which would hold the old image: a new
    `image` clears the pin unless the rollout pins it too."""
    if override is None:
        return NodeSettings.model_construct(**{f: getattr(base, f) for f in NODE_FIELDS})
    values = {f: getattr(base, f) for f in NODE_FIELDS}
    values.update({f: getattr(override, f) for f in NODE_FIELDS if getattr(override, f) is not None})
    if override.image is not None and override.image_id is None:
        values["image_id"] = None
    return NodeSettings.model_construct(**values)  # every value was validated where it was read


def generation(settings: NodeSettings) -> str:
    text = json.dumps({f: getattr(settings, f) for f in NODE_FIELDS}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def steps_to_finish(role: RoleSettings) -> int:
    return math.ceil(role.count / role.max_unavailable) if role.count else 0


def node_slots(role: RoleSettings) -> tuple[NodeSlot, ...]:
    # A role's nodes run one of two settings (the role's, the rollout's): each digested once.
    base = effective(role, None)
    base_generation = generation(base)
    if role.rollout is None:
        return tuple(NodeSlot(i, base, False, False, base_generation) for i in range(role.count))
    new = effective(role, role.rollout)
    new_generation = generation(new)
    moved_upto = min(role.count, role.rollout.step * role.max_unavailable)
    first_now = min(role.count, (role.rollout.step - 1) * role.max_unavailable) if role.rollout.step else moved_upto
    return tuple(NodeSlot(i, new, True, first_now <= i, new_generation) if i < moved_upto
                 else NodeSlot(i, base, False, False, base_generation) for i in range(role.count))


def rollout_status(role_name: str, role: RoleSettings) -> dict:
    """What the stack exports as `lifecycle.<role>`: the plan and `kubeports diff` read it."""
    slots = node_slots(role)
    out: dict = {"count": role.count, "maxUnavailable": role.max_unavailable, "stepsToFinish": steps_to_finish(role)}
    if role.rollout is not None:
        done = all(s.moved for s in slots)
        out.update(step=role.rollout.step, replacing=[s.index for s in slots if s.replacing],
                   moved=sum(s.moved for s in slots), done=done)
        if done:
            where = "pool" if "/" in role_name else "role"
            out["next"] = (f"{role_name}: rollout done; move the rollout's settings into the {where} and remove "
                           "`rollout` (no node changes)")
    return out


def role_lifecycle(cluster: str, role_name: str, role: RoleSettings) -> dict:
    """`lifecycle.<role>`: rollout_status, or for a role with pools the totals and, under
    `pools`, each pool's rollout_status with `nodes`, the prefix of its node names."""
    if role.pools is None:
        return rollout_status(role_name, role)
    pools = {name: {**rollout_status(f"{role_name}/{name}", settings), "nodes": pool_prefix(cluster, role_name, name)}
             for name, settings in role.node_pools()}
    return {"count": role.count, "maxUnavailable": sum(p["maxUnavailable"] for p in pools.values()),
            "stepsToFinish": max(p["stepsToFinish"] for p in pools.values()), "pools": pools}
