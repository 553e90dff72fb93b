"""Group ids of another stack's roles, for a stack that joins its cluster.

A stack names the roles another stack manages in `kubeports:cluster.externalRoles`.
Their group ids come from `kubeports:peerGroups` (pinned ids) or, for the rest, from
the `security_group_ids` output of `kubeports:peerStack`, read with one StackReference.
Either way they reach the Cluster as `ClusterArgs.peer_group_ids`.
"""
from __future__ import annotations

import pulumi

from kubeports.core.settings import StackConfig


class PeerStack:
    """Another stack's `security_group_ids` output (role -> group id), read with a StackReference.

    :param stack_name: the stack, as `pulumi stack ls` shows it (e.g. `acme/kubeports/dev`).
    :param resource_name: the StackReference's name in this stack.
    :param opts: its resource options (e.g. the parent of a component that reads it).
    """

    def __init__(self, stack_name: str, resource_name: str = "peer-stack", opts: pulumi.ResourceOptions | None = None):
        self.stack_name = stack_name
        self.reference = pulumi.StackReference(resource_name, stack_name=stack_name, opts=opts)
        self.group_ids: pulumi.Output[dict[str, str]] = self.reference.require_output("security_group_ids")

    def group_id(self, role: str) -> pulumi.Output[str]:
        """The group id of `role` in that stack; fails (at deploy time) if it exports none."""
        def pick(ids: dict[str, str]) -> str:
            if role not in ids:
                raise KeyError(f"stack {self.stack_name} exports no security group for role {role} "
                               f"(it has {sorted(ids)})")
            return ids[role]
        return self.group_ids.apply(pick)


def peer_group_ids(stack: StackConfig, peer: PeerStack | None = None) -> dict[str, pulumi.Input[str]]:
    """The group id of each external role: `kubeports:peerGroups` if pinned there, else from `peer`."""
    pinned: dict[str, pulumi.Input[str]] = dict(stack.peer_groups)
    if peer is None:
        return pinned
    return {**{role: peer.group_id(role) for role in stack.cluster.external_roles if role not in pinned}, **pinned}
