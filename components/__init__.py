"""Pulumi components of kubeports: one ComponentResource per node role, and a Cluster.

Usage in any Pulumi program (`pip install git+https://…/kubeports.git`); the stack's
`kubeports:*` config is validated exactly as in the main project:

    import pulumi
    from kubeports.components import Cluster, ClusterArgs, backend_for
    from kubeports.core.project import load_project
    from kubeports.components.runtime_config import kubeports_config

    project = load_project(f"Pulumi.{pulumi.get_stack()}.yaml", config=kubeports_config())
    cluster = Cluster(project.stack.cluster.name, ClusterArgs(
        backend=backend_for(project.stack), rules=project.resolution.rules,
        routes_pod_ips=project.routes_pod_ips, peer_group_ids=project.stack.peer_groups,
        api_port=project.port("kube-apiserver")[0]))
    pulumi.export("security_group_ids", cluster.security_group_ids)

A pool joining a cluster of another stack: see examples/worker-pool/.
"""
from kubeports.core.settings import StackConfig

from .backend import CloudBackend
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


def backend_for(stack: StackConfig) -> CloudBackend:
    """The backend of `stack.cloud` (`kubeports:cloud`), configured by the stack's settings.

    The choice lives here, above the interface (backend.py) and its implementations
    (clouds/), so neither imports the other's siblings."""
    # Imported lazily: each provider SDK is large, and a stack needs only one.
    if stack.cloud == "aws":
        from .clouds.aws import AwsBackend

        return AwsBackend(stack)
    from .clouds.openstack import OpenStackBackend

    return OpenStackBackend(stack)
