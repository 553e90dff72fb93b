"""A cluster from a stack's `kubeports:*` config: the wiring of `__main__.py`, in one call.

A stand-in until `Cluster.from_config(name, config, opts)` (issue 17 item 2, branch
issue-17-pools) lands in kubeports.components; then provider.py calls that and this file
goes. It does what `__main__.py` does: load and check the project (every refusal before
any resource), log its notes, read the peer stack's groups, then build the Cluster.
"""
from __future__ import annotations

from typing import Any

import pulumi

from kubeports.components import Cluster, ClusterArgs, backend_for
from kubeports.components.peers import PeerStack, peer_group_ids
from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.project import Project, load_project
from kubeports.core.settings import LOAD_BALANCER


def from_config(name: str, config: dict[str, Any], opts: pulumi.ResourceOptions | None, where: str) -> Cluster:
    """`config`: `kubeports:<key>` -> value, as a stack file's `config:` holds them; `where`
    names them in errors (there is no file, so every problem is on line 1)."""
    project = load_project(where, config=config)
    for note in project.resolution.notes:
        pulumi.log.info(f"kubeports: {note}")
    stack = project.stack
    return Cluster(name, ClusterArgs(
        backend=backend_for(stack),
        rules=project.resolution.rules,
        routes_pod_ips=project.routes_pod_ips,
        peer_group_ids=peer_group_ids(stack, PeerStack(stack.peer_stack) if stack.peer_stack else None),
        api_port=project.port("kube-apiserver")[0],
        api_lb_port=_one_port(project, "kube-apiserver-lb", where) if LOAD_BALANCER in stack.cluster.roles else None,
    ), opts)


def _one_port(project: Project, name: str, where: str) -> int:
    low, high = project.port(name)
    if low != high:
        raise KubeportsError([Problem(where, 1, f"kubeports:cluster.ports.{name}",
                                      f"a listener needs one port, not the range {low}-{high}")])
    return low
