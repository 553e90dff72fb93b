"""Pulumi components of kubeports: one ComponentResource per node role, and a Cluster.

Usage in any Pulumi program (`pip install kubeports`): one line does all the wiring of
the running stack's `kubeports:*` config (validated exactly as in the main project:
bad input stops the program with `path:line: field: message`), including
`kubeports:peerStack`, the API load balancer's port, sibling groups and the resolver's
notes, and exports the stack outputs the README lists:

    from kubeports.components import Cluster

    Cluster.from_stack_config().export()

`Cluster.from_config(name, config)` takes the same config as plain data (what a
component package's inputs are); `Cluster(name, ClusterArgs(...))` with
`backend_for(stack)` stays for programs that wire by hand. A pool joining a cluster
of another stack: see examples/worker-pool/.
"""
from .backend import CloudBackend
from .choice import backend_for
from .cluster import Cluster, ClusterArgs
from .loadbalancer import LoadBalancer, LoadBalancerArgs
from .roles import (
    Bastion,
    ControlPlane,
    Etcd,
    NodeRole,
    NodeRoleArgs,
    RancherServer,
    Registry,
    Worker,
)

__all__ = [
    "Bastion", "CloudBackend", "Cluster", "ClusterArgs", "ControlPlane", "Etcd", "LoadBalancer", "LoadBalancerArgs",
    "NodeRole", "NodeRoleArgs", "RancherServer", "Registry", "Worker", "backend_for",
]
