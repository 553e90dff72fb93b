"""`kubeports adopt`: bring hand-made groups and rules under kubeports without recreating them.

Rules of this file:
- what kubeports would create comes from the offline plan (the real program under
  mocks), so adoption follows whatever names and inputs the program really uses;
- a planned group is matched to the live group of its role (kubeports.core.audit's
  mapping); a planned rule to a live rule of that group with the same content as the
  provider sends it (direction, family, protocol, ports, peer), descriptions aside; a
  CIDR the cloud holds with host bits (`10.0.0.7/24`) is never adopted: the provider
  compares the text and would replace it, delete first; it is an extra rule instead;
- the import file is Pulumi's documented bulk format (`pulumi import --file`): every
  adopted resource by its program name, with its parents as `component` entries, so
  the URNs it creates are the ones the program registers;
- live rules in adopted groups that the program does not declare are imported too,
  under `<cluster>-adopted-<id>`, so that the next `pulumi up` deletes exactly those;
  nothing is deleted before its replacement exists, because matched rules are never
  touched: creates come first and the extra rules go last, as Pulumi orders a run;
- an adopted field that differs is an in-place change, or kept where the program holds
  it with `ignoreChanges` (the cloud modules do for what cannot change without a new
  object: a Neutron rule's and an AWS group's description, `deleteDefaultRules`);
- a planned CIDR set (issue 19: an `AddressGroupV2` / `ManagedPrefixList`) is matched to a
  live one by content: the same entries of the same family, the same name preferred among
  equals; it is imported, and rules naming it then match live rules naming the live id. A
  set is never adopted by name alone: other entries would change what every rule admits;
- what adoption does not cover (instances, ports, server groups) is listed among the
  creates: the next `pulumi up` creates them, and the reviewer must see that.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeports.core.live import LiveGroup, LiveRule, LiveSet, LiveState, protocol_of, sorted_cidrs

OPENSTACK_GROUP = "openstack:networking/secGroup:SecGroup"
OPENSTACK_RULE = "openstack:networking/secGroupRule:SecGroupRule"
AWS_GROUP = "aws:ec2/securityGroup:SecurityGroup"
AWS_RULES = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
             "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress"}
OPENSTACK_SET = "openstack:networking/addressGroupV2:AddressGroupV2"
AWS_SET = "aws:ec2/managedPrefixList:ManagedPrefixList"
SET_KIND = {OPENSTACK_SET: "address-group", AWS_SET: "prefix-list"}
MOCK_ID_SUFFIX = "-id"  # kubeports.plan.offline: a planned resource's id is `<name>-id`

Content = tuple[str, str, str, str, int | None, int | None, str, str]


@dataclass
class Adoption:
    imports: list[dict[str, Any]] = field(default_factory=list)  # the import file's resources
    adopted: list[str] = field(default_factory=list)  # program names matched to a live id
    creates: list[str] = field(default_factory=list)  # planned groups and rules with no live match
    deletes: list[str] = field(default_factory=list)  # live rules the program does not declare
    updates: list[str] = field(default_factory=list)  # adopted, with a field the next up changes
    kept: list[str] = field(default_factory=list)  # adopted, differing where the program ignores changes

    def import_file(self) -> dict[str, Any]:
        return {"resources": self.imports}


def _prefix(raw: Any, ethertype: str) -> str:
    if not raw:
        return "0.0.0.0/0" if ethertype == "IPv4" else "::/0"
    return str(ipaddress.ip_network(str(raw), strict=False))


def planned_content(res: Mapping[str, Any], group_ids: Mapping[str, str]) -> list[Content]:
    """A planned rule as the provider sends it, with planned group ids replaced by live ones;
    an AWS group reference has no family, so it stands for both (as it does in EC2)."""
    inputs = res["inputs"]

    def live_id(mock: Any) -> str:
        name = str(mock).removesuffix(MOCK_ID_SUFFIX)
        return group_ids.get(name, f"(planned {name})")

    if res["type"] == OPENSTACK_RULE:
        ethertype = inputs.get("ethertype", "IPv4")
        protocol = protocol_of(inputs.get("protocol"))
        if inputs.get("remoteGroupId"):
            kind, peer = "group", live_id(inputs["remoteGroupId"])
        elif inputs.get("remoteAddressGroupId"):  # a CIDR set's address group: the adopted one's id
            kind, peer = "address-group", live_id(inputs["remoteAddressGroupId"])
        else:
            kind, peer = "cidr", _prefix(inputs.get("remoteIpPrefix"), ethertype)
        return [(live_id(inputs["securityGroupId"]), inputs["direction"], ethertype, protocol,
                 inputs.get("portRangeMin"), inputs.get("portRangeMax"), kind, peer)]
    direction = AWS_RULES[res["type"]]
    protocol = protocol_of(inputs.get("ipProtocol"))
    low, high = (None, None) if protocol == "all" else (inputs.get("fromPort"), inputs.get("toPort"))
    low, high = (None if low == -1 else low), (None if high == -1 else high)
    group = live_id(inputs["securityGroupId"])
    if inputs.get("referencedSecurityGroupId"):
        return [(group, direction, "any", protocol, low, high, "group", live_id(inputs["referencedSecurityGroupId"]))]
    if inputs.get("prefixListId"):  # a CIDR set's prefix list: the adopted one's id
        return [(group, direction, "any", protocol, low, high, "prefix-list", live_id(inputs["prefixListId"]))]
    if inputs.get("cidrIpv6"):
        return [(group, direction, "IPv6", protocol, low, high, "cidr", _prefix(inputs["cidrIpv6"], "IPv6"))]
    return [(group, direction, "IPv4", protocol, low, high, "cidr", _prefix(inputs.get("cidrIpv4"), "IPv4"))]


def live_content(rule: LiveRule) -> Content:
    low, high = rule.from_port, rule.to_port
    if rule.protocol in ("tcp", "udp") and (low, high) in ((1, 65535), (0, 65535)):
        low = high = None  # Neutron stores a full range as no range
    return (rule.group, rule.direction, rule.ethertype, rule.protocol, low, high, rule.peer_kind, rule.peer)


def _sent_content(content: Content) -> Content:
    group, direction, ethertype, protocol, low, high, kind, peer = content
    if protocol in ("tcp", "udp") and (low, high) in ((1, 65535), (0, 65535)):
        low = high = None
    return (group, direction, ethertype, protocol, low, high, kind, peer)


def _role_of_group(res: Mapping[str, Any]) -> str | None:
    """The role a planned group is the first group of; None for a role's other groups
    (kubeports:aws.groupsPerRole: `kubeports/group`), which a brownfield role never has."""
    tags = res["inputs"].get("tags")
    if isinstance(tags, dict):
        return None if "kubeports/group" in tags else tags.get("kubeports/role")
    for tag in tags or []:
        if str(tag).startswith("kubeports:role="):
            return str(tag).split("=", 1)[1]
    return None


def _differs(out: Adoption, res: Mapping[str, Any], ignored: frozenset[str], key: str, text: str) -> None:
    """One adopted field that differs: kept where the program ignores its changes."""
    if key in ignored:
        out.kept.append(f"{res['name']}: {key} {text.split(' -> ')[0]} kept (ignoreChanges)")
    else:
        out.updates.append(f"{res['name']}: {key} {text}")


def _group_changes(res: Mapping[str, Any], live: LiveGroup, ignored: frozenset[str], out: Adoption) -> None:
    """Fields of an adopted group the next `pulumi up` updates in place, or keeps."""
    inputs, name, tags = res["inputs"], live.name, live.tags
    if name and inputs.get("name") not in (None, name):
        _differs(out, res, ignored, "name", f"{name!r} -> {inputs['name']!r}")
    if inputs.get("description") not in (None, live.description):
        _differs(out, res, ignored, "description", f"{live.description!r} -> {inputs['description']!r}")
    planned = inputs.get("tags") or {}
    wanted = dict(str(t).split("=", 1) if "=" in str(t) else (str(t), "") for t in planned) \
        if isinstance(planned, list) else {str(k): str(v) for k, v in planned.items()}
    if wanted != dict(tags):
        added = sorted(f"{k}={v}" for k, v in wanted.items() if tags.get(k) != v)
        removed = sorted(f"{k}={v}" for k, v in tags.items() if k not in wanted)
        out.updates.append(f"{res['name']}: tags" + (f" +{', +'.join(added)}" if added else "") +
                           (f" -{', -'.join(removed)}" if removed else ""))


def _set_family(kind: str, declared: str, entries: tuple[str, ...]) -> str:
    """A prefix list's declared AddressFamily; an address group's: the families its
    addresses have (`IPv4`, `IPv4/IPv6`), as Neutron declares none."""
    if kind == "prefix-list":
        return declared
    return "/".join(sorted({"IPv4" if ipaddress.ip_network(e).version == 4 else "IPv6" for e in entries}))


def planned_set(res: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(family, entries) of a planned address group / prefix list, normalised as kubeports.core.live
    reads a live one (the cloud modules make one per set and family)."""
    inputs = res["inputs"]
    raw = inputs.get("addresses") if res["type"] == OPENSTACK_SET else \
        [e.get("cidr") for e in inputs.get("entries") or [] if isinstance(e, Mapping)]
    entries = sorted_cidrs(_prefix(c, "IPv4") for c in raw or [] if c)
    return _set_family(SET_KIND[res["type"]], str(inputs.get("addressFamily") or ""), entries), entries


