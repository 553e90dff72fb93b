"""Compare two offline plans, and two rule lists: what `pulumi up` would create, delete,
update or replace, and which rules each role gains or loses. Pure: no pulumi.

API (what `kubeports diff` and the pull-request comment build on):

    plan_diff = diff_plans(old_plan, new_plan)   # Plan.to_json() dicts, Plans, or resource lists
    rule_diff = diff_rules(old_rules, new_rules) # `kubeports rules --format json` outputs
    plan_diff.is_empty and rule_diff.is_empty    # -> print "no changes", exit 0
    to_markdown(plan_diff, rule_diff, title=...) # the PR comment body (to_text: for terminals)
    to_json(plan_diff, rule_diff)                # the same, for machines

Rules of this file:
- resources are matched by URN; inputs are compared leaf by leaf, and a path reads
  like Pulumi's: `blockDevices[0].uuid`, `tags["Name"]`;
- a property the resource lists in its `ignoreChanges` option is not a change: it is
  reported under `ignored`, and neither updates nor replaces the resource;
- an offline plan has no provider to ask which changes replace a resource, so
  FORCE_NEW below says it per type. Each entry comes from the provider SDK docstrings
  ("Changing this creates a new ...") or, where those are silent (pulumi-aws), from the
  bridged Terraform schema (`ForceNew`, `RequiresReplace`). `pulumi preview` stays the
  authority; this is what a reviewer can know without credentials;
- option changes (protect, ignoreChanges, deleteBeforeReplace) touch no cloud object;
  they are reported apart, and still make a diff non-empty.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kubeports.render import review

# "options": only protect/ignoreChanges/deleteBeforeReplace moved; "ignored": input changes,
# every one held back by ignoreChanges (nothing happens; shown so a reviewer sees it).
Action = Literal["create", "delete", "update", "replace", "options", "ignored"]
Component = str | int
Path = tuple[Component, ...]
ANY = "*"  # in FORCE_NEW: every property; in a path: any index or key

# --- what replaces a resource -------------------------------------------------------------
# Property paths in camelCase (the plan's input names), list indices left out: an entry
# covers every change at or below it, so "blockDevices" covers `blockDevices[0].uuid`.
FORCE_NEW: dict[str, frozenset[str]] = {
    # --- OpenStack: every ":param ...: Changing this creates a new ..." of the pulumi_openstack
    # 5.x *Args docstrings (tests/plan/test_plandiff.py re-derives them from the installed SDK),
    # plus the ForceNew fields of terraform-provider-openstack v3.4.0 the docstrings omit (marked TF).
    # Security group rules have no Update at all: every argument replaces.
    "openstack:networking/secGroupRule:SecGroupRule": frozenset({ANY}),
    "openstack:networking/secGroup:SecGroup": frozenset({"region", "tenantId", "deleteDefaultRules"}),  # TF: ddr
    "openstack:networking/port:Port": frozenset({
        "networkId", "deviceId", "deviceOwner", "macAddress", "region", "tenantId", "valueSpecs"}),  # TF: valueSpecs
    # imageId/imageName are absent on purpose: "Changing this rebuilds the existing server"
    # (in place, see DISRUPTIVE). name, flavor*, metadata, tags update in place.
    # schedulerHints: every nested field is ForceNew in the Terraform schema (TF).
    "openstack:compute/instance:Instance": frozenset({
        "availabilityZone", "availabilityZoneHints", "blockDevices", "configDrive", "hypervisorHostname",
        "keyPair", "networks", "networkMode", "region", "schedulerHints", "userData"}),
    # No Update in the Terraform resource: every argument replaces (TF: rules, valueSpecs).
    "openstack:compute/serverGroup:ServerGroup": frozenset({ANY}),
    "openstack:loadbalancer/loadBalancer:LoadBalancer": frozenset({
        "availabilityZone", "flavorId", "loadbalancerProvider", "region", "tenantId", "vipAddress",
        "vipNetworkId", "vipPortId", "vipSubnetId"}),
    "openstack:loadbalancer/listener:Listener": frozenset({
        "loadbalancerId", "protocol", "protocolPort", "region", "tenantId"}),
    "openstack:loadbalancer/pool:Pool": frozenset({
        "listenerId", "loadbalancerId", "persistence", "protocol", "region", "tenantId"}),
    "openstack:loadbalancer/monitor:Monitor": frozenset({"poolId", "region", "tenantId", "type"}),  # TF: poolId
    "openstack:loadbalancer/member:Member": frozenset({
        "address", "poolId", "protocolPort", "region", "subnetId", "tenantId"}),
    "openstack:networking/floatingIp:FloatingIp": frozenset({
        "address", "dnsDomain", "dnsName", "pool", "region", "tenantId", "valueSpecs"}),  # TF: address, valueSpecs
    # portId and fixedIp update in place: the address is re-associated (TF: floatingIp).
    "openstack:networking/floatingIpAssociate:FloatingIpAssociate": frozenset({"floatingIp", "region"}),
    # TF resource_openstack_networking_address_group_v2.go: region and project_id ForceNew;
    # addresses (a set) are changed in place with add_addresses/remove_addresses, name and
    # description with a PUT.
    "openstack:networking/addressGroupV2:AddressGroupV2": frozenset({"region", "projectId"}),
    # --- AWS: pulumi_aws docstrings rarely say it, so from terraform-provider-aws's schemas
    # (`ForceNew`, `RequiresReplace`), /tmp/research/providers.md section 5.
    # vpc_security_group.go: name, namePrefix, description, vpcId ForceNew.
    "aws:ec2/securityGroup:SecurityGroup": frozenset({"description", "name", "namePrefix", "vpcId"}),
    # ec2_instance.go ForceNew fields; instanceType and userData update in place with a
    # stop/start (see DISRUPTIVE, REPLACE_IF).
    "aws:ec2/instance:Instance": frozenset({
        "ami", "associatePublicIpAddress", "availabilityZone", "cpuOptions.amdSevSnp", "cpuOptions.coreCount",
        "cpuOptions.threadsPerCore", "ebsBlockDevices", "enclaveOptions", "ephemeralBlockDevices", "hibernation",
        "hostId", "ipv6AddressCount", "ipv6Addresses", "keyName", "launchTemplate", "networkInterfaces",
        "placementGroup", "placementPartitionNumber", "privateDnsNameOptions", "privateIp",
        "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId", "securityGroups", "subnetId", "tenancy"}),
    # vpc_security_group_{ingress,egress}_rule.go: only security_group_id RequiresReplace;
    # ports, protocol, peer and description go through ModifySecurityGroupRules.
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": frozenset({"securityGroupId"}),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": frozenset({"securityGroupId"}),
    # vpc_managed_prefix_list.go: address_family ForceNew; entries, max_entries and name go
    # through ModifyManagedPrefixList (max_entries raised first, lowered last).
    "aws:ec2/managedPrefixList:ManagedPrefixList": frozenset({"addressFamily"}),
    # ec2_eip.go; instance and networkInterface re-associate in place.
    "aws:ec2/eip:Eip": frozenset({"address", "domain", "networkBorderGroup", "publicIpv4Pool", "vpc"}),
    # ec2_eip_association.go has no Update: every argument replaces.
    "aws:ec2/eipAssociation:EipAssociation": frozenset({ANY}),
    # elbv2 load_balancer.go: name, namePrefix, internal, loadBalancerType, customerOwnedIpv4Pool;
    # an NLB's subnets and security groups replace it too (REPLACE_IF below).
    "aws:lb/loadBalancer:LoadBalancer": frozenset({
        "customerOwnedIpv4Pool", "internal", "loadBalancerType", "name", "namePrefix"}),
    "aws:lb/targetGroup:TargetGroup": frozenset({
        "name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId", "ipAddressType"}),
    "aws:lb/listener:Listener": frozenset({"loadBalancerArn"}),
    # target_group_attachment.go has no Update: every argument replaces.
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": frozenset({ANY}),
}

# Registered by the program but not cloud objects: components and reads (a StackReference).
NOT_CLOUD_TYPES = ("kubeports:index:", "pulumi:pulumi:StackReference")

# pulumi-terraform-bridge nameRequiresDeleteBeforeReplace: an autonamed OpenStack resource
# (its Terraform schema has a top-level `name`) given an explicit `name` is deleted before
# its replacement is created, whatever forces the replacement (providers.md section 4).
NAMED_DELETE_FIRST = frozenset({
    "openstack:networking/secGroup:SecGroup", "openstack:networking/port:Port",
    "openstack:compute/instance:Instance", "openstack:compute/serverGroup:ServerGroup",
    "openstack:loadbalancer/loadBalancer:LoadBalancer", "openstack:loadbalancer/listener:Listener",
    "openstack:loadbalancer/pool:Pool", "openstack:loadbalancer/member:Member",
    "openstack:loadbalancer/monitor:Monitor", "openstack:networking/addressGroupV2:AddressGroupV2",
})
DELETE_FIRST_NOTE = "delete first: an explicit name makes the provider delete the old one before it creates the new"

# One of these is set; switching which one (a CIDR peer becoming a group peer) replaces
# the rule (ModifyPlan: "you cannot change the rule's source type").
_AWS_RULE_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")
EXCLUSIVE: dict[str, tuple[str, ...]] = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _AWS_RULE_SOURCES,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _AWS_RULE_SOURCES,
}

# Replacement that depends on the new inputs: (type, top-level property) -> predicate.
REPLACE_IF: dict[tuple[str, str], Callable[[Mapping[str, Any]], bool]] = {
    # An NLB cannot lose subnets nor all its groups in place (docstrings of lb.LoadBalancer);
    # a change of either is read as a replacement, which overstates adding a subnet.
    ("aws:lb/loadBalancer:LoadBalancer", "subnets"): lambda new: new.get("loadBalancerType") == "network",
    ("aws:lb/loadBalancer:LoadBalancer", "securityGroups"): lambda new: new.get("loadBalancerType") == "network",
    ("aws:ec2/instance:Instance", "userData"): lambda new: bool(new.get("userDataReplaceOnChange")),
    ("aws:ec2/instance:Instance", "userDataBase64"): lambda new: bool(new.get("userDataReplaceOnChange")),
    ("aws:ec2/instance:Instance", "enablePrimaryIpv6"): lambda new: not new.get("enablePrimaryIpv6"),
}

# In-place updates that still interrupt the machine: said next to the change.
DISRUPTIVE: dict[tuple[str, str], str] = {
    ("openstack:compute/instance:Instance", "imageId"): "rebuilds the server in place (root disk re-imaged)",
    ("openstack:compute/instance:Instance", "imageName"): "rebuilds the server in place (root disk re-imaged)",
    ("openstack:compute/instance:Instance", "flavorName"): "resizes the server (reboot)",
    ("openstack:compute/instance:Instance", "flavorId"): "resizes the server (reboot)",
    ("aws:ec2/instance:Instance", "instanceType"): "stops and starts the instance",
    ("aws:ec2/instance:Instance", "userData"): "stops and starts the instance",
    ("aws:ec2/instance:Instance", "userDataBase64"): "stops and starts the instance",
}


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any
    replaces: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "old": self.old, "new": self.new, "replaces": self.replaces}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    action: Action
    role: str | None = None
    changes: tuple[PropertyChange, ...] = ()
    ignored: tuple[str, ...] = ()  # changed paths that ignoreChanges holds back
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urn": self.urn, "type": self.type, "name": self.name, "action": self.action,
                               "role": self.role}
        if self.changes:
            out["changes"] = [c.to_json() for c in self.changes]
        if self.ignored:
            out["ignored"] = list(self.ignored)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class PlanDiff:
    created: tuple[ResourceChange, ...] = ()
    deleted: tuple[ResourceChange, ...] = ()
    updated: tuple[ResourceChange, ...] = ()
    replaced: tuple[ResourceChange, ...] = ()
    options: tuple[ResourceChange, ...] = ()  # only protect/ignoreChanges/deleteBeforeReplace moved
    ignored: tuple[ResourceChange, ...] = ()  # input changes, all held back by ignoreChanges
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        """Nothing `pulumi up` would do (held-back changes do not count)."""
        return not (self.created or self.deleted or self.updated or self.replaced or self.options)

    @property
    def changes(self) -> tuple[ResourceChange, ...]:
        return self.created + self.deleted + self.updated + self.replaced + self.options

    def counts(self) -> dict[str, int]:
        return {"create": len(self.created), "delete": len(self.deleted), "update": len(self.updated),
                "replace": len(self.replaced), "options": len(self.options), "ignored": len(self.ignored),
                "unchanged": self.unchanged}

    def by_role(self) -> dict[str, Counter]:
        """role (or "(cluster)") -> Counter of actions."""
        out: dict[str, Counter] = {}
        for change in self.changes:
            out.setdefault(change.role or CLUSTER, Counter())[change.action] += 1
        return out

    def by_type(self) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for change in self.changes:
            out.setdefault(change.type, Counter())[change.action] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "resources": [c.to_json() for c in self.changes],
                "ignored": [c.to_json() for c in self.ignored]}


@dataclass(frozen=True)
class RuleDiff:
    added: tuple[dict[str, Any], ...] = ()
    removed: tuple[dict[str, Any], ...] = ()
    changed: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = ()  # same key, other description

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def by_role(self) -> dict[str, dict[str, list]]:
        out: dict[str, dict[str, list]] = {}

        def slot(role: str) -> dict[str, list]:
            return out.setdefault(role, {"added": [], "removed": [], "changed": []})

        for rule in self.added:
            slot(rule["role"])["added"].append(rule)
        for rule in self.removed:
            slot(rule["role"])["removed"].append(rule)
        for old, new in self.changed:
            slot(new["role"])["changed"].append((old, new))
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed),
                "changed": [{"key": new["key"], "role": new.get("role"), "old": old.get("description"),
                             "new": new.get("description")}
                            for old, new in self.changed]}


CLUSTER = "(cluster)"


# --- plans --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Res:
    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)


def _resources(plan: Any) -> dict[str, _Res]:
    """Accept Plan.to_json() (options beside the resources, keyed by URN), a Plan, or a
    list of PlannedResources or of resource dicts (each with its own "options")."""
    options: Mapping[str, Any] = {}
    if isinstance(plan, Mapping):
        options = plan.get("options") or {}
        items: Iterable[Any] = plan.get("resources") or []
    elif hasattr(plan, "resources"):
        items = plan.resources
    else:
        items = plan
    out: dict[str, _Res] = {}
    for item in items:
        if isinstance(item, Mapping):
            urn = item["urn"]
            res = _Res(urn, item["type"], item["name"], item.get("inputs") or {},
                       item.get("options") or options.get(urn) or {})
        else:
            res = _Res(item.urn, item.type, item.name, item.inputs or {}, getattr(item, "options", None) or {})
        out[res.urn] = res
    return out


def diff_plans(old: Any, new: Any) -> PlanDiff:
    """What applying `new` over `old` does, resource by resource."""
    before, after = _resources(old), _resources(new)
    # An alias carries a resource over to a new URN: the engine updates it in place.
    moved = {alias: urn for urn, res in after.items() for alias in res.options.get("aliases") or ()
             if alias in before and alias not in after and urn not in before}
    before = {moved.get(urn, urn): res for urn, res in before.items()}
    created, deleted, updated, replaced, options, ignored = [], [], [], [], [], []
    unchanged = 0
    for urn in sorted(after.keys() - before.keys()):
        res = after[urn]
        created.append(ResourceChange(urn, res.type, res.name, "create", role_of(urn)))
    for urn in sorted(before.keys() - after.keys()):
        res = before[urn]
        notes = ("protected: `pulumi up` refuses to delete it until unprotected",) if res.options.get("protect") else ()
        deleted.append(ResourceChange(urn, res.type, res.name, "delete", role_of(urn), notes=notes))
    buckets = {"update": updated, "replace": replaced, "options": options, "ignored": ignored}
    for urn in sorted(before.keys() & after.keys()):
        change = _diff_resource(before[urn], after[urn])
        if change is None:
            unchanged += 1
        else:
            buckets[change.action].append(change)
    return PlanDiff(tuple(created), tuple(deleted), tuple(updated), tuple(replaced), tuple(options),
                    tuple(ignored), unchanged)


# Optional+Computed in the Terraform schema: an input the new program leaves out keeps the
# value the state holds, so its removal changes nothing (TF resource_openstack_networking_
# secgroup_rule_v2.go: remote_group_id, remote_ip_prefix; e.g. an anywhere rule sent
# without a prefix since issue 18).
KEPT_WHEN_LEFT_OUT: dict[str, frozenset[str]] = {
    "openstack:networking/secGroupRule:SecGroupRule": frozenset({"remoteGroupId", "remoteIpPrefix", "tenantId",
                                                                 "region"}),
}


def _diff_resource(old: _Res, new: _Res) -> ResourceChange | None:
    held = [_parse_path(p) for p in new.options.get("ignoreChanges") or ()]
    changes: list[PropertyChange] = []
    ignored: list[str] = []
    kept = {k for k in KEPT_WHEN_LEFT_OUT.get(new.type, ()) if k not in new.inputs}
    for path, before, after in _leaf_diff(old.inputs, new.inputs, ()):
        if path and path[0] in kept:
            continue
        if any(_held_by(pattern, path) for pattern in held):
            ignored.append(format_path(path))
            continue
        top = path[0] if path else ""
        replaces = _forces_new(new.type, path, new.inputs)
        note = DISRUPTIVE.get((new.type, str(top)), "") if not replaces else ""
        changes.append(PropertyChange(format_path(path), before, after, replaces, note))
    source_switch = _exclusive_switch(new.type, old.inputs, new.inputs, held)
    option_changes = [PropertyChange(f"[{key}]", old.options.get(key), new.options.get(key))
                      for key in sorted((set(old.options) | set(new.options)) - {"aliases"})
                      if _norm_option(old.options.get(key)) != _norm_option(new.options.get(key))]
    if not changes and not option_changes and not ignored:
        return None
    role = role_of(new.urn)
    if not changes and not option_changes:  # every change held back
        return ResourceChange(new.urn, new.type, new.name, "ignored", role, (), tuple(ignored))
    if not changes:
        return ResourceChange(new.urn, new.type, new.name, "options", role, tuple(option_changes), tuple(ignored))
    if source_switch:
        changes = [PropertyChange(c.path, c.old, c.new, True, c.note) if str(_parse_path(c.path)[0]) in
                   EXCLUSIVE[new.type] else c for c in changes]
    replace = any(c.replaces for c in changes)
    notes: list[str] = []
    if replace and new.options.get("deleteBeforeReplace"):
        notes.append("delete before replace: the old one goes first")
    elif replace and new.type in NAMED_DELETE_FIRST and new.inputs.get("name"):
        notes.append(DELETE_FIRST_NOTE)
    if replace and (old.options.get("protect") or new.options.get("protect")):
        notes.append("protected: `pulumi up` refuses to replace it until unprotected")
    return ResourceChange(new.urn, new.type, new.name, "replace" if replace else "update", role,
                          tuple(changes + option_changes), tuple(ignored), tuple(notes))


def _norm_option(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return sorted(map(str, value))
    return value or None


def _leaf_diff(old: Any, new: Any, path: Path) -> Iterable[tuple[Path, Any, Any]]:
    """(path, old, new) for every leaf that differs; a side that is missing where the other
    has a mapping or list is read as empty, so changes always land on leaves."""
    if old == new:
        return
    if isinstance(old, Mapping) or isinstance(new, Mapping):
        if (old is None or isinstance(old, Mapping)) and (new is None or isinstance(new, Mapping)):
            a, b = old or {}, new or {}
            for key in sorted(set(a) | set(b), key=str):
                yield from _leaf_diff(a.get(key), b.get(key), path + (key,))
            return
    if isinstance(old, list | tuple) or isinstance(new, list | tuple):
        if (old is None or isinstance(old, list | tuple)) and (new is None or isinstance(new, list | tuple)):
            a, b = list(old or ()), list(new or ())
            for i in range(max(len(a), len(b))):
                yield from _leaf_diff(a[i] if i < len(a) else None, b[i] if i < len(b) else None, path + (i,))
            return
    yield path, old, new


def _forces_new(type_: str, path: Path, new_inputs: Mapping[str, Any]) -> bool:
    table = FORCE_NEW.get(type_, frozenset())
    if ANY in table:
        return True
    names = [c for c in path if isinstance(c, str)]
    for entry in table:
        parts = entry.split(".")
        if names[: len(parts)] == parts:
            return True
    predicate = REPLACE_IF.get((type_, names[0] if names else ""))
    return bool(predicate and predicate(new_inputs))


def _exclusive_switch(type_: str, old: Mapping[str, Any], new: Mapping[str, Any], held: list[Path]) -> bool:
    group = EXCLUSIVE.get(type_)
    if not group:
        return False
    live = [k for k in group if not any(_held_by(p, (k,)) for p in held)]
    return {k for k in live if old.get(k) is not None} != {k for k in live if new.get(k) is not None}


# --- property paths ------------------------------------------------------------------------
_TOKEN = re.compile(r'\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*(\*|\d+)\s*\]|\.?([^.\[\]]+)')


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _parse_path(text: str) -> Path:
    """Pulumi property paths: `a.b[0].c`, `tags["kubernetes.io/x"]`, `blockDevices[*]`.
    Bare names may be snake_case (Python ignore_changes) and are read as camelCase."""
    out: list[Component] = []
    for quoted, index, bare in _TOKEN.findall(text):
        if quoted:
            out.append(quoted.replace('\\"', '"'))
        elif index:
            out.append(ANY if index == "*" else int(index))
        elif bare:
            out.append(ANY if bare == "*" else _camel(bare))
    return tuple(out)


def _held_by(pattern: Path, path: Path) -> bool:
    """Is `path` at or below `pattern` (Pulumi ignoreChanges semantics)?"""
    if len(pattern) > len(path):
        return False
    return all(p == ANY or p == c for p, c in zip(pattern, path, strict=False))


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


_ROLE_TYPE = re.compile(r"^kubeports:index:(\w+)$")


def role_of(urn: str) -> str | None:
    """The node role a resource belongs to, from the component types in its URN:
    `...::kubeports:index:Cluster$kubeports:index:ControlPlane$openstack:...::name` -> control-plane."""
    parts = urn.split("::")
    if len(parts) < 4:
        return None
    for type_ in parts[2].split("$"):
        match = _ROLE_TYPE.match(type_)
        if match and match.group(1) != "Cluster":
            return re.sub(r"(?<!^)(?=[A-Z])", "-", match.group(1)).lower()
    return None


# --- rules --------------------------------------------------------------------------------
def _rules(rules: Any) -> dict[str, dict[str, Any]]:
    if isinstance(rules, Mapping):
        rules = rules.get("rules") or []
    out: dict[str, dict[str, Any]] = {}
    for rule in rules:
        data = rule if isinstance(rule, Mapping) else rule.to_json()
        out[data["key"]] = dict(data)
    return out


def diff_rules(old: Any, new: Any) -> RuleDiff:
    """Rules added and removed, by content key. `sources` (file:line) are ignored: they move
    whenever a file is edited above them. A changed description is reported: Neutron
    replaces a rule whose description changes."""
    before, after = _rules(old), _rules(new)
    added = tuple(after[k] for k in sorted(after.keys() - before.keys()))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys()))
    changed = tuple((before[k], after[k]) for k in sorted(before.keys() & after.keys())
                    if before[k].get("description") != after[k].get("description"))
    return RuleDiff(added, removed, changed)


# --- rendering (kubeports.render.review lays it out; this passes plain data) -----------------
short_type = review.short_type


def to_markdown(plan_diff: PlanDiff | None = None, rule_diff: RuleDiff | None = None, title: str = "",
                max_rows: int = 100, base: review.Side | None = None, head: review.Side | None = None) -> str:
    """The reviewer-first comment (kubeports.render.review) of this diff. `base`/`head`
    carry each side's full rules and context; without them, every added rule counts as new."""
    return review.markdown(review.build(to_json(plan_diff, rule_diff), base or review.Side(), head or review.Side(),
                                        title), max_rows)


