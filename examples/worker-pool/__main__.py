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
worker groups, both ways (sibling groups), so the pools reach each other.
`Cluster.from_stack_config()` wires all of it; this file only insists on a peer stack.

All config is `kubeports:*`, validated exactly as in the main project. Pools of one
role inside one stack need no second project: `kubeports:cluster.roles.worker.pools`
(docs/configuration.md).
"""
import os

import pulumi

from kubeports.components import Cluster

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    if not pulumi.Config("kubeports").get("peerStack"):
        raise pulumi.RunError(f"{os.path.join(HERE, f'Pulumi.{pulumi.get_stack()}.yaml')}:1: kubeports:peerStack: "
                              "required; name the main stack, e.g. acme/kubeports/dev")
    Cluster.from_stack_config(stack_file=os.environ.get("KUBEPORTS_STACK_FILE")
                              or os.path.join(HERE, f"Pulumi.{pulumi.get_stack()}.yaml")).export()


if __name__ == "__main__":
    main()
