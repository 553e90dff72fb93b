"""kubeports policies: what no stack may deploy, whatever the port specs say.

The resolver already keeps these properties; the pack checks the resources Pulumi is
about to create, so a hand-written resource, another program or a future bug is caught
too. Rules of this file:
- importing it starts nothing: `__main__.py` builds the PolicyPack (which serves gRPC
  and blocks), tests call each policy's `validate` directly;
- every rule type is first read into one neutral shape (`SgRule`), so each policy is
  written once for OpenStack, AWS standalone rules and AWS inline rules;
- property names are the engine's camelCase inputs;
- during preview a value may be unknown (the proxy raises UnknownValueError, or the
  raw sentinel string shows): a check that needs it is skipped, never reported;
- when in doubt the reading is the wider one (a missing port bound is open-ended,
  protocol 0 counts as "all"), since a false alarm is cheaper than an open etcd;
- "public" is more than the world's /0: any prefix holding more addresses than a /8
  (IPv4) or a /16 (IPv6), e.g. 0.0.0.0/1, and (a stack policy, since each rule is its
  own resource) the union of one group's CIDR rules on a port, e.g. 0.0.0.0/1 + 128.0.0.0/1;
- a rule naming a CIDR set (`remoteAddressGroupId`, `prefixListId`, `prefixListIds`: issue 19)
  admits the set's entries: a stack policy finds the `AddressGroupV2` / `ManagedPrefixList`
  in the same stack by its id (the providers' outputs carry it) or URN and applies the
  public test to its entries, alone and in the group's union; a set not in the stack, or
  not known yet (preview), is skipped as any unknown is;
- groups one interface carries together (an instance's `vpcSecurityGroupIds`, an NLB's or
  ENI's `securityGroups`, a Neutron port's `securityGroupIds`) admit the union of their
  rules, so the union is taken over them as over one group: a role's rules spread over
  several groups (kubeports:aws.groupsPerRole) are judged as the role's.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, _is_unknown
from pulumi_policy.secret import Secret

# Control-plane ports that must never face the internet (kubeadm ports-and-protocols,
# plus the legacy insecure ports 10251/10252 and the disabled kubelet read-only port).
CONTROL_PORTS: dict[str, tuple[int, int]] = {
    "etcd": (2379, 2381),
    "kubelet": (10250, 10250),
    "kubelet read-only": (10255, 10255),
    "kube-scheduler": (10259, 10259),
    "kube-scheduler (insecure)": (10251, 10251),
    "kube-controller-manager": (10257, 10257),
    "kube-controller-manager (insecure)": (10252, 10252),
}

OPENSTACK_RULE = "openstack:networking/secGroupRule:SecGroupRule"
AWS_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AWS_EC2_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
AWS_GROUP = "aws:ec2/securityGroup:SecurityGroup"
AWS_DEFAULT_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
AWS_INSTANCES = ("aws:ec2/instance:Instance", "aws:ec2/spotInstanceRequest:SpotInstanceRequest")
AWS_VOLUME = "aws:ebs/volume:Volume"
OPENSTACK_ADDRESS_GROUP = "openstack:networking/addressGroupV2:AddressGroupV2"
AWS_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
# A set resource's entries: (the list's key, the CIDR's key inside an entry, or None: the entry is the CIDR).
CIDR_SETS: dict[str, tuple[str, str | None]] = {OPENSTACK_ADDRESS_GROUP: ("addresses", None),
                                               AWS_PREFIX_LIST: ("entries", "cidr")}
# Keys under which a security group resource may carry inline rules (AWS: ingress and
# egress; OpenStack's old nova groups: rules). Neutron groups have none today.
INLINE_KEYS = ("ingress", "egress", "rules", "rule")


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()  # a value the engine does not know yet (preview)


def get(obj: Any, *path: str | int) -> Any:
    """Follow `path`; None when absent, UNKNOWN when unknown during preview."""
    for key in path:
        if obj is None or obj is UNKNOWN:
            return obj
        try:
            if isinstance(obj, Mapping):
                obj = obj[key] if key in obj else None
            elif isinstance(obj, Sequence) and not isinstance(obj, str) and isinstance(key, int):
                obj = obj[key] if 0 <= key < len(obj) else None
            else:
                return None
        except UnknownValueError:
            return UNKNOWN
        if isinstance(obj, Secret):
            obj = obj.value
        if _is_unknown(obj):
            return UNKNOWN
    return obj


def items(obj: Any, *path: str | int) -> list[Any] | Any:
    """The list at `path` ([] when absent), each element read through `get`; UNKNOWN when
    the list itself is unknown. A lone string counts as a one-element list."""
    seq = get(obj, *path)
    if seq is None or seq is UNKNOWN:
        return [] if seq is None else UNKNOWN
    if isinstance(seq, str) or not isinstance(seq, Sequence):
        return [seq]
    return [get(seq, i) for i in range(len(seq))]


def _number(value: Any) -> int | None | Any:
    """A port bound as an int; None for absent/-1/unreadable (open-ended), or UNKNOWN."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_ALL_PROTOCOLS = ("", "-1", "all", "any", "0")  # "0": Neutron/AWS drivers differ on it; read it wide


