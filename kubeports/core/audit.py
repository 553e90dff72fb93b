"""`kubeports audit`: live security groups against a stack's resolved rules, by what packets
they admit, not by key equality.

Rules of this file:
- pure: live rules come in as kubeports.core.live values, required rules as the
  resolver's; nothing here reads a cloud;
- a rule is a set of packets: (direction, family, protocol, a port interval, a peer).
  ICMP type/code pairs are folded into one interval (type * 256 + code), so ICMP,
  ports and "all" use the same interval arithmetic;
- a role peer is admitted by a reference to that role's group, by the family's
  anywhere CIDR, or by a CIDR holding the node subnet (`subnetCidr`) where the stack
  names one: a CIDR admits more than the role, so the reverse never holds;
- a set peer (a Neutron address group, an AWS prefix list: issue 19) admits its entries:
  the rule is read as one CIDR rule per entry of its family (`via` names the set), so a
  set is compared, found over-open or critical exactly as CIDR rules are; a set the state
  does not hold (or holds without its entries) admits nothing provable: a finding names
  it, critical where the rule reaches a sensitive port (it may hold the world), over-open
  elsewhere; duplicates and shadowing compare the rules as the cloud holds them;
- AWS counts a prefix-list reference as the list's max entries in its family (as
  kubeports.core.quota does for the plan); Neutron counts it as one rule;
- a role with several groups (kubeports:aws.groupsPerRole) is mapped by its first; the
  others carry `kubeports/group` N and the role's tags, and their rules are the role's
  (every node carries all of them); each group's quota is counted on its own;
- findings carry the role, the required flow's source lines and URLs, and a severity:
  critical (a sensitive port reachable from a CIDR), missing (the cluster breaks there),
  over-open (admitted, not required), duplicate / shadowed, quota;
- the exit code gates CI: 0 clean, 3 findings, 4 critical (1 stays a user error, 2 argparse's
  usage error, 5 `diff --exit-code`'s "changed": kubeports.cli.exits holds them all).
"""
from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .catalog import Catalog
from .errors import KubeportsError, Problem
from .live import LiveGroup, LiveRule, LiveSet, LiveState
from .quota import prefix_list_names
from .rules import Rule
from .safety import sensitive_ports
from .settings import LOAD_BALANCER, StackConfig

Interval = tuple[int, int]
FULL: Interval = (0, 65535)
SEVERITIES = ("critical", "missing", "over-open", "duplicate", "shadowed", "quota")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_CRITICAL = 0, 3, 4
SET_KINDS = ("address-group", "prefix-list")
SET_DUMP = {"openstack": "dump the address groups too (`GET /v2.0/address-groups`, or audit --live)",
            "aws": "dump the prefix lists with their entries too (docs/brownfield.md, or audit --live)"}


def interval_of(protocol: str, low: int | None, high: int | None) -> Interval:
    """The packets of one protocol a rule admits, as one interval (see the header)."""
    if protocol in ("icmp", "icmpv6"):
        if low is None:
            return FULL
        return (low * 256, low * 256 + 255) if high is None else (low * 256 + high, low * 256 + high)
    if protocol in ("tcp", "udp"):
        return FULL if low is None else (low, high if high is not None else low)
    return FULL  # other protocols have no ports: all or nothing


def subtract(target: Interval, cover: Iterable[Interval]) -> list[Interval]:
    """What of `target` no interval of `cover` holds."""
    left = [target]
    for low, high in sorted(cover):
        nxt = []
        for a, b in left:
            if high < a or low > b:
                nxt.append((a, b))
                continue
            if a < low:
                nxt.append((a, low - 1))
            if high < b:
                nxt.append((high + 1, b))
        left = nxt
    return left


def describe(protocol: str, gaps: Sequence[Interval]) -> str:
    parts = []
    for low, high in gaps:
        if (low, high) == FULL:
            parts.append("every port" if protocol in ("tcp", "udp") else "all")
        elif protocol in ("icmp", "icmpv6"):
            parts.append(f"type {low // 256}" if high - low == 255 else f"type {low // 256} code {low % 256}")
        else:
            parts.append(str(low) if low == high else f"{low}-{high}")
    return ", ".join(parts)


