"""`kubeports export`: a stack's resolved rules as a host firewall (nftables) or as a
firewall change request for network teams (csv, markdown). Pure: no pulumi.

Rules of this file:
- nftables: one complete table per role (`table inet kubeports_<role>`); the file first
  deletes the table it defines, so `nft -f FILE` loads and re-loads it atomically;
- inbound drops by default; outbound follows `kubeports:cluster.egress` (open: policy
  accept; strict: policy drop plus the resolved egress rules);
- every peer is a named set (`@role_worker_v4`, `@cidr_10_0_0_0_8_v4`). Role sets are
  filled from `--addresses FILE`; without it they stay empty with a commented
  placeholder, which fails closed: an unfilled set matches nothing;
- IPv6 in use (enabled, or allowed by any rule) means neighbour discovery is accepted
  both ways, or IPv6 breaks; podCidrs, when set, are accepted inbound (pods reaching
  host-network services arrive from pod addresses, which security groups never see);
- every nftables rule carries its rule key as comment; every request row its sources;
- rows and rules come from `Resolution.rules` only: the plan is the single truth;
- nothing written can become something else: text from files (purposes, file names,
  the title) passes `one_line` in nftables comments (no newline ends a comment early),
  CSV cells never start a formula (`=`, `+`, `-`, `@`, tab, CR get a leading `'`), and
  markdown cells escape every ASCII punctuation character (no link, HTML or emphasis).
"""
from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import display_path
from kubeports.core.project import Project
from kubeports.core.rules import Rule, cidr_label
from kubeports.core.spec import ROLES
from kubeports.core.yamlsrc import load_file
from kubeports.render.tables import port_label, protocol_label

IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network
Addresses = dict[str, list[IpNet]]


@dataclass(frozen=True)
class Family:
    suffix: str  # set name suffix
    match: str  # nft payload protocol: `ip saddr ...`
    set_type: str
    nfproto: str
    version: int

    def pick(self, nets: Iterable[str | IpNet]) -> list[IpNet]:
        return [n for n in map(ipaddress.ip_network, nets) if n.version == self.version]


FAMILIES = {
    "IPv4": Family("v4", "ip", "ipv4_addr", "ipv4", 4),
    "IPv6": Family("v6", "ip6", "ipv6_addr", "ipv6", 6),
}
NFT_COMMENT_MAX = 128  # the kernel keeps at most 128 bytes of a rule comment
# Without these IPv6 does not work at all: neighbour discovery (RFC 4861, hop limit 255)
# and multicast listener discovery (RFC 3810, hop limit 1). Conntrack leaves them
# untracked, so the stateful rules never see them.
IPV6_LINK_RULES = (
    "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } "
    'ip6 hoplimit 255 accept comment "IPv6 neighbour discovery"',
    "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } "
    'ip6 hoplimit 1 accept comment "IPv6 multicast listener discovery"',
)
# Per chain: (hook, peer address field, loopback match).
CHAINS = {"ingress": ("input", "saddr", 'iif "lo"'), "egress": ("output", "daddr", 'oif "lo"')}


# ---------------------------------------------------------------- addresses

ADDRESS_WIDEST = {4: 16, 6: 48}  # a node "address" wider than this fills a role set with strangers


def node_address(item: object) -> IpNet:
    """A node's address (or a small range of them): no zone id (nft has none), no /0 or
    implausibly wide prefix, which would let the world in as a cluster role."""
    text = str(item)
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise ValueError(f"{item!r} is not an address")
    if "%" in text:
        raise ValueError(f"{text!r} has a zone id; give the address alone")
    net = ipaddress.ip_network(text)
    if net.prefixlen < ADDRESS_WIDEST[net.version]:
        raise ValueError(f"{text} is wider than /{ADDRESS_WIDEST[net.version]}; list node addresses, not networks")
    return net


def load_addresses(path: str) -> Addresses:
    """A YAML (or JSON) mapping `role: [address or CIDR, ...]`; both families may mix."""
    doc, problems = load_file(path)
    if doc is None:
        raise KubeportsError(problems)
    where = display_path(path)
    if not isinstance(doc.data, dict):
        raise KubeportsError([Problem(where, 1, "(document)", "must map roles to lists of addresses")])
    out: Addresses = {}
    for role, items in doc.data.items():
        line = doc.line_of((role,))
        if role not in ROLES:
            problems.append(Problem(where, line, str(role), f"unknown role; known: {', '.join(ROLES)}"))
            continue
        if not isinstance(items, list):
            problems.append(Problem(where, line, role, "must be a list of addresses"))
            continue
        nets: list[IpNet] = []
        for i, item in enumerate(items):
            try:
                nets.append(node_address(item))
            except ValueError as exc:
                problems.append(Problem(where, doc.line_of((role, i)), f"{role}[{i}]", str(exc)))
        out[role] = nets
    if problems:
        raise KubeportsError(problems)
    return out


# ---------------------------------------------------------------- nftables

def table_name(role: str) -> str:
    return "kubeports_" + role.replace("-", "_")


