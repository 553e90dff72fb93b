"""Flows + cluster settings -> a flat, sorted tuple of frozen Rules. Pure: no pulumi.

Rules of this file:
- one flow gives an ingress rule on each listening role and an egress rule on each
  connecting role; egress `open` adds allow-all egress, which then covers the rest;
- the result does not depend on file or entry order: rules are merged by identity
  and sorted by content;
- a rule covered by another (same peer and a wider range, or a world-wide peer of
  its family) collapses into it; adjacent ranges are NOT merged, so that adding a
  port never renames the rules already there;
- whatever is dropped (absent role, empty CIDR set, disabled family) becomes a note:
  the caller prints notes, nothing is dropped silently;
- `sets=True` resolves every named CIDR set as one peer (kind `set`) instead of one peer
  per entry: the cloud-neutral input of address groups and prefix lists. Its `/0` entries
  stay CIDR peers (the world is no list), and the per-CIDR resolution stays the one the
  tables, exports and audits show.
"""
from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from packaging.specifiers import SpecifierSet

from .catalog import Catalog, SourcedFlow
from .errors import KubeportsError, Problem
from .rules import ANYWHERE_BY_FAMILY, Rule
from .settings import ClusterSettings
from .spec import ICMP_TYPES, When
from .suggest import did_you_mean, known_list
from .yamlsrc import dotted

# Roles that run a kubelet and a CNI agent. kubeadm's external etcd nodes run neither;
# RKE/RKE2/k3s etcd nodes are Kubernetes nodes (the Rancher table gives them 8472).
KUBELET_ROLES = ("control-plane", "worker", "etcd")
# Who stands in for an absent role: etcd stacked on the control plane; without a
# bastion, operators reach nodes straight from the `admin` CIDR set.
FALLBACK = {"etcd": "control-plane", "bastion": "admin"}
DESCRIPTION_MAX = 255  # AWS and Neutron both cap rule descriptions at 255 characters
# The CIDR set whose value is `kubeports:cluster.podCidrs` (not `cidrs`): the peer of pod
# traffic between nodes in the modes that route pod addresses natively.
POD_CIDRS = "pod-cidrs"


class Endpoint(NamedTuple):
    kind: str  # "role" | "cidr"
    value: str


@dataclass(frozen=True)
class Resolution:
    rules: tuple[Rule, ...]
    notes: tuple[str, ...] = ()
    local_roles: tuple[str, ...] = ()


@dataclass
class _Pending:
    rule: Rule
    purposes: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


LineOf = Callable[[tuple], int]


SINGLE_PORTS = ("kube-apiserver", "kube-apiserver-lb")


def check_settings(catalog: Catalog, cluster: ClusterSettings, path: str = "(stack)",
                   line_of: LineOf = lambda loc: 1) -> list[Problem]:
    """Settings that name catalog things the catalog does not define."""
    problems: list[Problem] = []
    base = ("config", "kubeports:cluster")

    def bad(loc: tuple, message: str) -> None:
        full = base + loc
        problems.append(Problem(path, line_of(full), dotted(full), message))

    cni = catalog.cnis.get(cluster.cni.name)
    if cni is None:
        bad(("cni", "name"), _unknown("CNI", cluster.cni.name, catalog.cnis, catalog))
    else:
        if cluster.cni.mode not in cni.modes:
            bad(("cni", "mode"), f"unknown mode {cluster.cni.mode!r} for {cni.name}; known: {known_list(cni.modes)}"
                f"{did_you_mean(cluster.cni.mode, cni.modes)}")
        for i, feature in enumerate(cluster.cni.features):
            if feature not in cni.features:
                bad(("cni", "features", i), f"unknown feature {feature!r} for {cni.name}; known: "
                    f"{known_list(cni.features)}{did_you_mean(feature, cni.features)}")
    for i, addon in enumerate(cluster.addons):
        if addon not in catalog.addons:
            bad(("addons", i), _unknown("add-on", addon, catalog.addons, catalog))
    for name, (low, high) in cluster.ports.items():
        if name not in catalog.ports:
            bad(("ports", name), f"no spec defines a named port {name!r}{did_you_mean(name, catalog.ports)}")
        elif name in SINGLE_PORTS and low != high:  # a listener and its target are one port each
            bad(("ports", name), f"a listener needs one port, not the range {low}-{high}")
    for name in cluster.cidrs:
        if name == "anywhere":
            bad(("cidrs", name), "'anywhere' is built in and cannot be changed")
        elif name == POD_CIDRS:
            bad(("cidrs", name), "pod CIDRs are set with kubeports:cluster.podCidrs")
        elif name not in catalog.cidr_sets:
            known = set(catalog.cidr_sets) - {"anywhere"}
            bad(("cidrs", name), f"no spec defines a CIDR set {name!r}{did_you_mean(name, known)}")
    if problems:
        return problems
    mode = cni.modes[cluster.cni.mode]  # type: ignore[union-attr]  # checked above
    for family in mode.routed_families(cluster.ip_families):
        if not any(_family(c) == family for c in cluster.pod_cidrs):
            bad(("podCidrs",), f"{cni.name} mode {cluster.cni.mode} routes {family} pod addresses natively, "  # type: ignore[union-attr]
                "so rules need them; list the cluster's " + f"{family} pod CIDR")
    return problems


