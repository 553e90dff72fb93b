"""The rules each cloud really receives: the resolver's rules after the cloud module's
peer expansion, computed here so the safety check sees them before anything is registered.

Rules of this file:
- pure and pulumi-free: `components/clouds/*` call these functions when they render, and
  `safety.py` calls them on the resolved rules, so the two can never disagree;
- one expansion rule per cloud (see `rendered_rules`); a cloud that renders a rule as it
  is (AWS: a group reference stays a group reference) returns it unchanged;
- a value only known at `pulumi up` (an Octavia floating IP) is left to the cloud module;
  it is only ever an egress peer, and the safety check guards ingress;
- `cloud_rules` is what the stack hands its Cluster: the per-CIDR rules, or with the
  stack's opt-ins (issue 19) one rule per flow and CIDR set (`set` peers) and node-to-node
  rules on the subnet's prefix. Both refuse to weaken a sensitive port: a set rule reaching
  one stays per-CIDR where the cloud may ignore address groups (Neutron with an unstated
  firewall), a role rule reaching one keeps its group; `rendered_rules` then expands set
  peers to their entries, so the safety check sees every address a set rule admits.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .resolver import describe
from .rules import Rule, cidr_label
from .settings import LOAD_BALANCER, StackConfig
from .shards import aws_units

# A sensitive port of a stack (safety.sensitive_ports): protocol, low, high, purpose, listening roles.
Guarded = tuple[str, int, int, str, frozenset[str]]
ALL_PROTOCOLS = ("all", "0")  # IP protocol 0 reads as "all" to AWS and the policy pack

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
    found = {peer for rule in rules
             if rule.role == LOAD_BALANCER and rule.direction == "ingress" and rule.ethertype == vip_family
             and admits_port(rule, listener.port)
             for peer in {"cidr": (rule.peer,), "set": rule.members}.get(rule.peer_kind, (subnet_cidr,))}
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

    `rules` are `cloud_rules`: a `set` peer admits each of its entries (one CIDR rule each here).

    - aws: as resolved (the NLB has a group; a rule naming it references it);
    - openstack: the load-balancer role's own rules become listener filters, not node
      rules (left out); a rule whose peer is `load-balancer` becomes one CIDR rule per
      address of `octavia_cidrs`, as `components/clouds/openstack.py` creates them."""
    rules = expand_sets(rules)
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


def reaches_guarded(rule: Rule, guarded: Sequence[Guarded]) -> list[Guarded]:
    """The sensitive ports an ingress rule lets its peer reach (protocol 0 counts as all)."""
    if rule.direction != "ingress":
        return []
    return [g for g in guarded if rule.role in g[4] and rule.protocol in (g[0], *ALL_PROTOCOLS)
            and (rule.from_port is None or (rule.from_port <= g[2] and g[1] <= rule.to_port))]  # type: ignore[operator]


