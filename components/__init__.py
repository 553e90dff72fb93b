"""Pulumi components of kubeports: one ComponentResource per node role, and a Cluster.

Usage in another stack (an extra worker pool):

    from components import Worker, NodeRoleArgs, backend_for
"""
from .backend import CloudBackend, backend_for
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
