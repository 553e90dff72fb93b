"""What a cloud's provider would refuse or silently change, checked before anything is
registered (the cloud modules render knowingly what passes). Pure: no pulumi.

Rules of this file:
- one function per cloud, named by what the provider does, with its source;
- a message says what the rule asks for, what the cloud would do, and what to write instead.

OpenStack (terraform-provider-openstack v3.4.0 over gophercloud v2.8.0):
- `port_range_min` is RequiredWith `port_range_max`: an ICMP type without a code cannot
  be sent, and the preview fails;
- gophercloud's CreateOpts drop a 0 port (`json:",omitempty"`): ICMP type 0 is never
  sent, so IPv4 echo-reply (type 0 code 0) would become "all ICMP"; a code 0 is dropped
  too and arrives as "any code of that type", which is the same rule only for types
  whose one code is 0 (echo request/reply).
"""
from __future__ import annotations

from .rules import Rule

# ICMP types whose only code is 0 (RFC 792, RFC 4443): "code 0" and "any code" are one rule.
ICMP_ONLY_CODE_ZERO = {"icmp": frozenset({8, 0}), "icmpv6": frozenset({128, 129})}


def cloud_problems(cloud: str, rules: tuple[Rule, ...]) -> list[str]:
    if cloud == "openstack":
        return openstack_icmp_problems(rules)
    return []


def openstack_icmp_problems(rules: tuple[Rule, ...]) -> list[str]:
    problems = []
    for rule in rules:
        if not rule.is_icmp or rule.from_port is None:
            continue
        if rule.from_port == 0:
            problems.append(f"{rule.key}: ICMP type 0 cannot reach Neutron through the OpenStack provider "
                            "(gophercloud drops a 0 port), so the rule would admit all ICMP; use all ICMP knowingly "
                            "(no icmp:) or leave it out")
        elif rule.to_port is None:
            problems.append(f"{rule.key}: ICMP type {rule.from_port} without a code cannot be sent by the OpenStack "
                            "provider (port_range_max is required with port_range_min); use all ICMP (no icmp:) "
                            "or a message with a code")
        elif rule.to_port == 0 and rule.from_port not in ICMP_ONLY_CODE_ZERO[rule.protocol]:
            problems.append(f"{rule.key}: ICMP code 0 of type {rule.from_port} would arrive as every code of that "
                            "type (gophercloud drops a 0 port); leave the code out only where that is meant")
    return problems