def _unknown(what: str, name: str, known: Iterable[str], catalog: Catalog) -> str:
    """Never an empty list: a catalog that defines none of these was most likely replaced."""
    if known:
        return f"unknown {what} {name!r}; known: {known_list(known)}{did_you_mean(name, known)}"
    return (f"unknown {what} {name!r}: the catalog ({' + '.join(catalog.layers) or 'as given'}) defines no {what}; "
            "add spec directories on top of the shipped catalog (--portspecs DIR, kubeports:cluster.catalogs) "
            "rather than replacing it (--replace-catalog DIR)")


def override_problems(catalog: Catalog, cluster: ClusterSettings, path: str = "(stack)",
                      line_of: LineOf = lambda loc: 1) -> list[Problem]:
    """Port overrides the catalog cannot honour: an add-on NodePort left outside the range, two flows with
    different peers pushed onto one port. Checked after the exposure check, whose message matters more."""
    return _within_problems(catalog, cluster, path, line_of) + _shared_port_problems(catalog, cluster, path, line_of)


def _active(catalog: Catalog, cluster: ClusterSettings) -> list[SourcedFlow]:
    return [f for f in catalog.flows if applies(f.file_when, cluster) and applies(f.flow.when, cluster)]


def _within_problems(catalog: Catalog, cluster: ClusterSettings, path: str, line_of: LineOf) -> list[Problem]:
    """A flow marked `within: <range>` (an add-on NodePort) must stay inside that range as the stack sets it:
    outside it the rule is open and nothing can serve it."""
    problems = []
    for sourced in _active(catalog, cluster):
        flow = sourced.flow
        if flow.within is None:
            continue
        low, high = cluster.ports.get(flow.within) or catalog.ports[flow.within]
        for port in flow.ports or ():
            plow, phigh = (cluster.ports.get(port) or catalog.ports[port]) if isinstance(port, str) else port
            if not low <= plow <= phigh <= high:
                loc = ("config", "kubeports:cluster", "ports", flow.within)
                shown = f"{plow}" if plow == phigh else f"{plow}-{phigh}"
                problems.append(Problem(path, line_of(loc if flow.within in cluster.ports else loc[:2]), dotted(loc),
                                        f"{low}-{high} leaves out {flow.purpose} ({sourced.where}: {flow.name}, "
                                        f"port {shown}), a NodePort that would be open and unservable"))
    return problems


