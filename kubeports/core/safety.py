"""Closed by default, whatever a stack overrides: no CIDR may reach a sensitive port.

Flows marked `sensitive: true` (etcd, kubelet, kube-scheduler, kube-controller-manager)
name only roles, so they never open to the world by themselves. Another flow can still
cover their ports by accident, e.g. a NodePort range moved to 10000-11000 swallows the
kubelet's 10250 and opens it to `nodeport-clients`. This check runs after resolution, on
the final rules, so no combination of overrides and CIDR sets gets past it.
"""
from __future__ import annotations

from .catalog import Catalog
from .resolver import FALLBACK, KUBELET_ROLES, applies
from .rules import Rule
from .settings import ClusterSettings


def listeners(names: list[str]) -> frozenset[str]:
    """Roles where a flow's `to` may listen: `nodes` expanded, an absent etcd stacked."""
    roles = set(names) | (set(KUBELET_ROLES) if "nodes" in names else set())
    return frozenset(roles | {FALLBACK[r] for r in roles if r in FALLBACK})


def sensitive_ports(catalog: Catalog, cluster: ClusterSettings) -> list[tuple[str, int, int, str, frozenset[str]]]:
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
    return sorted(set(out), key=repr)


def exposure_problems(catalog: Catalog, cluster: ClusterSettings, rules: tuple[Rule, ...]) -> list[str]:
    problems = []
    guarded = sensitive_ports(catalog, cluster)
    for rule in rules:
        # Pods are cluster members: in native routing their addresses are a rule's peer (the limit this leaves
        # is in docs/promises.md); podCidrs can never be every address (settings refuses /0).
        if rule.direction != "ingress" or rule.peer_kind != "cidr" or rule.peer in cluster.pod_cidrs:
            continue
        for proto, low, high, purpose, roles in guarded:
            if rule.role not in roles:
                continue
            same_proto = rule.protocol in (proto, "all")
            overlaps = rule.from_port is None or (rule.from_port <= high and low <= rule.to_port)  # type: ignore[operator]
            if same_proto and overlaps:
                problems.append(f"rule {rule.key} ({rule.description}) would let {rule.peer} reach {purpose} "
                                f"({proto} {low}-{high}), which only cluster roles may reach; "
                                "check kubeports:cluster.ports and cidrs")
    return sorted(set(problems))
