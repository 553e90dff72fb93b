"""Security groups as a cloud holds them, in one cloud-neutral form, for `kubeports audit`.

Rules of this file:
- pure: it parses what a cloud API or CLI returned (a saved dump, or the same shape read
  through the cloud's SDK by kubeports.live) and never calls a cloud itself;
- every rule keeps where it came from (`dump.json:12`, or the rule id), so a finding can
  point at the line a network team sent;
- a malformed dump is a list of `path:line: field: message` problems, never a traceback;
- provider spellings are normalised here and nowhere else: Neutron's protocol names and
  numbers, AWS's `-1` for "all", AWS group and prefix-list references (which have no
  address family: one reference admits both, so its ethertype is `any`).

Formats read:
- Neutron: the API's `security_group_rules` objects (GET /v2.0/security-group-rules, or
  openstacksdk's `to_dict()`), a `{"security_groups": [...]}` document with their
  `security_group_rules` and tags, `openstack security group show -f json GROUP` (one group,
  its rules under `rules`), or `openstack security group rule list --long -f json`
  (whose ICMP rules carry no type: read as every type, said in a note);
- AWS: `aws ec2 describe-security-group-rules` and `aws ec2 describe-security-groups`;
- CIDR sets (issue 19), the objects a rule's `remote_address_group_id` / `PrefixListId` names:
  Neutron's `GET /v2.0/address-groups` (`{"address_groups": [{"id", "name", "addresses"}]}`),
  alone or as an `address_groups` key beside `security_groups` (kubeports' bundle, what
  kubeports.live.openstack reads); AWS's `describe-managed-prefix-lists`, whose lists may
  each carry the `Entries` of `get-managed-prefix-list-entries` for that list (kubeports'
  bundle, alone or beside `SecurityGroups`, what kubeports.live.aws reads). A list without
  `Entries` is known by name only: a rule naming it cannot be checked (kubeports.core.audit).
  `RegionPrefixLists` (kubeports' bundle): every customer-managed list the account holds in
  the Region, id and name only, for EC2's "Prefix lists per Region" (audit's headroom).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import KubeportsError, Problem
from .yamlsrc import Located, load_file, load_text

OSC_ICMP_NOTE = ("`openstack security group rule list` shows no ICMP type or code: its ICMP rules are read as "
                 "every type (dump the API JSON, `openstack security group show -f json`, to audit ICMP exactly)")
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "ipv6-icmp": "icmpv6", "icmpv6": "icmpv6",
                  "tcp": "tcp", "udp": "udp", "icmp": "icmp", "any": "all", "-1": "all"}


@dataclass(frozen=True, order=True)
class LiveRule:
    group: str  # the id of the group holding it
    direction: str  # ingress | egress
    ethertype: str  # IPv4 | IPv6 | any (an AWS group or prefix-list reference: no family of its own)
    protocol: str  # tcp | udp | icmp | icmpv6 | all | an IP protocol number as digits
    from_port: int | None  # ICMP: the type; None: every port (type)
    to_port: int | None  # ICMP: the code
    peer_kind: str  # cidr | group | address-group | prefix-list
    peer: str
    rule_id: str = ""
    where: str = ""  # path:line of the dump, or "live" with the rule id
    description: str = ""
    peer_text: str = ""  # a CIDR as the cloud holds it (`10.0.0.7/24`: host bits kept), where it differs
    via: str = ""  # an entry of a set peer (kubeports.core.audit expands them): `address-group ID`

    @property
    def order(self) -> tuple:
        """A stable order, the same for a live read and any dump of it: ids, else lines."""
        return (self.rule_id == "", self.rule_id, self.line())

    @property
    def is_icmp(self) -> bool:
        return self.protocol in ("icmp", "icmpv6")

    def label(self) -> str:
        if self.protocol == "all":
            what = "all protocols"
        elif self.is_icmp:
            what = self.protocol + ("" if self.from_port is None else f" type {self.from_port}") + \
                ("" if self.to_port is None else f" code {self.to_port}")
        elif self.from_port is None:
            what = f"{self.protocol} all ports"
        else:
            what = f"{self.protocol} {self.from_port}" + ("" if self.from_port == self.to_port else f"-{self.to_port}")
        arrow = "from" if self.direction == "ingress" else "to"
        family = "both families" if self.ethertype == "any" else self.ethertype
        via = f" via {self.via}" if self.via else ""
        return f"{self.direction} {what} {arrow} {self.peer_kind} {self.peer}{via} ({family})"

    def line(self) -> int:
        """Where it was read (`path:LINE`), for a stable order that follows the dump."""
        tail = self.where.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True)
class LiveGroup:
    id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    project: str = ""  # Neutron's project_id: an admin's listing holds every project's groups
    description: str = ""

    @property
    def role(self) -> str | None:
        """kubeports' own tag: `kubeports:role=ROLE` (Neutron) or `kubeports/role` (AWS)."""
        return self.tags.get("kubeports:role") or self.tags.get("kubeports/role")

    @property
    def number(self) -> int | None:
        """Which of its role's groups this is, for the second and later (`kubeports/group`,
        kubeports:aws.groupsPerRole); None for a role's first (or only) group."""
        value = self.tags.get("kubeports/group", "")
        return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class LiveSet:
    """A Neutron address group or an AWS managed prefix list: the CIDRs a rule's set peer admits."""

    id: str
    kind: str  # address-group | prefix-list (a LiveRule's peer_kind)
    name: str = ""
    family: str = ""  # AWS: the list's AddressFamily; Neutron: "" (a group may hold both families)
    entries: tuple[str, ...] | None = ()  # sorted, normalised; None: the dump did not give them
    max_entries: int | None = None  # AWS: what a reference counts against the group's quota
    where: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    def of_family(self, ethertype: str) -> tuple[str, ...]:
        """The entries a rule of `ethertype` admits (`any`: an AWS reference, every entry)."""
        version = {"IPv4": 4, "IPv6": 6}.get(ethertype)
        return tuple(e for e in self.entries or () if version is None or ipaddress.ip_network(e).version == version)


