"""From a stack's `kubeports:` config to a Cluster's inputs: everything a program wires.

`Cluster.from_stack_config()` and `Cluster.from_config(name, config)` (components/cluster.py)
are built on this file; `__main__.py`, examples/worker-pool and the component package
use them, so every program wires a stack the same way. Rules of this file:
- the stack is loaded, validated and resolved by kubeports.core.project.load_project,
  so a Cluster made from config refuses exactly what `kubeports lint`, `rules` and `plan`
  refuse, one `path:line: field: message` per problem, raised as pulumi.RunError before
  any resource is registered;
- the config is the stack-config shape as plain data: keys as a stack file has them
  (`kubeports:cluster`) or without the namespace (`cluster`, as a component package's
  inputs are); keys of other namespaces (`aws:region`) are not ours and are left out;
- the only resource made here is the read of `kubeports:peerStack` (a StackReference):
  with it, external roles without a pinned `peerGroups` id and the local roles' sibling
  groups come from that stack's `security_group_ids` output.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi

from kubeports.core.errors import KubeportsError
from kubeports.core.notes import summarize
from kubeports.core.project import Project, load_project
from kubeports.core.quota import project_usage
from kubeports.core.settings import LOAD_BALANCER, NAMESPACE

from .choice import backend_for
from .peers import PeerStack, peer_group_ids, peer_quota_usage

CONFIG_SOURCE = "(config)"  # where errors of config given as plain data point


def namespaced(config: Mapping[str, Any]) -> dict[str, Any]:
    """`cluster` -> `kubeports:cluster`; `kubeports:cluster` stays; `aws:region` is not ours."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            continue
        if ":" not in key:
            out[NAMESPACE + key] = value
        elif key.startswith(NAMESPACE):
            out[key] = value
    return out


def load(config: Mapping[str, Any], stack_file: str | None = None) -> Project:
    """The stack, checked and resolved; a stack file (when it exists) only gives line numbers."""
    try:
        return load_project(stack_file or CONFIG_SOURCE, config=namespaced(config))
    except KubeportsError as exc:
        raise pulumi.RunError(str(exc)) from None  # the plan reads the KubeportsError from the context


def running_stack_file(root: str | None = None) -> str:
    """The running stack's file: `Pulumi.<stack>.yaml` in `root` (default: the directory
    Pulumi runs the program in, the project's); `kubeports plan` points it elsewhere."""
    return os.environ.get("KUBEPORTS_STACK_FILE") or os.path.join(root or os.getcwd(), f"Pulumi.{pulumi.get_stack()}.yaml")


def cluster_inputs(project: Project, name: str, opts: pulumi.ResourceOptions | None = None,
                   stack_file: str | None = None) -> dict[str, Any]:
    """ClusterArgs' keyword arguments for `project`, as `__main__.py` wired them by hand.
    With `kubeports:peerStack` the peer's `quota_usage` is read and counted first (the
    shared project's quota preflight: pulumi.RunError, before any resource is registered)."""
    stack = project.stack
    peer_ids: dict[str, pulumi.Input[str]] = peer_group_ids(stack)
    siblings: dict[str, pulumi.Input[str]] = {}
    sibling_roles = tuple(sorted(r for r in stack.cluster.roles if r != LOAD_BALANCER)) if stack.peer_stack else ()
    try:
        peer_usage = peer_quota_usage(project, stack_file or CONFIG_SOURCE, sibling_roles)
    except KubeportsError as exc:
        raise pulumi.RunError(str(exc)) from None  # the plan reads the KubeportsError from the context
    if stack.peer_stack is not None:
        parent = opts.parent if opts is not None else None
        peer = PeerStack(stack.peer_stack, f"{name}-peer-stack", pulumi.ResourceOptions(parent=parent))
        peer_ids = peer_group_ids(stack, peer)
        # Nodes of a role the peer stack also has (a second pool of its workers) reach its
        # nodes of that role both ways; the peer stack must export a group for each.
        siblings = {role: peer.group_id(role) for role in sibling_roles}
    has_lb = LOAD_BALANCER in stack.cluster.roles
    return {
        "backend": backend_for(stack),
        "rules": project.cloud_rules,  # what the cloud is sent (issue 19 opt-ins), else the resolved rules
        "routes_pod_ips": project.routes_pod_ips,
        "peer_group_ids": peer_ids,
        "sibling_group_ids": siblings,
        "api_port": project.port("kube-apiserver")[0],
        # one port: check_settings refuses a range for a listener (resolver.SINGLE_PORTS)
        "api_lb_port": project.port("kube-apiserver-lb")[0] if has_lb else None,
        "quota_usage": project_usage(stack.cloud, project.cloud_rules, stack.cluster, peer_usage, sibling_roles),
    }


def log_notes(project: Project) -> None:
    """What the resolver noted, in the engine's log as the CLI prints it: warnings in full,
    routine notes as one summary line (kubeports.core.notes) naming the command that lists them."""
    hint = f"`kubeports rules --stack {pulumi.get_stack()} -v` lists them"
    for note in summarize(project.resolution.notes, hint=hint):
        pulumi.log.info(f"kubeports: {note}")