def set_name(peer_kind: str, peer: str, ethertype: str) -> str:
    """Injective: every character that is not [a-z0-9] becomes one `_`, runs included, so
    `fd00:213::c0/122` and `fd00:213:c0::/122` get two names."""
    label = peer if peer_kind == "role" else cidr_label(peer)
    return f"{peer_kind}_{re.sub(r'[^a-z0-9]', '_', label.lower())}_{FAMILIES[ethertype].suffix}"


def _l4(rule: Rule) -> str:
    proto, low, high = rule.protocol, rule.from_port, rule.to_port
    if proto == "all":
        return ""
    if proto.isdigit():
        return f"meta l4proto {proto}"
    if rule.is_icmp:
        if low is None:
            return "meta l4proto " + ("icmp" if proto == "icmp" else "ipv6-icmp")
        return f"{proto} type {low}" + (f" {proto} code {high}" if high is not None else "")
    if low is None:
        return f"meta l4proto {proto}"
    return f"{proto} dport " + (str(low) if low == high else f"{low}-{high}")


def nft_rule(rule: Rule) -> str:
    """One rule as an nftables statement (without indentation)."""
    family = FAMILIES[rule.ethertype]
    peer = (f"meta nfproto {family.nfproto}" if rule.is_anywhere
            else f"{family.match} {CHAINS[rule.direction][1]} @{set_name(rule.peer_kind, rule.peer, rule.ethertype)}")
    comment = one_line(rule.key)[:NFT_COMMENT_MAX].replace('"', "").replace("\\", "")
    return " ".join(p for p in (peer, _l4(rule), "accept", f'comment "{comment}"') if p)


@dataclass
class NftSet:
    name: str
    family: Family
    elements: list[str]
    placeholder: str = ""  # why the set is empty, for the person who fills it in

    def render(self) -> list[str]:
        lines = [f"\tset {self.name} {{", f"\t\ttype {self.family.set_type}", "\t\tflags interval", "\t\tauto-merge"]
        if self.elements:
            lines.append(f"\t\telements = {{ {', '.join(self.elements)} }}")
        else:
            example = "192.0.2.10, 192.0.2.11" if self.family.version == 4 else "2001:db8::10, 2001:db8::11"
            lines += [f"\t\t# PLACEHOLDER: {self.placeholder}; fill in and uncomment:",
                      f"\t\t# elements = {{ {example} }}"]
        return lines + ["\t}"]


def _element(net: IpNet) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _sets(rules: Iterable[Rule], addresses: Addresses, pod_cidrs: list[str]) -> list[NftSet]:
    sets: dict[str, NftSet] = {}
    for rule in rules:
        if rule.is_anywhere:
            continue
        name = set_name(rule.peer_kind, rule.peer, rule.ethertype)
        if name in sets:
            continue
        family = FAMILIES[rule.ethertype]
        if rule.peer_kind == "cidr":
            sets[name] = NftSet(name, family, [rule.peer])
        else:
            elements = [_element(n) for n in family.pick(addresses.get(rule.peer, []))]
            why = f"the {rule.ethertype} addresses of every {rule.peer} node (or pass --addresses FILE)"
            sets[name] = NftSet(name, family, elements, why)
    for family in FAMILIES.values():
        cidrs = [str(n) for n in family.pick(pod_cidrs)]
        if cidrs:
            sets[f"pod_cidrs_{family.suffix}"] = NftSet(f"pod_cidrs_{family.suffix}", family, cidrs)
    return sorted(sets.values(), key=lambda s: s.name)


