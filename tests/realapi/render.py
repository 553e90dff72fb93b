"""An offline plan as the requests its provider would send, and the order Pulumi sends them in.

Pure: plan JSON (`kubeports.plan.offline.run_plan(...).to_json()`) in, request bodies and
steps out; tests/realapi/apply.py sends them. Rules of this file:
- every field mapping below is taken from the provider sources as quoted in the research
  notes (terraform-provider-openstack v3.4.0 with gophercloud v2.8.0 behind
  pulumi-openstack 5.x; terraform-provider-aws's `aws_vpc_security_group_*_rule` behind
  pulumi-aws 7.x); where a detail was not in those notes it says UNVERIFIED;
- a cross-reference is the mock id `<name>-id` the offline plan gives every resource;
  it becomes `Ref(name)` and is resolved to the real id when the step runs;
- what the provider's Read would put into its state is computed here too (`*_state`), so
  a read-back difference is a diff `pulumi up` would show on every run, not a style nit.

OpenStack, `openstack:networking/secGroupRule:SecGroupRule` -> POST /v2.0/security-group-rules
  (TF `resourceNetworkingSecGroupRuleV2Create` builds gophercloud `rules.CreateOpts`):
  direction, ethertype, security_group_id: always sent (`required:"true"`);
  description, protocol, remote_group_id, remote_ip_prefix, remote_address_group_id,
  project_id: `omitempty` strings, so "" is not sent;
  port_range_min / port_range_max: `omitempty` ints, so **0 is never sent** (ICMP type 0
  becomes "no type"; tcp 0-0 becomes "all ports").
  Read sets every field from the API; a null port range decodes into Go `int` as 0 and a
  null protocol as "" (`sgRule.PortRangeMin int \\`json:"port_range_min"\\``); remote_ip_prefix
  is lower-cased by its StateFunc. The resource has no Update: every field is ForceNew.
`openstack:networking/secGroup:SecGroup` -> POST /v2.0/security-groups {name, description,
  project_id}, then the tags (`attributestags.ReplaceAll`, PUT .../tags); with
  `delete_default_rules` the provider lists the new group's rules and deletes each (the two
  egress rules Neutron adds). ForceNew: region, tenant_id, delete_default_rules; name,
  description, tags are updated in place. An explicit `name` makes the bridge plan
  delete-before-replace (`nameRequiresDeleteBeforeReplace`, pulumi-terraform-bridge).
`openstack:networking/port:Port` -> POST /v2.0/ports {name, network_id, admin_state_up,
  fixed_ips[{subnet_id, ip_address}], security_groups, allowed_address_pairs,
  port_security_enabled, project_id}. ForceNew: network_id, mac_address, tenant_id,
  device_owner, device_id, value_specs; the rest is a PUT.

AWS, `aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule` (and Egress) ->
  AuthorizeSecurityGroupIngress/Egress {GroupId, IpPermissions: [one permission]}: the
  permission has IpProtocol, FromPort/ToPort only when set (`fwflex.Int32FromFrameworkInt64`
  of a null is nil: not sent), and exactly one of IpRanges[{CidrIp, Description}],
  Ipv6Ranges[{CidrIpv6, Description}], PrefixListIds[{PrefixListId, Description}],
  UserIdGroupPairs[{GroupId, Description}]; tags as TagSpecifications. Only
  security_group_id and a change of source type force a new rule; every other field is
  changed in place with ModifySecurityGroupRules. Read: DescribeSecurityGroupRules by id.
`aws:ec2/securityGroup:SecurityGroup` -> CreateSecurityGroup {GroupName, Description, VpcId,
  TagSpecifications}; the name is Pulumi's autoname (`<name>-<7 hex>`) when not given, so a
  replacement is create-before-delete. After create the provider revokes AWS's default
  allow-all egress (TF `aws_security_group` create; UNVERIFIED in the notes, from the
  provider's documented behaviour "Terraform will remove this default rule").
  ForceNew: name, namePrefix, description, vpcId; tags in place.

`openstack:networking/addressGroupV2:AddressGroupV2` -> POST /v2.0/address-groups {name,
  description, addresses, project_id} (TF `resourceNetworkingAddressGroupV2Create`,
  gophercloud `addressgroups.CreateOpts`); an update PUTs name/description and sends the
  address difference with PUT .../add_addresses and .../remove_addresses (removals first).
  ForceNew: region, project_id. Read: name, description, addresses (a TypeSet).
`aws:ec2/managedPrefixList:ManagedPrefixList` -> CreateManagedPrefixList {PrefixListName,
  AddressFamily, MaxEntries, Entries[{Cidr, Description}], TagSpecifications}; an update is
  ModifyManagedPrefixList: MaxEntries alone first when it grows, then AddEntries and
  RemoveEntries with CurrentVersion, then MaxEntries when it shrinks (TF
  `resourceManagedPrefixListUpdate`). ForceNew: address_family. Read:
  DescribeManagedPrefixLists + GetManagedPrefixListEntries.

`openstack:compute/instance:Instance` (only with `servers=True`, tests/realapi/test_replacement.py):
  Nova does not run here; apply.py's EmulatedNova does to Neutron what Nova does with a
  server's pre-created ports (see there). What replaces a server is kubeports' own table,
  kubeports.plan.compare.FORCE_NEW (pulumi-openstack docstrings + TF ForceNew); an explicit
  `name` would make it delete-before-replace (the bridge's rule, as for ports).

Not rendered (no server here for them): Nova server groups and volumes, Octavia
load balancers/listeners/pools/members/monitors, floating IPs, EC2 instances, ELBv2, EIPs.

Pulumi's step order (pkg/resource/deploy/step_generator.go, as the engine runs an `up`):
resources are stepped in registration (dependency) order: a new name is created, a changed
one is updated in place or replaced - create-before-delete by default, the old one deleted
first where delete-before-replace is set - and only at the end are the olds of
create-before-delete replacements and the names that left the program deleted, dependents
first.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeports.plan.compare import FORCE_NEW as PLAN_FORCE_NEW

OS_RULE = "openstack:networking/secGroupRule:SecGroupRule"
OS_GROUP = "openstack:networking/secGroup:SecGroup"
OS_PORT = "openstack:networking/port:Port"
OS_ADDRESS_GROUP = "openstack:networking/addressGroupV2:AddressGroupV2"
OS_INSTANCE = "openstack:compute/instance:Instance"
AWS_GROUP = "aws:ec2/securityGroup:SecurityGroup"
AWS_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_OUT = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AWS_RULES = (AWS_IN, AWS_OUT)
AWS_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"

CLOUD_TYPES = {"openstack": (OS_GROUP, OS_PORT, OS_RULE, OS_ADDRESS_GROUP),
               "aws": (AWS_GROUP, AWS_IN, AWS_OUT, AWS_PREFIX_LIST)}
RANK = {OS_GROUP: 0, AWS_GROUP: 0, OS_ADDRESS_GROUP: 0, AWS_PREFIX_LIST: 0,  # dependency order
        OS_PORT: 1, OS_RULE: 1, AWS_IN: 1, AWS_OUT: 1, OS_INSTANCE: 2}

# Inputs whose change forces a new resource (everything else is an in-place update).
FORCE_NEW: Mapping[str, frozenset[str] | None] = {
    OS_RULE: None,  # None: every field (the TF resource has no Update)
    OS_GROUP: frozenset({"region", "tenantId", "deleteDefaultRules"}),
    OS_PORT: frozenset({"region", "networkId", "macAddress", "tenantId", "deviceOwner", "deviceId", "valueSpecs"}),
    AWS_GROUP: frozenset({"name", "namePrefix", "description", "vpcId"}),
    AWS_IN: frozenset({"securityGroupId"}),
    AWS_OUT: frozenset({"securityGroupId"}),
    OS_ADDRESS_GROUP: frozenset({"region", "projectId"}),
    AWS_PREFIX_LIST: frozenset({"addressFamily"}),
    OS_INSTANCE: PLAN_FORCE_NEW[OS_INSTANCE],
}
AWS_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")
# Optional+Computed in the TF schema: an input the program leaves out keeps the state's
# value, no diff (resource_openstack_networking_secgroup_rule_v2.go / _secgroup_v2.go).
COMPUTED: Mapping[str, frozenset[str]] = {
    OS_RULE: frozenset({"region", "remoteGroupId", "remoteIpPrefix", "tenantId"}),
    OS_GROUP: frozenset({"region", "description", "tenantId", "stateful"}),
}


@dataclass(frozen=True)
class Ref:
    """The id of another resource of the plan (or of a stack applied before), by name."""
    name: str


@dataclass(frozen=True)
class Desired:
    """One planned resource: its inputs with cross-references as Refs."""
    stack: str
    name: str
    type: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def refs(self) -> set[str]:
        found: set[str] = set()
        _walk_refs(self.inputs, found)
        return found


def _walk_refs(value: Any, found: set[str]) -> None:
    if isinstance(value, Ref):
        found.add(value.name)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk_refs(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk_refs(item, found)


def _with_refs(value: Any, names: set[str]) -> Any:
    if isinstance(value, str) and value.endswith("-id") and value[:-3] in names:
        return Ref(value[:-3])
    if isinstance(value, Mapping):
        return {k: _with_refs(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_refs(v, names) for v in value]
    return value


def desired_of(plan_json: Mapping[str, Any], cloud: str, known: set[str] = frozenset(),
               servers: bool = False) -> dict[str, Desired]:
    """The plan's resources this tier can send, by name. `known`: names applied earlier in
    the same project (another stack's groups a StackReference points at). `servers`: the
    OpenStack servers too (emulated, see apply.EmulatedNova); their references to what is
    not sent (server groups) stay mock ids, compared as they are."""
    types = CLOUD_TYPES[cloud] + ((OS_INSTANCE,) if servers and cloud == "openstack" else ())
    names = {r["name"] for r in plan_json["resources"]} | set(known)
    sent = {r["name"] for r in plan_json["resources"] if r["type"] in types} | set(known)
    options = plan_json.get("options", {})
    out = {}
    for res in plan_json["resources"]:
        if res["type"] in types:
            refs = sent if res["type"] == OS_INSTANCE else names
            out[res["name"]] = Desired(plan_json["stack"], res["name"], res["type"],
                                       _with_refs(res["inputs"], refs), options.get(res["urn"], {}))
    return out


# ---- steps -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    op: str  # create | update | delete
    name: str
    new: Desired | None = None
    old: Desired | None = None
    why: str = ""  # for a replacement: the field that forced it


def keeping_computed(new: Desired, old: Desired) -> Desired:
    """`new` with the Optional+Computed inputs it leaves out taken from `old`'s state."""
    kept = {k: v for k, v in old.inputs.items() if k in COMPUTED.get(new.type, ()) and k not in new.inputs}
    return Desired(new.stack, new.name, new.type, {**new.inputs, **kept}, new.options) if kept else new


def replace_field(old: Desired, new: Desired, resolve) -> str | None:
    """The first input whose change forces a new resource, or None (update or same).
    `resolve` maps inputs to their real values, so a replaced group's new id counts."""
    a, b = resolve(old.inputs), resolve(new.inputs)
    held = set(new.options.get("ignoreChanges") or ())  # the engine diffs without them
    keys = sorted((set(a) | set(b)) - held)
    forced = FORCE_NEW[new.type]
    if new.type in AWS_RULES and _aws_source(a) != _aws_source(b):
        return "source type"
    for key in keys:
        if a.get(key) != b.get(key) and (forced is None or key in forced):
            return key
    return None


def _aws_source(inputs: Mapping[str, Any]) -> str | None:
    return next((k for k in AWS_SOURCES if inputs.get(k) is not None), None)


def delete_before_replace(new: Desired) -> bool:
    """The option, or the bridge's rule for an explicitly named autonamed resource."""
    if new.options.get("deleteBeforeReplace"):
        return True
    return new.type in (OS_GROUP, OS_PORT, OS_INSTANCE) and "name" in new.inputs


def ordered(desired: Mapping[str, Desired]) -> list[Desired]:
    """Dependency order: referenced resources before those that reference them."""
    return sorted(desired.values(), key=lambda d: (RANK[d.type], d.name))


# ---- OpenStack bodies --------------------------------------------------------------------

def neutron_rule_body(inputs: Mapping[str, Any], project_id: str) -> dict[str, Any]:
    """gophercloud `rules.CreateOpts` marshalled: omitempty drops "" and 0."""
    body: dict[str, Any] = {"direction": inputs["direction"], "ethertype": inputs["ethertype"],
                            "security_group_id": inputs["securityGroupId"]}
    optional = {"description": inputs.get("description", ""), "protocol": inputs.get("protocol", ""),
                "port_range_min": inputs.get("portRangeMin", 0), "port_range_max": inputs.get("portRangeMax", 0),
                "remote_group_id": inputs.get("remoteGroupId", ""), "remote_ip_prefix": inputs.get("remoteIpPrefix", ""),
                "remote_address_group_id": inputs.get("remoteAddressGroupId", ""),
                "project_id": inputs.get("tenantId") or project_id}
    body.update({k: v for k, v in optional.items() if v not in ("", 0, None)})
    return body


def neutron_rule_state(api: Mapping[str, Any]) -> dict[str, Any]:
    """What TF Read stores, under the Pulumi input names."""
    return {"direction": api["direction"], "ethertype": api["ethertype"], "securityGroupId": api["security_group_id"],
            "description": api.get("description") or "", "protocol": api.get("protocol") or "",
            "portRangeMin": api.get("port_range_min") or 0, "portRangeMax": api.get("port_range_max") or 0,
            "remoteGroupId": api.get("remote_group_id") or "", "remoteIpPrefix": (api.get("remote_ip_prefix") or "").lower(),
            "remoteAddressGroupId": api.get("remote_address_group_id") or ""}


def neutron_rule_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The program's inputs with TF's zero values for what it leaves out; the remotes are
    Optional+Computed in the TF schema, so one left out is no diff whatever is read."""
    zero = {"description": "", "protocol": "", "portRangeMin": 0, "portRangeMax": 0}
    out = {**zero, **{k: v for k, v in inputs.items() if k not in ("tenantId", "region")}}
    if "remoteIpPrefix" in out:
        out["remoteIpPrefix"] = out["remoteIpPrefix"].lower()
    return out


def neutron_group_body(inputs: Mapping[str, Any], project_id: str) -> dict[str, Any]:
    body = {"name": inputs["name"], "project_id": inputs.get("tenantId") or project_id}
    if inputs.get("description"):
        body["description"] = inputs["description"]
    return body


def neutron_group_state(api: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": api["name"], "description": api.get("description") or "", "tags": sorted(api.get("tags") or [])}


def neutron_port_body(inputs: Mapping[str, Any], project_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"network_id": inputs["networkId"], "project_id": inputs.get("tenantId") or project_id}
    if "name" in inputs:
        body["name"] = inputs["name"]
    if "adminStateUp" in inputs:
        body["admin_state_up"] = inputs["adminStateUp"]
    if "fixedIps" in inputs:
        body["fixed_ips"] = [{k2: v for k2, v in (("subnet_id", ip.get("subnetId")), ("ip_address", ip.get("ipAddress")))
                              if v} for ip in inputs["fixedIps"]]
    body.update(neutron_port_update(inputs))
    return body


def neutron_port_update(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a PUT carries (TF `resourceNetworkingPortV2Update` sends what changed)."""
    body: dict[str, Any] = {}
    if "name" in inputs:
        body["name"] = inputs["name"]
    if "securityGroupIds" in inputs:
        body["security_groups"] = list(inputs["securityGroupIds"])
    if "allowedAddressPairs" in inputs:
        body["allowed_address_pairs"] = [{k2: v for k2, v in (("ip_address", p.get("ipAddress")),
                                                              ("mac_address", p.get("macAddress"))) if v}
                                         for p in inputs["allowedAddressPairs"]]
    if "portSecurityEnabled" in inputs:
        body["port_security_enabled"] = inputs["portSecurityEnabled"]
    return body


def neutron_port_state(api: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": api.get("name") or "", "adminStateUp": api.get("admin_state_up"), "networkId": api["network_id"],
            "securityGroupIds": sorted(api.get("security_groups") or []),
            "allowedAddressPairs": sorted(({"ipAddress": p["ip_address"]} for p in api.get("allowed_address_pairs") or []),
                                          key=str),
            "portSecurityEnabled": api.get("port_security_enabled"),
            "fixedIps": sorted(({"subnetId": ip["subnet_id"]} for ip in api.get("fixed_ips") or []), key=str)}


def neutron_port_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Sets compared as sets (security_group_ids and allowed_address_pairs are TypeSet);
    fixed IPs by subnet (the address is the cloud's choice when not given)."""
    out = {k: v for k, v in inputs.items() if k not in ("tenantId", "region", "valueSpecs")}
    if "securityGroupIds" in out:
        out["securityGroupIds"] = sorted(out["securityGroupIds"])
    if "allowedAddressPairs" in out:
        out["allowedAddressPairs"] = sorted(({"ipAddress": p["ipAddress"]} for p in out["allowedAddressPairs"]), key=str)
    if "fixedIps" in out:
        out["fixedIps"] = sorted(({"subnetId": ip["subnetId"]} for ip in out["fixedIps"] if ip.get("subnetId")), key=str)
    return out


def neutron_address_group_body(inputs: Mapping[str, Any], project_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"addresses": list(inputs.get("addresses") or []),
                            "project_id": inputs.get("projectId") or project_id}
    body.update({k: inputs[k] for k in ("name", "description") if inputs.get(k)})
    return body


def neutron_address_group_state(api: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": api.get("name") or "", "description": api.get("description") or "",
            "addresses": sorted(api.get("addresses") or [])}


def neutron_address_group_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": inputs.get("name", ""), "description": inputs.get("description", ""),
            "addresses": sorted(inputs.get("addresses") or [])}


# ---- AWS bodies ------------------------------------------------------------------------

def aws_prefix_list_state(api: Mapping[str, Any], entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {"name": api.get("PrefixListName"), "addressFamily": api.get("AddressFamily"),
            "maxEntries": api.get("MaxEntries"), "entries": sorted(e["Cidr"] for e in entries),
            "tags": {t["Key"]: t["Value"] for t in api.get("Tags") or []}}


def aws_prefix_list_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": inputs.get("name"), "addressFamily": inputs["addressFamily"], "maxEntries": inputs["maxEntries"],
            "entries": sorted(e["cidr"] for e in inputs.get("entries") or []), "tags": inputs.get("tags") or {}}


def aws_permission(inputs: Mapping[str, Any]) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": inputs["ipProtocol"]}
    if inputs.get("fromPort") is not None:
        perm["FromPort"] = inputs["fromPort"]
    if inputs.get("toPort") is not None:
        perm["ToPort"] = inputs["toPort"]
    desc = {"Description": inputs["description"]} if inputs.get("description") else {}
    if inputs.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": inputs["cidrIpv4"], **desc}]
    elif inputs.get("cidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": inputs["cidrIpv6"], **desc}]
    elif inputs.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": inputs["prefixListId"], **desc}]
    elif inputs.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": inputs["referencedSecurityGroupId"], **desc}]
    return perm


