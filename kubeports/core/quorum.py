"""How many nodes of a role one step may replace without an outage. Pure, and with no
import, so the diff's review (kubeports.plan.rollout) needs no settings model to ask.

Rules of this file: etcd voters keep a majority; a control plane beside an etcd role keeps
one API server; a stateless role may replace every node at once.
"""
from __future__ import annotations

from collections.abc import Container

# Roles whose nodes hold state. etcd members vote; a control plane holds the etcd members
# unless the cluster has its own etcd role (then it only needs one API server left up).
STATEFUL_ROLES = ("control-plane", "etcd")


def replaceable_at_once(role: str, count: int, roles: Container[str]) -> int:
    """How many of a role's `count` nodes one step may replace without an outage: (n-1)//2
    for etcd voters (a majority stays up), n-1 for a control plane beside an etcd role,
    every node for a stateless role."""
    if role == "etcd" or (role == "control-plane" and "etcd" not in roles):
        return (count - 1) // 2
    if role == "control-plane":
        return count - 1
    return count