def match_set(res: Mapping[str, Any], state: LiveState, taken: set[str],
              used: Callable[[str], int] = lambda live_id: 0) -> LiveSet | None:
    """The live set with the planned one's entries and family; among equals the same name
    first, then the one most of the planned rules naming it would match (`used`), then by id."""
    family, entries = planned_set(res)
    fits = [s for s in state.sets.values() if s.kind == SET_KIND[res["type"]] and s.id not in taken
            and s.entries == entries and _set_family(s.kind, s.family, entries) == family]
    name = res["inputs"].get("name")
    fits.sort(key=lambda s: (s.name != name, -used(s.id), s.id))
    return fits[0] if fits else None


def _set_changes(res: Mapping[str, Any], live: LiveSet, ignored: frozenset[str], out: Adoption) -> None:
    """Fields of an adopted set the next `pulumi up` updates in place (its entries are equal)."""
    inputs = res["inputs"]
    if inputs.get("name") not in (None, live.name):
        _differs(out, res, ignored, "name", f"{live.name!r} -> {inputs['name']!r}")
    if res["type"] == OPENSTACK_SET and inputs.get("description") not in (None, live.description):
        _differs(out, res, ignored, "description", f"{live.description!r} -> {inputs['description']!r}")
    if res["type"] == AWS_SET and inputs.get("maxEntries") not in (None, live.max_entries):
        _differs(out, res, ignored, "maxEntries", f"{live.max_entries} -> {inputs['maxEntries']}")