def _shared_port_problems(catalog: Catalog, cluster: ClusterSettings, path: str, line_of: LineOf) -> list[Problem]:
    """Refuse an override that makes two flows with different peers share a port on one role: their rules would
    merge (or one would cover the other) and the description would hide the second flow."""
    if not cluster.ports:
        return []
    defaults = cluster.model_copy(update={"ports": {}})
    now, before = _Builder(catalog, cluster), _Builder(catalog, defaults)
    uses: dict[tuple, list[tuple[int, int, int, int, frozenset, SourcedFlow]]] = defaultdict(list)
    for sourced in _active(catalog, cluster):
        for role, proto, family, low, high, peers in now.listeners(sourced):
            for role0, proto0, family0, low0, high0, _ in before.listeners(sourced):
                if (role0, proto0, family0) == (role, proto, family):
                    uses[(role, proto, family)].append((low, high, low0, high0, peers, sourced))
    problems = set()
    for (role, proto, _), entries in uses.items():
        for i, (low, high, low0, high0, peers, one) in enumerate(entries):
            for low_b, high_b, low0_b, high0_b, peers_b, other in entries[i + 1:]:
                shared = low <= high_b and low_b <= high
                shared_before = low0 <= high0_b and low0_b <= high0
                if one.where == other.where or peers == peers_b or not shared or shared_before:
                    continue
                first, second = sorted((one, other), key=lambda s: s.where)
                names = sorted(n for n in cluster.ports if any(
                    n in (s.flow.ports or ()) for s in (first, second)))
                loc = ("config", "kubeports:cluster", "ports", names[0]) if names else ("config", "kubeports:cluster")
                problems.add(Problem(path, line_of(loc), dotted(loc), (
                    f"makes {first.flow.name} ({first.where}, {first.flow.purpose}) and {second.flow.name} "
                    f"({second.where}, {second.flow.purpose}) share {proto} port {max(low, low_b)} on {role} with "
                    "different peers; move one of them")))
    return sorted(problems, key=lambda p: p.message)


def applies(when: When | None, cluster: ClusterSettings) -> bool:
    if when is None:
        return True
    checks = (
        when.distribution is None or cluster.distribution in when.distribution,
        when.cni is None or cluster.cni.name in when.cni,
        when.cni_mode is None or cluster.cni.mode in when.cni_mode,
        when.cni_features is None or set(when.cni_features) <= set(cluster.cni.features),
        when.kubernetes is None or SpecifierSet(when.kubernetes).contains(cluster.version, prereleases=True),
        when.addons is None or set(when.addons) <= set(cluster.addons),
    )
    return all(checks)


def resolve(catalog: Catalog, cluster: ClusterSettings, check_overrides: bool = True, sets: bool = False) -> Resolution:
    """`check_overrides=False`: the caller runs `override_problems` itself (load_project, after the exposure check).
    `sets=True`: CIDR sets as one peer each (see the header)."""
    problems = check_settings(catalog, cluster)
    if not problems and check_overrides:
        problems = override_problems(catalog, cluster)
    if problems:
        raise KubeportsError(problems)
    builder = _Builder(catalog, cluster, sets)
    for sourced in catalog.flows:
        if applies(sourced.file_when, cluster) and applies(sourced.flow.when, cluster):
            builder.add_flow(sourced)
    if cluster.egress == "open":  # like Neutron's default group: all out, both families
        for role in sorted(cluster.roles):
            for family in ANYWHERE_BY_FAMILY:
                builder.add(Rule(role, "egress", "all", None, None, "cidr", ANYWHERE_BY_FAMILY[family], family,
                                 "", ()), "egress open: allow all outbound", "kubeports:cluster.egress")
    routed = catalog.cnis[cluster.cni.name].modes[cluster.cni.mode].routed_families(cluster.ip_families)
    if routed:  # the one place "sensitive flows only from cluster roles" cannot hold: say it every time
        builder.notes.add(f"{cluster.cni.name} mode {cluster.cni.mode} routes {' and '.join(routed)} pod addresses "
                          "natively: pods (podCidrs) reach every port of the nodes that run them, etcd and kubelet "
                          "included; see docs/promises.md (host firewall export, CNI host policy)")
    return Resolution(collapse(builder.pending.values()), tuple(sorted(builder.notes)), tuple(sorted(cluster.roles)))