@dataclass(frozen=True, order=True)
class Finding:
    severity: str
    role: str
    message: str
    flow: str = ""  # the required rule's key, where one is concerned
    live: str = ""  # the live rule's id and where it was read
    sources: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"severity": self.severity, "role": self.role, "message": self.message, "flow": self.flow,
                "live": self.live, "sources": list(self.sources), "urls": list(self.urls)}


@dataclass
class Audit:
    cloud: str
    roles: dict[str, str]  # role -> group id
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_rules: int = 0
    live_rules: int = 0

    @property
    def exit_code(self) -> int:
        kinds = {f.severity for f in self.findings}
        if "critical" in kinds:
            return EXIT_CRITICAL
        return EXIT_FINDINGS if kinds else EXIT_CLEAN


# ---------------------------------------------------------------- mapping groups to roles

def map_roles(state: LiveState, roles: Sequence[str], explicit: Mapping[str, str], cluster: str,
              origin: str = "--map") -> dict[str, str]:
    """role -> live group id: `--map ROLE=GROUP` (name or id) first, then kubeports' tags."""
    by_name: dict[str, list[LiveGroup]] = {}
    for group in state.groups.values():
        by_name.setdefault(group.name, []).append(group)
    problems, out = [], {}
    for role, wanted in sorted(explicit.items()):
        if role not in roles:
            problems.append(Problem(origin, 1, role, f"not a role of this stack; roles: {', '.join(roles)}"))
        elif wanted in state.groups:
            out[role] = wanted
        elif len(by_name.get(wanted, [])) == 1:
            out[role] = by_name[wanted][0].id
        else:
            why = "names several groups; give its id" if by_name.get(wanted) else "no such group in what was read"
            problems.append(Problem(origin, 1, role, f"{wanted!r}: {why}"))
    tagged: dict[str, list[str]] = {}
    for group in sorted(state.groups.values(), key=lambda g: g.id):
        if (group.role in roles and group.role not in explicit and _cluster_tag(group) in (None, cluster)
                and group.number is None):
            tagged.setdefault(group.role, []).append(group.id)
    for role, ids in sorted(tagged.items()):
        if len(ids) == 1:
            out[role] = ids[0]
        else:  # e.g. an admin's listing: the same cluster's groups in several projects
            problems.append(Problem(origin, 1, role, f"several groups are tagged for this role: {', '.join(ids)}; "
                                    f"give --map {role}=GROUP"))
    unmapped = [r for r in roles if r not in out and r not in tagged]
    if unmapped:
        found = ", ".join(f"{g.id} ({g.name or 'no name'})" for g in sorted(state.groups.values(), key=lambda g: g.id))
        problems.append(Problem(origin, 1, "(audit)", f"no group for role(s) {', '.join(unmapped)}: tag them or give "
                                f"--map ROLE=GROUP; groups found: {found or 'none'}"))
    if problems:
        raise KubeportsError(problems)
    return out


def more_groups(state: LiveState, roles: Mapping[str, str]) -> dict[str, list[str]]:
    """role -> its groups after the first (kubeports:aws.groupsPerRole), in their order: the
    groups tagged with the role, a `kubeports/group` number and the first group's cluster tag."""
    out: dict[str, list[str]] = {}
    for role, first in sorted(roles.items()):
        home = state.groups.get(first)
        cluster = _cluster_tag(home) if home is not None else None
        found = [g for g in state.groups.values()
                 if g.role == role and g.number is not None and _cluster_tag(g) == cluster]
        out[role] = [g.id for g in sorted(found, key=lambda g: (g.number, g.id))]
    return out


def _cluster_tag(group: LiveGroup) -> str | None:
    return group.tags.get("kubeports:cluster") or next(
        (k.split("/")[-1] for k in group.tags if k.startswith("kubernetes.io/cluster/")), None)


# ---------------------------------------------------------------- packets