def _adopt_sets(resources: list[Mapping[str, Any]], state: LiveState, roles: Mapping[str, str],
                group_ids: dict[str, str], out: Adoption, import_entry: Callable, ignored: Callable) -> None:
    """Planned address groups / prefix lists matched to live ones (see the header); each
    adopted one's live id stands in for its planned id in the rules that name it."""
    live = {_sent_content(live_content(r)) for r in state.rules if r.group in roles.values() and not r.peer_text}
    taken: set[str] = set()
    for res in resources:
        if res["type"] not in SET_KIND:
            continue
        naming = [r for r in resources if (r["type"] == OPENSTACK_RULE or r["type"] in AWS_RULES)
                  and res["name"] + MOCK_ID_SUFFIX in (r["inputs"].get("remoteAddressGroupId"),
                                                       r["inputs"].get("prefixListId"))]

        def used(live_id: str, naming: list = naming, name: str = res["name"]) -> int:
            ids = {**group_ids, name: live_id}
            return sum(1 for r in naming for c in planned_content(r, ids) if _sent_content(c) in live)

        found = match_set(res, state, taken, used)
        if found is None:
            out.creates.append(res["name"])
            continue
        taken.add(found.id)
        group_ids[res["name"]] = found.id  # rules name it by its planned id: the live one stands in
        import_entry(res, found.id)
        _set_changes(res, found, ignored(res), out)