class _Builder:
    def __init__(self, catalog: Catalog, cluster: ClusterSettings, sets: bool = False):
        self.catalog, self.cluster, self.sets = catalog, cluster, sets
        self.members: dict[tuple[str, str], tuple[str, ...]] = {}  # (set, family) -> its entries, sets=True
        self.pending: dict[tuple, _Pending] = {}
        self.notes: set[str] = set()
        self.present = cluster.present_roles
        self.local = frozenset(cluster.roles)

    def add(self, rule: Rule, purpose: str, source: str) -> None:
        local_peer = rule.peer_kind == "role" and rule.peer in self.local
        if rule.role not in self.local and not local_peer:
            return  # both ends belong to another stack
        if rule.role not in self.local and rule.direction == "egress" and self.cluster.egress == "open":
            return  # the other stack's open egress (same setting) already allows it
        entry = self.pending.setdefault(rule.identity, _Pending(rule))
        entry.purposes.add(purpose)
        entry.sources.add(source)

    def add_flow(self, sourced: SourcedFlow) -> None:
        flow = sourced.flow
        note = lambda msg: self.notes.add(f"{sourced.where}: {flow.name}: {msg}")  # noqa: E731
        pairs = [(lis, con) for lis in self._expand(flow.to, note)
                 for con in self._expand(flow.from_, note, self_role=lis)]
        if flow.bidirectional:
            pairs += [(con, lis) for lis, con in pairs]
        families = [f for f in self.cluster.ip_families if flow.family in (None, f)]
        if not families:
            note(f"{flow.family} only, which this cluster does not use; no rule")
        for listener, connector in pairs:
            for family in families:
                for proto, low, high in self._shapes(sourced, family):
                    self._emit(listener, connector, family, proto, low, high, flow.purpose, sourced.where, note)

    def _shapes(self, sourced: SourcedFlow, family: str) -> Iterable[tuple[str, int | None, int | None]]:
        flow = sourced.flow
        if flow.protocol == "icmp":
            if flow.icmp is None:
                yield ("icmp" if family == "IPv4" else "icmpv6"), None, None
            else:
                v4, v6, code = ICMP_TYPES[flow.icmp]
                yield ("icmp", v4, code) if family == "IPv4" else ("icmpv6", v6, code)
            return
        protos = ("tcp", "udp") if flow.protocol == "tcp+udp" else (flow.protocol,)
        ranges = [self._port(p) for p in flow.ports] if flow.ports else [(None, None)]
        for proto in protos:
            for low, high in ranges:
                yield proto, low, high

    def _port(self, port: tuple[int, int] | str) -> tuple[int, int]:
        if isinstance(port, str):
            return self.cluster.ports.get(port) or self.catalog.ports[port]
        return port

    def _expand(self, names: list[str], note: Callable[[str], None], self_role: Endpoint | None = None) -> list[Endpoint]:
        out: list[Endpoint] = []
        for name in names:
            if name == "self":
                out.append(self_role)  # type: ignore[arg-type]  # `self` is only allowed in from
            elif name == "nodes":
                roles = [r for r in KUBELET_ROLES if r in self.present
                         and not (r == "etcd" and self.cluster.distribution == "kubeadm")]
                if not roles:
                    note("no role in this cluster runs a kubelet (nodes); its side of the flow is dropped")
                out += [Endpoint("role", r) for r in roles]
            elif name in self.catalog.cidr_sets:
                out += self._cidr_set(name, note)
            elif name in self.present:
                out.append(Endpoint("role", name))
            elif FALLBACK.get(name) in self.present:
                note(f"no {name} role: its side lands on {FALLBACK[name]} (stacked)")
                out.append(Endpoint("role", FALLBACK[name]))
            elif FALLBACK.get(name) in self.catalog.cidr_sets and self_role is not None:  # connecting side only
                note(f"no {name} role: its side comes from CIDR set {FALLBACK[name]!r}")
                out += self._cidr_set(FALLBACK[name], note)
            else:
                note(f"no {name} role in this cluster; its side of the flow is dropped")
        return list(dict.fromkeys(out))

    def _cidr_set(self, name: str, note: Callable[[str], None]) -> list[Endpoint]:
        if name == POD_CIDRS:
            cidrs = list(self.cluster.pod_cidrs)
        else:
            cidrs = self.cluster.cidrs.get(name, self.catalog.cidr_sets[name].default)
        if not cidrs:
            note(f"CIDR set {name!r} is empty in this stack; no rule for it")
            closed = self.catalog.cidr_sets[name].if_closed
            if closed and self.cluster.egress == "strict":
                self.notes.add(f"strict egress and CIDR set {name!r} is empty: {closed}")
        if not self.sets or name == "anywhere":
            return [Endpoint("cidr", c) for c in cidrs]
        listed = sorted({str(ipaddress.ip_network(c)) for c in cidrs if ipaddress.ip_network(c).prefixlen})
        for family in ("IPv4", "IPv6"):
            self.members[(name, family)] = tuple(c for c in listed if _family(c) == family)
        return ([Endpoint("set", name)] if listed else []) + [Endpoint("cidr", c) for c in cidrs
                                                              if not ipaddress.ip_network(c).prefixlen]

    def listeners(self, sourced: SourcedFlow) -> Iterable[tuple[str, str, str, int, int, frozenset[Endpoint]]]:
        """(role, protocol, family, low, high, peers) of each ported ingress side of a flow, for the override check."""
        flow = sourced.flow
        if flow.ports is None:
            return
        quiet: Callable[[str], None] = lambda msg: None  # noqa: E731
        sides = [(lis, con) for lis in self._expand(flow.to, quiet) for con in self._expand(flow.from_, quiet, lis)]
        if flow.bidirectional:
            sides += [(con, lis) for lis, con in sides]
        by_role: dict[str, set[Endpoint]] = defaultdict(set)
        for lis, con in sides:
            if lis.kind == "role":
                by_role[lis.value].add(con)
        for family in [f for f in self.cluster.ip_families if flow.family in (None, f)]:
            for role, peers in sorted(by_role.items()):
                for proto, low, high in self._shapes(sourced, family):
                    yield role, proto, family, low, high, frozenset(peers)  # type: ignore[misc]

    def _emit(self, listener: Endpoint, connector: Endpoint, family: str, proto: str, low: int | None,
              high: int | None, purpose: str, where: str, note: Callable[[str], None]) -> None:
        for end in (listener, connector):
            if end.kind == "cidr" and _family(end.value) != family:
                if _family(end.value) not in self.cluster.ip_families:
                    note(f"{end.value} is {_family(end.value)}, which this cluster does not use; no rule")
                return
            if end.kind == "set" and not self.members[(end.value, family)]:
                return  # the set lists no address of this family (the per-CIDR resolution notes it)
        if listener.kind == "role":
            self.add(Rule(listener.value, "ingress", proto, low, high, connector.kind, connector.value, family,
                          "", (), self.members.get((connector.value, family), ())), purpose, where)
        if connector.kind == "role":
            self.add(Rule(connector.value, "egress", proto, low, high, listener.kind, listener.value, family,
                          "", (), self.members.get((listener.value, family), ())), purpose, where)