@dataclass(frozen=True)
class _Peers:
    roles: Mapping[str, str]  # role -> group id
    node_cidrs: tuple[str, ...]  # CIDRs that hold every node (the stack's subnet)

    def admits_role(self, live: LiveRule, role: str) -> bool:
        """Does the live rule's peer admit every node of `role`?"""
        if live.peer_kind == "group":
            return self.roles.get(role) == live.peer
        if live.peer_kind != "cidr":
            return False
        net = ipaddress.ip_network(live.peer)
        if net.prefixlen == 0:
            return True
        return any(ipaddress.ip_network(c).version == net.version and ipaddress.ip_network(c).subnet_of(net)
                   for c in self.node_cidrs)

    def contains(self, required: Rule, live: LiveRule) -> bool:
        """Does the required rule's peer hold everything the live rule's peer names?"""
        if required.peer_kind == "role":
            return live.peer_kind == "group" and self.roles.get(required.peer) == live.peer
        outer = ipaddress.ip_network(required.peer)
        if outer.prefixlen == 0:
            return True
        if live.peer_kind == "cidr":
            inner = ipaddress.ip_network(live.peer)
            return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]
        if live.peer_kind == "group":  # a group of nodes: inside a CIDR that holds the node subnet
            return any(ipaddress.ip_network(c).version == outer.version and ipaddress.ip_network(c).subnet_of(outer)
                       for c in self.node_cidrs)
        return False

    def admits(self, live: LiveRule, required: Rule) -> bool:
        if required.peer_kind == "role":
            return self.admits_role(live, required.peer)
        if live.peer_kind != "cidr":
            return False
        inner, outer = ipaddress.ip_network(required.peer), ipaddress.ip_network(live.peer)
        return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _same_plane(live: LiveRule, rule: Rule) -> bool:
    return live.direction == rule.direction and live.ethertype in (rule.ethertype, "any")


def _width(live: LiveRule) -> str:
    if live.peer_kind != "cidr":
        return f"{live.peer_kind} {live.peer}"
    net = ipaddress.ip_network(live.peer)
    return "anywhere" if net.prefixlen == 0 else f"{live.peer} ({net.num_addresses:,} addresses)"


# ---------------------------------------------------------------- set peers

def held_set(state: LiveState, live: LiveRule) -> LiveSet | None:
    """The address group / prefix list a set-peer rule names, where the state holds its entries."""
    found = state.sets.get(live.peer)
    return found if found is not None and found.kind == live.peer_kind and found.entries is not None else None


def expand_sets(state: LiveState, rules: Iterable[LiveRule]) -> list[LiveRule]:
    """Each set-peer rule as one CIDR rule per entry it admits (see the header); a set the
    state does not hold stays as it is (it admits nothing provable)."""
    out: list[LiveRule] = []
    for live in rules:
        found = held_set(state, live) if live.peer_kind in SET_KINDS else None
        if found is None:
            out.append(live)
            continue
        for entry in found.of_family(live.ethertype):
            family = "IPv4" if ipaddress.ip_network(entry).version == 4 else "IPv6"
            out.append(LiveRule(live.group, live.direction, family, live.protocol, live.from_port, live.to_port,
                                "cidr", entry, live.rule_id, live.where, live.description,
                                via=f"{live.peer_kind} {live.peer}"))
    return out


def _unresolved(state: LiveState, role: str, lives: Sequence[LiveRule], catalog: Catalog,
                stack: StackConfig) -> list[Finding]:
    """A set-peer rule whose set the state does not hold: never silently fine."""
    out = []
    guarded = [g for g in sensitive_ports(catalog, stack.cluster) if role in g[4]]
    for live in lives:
        if live.peer_kind not in SET_KINDS or held_set(state, live) is not None:
            continue
        what = "holds no entries for" if live.peer in state.sets else "does not hold"
        hits = [g for g in guarded if live.direction == "ingress" and live.protocol in (g[0], "all")
                and _overlaps(live, g[0], g[1], g[2])]
        where = f"{live.rule_id or '-'} at {live.where}"
        if hits:
            proto, low, high, purpose, _ = hits[0]
            span = _span(low, high)
            out.append(Finding("critical", role, f"{purpose} ({proto} {span}) is reachable through {live.peer_kind} "
                                                 f"{live.peer}, which what was read {what}: it may hold any address; "
                                                 f"{SET_DUMP[state.cloud]} ({live.label()})", live=where))
        else:
            out.append(Finding("over-open", role, f"{live.label()}: {live.peer_kind} {live.peer} is unknown (what was "
                                                  f"read {what} it), so what it admits cannot be checked; "
                                                  f"{SET_DUMP[state.cloud]}", live=where))
    return out


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def _overlaps(live: LiveRule, proto: str, low: int, high: int) -> bool:
    lo, hi = interval_of(proto, live.from_port, live.to_port) if live.protocol == proto else FULL
    return lo <= high and low <= hi