@dataclass
class LiveState:
    cloud: str  # openstack | aws
    groups: dict[str, LiveGroup] = field(default_factory=dict)
    rules: list[LiveRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sets: dict[str, LiveSet] = field(default_factory=dict)  # address groups / prefix lists by id
    region_lists: dict[str, str] | None = None  # AWS: id -> name of the account's lists in the Region; None: not read


def protocol_of(raw: Any) -> str:
    """A provider's protocol as kubeports spells it; Neutron's None (any) becomes `all`."""
    if raw is None or raw == "":
        return "all"
    text = str(raw).strip().lower()
    return PROTOCOL_NAMES.get(text, text)


def _cidr(raw: Any) -> str:
    return str(ipaddress.ip_network(str(raw), strict=False))


def _port(raw: Any) -> int | None:
    if raw is None or raw == "" or raw == -1:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).lstrip("-").isdigit():
        raise ValueError(f"not a port number: {raw!r}")
    return int(raw)


class _Reader:
    """Collects problems with their dump lines while one document is read."""

    def __init__(self, doc: Located):
        self.doc = doc
        self.problems: list[Problem] = []

    def where(self, loc: tuple) -> str:
        return f"{self.doc.path}:{self.doc.line_of(loc)}"

    def bad(self, loc: tuple, message: str) -> None:
        field_ = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[") or "(document)"
        self.problems.append(Problem(self.doc.path, self.doc.line_of(loc), field_, message))


def _neutron_rule(reader: _Reader, item: Any, loc: tuple, group: str | None = None) -> Iterable[LiveRule]:
    if not isinstance(item, dict):
        reader.bad(loc, "expected a security group rule (a mapping)")
        return []
    try:
        direction = item["direction"]
        if direction not in ("ingress", "egress"):
            raise ValueError(f"direction must be ingress or egress, not {direction!r}")
        ethertype = item.get("ethertype") or item.get("ether_type") or "IPv4"  # the API's name, the SDK's
        if ethertype not in ("IPv4", "IPv6"):
            raise ValueError(f"ethertype must be IPv4 or IPv6, not {ethertype!r}")
        protocol = protocol_of(item.get("protocol"))
        low, high = _port(item.get("port_range_min")), _port(item.get("port_range_max"))
        if protocol in ("tcp", "udp") and low is not None and high is None:
            high = low
        if item.get("remote_group_id"):
            peer_kind, peer = "group", str(item["remote_group_id"])
        elif item.get("remote_address_group_id"):
            peer_kind, peer = "address-group", str(item["remote_address_group_id"])
        else:
            peer_kind = "cidr"
            peer = _cidr(item.get("remote_ip_prefix") or ("0.0.0.0/0" if ethertype == "IPv4" else "::/0"))
        text = str(item.get("remote_ip_prefix") or "").lower() if peer_kind == "cidr" else ""
        holder = group or item.get("security_group_id")
        if not holder:
            raise KeyError("security_group_id")
    except KeyError as exc:
        reader.bad(loc + (exc.args[0],), "missing")
        return []
    except ValueError as exc:
        reader.bad(loc, str(exc))
        return []
    return [LiveRule(str(holder), direction, ethertype, protocol, low, high, peer_kind, peer,
                     str(item.get("id") or ""), reader.where(loc), str(item.get("description") or ""),
                     text if text not in ("", peer) else "")]


def _osc_rule(reader: _Reader, item: Any, loc: tuple, state: LiveState) -> Iterable[LiveRule]:
    """One row of `openstack security group rule list --long -f json`."""
    if not isinstance(item, dict):
        reader.bad(loc, "expected a row of `openstack security group rule list --long -f json`")
        return []
    try:
        port_range = str(item.get("Port Range") or "")
        low = high = None
        if port_range:
            first, _, last = port_range.partition(":")
            low, high = _port(first), _port(last or first)
        row = {"direction": item["Direction"], "ethertype": item.get("Ethertype"), "protocol": item.get("IP Protocol"),
               "port_range_min": low, "port_range_max": high, "remote_ip_prefix": item.get("IP Range"),
               "remote_group_id": item.get("Remote Security Group"),
               "remote_address_group_id": item.get("Remote Address Group"),
               "security_group_id": item.get("Security Group"), "id": item.get("ID")}
    except KeyError as exc:
        reader.bad(loc + (exc.args[0],), "missing (dump it with --long)")
        return []
    except ValueError as exc:
        reader.bad(loc + ("Port Range",), str(exc))
        return []
    if protocol_of(row["protocol"]) in ("icmp", "icmpv6") and OSC_ICMP_NOTE not in state.notes:
        state.notes.append(OSC_ICMP_NOTE)
    return _neutron_rule(reader, row, loc)


def _tags(raw: Any) -> dict[str, str]:
    """Neutron tags are strings (`kubeports:role=worker`); AWS tags are Key/Value pairs."""
    out: dict[str, str] = {}
    for tag in raw or []:
        if isinstance(tag, dict) and "Key" in tag:
            out[str(tag["Key"])] = str(tag.get("Value", ""))
        elif isinstance(tag, str):
            key, _, value = tag.partition("=")
            out[key] = value
    return out


def _group_of(group: dict) -> LiveGroup:
    return LiveGroup(str(group["id"]), str(group.get("name") or ""), _tags(group.get("tags")),
                     str(group.get("project_id") or group.get("tenant_id") or ""), str(group.get("description") or ""))


def _is_osc_group(data: Any) -> bool:
    """`openstack security group show -f json GROUP`: one group, its rules under `rules`."""
    return isinstance(data, dict) and "id" in data and isinstance(data.get("rules"), list)


def _entries(reader: _Reader, raw: Any, loc: tuple, key: str | None = None) -> tuple[str, ...] | None:
    """A set's CIDRs, sorted and normalised (`10.0.0.7/24` is the network it names)."""
    if not isinstance(raw, list):
        reader.bad(loc, "expected a list of CIDRs")
        return None
    out = []
    for k, item in enumerate(raw):
        text = item.get(key) if key and isinstance(item, dict) else item
        try:
            out.append(_cidr(text))
        except ValueError:
            reader.bad(loc + (k,) + ((key,) if key else ()), f"not a CIDR: {text!r}")
    return sorted_cidrs(out)


def sorted_cidrs(cidrs: Iterable[str]) -> tuple[str, ...]:
    """A set's CIDRs in the one order sets are compared in: IPv4 first, then by network."""
    return tuple(sorted(set(cidrs), key=lambda c: (ipaddress.ip_network(c).version, ipaddress.ip_network(c))))


def _read_address_groups(reader: _Reader, rows: Any, state: LiveState) -> None:
    """`GET /v2.0/address-groups`: each group's id, name and `addresses`."""
    if not isinstance(rows, list):
        reader.bad(("address_groups",), "expected a list of address groups")
        return
    for i, row in enumerate(rows):
        loc = ("address_groups", i)
        if not isinstance(row, dict) or "id" not in row:
            reader.bad(loc, "expected an address group with an id")
            continue
        if "addresses" not in row:
            reader.bad(loc + ("addresses",), "missing")
            continue
        entries = _entries(reader, row["addresses"], loc + ("addresses",))
        state.sets[str(row["id"])] = LiveSet(str(row["id"]), "address-group", str(row.get("name") or ""), "",
                                             entries, None, reader.where(loc), str(row.get("description") or ""))


def _read_openstack(reader: _Reader, data: Any, state: LiveState) -> None:
    if isinstance(data, dict) and "address_groups" in data:
        _read_address_groups(reader, data["address_groups"], state)
        if not any(k in data for k in ("security_groups", "security_group_rules")):
            return
    if _is_osc_group(data):
        group = _group_of(data)
        state.groups[group.id] = group
        for j, rule in enumerate(data["rules"]):  # the CLI drops empty fields: no prefix is anywhere, as in the API
            state.rules += _neutron_rule(reader, rule, ("rules", j), group.id)
        return
    if isinstance(data, dict) and "security_groups" in data:
        for i, group in enumerate(data["security_groups"] or []):
            loc = ("security_groups", i)
            if not isinstance(group, dict) or "id" not in group:
                reader.bad(loc, "expected a security group with an id")
                continue
            state.groups[str(group["id"])] = _group_of(group)
            for j, rule in enumerate(group.get("security_group_rules") or []):
                state.rules += _neutron_rule(reader, rule, loc + ("security_group_rules", j), str(group["id"]))
        return
    rows = data.get("security_group_rules") if isinstance(data, dict) else data
    base: tuple = ("security_group_rules",) if isinstance(data, dict) else ()
    if not isinstance(rows, list):
        reader.bad(base, "expected a list of security group rules")
        return
    for i, row in enumerate(rows):
        osc = isinstance(row, dict) and "Direction" in row
        state.rules += (_osc_rule(reader, row, base + (i,), state) if osc else _neutron_rule(reader, row, base + (i,)))
    for rule in state.rules:
        state.groups.setdefault(rule.group, LiveGroup(rule.group, ""))


def _aws_permission(reader: _Reader, perm: Any, loc: tuple, group: str, egress: bool) -> list[LiveRule]:
    if not isinstance(perm, dict) or "IpProtocol" not in perm:
        reader.bad(loc, "expected an IpPermission with IpProtocol")
        return []
    direction = "egress" if egress else "ingress"
    try:
        protocol = protocol_of(perm["IpProtocol"])
        low, high = _port(perm.get("FromPort")), _port(perm.get("ToPort"))
    except ValueError as exc:
        reader.bad(loc, str(exc))
        return []
    if protocol == "all":
        low = high = None
    out: list[LiveRule] = []
    where = reader.where(loc)

    def add(ethertype: str, kind: str, peer: str, desc: Any, text: str = "") -> None:
        out.append(LiveRule(group, direction, ethertype, protocol, low, high, kind, peer, "", where,
                            str(desc or ""), text.lower() if text.lower() != peer else ""))

    try:
        for r in perm.get("IpRanges") or []:
            add("IPv4", "cidr", _cidr(r["CidrIp"]), r.get("Description"), str(r["CidrIp"]))
        for r in perm.get("Ipv6Ranges") or []:
            add("IPv6", "cidr", _cidr(r["CidrIpv6"]), r.get("Description"), str(r["CidrIpv6"]))
        for r in perm.get("UserIdGroupPairs") or []:
            add("any", "group", str(r["GroupId"]), r.get("Description"))
        for r in perm.get("PrefixListIds") or []:
            add("any", "prefix-list", str(r["PrefixListId"]), r.get("Description"))
    except (KeyError, TypeError, ValueError) as exc:
        reader.bad(loc, f"malformed peer: {exc}")
    return out


def _aws_rule(reader: _Reader, item: Any, loc: tuple) -> list[LiveRule]:
    """One entry of `describe-security-group-rules`."""
    if not isinstance(item, dict) or "GroupId" not in item:
        reader.bad(loc, "expected a security group rule with GroupId")
        return []
    perm: dict[str, Any] = {"IpProtocol": item.get("IpProtocol"), "FromPort": item.get("FromPort"),
                            "ToPort": item.get("ToPort")}
    if item.get("CidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": item["CidrIpv4"], "Description": item.get("Description")}]
    if item.get("CidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": item["CidrIpv6"], "Description": item.get("Description")}]
    if isinstance(item.get("ReferencedGroupInfo"), dict):
        perm["UserIdGroupPairs"] = [{"GroupId": item["ReferencedGroupInfo"].get("GroupId"),
                                     "Description": item.get("Description")}]
    if item.get("PrefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": item["PrefixListId"], "Description": item.get("Description")}]
    rules = _aws_permission(reader, perm, loc, str(item["GroupId"]), bool(item.get("IsEgress")))
    return [LiveRule(**{**r.__dict__, "rule_id": str(item.get("SecurityGroupRuleId") or "")}) for r in rules]