def protocol_of(value: Any) -> str | Any:
    """"all", "tcp", "udp", "icmp", … or UNKNOWN. An omitted protocol is "all" (Neutron)."""
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return "all"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    if text in _ALL_PROTOCOLS:
        return "all"
    return _PROTOCOL_NUMBERS.get(text, text)


# More addresses than this is the internet, not a client set: a /8 (IPv4), a /16 (IPv6).
PUBLIC_ADDRESSES = {4: 2**24, 6: 2**112}


def network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(cidr, str):
        return None
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def is_world(cidr: Any) -> bool:
    """Public: 0.0.0.0/0 or ::/0 in any spelling, or any prefix wider than a /8 (IPv4) or
    a /16 (IPv6), such as 0.0.0.0/1. Unknown or unparseable is not (proven) public."""
    net = network(cidr)
    return net is not None and net.num_addresses > PUBLIC_ADDRESSES[net.version]


def public_union(cidrs: Sequence[Any]) -> list[str]:
    """Per family: the prefixes, merged, if together they hold more than a public count."""
    out: list[str] = []
    for version, limit in PUBLIC_ADDRESSES.items():
        nets = [n for n in map(network, cidrs) if n is not None and n.version == version]
        merged = list(ipaddress.collapse_addresses(nets))  # type: ignore[arg-type]
        if sum(n.num_addresses for n in merged) > limit:
            out += [str(n) for n in merged]
    return out


@dataclass(frozen=True)
class SgRule:
    """One security-group rule, whatever resource it came from."""

    where: str  # "" for a standalone rule resource, "ingress[2]: " for an inline one
    direction: Any  # "ingress" | "egress" | other | UNKNOWN
    protocol: Any  # protocol_of(...)
    low: Any  # int | None (open) | UNKNOWN
    high: Any
    peers: tuple[Any, ...]  # CIDR strings or UNKNOWN; "0.0.0.0/0"/"::/0" for an implied "any"
    description: Any
    sets: tuple[Any, ...] = ()  # ids of the CIDR sets (address groups, prefix lists) it names, or UNKNOWN

    @property
    def ingress(self) -> bool:
        return self.direction == "ingress"

    @property
    def ports(self) -> tuple[int, int] | None:
        """The covered TCP/all port range, or None when it is not known."""
        if self.low is UNKNOWN or self.high is UNKNOWN:
            return None
        if self.protocol == "all":
            return (0, 65535)
        return (0 if self.low is None else self.low, 65535 if self.high is None else self.high)

    def world_peers(self) -> list[str]:
        return [p for p in self.peers if is_world(p)]


def _openstack_rule(props: Mapping[str, Any]) -> Iterator[SgRule]:
    remotes = [get(props, k) for k in ("remoteIpPrefix", "remoteGroupId", "remoteAddressGroupId")]
    prefix = remotes[0]
    if prefix is UNKNOWN:
        peers: tuple[Any, ...] = (UNKNOWN,)
    elif prefix:
        peers = (prefix,)
    elif any(r is UNKNOWN or r for r in remotes[1:]):
        peers = ()  # another group or an address group: not a CIDR
    else:  # Neutron: no remote at all means any address of the rule's ethertype
        ethertype = get(props, "ethertype")
        peers = (UNKNOWN,) if ethertype is UNKNOWN else ("::/0",) if ethertype == "IPv6" else ("0.0.0.0/0",)
    yield SgRule("", get(props, "direction"), protocol_of(get(props, "protocol")),
                 _number(get(props, "portRangeMin")), _number(get(props, "portRangeMax")), peers,
                 get(props, "description"), tuple(r for r in remotes[2:] if r))