def adopt(plan: Mapping[str, Any], state: LiveState, roles: Mapping[str, str], cluster: str) -> Adoption:
    """The import file and the reviewer's view of what the next `pulumi up` does after it."""
    resources = plan["resources"]
    by_urn = {r["urn"]: r for r in resources}
    options = plan.get("options", {})

    def ignored(res: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(options.get(res["urn"], {}).get("ignoreChanges") or ())

    out = Adoption()
    group_ids: dict[str, str] = {}  # planned group name -> live group id
    parents: dict[str, str] = {}  # name -> parent name, for every adopted resource and its ancestors

    def add_parents(res: Mapping[str, Any]) -> str | None:
        parent = by_urn.get(res.get("parent") or "")
        if parent is None:
            return None
        if parent["name"] not in parents:
            parents[parent["name"]] = add_parents(parent) or ""
            entry = {"type": parent["type"], "name": parent["name"], "component": True}
            if parents[parent["name"]]:
                entry["parent"] = parents[parent["name"]]
            out.imports.append(entry)
        return str(parent["name"])

    def import_entry(res: Mapping[str, Any], live_id: str) -> None:
        entry = {"type": res["type"], "name": res["name"], "id": live_id}
        parent = add_parents(res)
        if parent:
            entry["parent"] = parent
        out.imports.append(entry)
        out.adopted.append(res["name"])

    for res in resources:
        if res["type"] in (OPENSTACK_GROUP, AWS_GROUP):
            role = _role_of_group(res)
            if role in roles:
                group_ids[res["name"]] = roles[role]
                import_entry(res, roles[role])
                live = state.groups.get(roles[role])
                if live is not None:
                    _group_changes(res, live, ignored(res), out)
            else:
                out.creates.append(res["name"])
        elif res["type"] not in AWS_RULES and res["type"] != OPENSTACK_RULE and res["type"] not in SET_KIND \
                and not res["type"].startswith("kubeports:"):
            out.creates.append(res["name"])  # not adopted: instances, ports, server groups
    _adopt_sets(resources, state, roles, group_ids, out, import_entry, ignored)
    free: dict[Content, list[LiveRule]] = {}
    unfit: list[LiveRule] = []  # same packets, another text: the provider would replace it (delete first)
    for rule in sorted(state.rules, key=lambda r: r.order):
        if rule.group in roles.values():
            (unfit if rule.peer_text else free.setdefault(live_content(rule), [])).append(rule)
    descriptions = {r.rule_id: r.description for r in state.rules}
    for res in resources:
        if res["type"] != OPENSTACK_RULE and res["type"] not in AWS_RULES:
            continue
        matched = None
        for content in planned_content(res, group_ids):
            candidates = free.get(_sent_content(content))
            if candidates and candidates[0].rule_id:
                matched = candidates.pop(0)
        if matched is None:
            out.creates.append(res["name"])
            continue
        import_entry(res, matched.rule_id)
        wanted = res["inputs"].get("description") or ""
        if descriptions.get(matched.rule_id, "") != wanted:
            how = "replaced (Neutron rules have no update)" if res["type"] == OPENSTACK_RULE else "updated in place"
            _differs(out, res, ignored(res), "description",
                     f"{descriptions.get(matched.rule_id, '')!r} -> {wanted!r}, {how}")
    cluster_res = next((r for r in resources if r["type"] == "kubeports:index:Cluster"), None)
    for leftovers in [*free.values(), unfit]:
        for rule in leftovers:
            if not rule.rule_id:
                continue
            name = f"{cluster}-adopted-{rule.rule_id}"
            entry: dict[str, Any] = {"type": OPENSTACK_RULE if state.cloud == "openstack" else
                                     next(t for t, d in AWS_RULES.items() if d == rule.direction),
                                     "name": name, "id": rule.rule_id}
            if cluster_res is not None:
                parents.setdefault(cluster_res["name"], "")
                if not any(e["name"] == cluster_res["name"] for e in out.imports):
                    out.imports.append({"type": cluster_res["type"], "name": cluster_res["name"], "component": True})
                entry["parent"] = cluster_res["name"]
            out.imports.append(entry)
            out.deletes.append(f"{name}: {rule.label()}")
    out.creates.sort()
    out.deletes.sort()
    return out