def _family(cidr: str) -> str:
    return "IPv4" if ipaddress.ip_network(cidr).version == 4 else "IPv6"


def collapse(pending: Iterable[_Pending]) -> tuple[Rule, ...]:
    """Drop every rule another rule covers, folding its sources into the coverer."""
    groups: dict[tuple, list[_Pending]] = defaultdict(list)
    for entry in pending:
        groups[(entry.rule.role, entry.rule.direction, entry.rule.ethertype)].append(entry)
    out: list[Rule] = []
    for entries in groups.values():
        candidates = _candidates(entries)
        kept = [e for e in entries if not any(covers(o.rule, e.rule) for o in candidates[id(e)] if o is not e)]
        kept_ids = {id(e) for e in kept}
        for entry in entries:
            if id(entry) not in kept_ids:
                for coverer in (o for o in candidates[id(entry)] if id(o) in kept_ids):
                    if covers(coverer.rule, entry.rule):
                        coverer.sources |= entry.sources
                        # a reviewer sees everything the rule admits; an allow-all says so already, and keeping
                        # its text fixed means adding a flow never rewrites (on Neutron: replaces) that rule
                        if not (coverer.rule.protocol == "all" and coverer.rule.is_anywhere):
                            coverer.purposes |= entry.purposes
        out += [_finish(e) for e in kept]
    return tuple(sorted(out, key=Rule.sort_key))