def to_text(plan_diff: PlanDiff | None = None, rule_diff: RuleDiff | None = None, title: str = "",
            max_rows: int = 100, base: review.Side | None = None, head: review.Side | None = None) -> str:
    """The same sections as to_markdown, as plain text for a terminal."""
    return review.text(review.build(to_json(plan_diff, rule_diff), base or review.Side(), head or review.Side(),
                                    title), max_rows)


def to_json(plan_diff: PlanDiff | None = None, rule_diff: RuleDiff | None = None) -> dict[str, Any]:
    plan_diff = plan_diff or PlanDiff()
    rule_diff = rule_diff or RuleDiff()
    rules_by_role = rule_diff.by_role()
    res_by_role = plan_diff.by_role()
    roles = {}
    for role in sorted(set(rules_by_role) | set(res_by_role)):
        r = rules_by_role.get(role, {"added": [], "removed": [], "changed": []})
        c = res_by_role.get(role, Counter())
        roles[role] = {"rules_added": len(r["added"]), "rules_removed": len(r["removed"]),
                       "rules_changed": len(r["changed"]),
                       **{k: c[a] for k, a in (("created", "create"), ("deleted", "delete"), ("updated", "update"),
                                               ("replaced", "replace"), ("options", "options"))}}
    return {"changed": not (plan_diff.is_empty and rule_diff.is_empty), "roles": roles,
            "rules": rule_diff.to_json(), "plan": plan_diff.to_json()}