def _read_prefix_lists(reader: _Reader, rows: Any, state: LiveState) -> None:
    """`describe-managed-prefix-lists`, each list with the `Entries` of `get-managed-prefix-list-entries`."""
    if not isinstance(rows, list):
        reader.bad(("PrefixLists",), "expected a list of prefix lists")
        return
    for i, row in enumerate(rows):
        loc = ("PrefixLists", i)
        if not isinstance(row, dict) or "PrefixListId" not in row:
            reader.bad(loc, "expected a prefix list with PrefixListId")
            continue
        family = str(row.get("AddressFamily") or "")
        if family not in ("IPv4", "IPv6"):
            reader.bad(loc + ("AddressFamily",), f"must be IPv4 or IPv6, not {family!r}")
            continue
        entries = _entries(reader, row["Entries"], loc + ("Entries",), "Cidr") if "Entries" in row else None
        try:
            max_entries = _port(row.get("MaxEntries"))
        except ValueError as exc:
            reader.bad(loc + ("MaxEntries",), str(exc))
            continue
        plid = str(row["PrefixListId"])
        state.sets[plid] = LiveSet(plid, "prefix-list", str(row.get("PrefixListName") or ""), family, entries,
                                   max_entries, reader.where(loc), tags=_tags(row.get("Tags")))