def _candidates(entries: list[_Pending]) -> dict[int, list[_Pending]]:
    """Each entry's possible coverers, by covers' own questions, so a group is not compared
    pair by pair: the same protocol or "all", and a peer from anywhere, the same role or set,
    or (for a CIDR) any CIDR."""
    by_peer: dict[tuple, list[_Pending]] = defaultdict(list)  # (protocol, kind, anywhere | role | set)
    cidrs: dict[str, list[_Pending]] = defaultdict(list)  # protocol -> its rules from a CIDR but anywhere
    for entry in entries:
        rule = entry.rule
        if rule.peer_kind == "cidr" and not rule.is_anywhere:
            cidrs[rule.protocol].append(entry)
        else:
            by_peer[(rule.protocol, rule.peer_kind, "anywhere" if rule.is_anywhere else rule.peer)].append(entry)
    out: dict[int, list[_Pending]] = {}
    for entry in entries:
        rule = entry.rule
        found: list[_Pending] = []
        for protocol in (rule.protocol,) if rule.protocol == "all" else (rule.protocol, "all"):
            found += by_peer.get((protocol, "cidr", "anywhere"), ())
            if rule.is_anywhere:
                continue
            if rule.peer_kind == "cidr":
                found += cidrs.get(protocol, ())
            else:
                found += by_peer.get((protocol, rule.peer_kind, rule.peer), ())
        out[id(entry)] = found
    return out


def describe(purposes: Iterable[str]) -> str:
    """Purposes joined as a rule's description, within the clouds' limit: keep what fits and
    say how many did not."""
    purposes = sorted(set(purposes))
    description = "; ".join(purposes)
    if len(description) > DESCRIPTION_MAX:
        kept: list[str] = []
        for purpose in purposes:
            rest = len(purposes) - len(kept) - 1
            if len("; ".join([*kept, purpose]) + (f"; +{rest} more" if rest else "")) > DESCRIPTION_MAX:
                break
            kept.append(purpose)
        description = "; ".join(kept) + f"; +{len(purposes) - len(kept)} more"
    return description


def _finish(entry: _Pending) -> Rule:
    rule = entry.rule
    return Rule(rule.role, rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.peer_kind, rule.peer,
                rule.ethertype, describe(entry.purposes), tuple(sorted(entry.sources)), rule.members)


def covers(wide: Rule, narrow: Rule) -> bool:
    """Does `wide` allow every packet `narrow` allows? (Same role, direction, family.)
    A rule never covers itself: one of two alike rules would drop the other. The cheap
    questions first: most pairs differ in protocol or ports."""
    if wide.protocol != narrow.protocol and wide.protocol != "all":
        return False
    if wide.protocol != "all" and not _ports_cover(wide, narrow):
        return False
    if wide.identity == narrow.identity:
        return False
    if wide.is_anywhere:
        return True
    if wide.peer_kind != narrow.peer_kind:
        return False
    if wide.peer_kind in ("role", "set"):
        return wide.peer == narrow.peer
    low, high = _span(narrow.peer)
    wide_low, wide_high = _span(wide.peer)
    return wide_low <= low and high <= wide_high  # subnet_of, on one family (covers' contract)


@functools.lru_cache(maxsize=1 << 16)
def _span(cidr: str) -> tuple[int, int]:
    """A CIDR's first and last address as integers: collapse asks covers about every pair of
    one flow's CIDR rules (a 200-entry set is 40,000 pairs), and parsing each peer once per
    question cost seconds per plan."""
    net = ipaddress.ip_network(cidr)
    return int(net.network_address), int(net.broadcast_address)


def _ports_cover(wide: Rule, narrow: Rule) -> bool:
    if wide.from_port is None:
        return True
    if narrow.from_port is None:
        return False
    if wide.is_icmp:
        return wide.from_port == narrow.from_port and (wide.to_port is None or wide.to_port == narrow.to_port)
    return wide.from_port <= narrow.from_port and narrow.to_port <= wide.to_port  # type: ignore[operator]
