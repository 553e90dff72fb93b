"""Quota preflight: will the resolved rules fit the cloud before anything is created?

Rules of this file:
- AWS counts rules per group, per direction and per address family (60 each by
  default); a rule that references a group counts in each family it serves;
- Neutron counts rules per project (100 by default) and groups per project (10);
- the numbers come from the stack (`kubeports:cluster.quota`), defaults from the
  providers' documented defaults.
"""
from __future__ import annotations

from collections import Counter

from .rules import Rule
from .settings import LOAD_BALANCER, ClusterSettings


def quota_problems(cloud: str, rules: tuple[Rule, ...], cluster: ClusterSettings) -> list[str]:
    if cloud == "aws":
        return _aws(rules, cluster.quota.aws_rules_per_group)
    return _neutron(rules, cluster)


def aws_counts(rules: tuple[Rule, ...]) -> Counter:
    """(role, direction, family) -> rules AWS will count. Group references have no family
    in AWS, so the IPv4 and IPv6 variants of one are a single AWS rule counted in both."""
    seen: set[tuple] = set()
    counts: Counter = Counter()
    for rule in rules:
        if rule.peer_kind == "role":
            ident = (rule.role, rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.peer)
            if ident in seen:
                continue
            seen.add(ident)
            counts[(rule.role, rule.direction, "IPv4")] += 1
            counts[(rule.role, rule.direction, "IPv6")] += 1
        else:
            counts[(rule.role, rule.direction, rule.ethertype)] += 1
    return counts


def _aws(rules: tuple[Rule, ...], limit: int) -> list[str]:
    return [f"AWS quota: security group {role} has {n} {direction} {family} rules; the limit is {limit} "
            "(kubeports:cluster.quota.awsRulesPerGroup)"
            for (role, direction, family), n in sorted(aws_counts(rules).items()) if n > limit]


def _neutron(rules: tuple[Rule, ...], cluster: ClusterSettings) -> list[str]:
    """Octavia's load balancer has no group of ours: its own rules become the listener's
    allowed CIDRs, so neither they nor its group count against the Neutron quota."""
    problems = []
    counted = [r for r in rules if r.role != LOAD_BALANCER]
    if len(counted) > cluster.quota.neutron_rules:
        problems.append(f"Neutron quota: {len(counted)} security group rules; the project allows "
                        f"{cluster.quota.neutron_rules} (kubeports:cluster.quota.neutronRules)")
    groups = len([r for r in cluster.roles if r != LOAD_BALANCER])
    if groups > cluster.quota.neutron_groups:
        problems.append(f"Neutron quota: {groups} security groups; the project allows {cluster.quota.neutron_groups} "
                        "(kubeports:cluster.quota.neutronGroups)")
    return problems
