"""Closed by default, whatever a stack overrides: no CIDR may reach a sensitive port.

Flows marked `sensitive: true` (etcd, kubelet, kube-scheduler, kube-controller-manager)
name only roles, so they never open to the world by themselves. Another flow can still
cover their ports by accident, e.g. a NodePort range moved to 10000-11000 swallows the
kubelet's 10250 and opens it to `nodeport-clients`. This check runs after resolution, on
the final rules, and again on the rules as each cloud module renders them
(`rendered.rendered_rules`: on OpenStack a `load-balancer` peer becomes the member subnet
or the listener's clients), so no combination of overrides, CIDR sets and cloud
expansions gets past it. Protocol 0 counts as all protocols (the policy pack and AWS
read it so).
"""
from __future__ import annotations

from .catalog import Catalog
from .rendered import Guarded, Listener, octavia_clients, reaches_guarded, rendered_rules
from .resolver import FALLBACK, KUBELET_ROLES, applies
from .rules import Rule
from .settings import LOAD_BALANCER, ClusterSettings, StackConfig


def listeners(names: list[str]) -> frozenset[str]:
    """Roles where a flow's `to` may listen: `nodes` expanded, an absent etcd stacked."""
    roles = set(names) | (set(KUBELET_ROLES) if "nodes" in names else set())
    return frozenset(roles | {FALLBACK[r] for r in roles if r in FALLBACK})


def sensitive_ports(catalog: Catalog, cluster: ClusterSettings) -> list[Guarded]:
    """(protocol, low, high, purpose, listening roles) of every sensitive flow of this stack."""
    out = []
    for sourced in catalog.flows:
        flow = sourced.flow
        if not (flow.sensitive and applies(sourced.file_when, cluster) and applies(flow.when, cluster)):
            continue
        protocols = ("tcp", "udp") if flow.protocol == "tcp+udp" else (flow.protocol,)
        for port in flow.ports or ():
            low, high = (cluster.ports.get(port) or catalog.ports[port]) if isinstance(port, str) else port
            out += [(proto, low, high, flow.purpose, listeners(flow.to)) for proto in protocols]
    for spec in catalog.files.values():  # loopback-bound, yet a wide flow could still open them
        for entry in spec.local_only:
            if entry.sensitive and applies(spec.when, cluster):
                for port in entry.ports:
                    low, high = (cluster.ports.get(port) or catalog.ports[port]) if isinstance(port, str) else port
                    protocols = ("tcp", "udp") if entry.protocol == "tcp+udp" else (entry.protocol,)
                    out += [(proto, low, high, entry.purpose, listeners(entry.roles)) for proto in protocols]
    return sorted(set(out), key=repr)


def exposure_problems(catalog: Catalog, cluster: ClusterSettings, rules: tuple[Rule, ...]) -> list[str]:
    problems = []
    guarded = sensitive_ports(catalog, cluster)
    for rule in rules:
        # Pods are cluster members: in native routing their addresses are a rule's peer (the limit this leaves
        # is in docs/promises.md); podCidrs can never be every address (settings refuses /0).
        if rule.direction != "ingress" or rule.peer_kind != "cidr" or rule.peer in cluster.pod_cidrs:
            continue
        for proto, low, high, purpose, _roles in reaches_guarded(rule, guarded):
            problems.append(f"rule {rule.key} ({rule.description}) would let {rule.peer} reach {purpose} "
                            f"({proto} {low}-{high}), which only cluster roles may reach; "
                            "check kubeports:cluster.ports and cidrs")
    return sorted(set(problems))


def rendered_problems(catalog: Catalog, stack: StackConfig, rules: tuple[Rule, ...],
                      listeners: tuple[Listener, ...]) -> list[str]:
    """What the cloud module would refuse (or would open) once it expands peers, found
    before anything is registered."""
    problems = []
    cluster = stack.cluster
    if stack.cloud == "openstack" and LOAD_BALANCER in cluster.present_roles:
        settings = stack.openstack
        assert settings is not None
        if LOAD_BALANCER in cluster.external_roles and settings.lb_provider == "ovn":
            for rule in rules:
                if rule.direction == "ingress" and rule.peer_kind == "role" and rule.peer == LOAD_BALANCER:
                    problems.append(f"{rule.key}: with the OVN provider, members see the clients of a load "
                                    "balancer another stack manages; kubeports cannot know them here")
        for name, sources in octavia_clients(stack, rules, listeners).items():
            if not sources:  # an empty allowed_cidrs means everyone
                port = next(lis.port for lis in listeners if lis.name == name)
                problems.append(f"no rule lets anyone reach the load balancer's {name} port {port}")
    return sorted(set(problems + exposure_problems(catalog, cluster, rendered_rules(stack, rules, listeners))))
