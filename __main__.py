"""kubeports Pulumi program: stack config -> port catalog -> resolved rules -> cloud -> components.

Wiring only. Everything that decides a port lives in kubeports/ (pure, testable without
Pulumi); everything that creates a resource lives in components/. Bad input stops the
program here, with `path:line: field: message`, before any resource is registered.
"""
import pulumi

from kubeports.components import Cluster, ClusterArgs, backend_for
from kubeports.components.peers import PeerStack, peer_group_ids
from kubeports.components.runtime_config import kubeports_config
from kubeports.core.errors import KubeportsError
from kubeports.core.project import Project, load_project, stack_path


def load() -> Project:
    try:
        return load_project(stack_path(pulumi.get_stack()), config=kubeports_config())
    except KubeportsError as exc:
        raise pulumi.RunError(str(exc)) from None


def one_port(project: Project, name: str) -> int:
    low, high = project.port(name)
    if low != high:
        raise pulumi.RunError(f"kubeports:cluster.ports.{name}: a listener needs one port, not the range {low}-{high}")
    return low


def main() -> None:
    project = load()
    for note in project.resolution.notes:
        pulumi.log.info(f"kubeports: {note}")
    stack = project.stack
    cluster = Cluster(
        stack.cluster.name,
        ClusterArgs(
            backend=backend_for(stack),
            rules=project.resolution.rules,
            routes_pod_ips=project.routes_pod_ips,
            peer_group_ids=peer_group_ids(stack, PeerStack(stack.peer_stack) if stack.peer_stack else None),
            api_port=project.port("kube-apiserver")[0],
            api_lb_port=one_port(project, "kube-apiserver-lb") if "load-balancer" in stack.cluster.roles else None,
        ),
    )
    pulumi.export("security_group_ids", cluster.security_group_ids)
    pulumi.export("api_endpoint", cluster.api_endpoint)
    for role, component in cluster.roles.items():
        pulumi.export(f"{role}_instance_ids", component.instance_ids)
        pulumi.export(f"{role}_private_ips", component.private_ips)
        if component.public:
            pulumi.export(f"{role}_public_ips", component.public_ips)
    # image pins and rollout steps: `kubeports plan`/`diff` read them (docs/lifecycle.md)
    pulumi.export("images", {role: c.images for role, c in cluster.roles.items()})
    pulumi.export("lifecycle", {role: c.lifecycle for role, c in cluster.roles.items()})
    if cluster.load_balancer is not None:
        pulumi.export("load_balancer_address", cluster.load_balancer.address)
    pulumi.export("rule_count", len(project.resolution.rules))


if __name__ == "__main__":  # Pulumi runs this file as __main__; importing it creates nothing
    main()