def one_line(text: str) -> str:
    """Non-printable characters (newline, CR, ESC, U+2028, U+0085...) as escapes, so text
    from a file name or a purpose cannot end an nftables comment and start a statement."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _why(rule: Rule) -> str:
    return f"\t\t# {one_line(rule.description)} ({one_line(', '.join(rule.sources))})"


def nftables_ruleset(project: Project, role: str, addresses: Addresses, title: str) -> str:
    cluster = project.stack.cluster
    rules = [r for r in project.resolution.rules if r.role == role]
    # IPv6 is in use when the stack enables it or a rule allows it (egress open allows it
    # always, like Neutron's default group); either way neighbour discovery must pass.
    ipv6 = "IPv6" in cluster.ip_families or any(r.ethertype == "IPv6" for r in rules)
    strict = cluster.egress == "strict"
    table = table_name(role)
    title = one_line(title)
    out = [
        f"# kubeports export: {title}, role {role} (egress {cluster.egress}, {', '.join(cluster.ip_families)}).",
        f"# Load on every {role} node: nft -f FILE. Loading again replaces the table atomically.",
        "# Generated from the port plan: change the stack or portspecs/, then export again.",
        f"table inet {table}",
        f"delete table inet {table}",
        "",
        f"table inet {table} {{",
    ]
    for nft_set in _sets(rules, addresses, cluster.pod_cidrs):
        out += nft_set.render()
    for direction, (hook, _field, loopback) in CHAINS.items():
        policy = "accept" if direction == "egress" and not strict else "drop"
        out += ["", f"\tchain {hook} {{", f"\t\ttype filter hook {hook} priority filter; policy {policy};",
                "\t\tct state established,related accept", "\t\tct state invalid drop", f"\t\t{loopback} accept"]
        if ipv6:
            out += [f"\t\t{r}" for r in IPV6_LINK_RULES]
        if direction == "ingress":
            for family in FAMILIES.values():
                if family.pick(cluster.pod_cidrs):
                    out.append(f"\t\t{family.match} saddr @pod_cidrs_{family.suffix} accept "
                               f'comment "pods (podCidrs) to host-network services"')
        for rule in rules:
            if rule.direction == direction:
                out += [_why(rule), f"\t\t{nft_rule(rule)}"]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"


def as_nftables(project: Project, roles: list[str], addresses: Addresses, title: str) -> str:
    return "\n".join(nftables_ruleset(project, role, addresses, title) for role in roles)


# ---------------------------------------------------------------- change request

@dataclass
class Row:
    source: str
    destination: str
    family: str
    protocol: str
    port: str
    purposes: set[str] = field(default_factory=set)
    documents: dict[str, None] = field(default_factory=dict)  # ordered set
    keys: list[str] = field(default_factory=list)


COLUMNS: tuple[tuple[str, Callable[[Row], str]], ...] = (
    ("Source", lambda r: r.source),
    ("Destination", lambda r: r.destination),
    ("Family", lambda r: r.family),
    ("Protocol", lambda r: r.protocol),
    ("Port", lambda r: r.port),
    ("Purpose", lambda r: "; ".join(sorted(r.purposes))),
    ("Source document", lambda r: "; ".join(r.documents)),
    ("Rule keys", lambda r: " ".join(r.keys)),
)


def _endpoint(kind: str, value: str, addresses: Addresses) -> str:
    if kind == "cidr":
        return f"anywhere ({value})" if ipaddress.ip_network(value).prefixlen == 0 else value
    listed = addresses.get(value)
    return f"{value} nodes ({', '.join(_element(n) for n in listed)})" if listed else f"{value} nodes"


def request_rows(project: Project, roles: list[str], addresses: Addresses) -> list[Row]:
    """One row per (source, destination, protocol, port): a flow between two roles gives
    an ingress and an egress rule, but a network firewall needs it once."""
    urls = {f.where: f.source for f in project.catalog.flows}
    rows: dict[tuple, Row] = {}
    for rule in project.resolution.rules:
        if rule.role not in roles:
            continue
        here, there = ("role", rule.role), (rule.peer_kind, rule.peer)
        src, dst = (there, here) if rule.direction == "ingress" else (here, there)
        row = rows.setdefault(
            (src, dst, rule.ethertype, protocol_label(rule), port_label(rule)),
            Row(_endpoint(*src, addresses), _endpoint(*dst, addresses), rule.ethertype,
                protocol_label(rule), port_label(rule)))
        row.purposes.update(p for p in rule.description.split("; ") if p)
        for where in rule.sources:
            # a stack's own extra flow has no document unless it names one (its `source:` URL)
            row.documents[f"{where} {urls[where]}" if urls.get(where) else f"stack setting {where}"] = None
        row.keys.append(rule.key)
    return list(rows.values())


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet evaluates such a cell (OWASP CSV injection)


def csv_cell(text: str) -> str:
    """A cell no spreadsheet evaluates: a formula start gets a leading `'` (a lone `-`,
    the port of a portless protocol, is no formula and stays)."""
    return "'" + text if text.startswith(FORMULA_STARTS) and text != "-" else text


def as_csv(project: Project, roles: list[str], addresses: Addresses, title: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS])
    for row in request_rows(project, roles, addresses):
        writer.writerow([csv_cell(get(row)) for _, get in COLUMNS])
    return buf.getvalue()


MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-?\[-`{-~])")  # CommonMark: any ASCII punctuation may be escaped


def markdown_text(text: str) -> str:
    """Literal text in a markdown table cell: every ASCII punctuation character escaped
    (no emphasis, link, autolink, HTML, entity or cell break), control characters as
    escapes; `@` as a code span, since GFM turns `a@b.c` into a mailto link even escaped."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", one_line(text)).replace("@", "`@`")


def as_request_markdown(project: Project, roles: list[str], addresses: Addresses, title: str) -> str:
    cell = markdown_text
    out = [f"# Firewall change request: {markdown_text(title)}\n\n",
           f"Roles: {', '.join(roles)}. Outbound: {project.stack.cluster.egress}. "
           "Each row is one flow to permit; everything else stays blocked.\n\n",
           "| " + " | ".join(name for name, _ in COLUMNS) + " |\n",
           "|" + "---|" * len(COLUMNS) + "\n"]
    for row in request_rows(project, roles, addresses):
        out.append("| " + " | ".join(cell(get(row)) for _, get in COLUMNS) + " |\n")
    return "".join(out)


FORMATS: dict[str, Callable[[Project, list[str], Addresses, str], str]] = {
    "nftables": as_nftables,
    "csv": as_csv,
    "markdown": as_request_markdown,
}
