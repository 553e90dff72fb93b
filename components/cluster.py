"""The Cluster component: every role of a stack, wired to one resolved rule list.

Order matters and is the point of this file: first every role (its group and VMs),
then every rule as its own resource. A rule on the control plane may reference the
worker group and vice versa; with groups first there is no cycle.
Rules on a role another stack manages (externalRoles) attach to that stack's group,
whose id comes from `peer_group_ids` (e.g. a StackReference output).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from kubeports.rules import Rule

from .backend import CloudBackend
from .roles import ROLE_CLASSES, NodeRole, NodeRoleArgs


class ClusterArgs:
    """:param rules: the resolver's output for this stack.
    :param routes_pod_ips: the CNI mode routes pod IPs natively.
    :param peer_group_ids: group ids of the stack's externalRoles.
    :param api_port: the API server port as resolved (overrides included)."""

    def __init__(self, backend: CloudBackend, rules: Sequence[Rule], routes_pod_ips: bool = False,
                 peer_group_ids: Mapping[str, pulumi.Input[str]] | None = None, api_port: int = 6443):
        self.backend = backend
        self.rules = tuple(rules)
        self.routes_pod_ips = routes_pod_ips
        self.peer_group_ids = dict(peer_group_ids or {})
        self.api_port = api_port


class Cluster(pulumi.ComponentResource):
    roles: dict[str, NodeRole]
    security_group_ids: dict[str, pulumi.Output[str]]
    api_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kubeports:index:Cluster", name, None, opts)
        cluster = args.backend.cluster
        self.roles = {
            role: ROLE_CLASSES[role](f"{name}-{role}", NodeRoleArgs(args.backend, settings, args.routes_pod_ips),
                                     pulumi.ResourceOptions(parent=self))
            for role, settings in sorted(cluster.roles.items())
        }
        group_ids: dict[str, pulumi.Input[str]] = {**args.peer_group_ids}
        group_ids.update({role: comp.security_group_id for role, comp in self.roles.items()})
        missing = sorted({r.role for r in args.rules} - set(group_ids))
        if missing:
            raise ValueError(f"rules name roles with no group id: {missing}; set kubeports:peerGroups")
        for role, comp in self.roles.items():
            comp.add_rules([r for r in args.rules if r.role == role], group_ids)
        external = [r for r in args.rules if r.role not in self.roles]
        args.backend.rules(external, group_ids, lambda _rule: pulumi.ResourceOptions(parent=self))
        self.security_group_ids = {role: comp.security_group_id for role, comp in self.roles.items()}
        self.api_endpoint = self._api_endpoint(args)
        self.register_outputs({"security_group_ids": self.security_group_ids, "api_endpoint": self.api_endpoint})

    def _api_endpoint(self, args: ClusterArgs) -> pulumi.Output[str]:
        control_plane = self.roles.get("control-plane")
        if control_plane is None:
            return pulumi.Output.from_input("")
        return control_plane.private_ips.apply(lambda ips: f"https://{ips[0]}:{args.api_port}" if ips else "")