def _aws_vpc_rule(props: Mapping[str, Any], direction: str) -> Iterator[SgRule]:
    peers = tuple(p for p in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if p is not None)
    yield SgRule("", direction, protocol_of(get(props, "ipProtocol")), _number(get(props, "fromPort")),
                 _number(get(props, "toPort")), peers, get(props, "description"),
                 tuple(r for r in (get(props, "prefixListId"),) if r))


def _aws_blocks(entry: Any) -> tuple[Any, ...]:
    out: list[Any] = []
    for key in ("cidrBlocks", "ipv6CidrBlocks"):
        blocks = items(entry, key)
        out += [UNKNOWN] if blocks is UNKNOWN else blocks
    return tuple(out)


def _prefix_lists(entry: Any) -> tuple[Any, ...]:
    found = items(entry, "prefixListIds")
    return (UNKNOWN,) if found is UNKNOWN else tuple(found)


def _aws_ec2_rule(props: Mapping[str, Any]) -> Iterator[SgRule]:
    yield SgRule("", get(props, "type"), protocol_of(get(props, "protocol")), _number(get(props, "fromPort")),
                 _number(get(props, "toPort")), _aws_blocks(props), get(props, "description"), _prefix_lists(props))


def inline_rules(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(key, entries) for every non-empty inline rule list; entries may be UNKNOWN."""
    for key in INLINE_KEYS:
        entries = items(props, key)
        if entries is UNKNOWN or entries:
            yield key, entries


def _aws_group(props: Mapping[str, Any]) -> Iterator[SgRule]:
    for key, entries in inline_rules(props):
        if entries is UNKNOWN or key not in ("ingress", "egress"):
            continue
        for i, entry in enumerate(entries):
            if entry is UNKNOWN or not isinstance(entry, Mapping):
                continue
            yield SgRule(f"{key}[{i}]: ", key, protocol_of(get(entry, "protocol")), _number(get(entry, "fromPort")),
                         _number(get(entry, "toPort")), _aws_blocks(entry), get(entry, "description"),
                         _prefix_lists(entry))


READERS: dict[str, Callable[[Mapping[str, Any]], Iterator[SgRule]]] = {
    OPENSTACK_RULE: _openstack_rule,
    AWS_INGRESS_RULE: lambda props: _aws_vpc_rule(props, "ingress"),
    AWS_EGRESS_RULE: lambda props: _aws_vpc_rule(props, "egress"),
    AWS_EC2_RULE: _aws_ec2_rule,
    AWS_GROUP: _aws_group,
    AWS_DEFAULT_GROUP: _aws_group,
}


def sg_rules(args: ResourceValidationArgs) -> list[SgRule]:
    reader = READERS.get(args.resource_type)
    return list(reader(args.props)) if reader else []


def is_security_group(resource_type: str) -> bool:
    """aws:ec2/securityGroup, openstack:networking/secGroup, … (not their rule types)."""
    kind = resource_type.rsplit(":", 1)[-1].lower()
    return kind in ("securitygroup", "secgroup", "defaultsecuritygroup")


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


# --- the policies ---------------------------------------------------------------------------

def control_hits(rule: SgRule) -> tuple[str, list[str]]:
    """(what the rule admits, the control ports it reaches: `etcd 2379-2381`); none for a
    rule that is no tcp/all ingress with known ports."""
    if not rule.ingress or rule.protocol not in ("tcp", "all") or rule.ports is None:
        return "", []
    low, high = rule.ports
    what = "all protocols" if rule.protocol == "all" else f"tcp {_span(low, high)}"
    return what, [f"{name} {_span(*ports)}" for name, ports in CONTROL_PORTS.items()
                  if low <= ports[1] and ports[0] <= high]


def control_ports_not_public(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for rule in sg_rules(args):
        what, hit = control_hits(rule)
        for peer in rule.world_peers() if hit else ():
            report_violation(f"{rule.where}{what} from {peer} reaches {', '.join(hit)}", None)


def _group_of(resource_type: str, props: Mapping[str, Any], urn: str) -> Any:
    """The security group a rule resource adds to (inline rules: the group itself)."""
    if resource_type in (AWS_GROUP, AWS_DEFAULT_GROUP):
        return urn
    return get(props, "securityGroupId")


def cidr_sets(resources: Sequence[Any]) -> dict[str, tuple[Any, ...] | Any]:
    """id and URN -> the entries of every address group / prefix list in the stack (an entry,
    or the whole list, UNKNOWN where the engine does not know it yet)."""
    out: dict[str, tuple[Any, ...] | Any] = {}
    for resource in resources:
        if resource.resource_type not in CIDR_SETS:
            continue
        key, inner = CIDR_SETS[resource.resource_type]
        raw = items(resource.props, key)
        entries = UNKNOWN if raw is UNKNOWN else tuple(get(e, inner) if inner else e for e in raw)
        for ident in (get(resource.props, "id"), resource.urn):
            if isinstance(ident, str) and ident:
                out[ident] = entries
    return out


def set_entries(rule: SgRule, sets: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(set, CIDR) for every known entry of the sets `rule` names; unknown ones are skipped."""
    out = []
    for ref in rule.sets:
        entries = sets.get(ref) if isinstance(ref, str) else None
        if entries is None or entries is UNKNOWN:
            continue  # not in this stack, or preview: not known, so not reported
        out += [(ref, e) for e in entries if isinstance(e, str)]
    return out


def control_ports_not_public_through_sets(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A rule to a control port through an address group / prefix list holding a public prefix."""
    sets = cidr_sets(args.resources)
    for resource in args.resources:
        reader = READERS.get(resource.resource_type)
        for rule in reader(resource.props) if reader else ():
            what, hit = control_hits(rule) if rule.sets else ("", [])
            for ref, cidr in set_entries(rule, sets) if hit else ():
                if is_world(cidr):
                    report_violation(f"{resource.name}: {rule.where}{what} from {cidr} (an entry of {ref}) reaches "
                                     f"{', '.join(hit)}", resource.urn)


# resource type -> the property naming the groups it carries together (one interface)
CARRIERS = {"aws:ec2/instance:Instance": "vpcSecurityGroupIds", "aws:lb/loadBalancer:LoadBalancer": "securityGroups",
            "aws:ec2/networkInterface:NetworkInterface": "securityGroups",
            "openstack:networking/port:Port": "securityGroupIds"}


def carried_together(resources: Sequence[Any]) -> dict[str, tuple[str, ...]]:
    """group -> every group an interface carries with it (itself included), merged over the
    stack's instances, load balancers and ports; a group no carrier names is alone."""
    joined: dict[str, set[str]] = {}
    for resource in resources:
        key = CARRIERS.get(resource.resource_type)
        listed = items(resource.props, key) if key else ()
        known = {g for g in (listed if isinstance(listed, list) else ()) if isinstance(g, str) and g}
        merged = set(known).union(*(joined.get(g, set()) for g in known))
        for group in merged:
            joined[group] = merged
    return {group: tuple(sorted(together)) for group, together in joined.items()}


def control_ports_not_public_together(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Each CIDR narrow, the union wide: the ingress rules on one control port of one group,
    or of groups an interface carries together, admit a public count of addresses
    (0.0.0.0/1 + 128.0.0.0/1), the entries of the CIDR sets they name included."""
    sets = cidr_sets(args.resources)
    together = carried_together(args.resources)
    peers: dict[tuple[Any, str], list[tuple[str, str]]] = {}  # (group, port name) -> (cidr, urn)
    for resource in args.resources:
        reader = READERS.get(resource.resource_type)
        if reader is None:
            continue
        group = _group_of(resource.resource_type, resource.props, resource.urn)
        if group is UNKNOWN or not isinstance(group, str):
            continue  # preview: which group is not known yet
        group = " + ".join(together.get(group, (group,)))
        for rule in reader(resource.props):
            if not rule.ingress or rule.protocol not in ("tcp", "all") or rule.ports is None:
                continue
            low, high = rule.ports
            for name, ports in CONTROL_PORTS.items():
                if low <= ports[1] and ports[0] <= high:
                    cidrs = [p for p in rule.peers if isinstance(p, str)] + [c for _, c in set_entries(rule, sets)]
                    peers.setdefault((group, name), []).extend((p, resource.urn) for p in cidrs if not is_world(p))
    for (group, name), found in sorted(peers.items()):
        union = public_union([cidr for cidr, _ in found])
        if union:
            cidrs = sorted({cidr for cidr, _ in found})
            report_violation(f"{'groups' if ' + ' in group else 'group'} {group}: {name} {_span(*CONTROL_PORTS[name])} "
                             "is reachable from "
                             f"{' + '.join(cidrs)}, together {' + '.join(union)}: public", found[0][1])


def rule_has_description(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for rule in sg_rules(args):
        if rule.description is UNKNOWN:
            continue
        if not isinstance(rule.description, str) or not rule.description.strip():
            report_violation(f"{rule.where}security group rule has no description", None)


def no_inline_rules(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not is_security_group(args.resource_type):
        return
    for key, entries in inline_rules(args.props):
        if entries is UNKNOWN:
            continue  # computed during preview: checked again at update
        report_violation(f"{key} holds {len(entries)} inline rule(s); declare each rule as its own resource "
                         "(aws.vpc.SecurityGroupIngressRule/EgressRule, openstack.networking.SecGroupRule)", None)


def no_all_protocols_from_world(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for rule in sg_rules(args):
        if rule.ingress and rule.protocol == "all":
            for peer in rule.world_peers():
                report_violation(f"{rule.where}ingress of all protocols from {peer}", None)


def aws_instance_imdsv2(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in AWS_INSTANCES:
        return
    tokens = get(args.props, "metadataOptions", "httpTokens")
    endpoint = get(args.props, "metadataOptions", "httpEndpoint")
    if tokens is UNKNOWN or endpoint is UNKNOWN or endpoint == "disabled" or tokens == "required":
        return
    shown = "unset (AWS allows IMDSv1)" if tokens is None else repr(tokens)
    report_violation(f"metadataOptions.httpTokens is {shown}; set it to 'required' (IMDSv2 only)", None)


def _encrypted_problem(value: Any, where: str) -> str | None:
    if value is UNKNOWN or value is True or (isinstance(value, str) and value.lower() == "true"):
        return None
    return f"{where}.encrypted is {'unset' if value is None else repr(value)}; set it to true"


def aws_volumes_encrypted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    problems: list[str | None] = []
    if args.resource_type in AWS_INSTANCES:
        root = get(args.props, "rootBlockDevice")
        if root is not UNKNOWN:
            problems.append(_encrypted_problem(get(root, "encrypted"), "rootBlockDevice"))
        devices = items(args.props, "ebsBlockDevices")
        for i, device in enumerate([] if devices is UNKNOWN else devices):
            if device is not UNKNOWN:
                problems.append(_encrypted_problem(get(device, "encrypted"), f"ebsBlockDevices[{i}]"))
    elif args.resource_type == AWS_VOLUME:
        problems.append(_encrypted_problem(get(args.props, "encrypted"), "volume"))
    for problem in problems:
        if problem:
            report_violation(problem, None)


MANDATORY = EnforcementLevel.MANDATORY

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy(
        name="kubeports-control-plane-ports-not-public",
        description="etcd (2379-2381), kubelet (10250, 10255), kube-scheduler (10259, 10251) and "
                    "kube-controller-manager (10257, 10252) are never reachable from a public prefix "
                    "(0.0.0.0/0, ::/0, or wider than /8 or /16).",
        validate=control_ports_not_public,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="kubeports-control-plane-ports-not-public-together",
        description="No group's CIDR rules on a control-plane port add up to a public range "
                    "(e.g. 0.0.0.0/1 + 128.0.0.0/1, ::/1 + 8000::/1).",
        validate=control_ports_not_public_together,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="kubeports-control-plane-ports-not-public-through-sets",
        description="No rule reaches a control-plane port through an address group or prefix list of the stack "
                    "that holds a public prefix (0.0.0.0/0, ::/0, or wider than /8 or /16).",
        validate=control_ports_not_public_through_sets,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="kubeports-rule-description",
        description="Every security group rule has a non-empty description.",
        validate=rule_has_description,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="kubeports-aws-imdsv2",
        description="AWS instances require IMDSv2 (metadataOptions.httpTokens = required).",
        validate=aws_instance_imdsv2,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="kubeports-aws-encrypted-volumes",
        description="AWS instance root and EBS volumes are encrypted.",
        validate=aws_volumes_encrypted,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="kubeports-no-inline-rules",
        description="Security groups carry no inline rules; every rule is its own resource.",
        validate=no_inline_rules,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="kubeports-no-all-protocols-from-world",
        description="No ingress rule allows all protocols from a public prefix (0.0.0.0/0, ::/0, 0.0.0.0/1, ...).",
        validate=no_all_protocols_from_world,
        enforcement_level=MANDATORY,
    ),
]