def expand_sets(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """Each `set` rule as one CIDR rule per entry: what it admits."""
    out: list[Rule] = []
    for rule in rules:
        if rule.peer_kind != "set":
            out.append(rule)
            continue
        out += [replace(rule, peer_kind="cidr", peer=cidr, members=()) for cidr in rule.members]
    return tuple(out)


def cloud_rules(stack: StackConfig, rules: Sequence[Rule], set_rules: Sequence[Rule] | None,
                guarded: Sequence[Guarded]) -> tuple[Rule, ...]:
    """The rules the stack's Cluster renders: `rules` (per CIDR), or with `stack.set_peers` the
    set resolution `set_rules`, and with `stack.subnet_peers` node-to-node rules on the subnet."""
    out: Sequence[Rule] = rules
    if stack.set_peers:
        assert set_rules is not None  # load_project resolves them when the stack opts in
        out = _set_peers(stack, set_rules, guarded)
    if stack.subnet_peers is not None:
        out = _subnet_peers(stack, out, stack.subnet_peers, guarded)
    return merged(out)


def per_cidr(stack: StackConfig, rule: Rule, guarded: Sequence[Guarded]) -> bool:
    """A set rule the cloud cannot render as one: Octavia's listeners take CIDRs only, and a
    Neutron that may ignore address groups (firewall unstated) never gets one on a sensitive port."""
    if stack.cloud == "openstack" and rule.role == LOAD_BALANCER:
        return True
    return not stack.sets_reach_sensitive and bool(reaches_guarded(rule, guarded))


def _set_peers(stack: StackConfig, set_rules: Sequence[Rule], guarded: Sequence[Guarded]) -> list[Rule]:
    out: list[Rule] = []
    for rule in set_rules:
        if rule.peer_kind == "set" and per_cidr(stack, rule, guarded):
            out += expand_sets((rule,))
        else:
            out.append(rule)
    return out


def subnet_peer_roles(stack: StackConfig) -> frozenset[str]:
    """Roles whose VMs this stack puts in `subnetId`: local roles with VMs."""
    return frozenset(r for r in stack.cluster.roles if r != LOAD_BALANCER)


def subnet_peer(stack: StackConfig, rule: Rule, subnet: str, guarded: Sequence[Guarded]) -> bool:
    """Does this node-to-node rule name the subnet instead of its peer's group? Not when the
    peer is another stack's (its VMs may sit elsewhere), not in the other family, and never
    when it reaches a sensitive port: any VM of the subnet would then reach it."""
    roles = subnet_peer_roles(stack)
    return (rule.peer_kind == "role" and rule.peer in roles and rule.role in roles
            and rule.ethertype == family(subnet) and not reaches_guarded(rule, guarded))


def _subnet_peers(stack: StackConfig, rules: Sequence[Rule], subnet: str, guarded: Sequence[Guarded]) -> list[Rule]:
    return [replace(rule, peer_kind="cidr", peer=subnet) if subnet_peer(stack, rule, subnet, guarded) else rule
            for rule in rules]


def merged(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """Rules with one identity become one (Neutron refuses a duplicate with 409): purposes and
    sources joined, sorted as the resolver sorts."""
    by_identity: dict[tuple, list[Rule]] = {}
    for rule in rules:
        by_identity.setdefault(rule.identity, []).append(rule)
    out = []
    for same in by_identity.values():
        first = same[0]
        if len(same) > 1:
            first = replace(first, description=describe(p for r in same for p in _purposes(r.description)),
                            sources=tuple(sorted({s for r in same for s in r.sources})))
        out.append(first)
    return tuple(sorted(out, key=Rule.sort_key))


def _purposes(description: str) -> list[str]:
    return [p for p in description.split("; ") if p and not (p.startswith("+") and p.endswith(" more"))]


NEUTRON_BUG = ("Neutron's iptables and iptables_hybrid firewall drivers ignored remote_address_group_id until "
               "bug 2058138 was fixed (2024): on a cloud without the fix each such rule admits every address on "
               "its ports")


def mode_notes(stack: StackConfig, resolved: Sequence[Rule], set_rules: Sequence[Rule] | None,
               guarded: Sequence[Guarded]) -> list[str]:
    """What the stack's opt-ins change and risk, for `rules`, `plan` and `pulumi up` to print."""
    notes = []
    if stack.set_peers and set_rules is not None:
        sets = [r for r in set_rules if r.peer_kind == "set"]
        kept = [r for r in sets if per_cidr(stack, r, guarded)]
        lists = len({(r.peer, r.ethertype) for r in sets if r not in kept})
        if stack.cloud == "aws":
            split = ""
            if stack.groups_per_role > 1:  # each set one list per group (shards.set_parts): what EC2 holds
                units = aws_units([r for r in sets if r not in kept], stack.groups_per_role).values()
                parts = {(u.rule.peer, u.rule.ethertype, u.part) for u in units}
                split = f", split over the {stack.groups_per_role} groups per role into {len(parts)} lists and {len(units)} rules"
            notes.append(f"prefix lists: {len(sets) - len(kept)} rules reference {lists} managed prefix lists instead "
                         f"of one rule per CIDR{split}; each reference counts as the list's max entries (its entries) "
                         "against the group's rules quota")
        else:
            firewall = stack.openstack.address_groups.firewall  # type: ignore[union-attr]
            said = ("kubeports:openstack.addressGroups.firewall is unstated, so rules reaching sensitive ports stay "
                    f"one rule per CIDR ({len(kept)} here)" if firewall == "unstated" else
                    f"the stack states the firewall is {firewall}, which honours them")
            notes.append(f"address groups: {len(sets) - len(kept)} rules reference {lists} Neutron address groups "
                         f"(remote_address_group_id) instead of one rule per CIDR. {NEUTRON_BUG}; {said}")
    subnet = stack.subnet_peers
    if subnet is not None:
        nodes = [r for r in resolved if r.peer_kind == "role" and r.peer in subnet_peer_roles(stack)
                 and r.role in subnet_peer_roles(stack) and r.ethertype == family(subnet)]
        moved = [r for r in nodes if subnet_peer(stack, r, subnet, guarded)]
        other = [f for f in stack.cluster.ip_families if f != family(subnet)]
        notes.append(f"subnet peers: {len(moved)} node-to-node rules name {subnet} instead of the peer role's group, "
                     "so any VM in that subnet, in this cluster or not, is a peer on their ports; "
                     f"{len(nodes) - len(moved)} rules reaching sensitive ports keep their groups"
                     + (f"; {other[0]} rules keep theirs (subnetCidr is {family(subnet)})" if other else ""))
    return notes