# ---------------------------------------------------------------- the audit

def audit(stack: StackConfig, catalog: Catalog, rules: Sequence[Rule], state: LiveState,
          roles: Mapping[str, str], rendered: Sequence[Rule] | None = None) -> Audit:
    """Compare the live groups of the mapped roles with the stack's resolved rules (per CIDR:
    a set peer is compared by its entries). `rendered`: what the stack creates (its
    cloud_rules: one rule per set), for the Neutron quota count; default `rules`."""
    node_cidrs = tuple(c for c in [getattr(stack.openstack, "subnet_cidr", None) if stack.openstack else None] if c)
    peers = _Peers(roles, node_cidrs)
    urls = {s.where: s.source for s in catalog.flows}
    result = Audit(state.cloud, dict(roles), notes=list(state.notes))
    # Octavia has no group of its own: its rules become listener CIDRs, not group rules.
    required = [r for r in rules if not (r.role == LOAD_BALANCER and state.cloud == "openstack")]
    held: dict[str, list[LiveRule]] = {}  # as the cloud holds them; a role's other groups' under its first
    into = {extra: roles[role] for role, extras in more_groups(state, roles).items() for extra in extras}
    for live in state.rules:
        held.setdefault(into.get(live.group, live.group), []).append(live)
    live_by_group = {group: expand_sets(state, lives) for group, lives in held.items()}  # what they admit
    result.live_rules = sum(len(held.get(g, [])) for g in roles.values())
    result.checked_rules = len(required)

    def sources_of(rule: Rule) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return rule.sources, tuple(sorted({urls.get(s, "") for s in rule.sources} - {""}))

    for rule in required:
        group = roles.get(rule.role)
        if group is None:
            continue
        cover = [interval_of(rule.protocol, live.from_port, live.to_port) if live.protocol == rule.protocol else FULL
                 for live in live_by_group.get(group, [])
                 if _same_plane(live, rule) and live.protocol in (rule.protocol, "all") and peers.admits(live, rule)]
        gaps = subtract(interval_of(rule.protocol, rule.from_port, rule.to_port), cover)
        if gaps:
            src, url = sources_of(rule)
            partly = "" if gaps == [interval_of(rule.protocol, rule.from_port, rule.to_port)] else \
                f" (not admitted: {describe(rule.protocol, gaps)})"
            result.findings.append(Finding("missing", rule.role, f"{rule.description}: {rule.key} is not admitted{partly}",
                                           rule.key, "", src, url))
    for role, group in sorted(roles.items()):
        mine = [r for r in required if r.role == role]
        lives = sorted(live_by_group.get(group, []), key=lambda live: live.order)
        for live in lives:
            if live.peer_kind not in SET_KINDS:  # an unknown set: _unresolved says so
                result.findings += _over_open(role, live, mine, peers)
        result.findings += _exposure(role, live_by_group.get(group, []), catalog, stack)
        result.findings += _unresolved(state, role, held.get(group, []), catalog, stack)
        result.findings += _shadowed(role, sorted(held.get(group, []), key=lambda live: live.order))
    counted = required if rendered is None else \
        [r for r in rendered if not (r.role == LOAD_BALANCER and state.cloud == "openstack")]
    result.findings += _quota(state, roles, counted, stack)
    result.findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.role, f.flow, f.live, f.message))
    return result


