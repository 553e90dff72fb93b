"""A second worker pool for a cluster that the main kubeports project created.

A Pulumi project of its own (own state, own `pulumi up`) that uses kubeports as a
package. Its only local role is `worker`; the roles in `kubeports:cluster.externalRoles`
stay in the main stack, named by `kubeports:peerStack`, whose `security_group_ids`
output gives their group ids (a StackReference). The resolver then yields, besides the
pool's own rules, the flows across the two stacks:
- rules on the pool's workers that reference a main group (kubelet 10250 from the
  control plane), and
- rules on a main group that reference the pool's workers (the API, 6443, from the
  pool): this stack creates them, attached to the main stack's group id.
Flows between two workers are also made between the pool's and the main stack's
worker groups, both ways (`sibling_group_ids`), so the pools reach each other.

All config is `kubeports:*`, validated exactly as in the main project.
"""
import os

import pulumi

from kubeports.components import Cluster, ClusterArgs, backend_for
from kubeports.components.peers import PeerStack, peer_group_ids
from kubeports.components.runtime_config import kubeports_config
from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project, stack_path

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    try:
        project = load_project(stack_path(pulumi.get_stack(), root=HERE), config=kubeports_config())
    except KubeportsError as exc:
        raise pulumi.RunError(str(exc)) from None
    stack = project.stack
    if stack.peer_stack is None:
        raise pulumi.RunError("kubeports:peerStack: required; name the main stack, e.g. acme/kubeports/dev")
    main_stack = PeerStack(stack.peer_stack)
    cluster = Cluster(stack.cluster.name, ClusterArgs(
        backend=backend_for(stack),
        rules=project.resolution.rules,
        routes_pod_ips=project.routes_pod_ips,
        peer_group_ids=peer_group_ids(stack, main_stack),
        sibling_group_ids={role: main_stack.group_id(role) for role in stack.cluster.roles},
        api_port=project.port("kube-apiserver")[0],
    ))
    for note in project.resolution.notes:
        pulumi.log.info(f"kubeports: {note}")
    pulumi.export("security_group_ids", cluster.security_group_ids)
    for role, component in cluster.roles.items():
        pulumi.export(f"{role}_instance_ids", component.instance_ids)
        pulumi.export(f"{role}_private_ips", component.private_ips)


if __name__ == "__main__":
    main()