def aws_modify(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """ModifySecurityGroupRules' SecurityGroupRuleRequest for the new inputs."""
    req: dict[str, Any] = {"IpProtocol": inputs["ipProtocol"]}
    for key, api in (("fromPort", "FromPort"), ("toPort", "ToPort"), ("cidrIpv4", "CidrIpv4"), ("cidrIpv6", "CidrIpv6"),
                     ("prefixListId", "PrefixListId"), ("referencedSecurityGroupId", "ReferencedGroupId"),
                     ("description", "Description")):
        if inputs.get(key) is not None:
            req[api] = inputs[key]
    return req


AWS_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


def aws_rule_state(api: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeSecurityGroupRules as TF Read stores it; the protocol compared as TF's custom
    type does (a number and its name are equal)."""
    state = {"securityGroupId": api["GroupId"], "ipProtocol": _aws_proto(api["IpProtocol"]),
             "fromPort": api.get("FromPort"), "toPort": api.get("ToPort"), "description": api.get("Description") or None,
             "cidrIpv4": api.get("CidrIpv4"), "cidrIpv6": api.get("CidrIpv6"), "prefixListId": api.get("PrefixListId"),
             "referencedSecurityGroupId": (api.get("ReferencedGroupInfo") or {}).get("GroupId")}
    return state


def aws_rule_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in inputs.items() if k not in ("tags", "region")}
    out["ipProtocol"] = _aws_proto(str(out["ipProtocol"]))
    return out


def _aws_proto(value: str) -> str:
    return AWS_PROTOCOL_NAMES.get(value.lower(), value.lower())


def aws_group_state(api: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": api.get("Description"), "vpcId": api.get("VpcId"),
            "tags": {t["Key"]: t["Value"] for t in api.get("Tags") or []}}


def aws_group_expected(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k in ("description", "vpcId", "tags")}


def differences(expected: Mapping[str, Any], state: Mapping[str, Any]) -> list[str]:
    """`field: planned X, read back Y` for every field the program sets (the *_expected
    functions add the zero values TF compares for fields it leaves out)."""
    return [f"{key}: planned {expected[key]!r}, read back {state.get(key)!r}"
            for key in sorted(expected) if state.get(key) != expected[key]]