def _over_open(role: str, live: LiveRule, mine: Sequence[Rule], peers: _Peers) -> list[Finding]:
    if live.protocol == "all":
        covered = any(r.protocol == "all" and _same_plane(live, r) and peers.contains(r, live) for r in mine)
        if covered:
            return []
        needed = sorted({r.protocol for r in mine if _same_plane(live, r) and peers.contains(r, live)})
        what = f"all protocols where the documents need {', '.join(needed)}" if needed else "all protocols, none needed"
        return [Finding("over-open", role, f"{live.label()}: {what}; peer {_width(live)}",
                        live=f"{live.rule_id or '-'} at {live.where}")]
    protocol = live.protocol
    cover = [interval_of(r.protocol, r.from_port, r.to_port) if r.protocol == protocol else FULL
             for r in mine if _same_plane(live, r) and r.protocol in (protocol, "all") and peers.contains(r, live)]
    gaps = subtract(interval_of(protocol, live.from_port, live.to_port), cover)
    if not gaps:
        return []
    return [Finding("over-open", role, f"{live.label()}: admits {describe(protocol, gaps)} that no document "
                                       f"requires from this peer; peer {_width(live)}",
                    live=f"{live.rule_id or '-'} at {live.where}")]


def _exposure(role: str, lives: Sequence[LiveRule], catalog: Catalog, stack: StackConfig) -> list[Finding]:
    out = []
    for proto, low, high, purpose, listeners in sensitive_ports(catalog, stack.cluster):
        if role not in listeners:
            continue
        for live in lives:
            if live.direction != "ingress" or live.peer_kind != "cidr" or live.protocol not in (proto, "all"):
                continue  # a group is the cluster's; an unknown set is _unresolved's
            if live.peer in stack.cluster.pod_cidrs:
                continue  # pods are cluster members, as in safety.py (docs/promises.md states the limit)
            if _overlaps(live, proto, low, high):
                span = _span(low, high)
                out.append(Finding("critical", role, f"{purpose} ({proto} {span}) is reachable from "
                                                     f"{_width(live)}: only cluster roles may reach it ({live.label()})",
                                   live=f"{live.rule_id or '-'} at {live.where}"))
    return out


def _inside(small: LiveRule, big: LiveRule) -> bool:
    if small.direction != big.direction or big.ethertype not in (small.ethertype, "any"):
        return False
    if big.protocol != "all" and big.protocol != small.protocol:
        return False
    if big.protocol != "all":
        a, b = interval_of(small.protocol, small.from_port, small.to_port)
        c, d = interval_of(big.protocol, big.from_port, big.to_port)
        if not (c <= a and b <= d):
            return False
    if big.peer_kind == "cidr" and small.peer_kind == "cidr":
        inner, outer = ipaddress.ip_network(small.peer), ipaddress.ip_network(big.peer)
        return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]
    if big.peer_kind == "cidr" and ipaddress.ip_network(big.peer).prefixlen == 0:
        return True
    return (big.peer_kind, big.peer) == (small.peer_kind, small.peer)


def _shadowed(role: str, lives: Sequence[LiveRule]) -> list[Finding]:
    out = []
    for i, small in enumerate(lives):
        for j, big in enumerate(lives):
            if i == j or not _inside(small, big):
                continue
            same = _inside(big, small)
            if same and j > i:
                continue  # report an identical pair once, on its second rule
            kind = "duplicate" if same else "shadowed"
            out.append(Finding(kind, role, f"{small.label()} is {'the same as' if same else 'inside'} {big.label()} "
                                           f"({big.rule_id or '-'} at {big.where})",
                               live=f"{small.rule_id or '-'} at {small.where}"))
            break
    return out


def _quota(state: LiveState, roles: Mapping[str, str], required: Sequence[Rule], stack: StackConfig) -> list[Finding]:
    quota = stack.cluster.quota
    out = []
    if state.cloud == "openstack":
        used, where = neutron_used(state, roles)
        limit = quota.neutron_rules
        if used > limit or len(required) > limit:
            out.append(Finding("quota", "(project)", f"Neutron rules: {used} live {where}, {len(required)} "
                                                     f"required; the project allows {limit}"))
        return out
    counts = aws_counts(state)
    for role, group in _every_group(state, roles):
        for direction in ("ingress", "egress"):
            for family in ("IPv4", "IPv6"):
                used = counts[(group, direction, family)]
                if used > quota.aws_rules_per_group:
                    out.append(Finding("quota", role, f"AWS rules: {used} {direction} {family} rules in {group}; the "
                                                      f"limit is {quota.aws_rules_per_group}"))
    return out