def _read_region_lists(reader: _Reader, rows: Any, state: LiveState) -> None:
    """The account's customer-managed prefix lists in the Region: ids and names, no entries."""
    if not isinstance(rows, list):
        reader.bad(("RegionPrefixLists",), "expected a list of prefix lists")
        return
    found = state.region_lists if state.region_lists is not None else {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "PrefixListId" not in row:
            reader.bad(("RegionPrefixLists", i), "expected a prefix list with PrefixListId")
            continue
        found[str(row["PrefixListId"])] = str(row.get("PrefixListName") or "")
    state.region_lists = found


def _read_aws(reader: _Reader, data: Any, state: LiveState) -> None:
    if not isinstance(data, dict):
        reader.bad((), "expected the JSON of `aws ec2 describe-security-groups` or `describe-security-group-rules`")
        return
    if "PrefixLists" in data:
        _read_prefix_lists(reader, data["PrefixLists"], state)
    if "RegionPrefixLists" in data:
        _read_region_lists(reader, data["RegionPrefixLists"], state)
    if "RegionPrefixListsError" in data:
        state.notes.append(f"the Region's prefix lists could not be read ({data['RegionPrefixListsError']}): "
                           "the per-Region count (kubeports:cluster.quota.awsUsedPrefixLists) is not shown")
    for i, group in enumerate(data.get("SecurityGroups") or []):
        loc = ("SecurityGroups", i)
        if not isinstance(group, dict) or "GroupId" not in group:
            reader.bad(loc, "expected a security group with GroupId")
            continue
        gid = str(group["GroupId"])
        state.groups[gid] = LiveGroup(gid, str(group.get("GroupName") or ""), _tags(group.get("Tags")),
                                      description=str(group.get("Description") or ""))
        if "SecurityGroupRules" in data:
            continue  # the rules come from the rules listing, with their ids
        for key, egress in (("IpPermissions", False), ("IpPermissionsEgress", True)):
            for j, perm in enumerate(group.get(key) or []):
                state.rules += _aws_permission(reader, perm, loc + (key, j), gid, egress)
    for i, item in enumerate(data.get("SecurityGroupRules") or []):
        state.rules += _aws_rule(reader, item, ("SecurityGroupRules", i))
    for rule in state.rules:
        state.groups.setdefault(rule.group, LiveGroup(rule.group, ""))


def cloud_of(data: Any) -> str | None:
    if isinstance(data, dict) and any(k in data for k in ("SecurityGroups", "SecurityGroupRules", "PrefixLists",
                                                       "RegionPrefixLists")):
        return "aws"
    if isinstance(data, dict) and any(k in data for k in ("security_groups", "security_group_rules", "address_groups")) \
            or _is_osc_group(data):
        return "openstack"
    if isinstance(data, list) and (not data or isinstance(data[0], dict) and
                                   ("Direction" in data[0] or "direction" in data[0])):
        return "openstack"
    return None


def parse_dump(doc: Located, state: LiveState | None = None) -> LiveState:
    """Add one dump document to `state` (several files may describe one cluster)."""
    cloud = cloud_of(doc.data)
    if cloud is None:
        raise KubeportsError([Problem(doc.path, 1, "(document)", "not a security group dump; expected "
                                      "`openstack security group rule list --long -f json`, Neutron API JSON (security groups, "
                                      "rules, address groups), `aws ec2 describe-security-groups`, "
                                      "`describe-security-group-rules` or `describe-managed-prefix-lists`")])
    state = state or LiveState(cloud)
    if state.cloud != cloud:
        raise KubeportsError([Problem(doc.path, 1, "(document)", f"a {cloud} dump among {state.cloud} dumps")])
    reader = _Reader(doc)
    (_read_aws if cloud == "aws" else _read_openstack)(reader, doc.data, state)
    if reader.problems:
        raise KubeportsError(reader.problems)
    return state


def load_dumps(paths: Iterable[str]) -> LiveState:
    state: LiveState | None = None
    problems: list[Problem] = []
    for path in paths:
        doc, found = load_file(path)
        if doc is None:
            problems += found
            continue
        try:
            state = parse_dump(doc, state)
        except KubeportsError as exc:
            problems += exc.problems
    if problems:
        raise KubeportsError(problems)
    if state is None:
        raise KubeportsError([Problem("--dump", 1, "(audit)", "no dump given")])
    if state.cloud == "aws":
        _prefer_rule_listing(state)
    return state


def _prefer_rule_listing(state: LiveState) -> None:
    """`describe-security-groups` and `describe-security-group-rules` given together hold
    every rule twice: a group's permissions (no ids) yield to its listed rules (with ids)."""
    listed = {r.group for r in state.rules if r.rule_id}
    state.rules = [r for r in state.rules if r.rule_id or r.group not in listed]


def parse_text(text: str, path: str) -> LiveState:
    """A dump given as text (tests, and the live readers, which build the same JSON)."""
    doc, problems = load_text(text, path)
    if doc is None:
        raise KubeportsError(problems)
    return parse_dump(doc)
