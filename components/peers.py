"""Group ids of another stack's roles, for a stack that joins its cluster.

A stack names the roles another stack manages in `kubeports:cluster.externalRoles`.
Their group ids come from `kubeports:peerGroups` (pinned ids) or, for the rest, from
the `security_group_ids` output of `kubeports:peerStack`, read with one StackReference.
Either way they reach the Cluster as `ClusterArgs.peer_group_ids`.

`peer_outputs` reads the same outputs as plain values, now: the quota preflight of a
stack that joins another one's project needs the other's `quota_usage` before anything
is registered (an Output would resolve only during the deployment).
"""
from __future__ import annotations

import pulumi

from kubeports.core.project import Project, check_peer_quota
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


def peer_outputs(stack_name: str) -> dict:
    """The outputs of `stack_name` as plain values, through the engine's builtin invoke
    `pulumi:pulumi:readStackOutputs` (what a StackReference's Read runs, and what the Node
    SDK's synchronous StackReference reads call); under the offline plan's mocks it answers
    from `--stack-outputs`. Secret outputs come back as they are stored (none is read here)."""
    result = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": stack_name})
    return dict((result.value or {}).get("outputs") or {})


def peer_quota_usage(project: Project, stack_file: str, siblings: tuple[str, ...] = ()) -> dict | None:
    """The peer stack's `quota_usage` once this stack's preflight has counted it (raises
    KubeportsError, one line per quota, when the shared project cannot hold both); None
    without a peer stack on OpenStack, or when the peer exports none (a note says so).
    `siblings`: the roles passed as the Cluster's `sibling_group_ids`."""
    stack = project.stack
    if stack.peer_stack is None or stack.cloud != "openstack":
        return None
    counts, notes = check_peer_quota(project, stack_file, peer_outputs(stack.peer_stack).get("quota_usage"),
                                    siblings)
    for note in notes:
        pulumi.log.warn(f"kubeports: {note}")
    return counts


def peer_group_ids(stack: StackConfig, peer: PeerStack | None = None) -> dict[str, pulumi.Input[str]]:
    """The group id of each external role: `kubeports:peerGroups` if pinned there, else from `peer`."""
    pinned: dict[str, pulumi.Input[str]] = dict(stack.peer_groups)
    if peer is None:
        return pinned
    return {**{role: peer.group_id(role) for role in stack.cluster.external_roles if role not in pinned}, **pinned}