def _every_group(state: LiveState, roles: Mapping[str, str]) -> list[tuple[str, str]]:
    """(role, group) for each mapped role's groups: its first, then its others."""
    more = more_groups(state, roles)
    return [(role, group) for role, first in sorted(roles.items()) for group in (first, *more.get(role, []))]


def neutron_used(state: LiveState, roles: Mapping[str, str]) -> tuple[int, str]:
    """The rules Neutron counts against the quota of the mapped groups' project (an admin's
    listing holds every project's), and where they were counted."""
    projects = {state.groups[g].project for g in roles.values() if g in state.groups}
    if not projects or "" in projects:
        return len(state.rules), "in what was read"
    ids = {g.id for g in state.groups.values() if g.project in projects}
    return sum(1 for r in state.rules if r.group in ids), f"in project {', '.join(sorted(projects))}"


def aws_counts(state: LiveState) -> Counter:
    """(group, direction, family) -> rules AWS counts: a group reference counts in both
    families; a prefix-list reference as the list's max entries in the list's family (a
    list the state does not hold: one in each, and _unresolved names it)."""
    counts: Counter = Counter()
    for live in state.rules:
        found = state.sets.get(live.peer) if live.peer_kind == "prefix-list" else None
        if found is not None and found.family:
            weight = found.max_entries if found.max_entries is not None else len(found.entries or ()) or 1
            counts[(live.group, live.direction, found.family)] += weight
            continue
        for family in ("IPv4", "IPv6") if live.ethertype == "any" else (live.ethertype,):
            counts[(live.group, live.direction, family)] += 1
    return counts


def headroom(state: LiveState, roles: Mapping[str, str], stack: StackConfig,
             rules: tuple[Rule, ...] = ()) -> list[str]:
    """One line per quota the cloud counts: what the live groups use of it. `rules`: the
    stack's rules as its cloud receives them, for the prefix lists it creates."""
    quota = stack.cluster.quota
    if state.cloud == "openstack":
        used, where = neutron_used(state, roles)
        return [f"Neutron security group rules: {used} of {quota.neutron_rules} used {where} "
                f"({quota.neutron_rules - used} left)"]
    counts = aws_counts(state)
    return [f"{role} ({group}) {direction} {family}: {counts[(group, direction, family)]} of {quota.aws_rules_per_group}"
            for role, group in _every_group(state, roles) for direction in ("ingress", "egress")
            for family in ("IPv4", "IPv6")] + region_headroom(state, stack, rules)


def region_headroom(state: LiveState, stack: StackConfig, rules: tuple[Rule, ...]) -> list[str]:
    """EC2's "Prefix lists per Region" as the account holds it (`RegionPrefixLists`, read by
    `audit --live`): the live lists besides this stack's (known by the names the AWS module
    gives them), plus the stack's own, against the quota; and the `awsUsedPrefixLists` the
    preflight should be told, when the stack says otherwise."""
    ours = prefix_list_names(rules, stack.cluster.name, stack.groups_per_role)
    if state.region_lists is None or not ours:  # not read, or not this stack's concern: it creates none
        return []
    quota = stack.cluster.quota
    live = set(state.region_lists.values())
    besides = sum(1 for name in state.region_lists.values() if name not in ours)
    total = besides + len(ours)
    line = (f"prefix lists in the Region: {len(state.region_lists)} customer-managed live, {len(live & ours)} of them "
            f"this stack's; with this stack's {len(ours)}, {total} of {quota.aws_prefix_lists_per_region} "
            f"({quota.aws_prefix_lists_per_region - total} left)")
    if quota.aws_used_prefix_lists != besides:
        line += (f"; kubeports:cluster.quota.awsUsedPrefixLists is {quota.aws_used_prefix_lists}, the Region holds "
                 f"{besides} besides this stack's: set it to {besides}")
    return [line]

