"""The rules each cloud really receives: the resolver's rules after the cloud module's
peer expansion, computed here so the safety check sees them before anything is registered.

Rules of this file:
- pure and pulumi-free: `components/clouds/*` call these functions when they render, and
  `safety.py` calls them on the resolved rules, so the two can never disagree;
- one expansion rule per cloud (see `rendered_rules`); a cloud that renders a rule as it
  is (AWS: a group reference stays a group reference) returns it unchanged;
- a value only known at `pulumi up` (an Octavia floating IP) is left to the cloud module;
  it is only ever an egress peer, and the safety check guards ingress.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .rules import Rule, cidr_label
from .settings import LOAD_BALANCER, StackConfig

# The API's listener on the load-balancer role: clients connect to `kube-apiserver-lb`,
# members (control-plane) get `kube-apiserver`.
API_LISTENER = ("kube-apiserver", "kube-apiserver-lb", "control-plane", "kube-apiserver")


@dataclass(frozen=True)
class Listener:
    """One port of a load balancer: clients connect to `port`, members of `target_role` get `target_port`.

    `name` names its resources (e.g. `kube-apiserver`): content, never a position."""

    name: str
    port: int
    target_role: str
    target_port: int


def api_listeners(stack: StackConfig, port_of: Mapping[str, tuple[int, int]]) -> tuple[Listener, ...]:
    """The listeners of this stack's own load balancer (none without a local load-balancer role)."""
    if LOAD_BALANCER not in stack.cluster.roles:
        return ()
    name, port, role, target = API_LISTENER
    return (Listener(name, port_of[port][0], role, port_of[target][0]),)


def family(cidr: str) -> str:
    return "IPv4" if ipaddress.ip_network(cidr).version == 4 else "IPv6"


def admits_port(rule: Rule, port: int) -> bool:
    """Does `rule` let TCP to `port` through (the listeners are TCP)? Protocol 0 is all."""
    if rule.protocol in ("all", "0"):
        return True
    return rule.protocol == "tcp" and (rule.from_port is None or rule.from_port <= port <= (rule.to_port or port))


def listener_sources(listener: Listener, rules: Sequence[Rule], subnet_cidr: str) -> tuple[str, ...]:
    """The CIDRs the load balancer's own ingress rules admit to `listener`, in the VIP's
    family (the VIP sits in `subnet_cidr`): CIDR peers as they are, role peers as the subnet."""
    vip_family = family(subnet_cidr)
    found = {rule.peer if rule.peer_kind == "cidr" else subnet_cidr for rule in rules
             if rule.role == LOAD_BALANCER and rule.direction == "ingress" and rule.ethertype == vip_family
             and admits_port(rule, listener.port)}
    return tuple(sorted(found))  # Octavia's order: the CIDR strings (its primary key)


def octavia_cidrs(rule: Rule, provider: str, subnet_cidr: str, listeners: Sequence[Listener],
                  clients: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str]]:
    """The CIDRs standing in for the `load-balancer` peer of `rule` on OpenStack: (label, cidr, why).

    amphora: the amphorae reach members from their port in the member subnet; ovn: members
    see the client's own address (clients of a listener forwarding to that role and port)
    and health checks from the member subnet; egress: the VIP in the member subnet."""
    out: dict[str, tuple[str, str]] = {}
    if family(subnet_cidr) == rule.ethertype:
        why = {"amphora": "amphora port in the member subnet",
               "ovn": "OVN health-check port in the member subnet"}[provider]
        out[cidr_label(subnet_cidr)] = (subnet_cidr, why if rule.direction == "ingress" else
                                        "the load balancer's VIP in the member subnet")
    if rule.direction == "ingress" and provider == "ovn":
        for lis in listeners:
            if lis.target_role == rule.role and admits_port(rule, lis.target_port):
                for cidr in clients.get(lis.name, ()):
                    if family(cidr) == rule.ethertype:
                        out.setdefault(cidr_label(cidr), (cidr, f"OVN keeps the address of {lis.name} clients"))
    return [(label, cidr, why) for label, (cidr, why) in sorted(out.items())]


def octavia_clients(stack: StackConfig, rules: Sequence[Rule],
                    listeners: Sequence[Listener]) -> dict[str, tuple[str, ...]]:
    settings = stack.openstack
    assert settings is not None and settings.subnet_cidr is not None  # StackConfig checks both
    return {lis.name: listener_sources(lis, rules, settings.subnet_cidr) for lis in listeners}


def rendered_rules(stack: StackConfig, rules: Sequence[Rule], listeners: Sequence[Listener]) -> tuple[Rule, ...]:
    """What the cloud's rule resources let through, as Rules (CIDR peers where the cloud gets CIDRs).

    - aws: as resolved (the NLB has a group; a rule naming it references it);
    - openstack: the load-balancer role's own rules become listener filters, not node
      rules (left out); a rule whose peer is `load-balancer` becomes one CIDR rule per
      address of `octavia_cidrs`, as `components/clouds/openstack.py` creates them."""
    if stack.cloud != "openstack" or LOAD_BALANCER not in stack.cluster.present_roles:
        return tuple(rules)
    settings = stack.openstack
    assert settings is not None and settings.subnet_cidr is not None
    clients = octavia_clients(stack, rules, listeners)
    out: list[Rule] = []
    for rule in rules:
        if rule.role == LOAD_BALANCER:
            continue
        if rule.peer_kind == "role" and rule.peer == LOAD_BALANCER:
            for _label, cidr, why in octavia_cidrs(rule, settings.lb_provider, settings.subnet_cidr, listeners,
                                                   clients):
                out.append(replace(rule, peer_kind="cidr", peer=cidr,
                                   description=f"{rule.description} (load balancer: {why})"))
            continue
        out.append(rule)
    return tuple(out)
