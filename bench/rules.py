"""Rule economy: how many security-group rules each example stack costs, against what it
could cost at best and at worst, and how much cloud quota is left.

Usage:
    .venv/bin/python bench/rules.py                      # every Pulumi.*.yaml at the project root
    .venv/bin/python bench/rules.py --stacks dev,prod-aws
    .venv/bin/python bench/rules.py --portspecs DIR      # another catalog
    .venv/bin/python bench/rules.py --no-details         # the table only

Columns (pure: no Pulumi runs, a second or two):
- naive: one rule per spec row x peer x family x protocol, as the resolver first emits
  them, before merging rules of one identity and before dropping covered rules;
- distinct: after merging rules with one identity (same role, direction, protocol, ports,
  peer, family);
- emitted: what kubeports creates (`kubeports rules`), covered rules dropped;
- lower bound: the minimal cover after also merging adjacent and overlapping port ranges
  per (role, direction, protocol, peer, family). kubeports does not merge them on
  purpose: a merged range is renamed whenever a port next to it is added;
- Neutron: emitted rules against the project quota (100 by default; the project's
  `default` group holds a few more); AWS: the fullest (group, direction, family) against
  60, counting a group reference in both families as kubeports.core.quota.aws_counts does.
Both quotas are shown for every stack; "*" marks the stack's own cloud. The quota values
come from each stack's `kubeports:cluster.quota`.
- rule resources: what the stack's own cloud really creates, named as its backend names
  them (kubeports.components: on AWS a group reference has no family, so the IPv4 and
  IPv6 rules of one are one SecurityGroupIngressRule).

Second table, CIDR lists of growing length (skip it with `--no-cidr-table`): example
stacks of each cloud (SCALE_STACKS) with k CIDRs in each of the sets api-clients,
nodeport-clients, admin and ingress-clients (k per family the stack serves, from
100.64.0.0/10 and 2001:db8::/32, one block per set), for k = 1, 5, 20, 50, 200, per mode
(MODES: how the cloud renders them: one rule per CIDR; Neutron address groups / AWS
managed prefix lists, one rule per flow and set; on OpenStack also subnet peers for
node-to-node rules; on AWS also both spread over 5 groups per role, kubeports:aws.groupsPerRole,
placed as kubeports.core.shards places them). Columns: rules (resolved, one per CIDR), rule resources (what the
cloud creates), API objects (rule resources, security groups, address groups or prefix
lists), quota use against each cloud's DEFAULT quota (Neutron: rules per project, the
default group's 4 included, of 100; address groups have no quota; AWS: the fullest
group, direction and family of 60, a prefix-list reference counting its max entries). The generated stacks raise their own
quota so that the refused sizes still resolve and count; on AWS, rule resources and prefix
lists are counted as the AWS module renders them (with several groups per role, every set
split into one list per group, kubeports.core.shards `set_parts`).

Third table: each AWS stack with one or two of the four sets at 200 entries per family, as
split prefix lists over 5 groups per role: which fit EC2's default quota (at most 5 x 60
per interface, direction and family, so one 200-entry flow per role, family and direction).
A row also needs its prefix lists within EC2's 100 per Region (an empty Region assumed:
kubeports:cluster.quota.awsUsedPrefixLists 0).
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from unittest import mock

from _util import ROOT, csv_arg, example_stacks, load_doc, md_table, stack_name, write_stack

from kubeports.core import quota as quota_module
from kubeports.core import resolver
from kubeports.core.project import load_project
from kubeports.core.quota import (
    aws_counts,
    cidr_set_objects,
    group_label,
    prefix_list_problems,
    prefix_lists,
    region_list_problems,
)
from kubeports.core.rules import Rule
from kubeports.core.settings import QuotaSettings
from kubeports.core.shards import aws_group_counts, aws_units, groups_of


class _CountingPending(dict):
    """The resolver's pending map, counting every rule offered to it (before identity merge)."""

    def __init__(self) -> None:
        super().__init__()
        self.offered = 0

    def setdefault(self, key, default=None):  # type: ignore[override]
        self.offered += 1
        return super().setdefault(key, default)


@contextlib.contextmanager
def counting_resolver() -> Iterator[list]:
    """Swap in a _Builder whose pending map counts; yields the builders resolve() made.
    Only counts: the resolution is the same as without it."""
    builders: list = []
    original = resolver._Builder

    class Counting(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pending = _CountingPending()
            builders.append(self)

    resolver._Builder = Counting  # type: ignore[misc]
    try:
        yield builders
    finally:
        resolver._Builder = original  # type: ignore[misc]


def _label(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def lower_bound(rules: tuple[Rule, ...]) -> tuple[int, list[str]]:
    """Minimal rule count once adjacent/overlapping tcp/udp ranges merge per
    (role, direction, protocol, peer, family); and a line per group that shrinks."""
    groups: dict[tuple, list[Rule]] = defaultdict(list)
    for rule in rules:
        groups[(rule.role, rule.direction, rule.protocol, rule.peer_kind, rule.peer, rule.ethertype)].append(rule)
    total, merges = 0, []
    for (role, direction, proto, _kind, peer, family), members in sorted(groups.items()):
        if proto not in ("tcp", "udp"):
            total += len(members)  # ICMP types, raw protocols and "all" do not merge
            continue
        if any(r.from_port is None for r in members):
            total += 1
            continue
        spans = sorted((r.from_port, r.to_port) for r in members)  # type: ignore[type-var]
        merged: list[list[int]] = []
        for low, high in spans:
            if merged and low <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], high)
            else:
                merged.append([low, high])
        total += len(merged)
        if len(merged) < len(spans):
            before = ", ".join(_label(lo, hi) for lo, hi in spans)
            after = ", ".join(_label(lo, hi) for lo, hi in merged)
            merges.append(f"{role} {direction} {proto} {'from' if direction == 'ingress' else 'to'} {peer} "
                          f"{'v4' if family == 'IPv4' else 'v6'}: {before} -> {after}")
    return total, merges


def measure(stack_file: str, portspecs: str | None) -> dict:
    with counting_resolver() as builders:
        project = load_project(stack_file, portspecs)
    # The resolution's builder; the override checks make others that offer no rule.
    builder = max(builders, key=lambda b: b.pending.offered)
    rules = project.resolution.rules
    cluster = project.stack.cluster
    bound, merges = lower_bound(rules)
    resources = rule_resources(project)
    counts = aws_counts(rules)
    (role, direction, family), fullest = max(counts.items(), key=lambda kv: (kv[1], kv[0])) if counts else \
        (("-", "-", "-"), 0)
    return {
        "stack": stack_name(stack_file), "cloud": project.stack.cloud, "naive": builder.pending.offered,
        "distinct": len(builder.pending), "emitted": len(rules), "bound": bound, "merges": merges,
        "resources": resources,
        "neutron": len(rules), "neutron_limit": cluster.quota.neutron_rules,
        "groups": len(cluster.roles), "neutron_groups": cluster.quota.neutron_groups,
        "aws": fullest, "aws_limit": cluster.quota.aws_rules_per_group, "aws_group": f"{role} {direction} {family}",
    }


def render(results: list[dict], details: bool = True) -> str:
    rows = []
    for r in results:
        own_os, own_aws = ("*", "") if r["cloud"] == "openstack" else ("", "*")
        rows.append((
            r["stack"], r["cloud"], r["naive"], r["distinct"], r["emitted"], r["resources"], r["bound"],
            f"{r['emitted'] / r['bound']:.2f}" if r["bound"] else "-",
            f"{r['neutron']}/{r['neutron_limit']}{own_os}", r["neutron_limit"] - r["neutron"],
            f"{r['aws']}/{r['aws_limit']}{own_aws} ({r['aws_group']})", r["aws_limit"] - r["aws"],
        ))
    out = ["## Rule economy per example stack\n\n", md_table(
        ["Stack", "Cloud", "Naive", "Distinct", "Emitted", "Rule resources", "Lower bound", "Emitted / bound",
         "Neutron rules", "Neutron headroom", "AWS fullest group", "AWS headroom"],
        rows, right=(2, 3, 4, 5, 6, 7, 9, 11))]
    out.append("\nNaive = one rule per spec row x peer x family x protocol; distinct = identities; emitted = after "
               "dropping covered rules; rule resources = what the stack's cloud creates (AWS: one per group reference "
               "for both families); lower bound = emitted with adjacent/overlapping port ranges merged. "
               "`*` = the stack's own cloud.\n")
    if details:
        out.append("\n### Where the lower bound saves rules\n\n")
        any_merge = False
        for r in results:
            for line in r["merges"]:
                out.append(f"- {r['stack']}: {line}\n")
                any_merge = True
        if not any_merge:
            out.append("- nowhere: no two emitted port ranges of one role, peer and protocol touch.\n")
    return "".join(out)


# --- CIDR lists of growing length ------------------------------------------------------------
# Per cloud: its dual-stack example, and prod-aws (IPv4 only, the largest AWS stack).
SCALE_STACKS = (("openstack", "dev"), ("aws", "prod-aws"), ("aws", "aws-cilium"))
CIDR_SETS = ("api-clients", "nodeport-clients", "admin", "ingress-clients")
SIZES = (1, 5, 20, 50, 200)
# mode -> per cloud, what it sets in the stack's cloud settings (kubeports:openstack / kubeports:aws).
# Address groups with `firewall: ovn`: the stack states its Neutron enforces them, so the
# sensitive-port rules use them too (docs/configuration.md); subnet peers need subnetCidr.
MODES: dict[str, dict[str, dict]] = {
    "cidr rules": {"openstack": {}, "aws": {}},
    "address groups / prefix lists": {"openstack": {"addressGroups": {"enabled": True, "firewall": "ovn"}},
                                      "aws": {"prefixLists": True}},
    "address groups + subnet peers": {"openstack": {"addressGroups": {"enabled": True, "firewall": "ovn"},
                                                    "nodePeers": "subnet", "subnetCidr": "192.0.2.0/24"}},
    "cidr rules, 5 groups per role": {"aws": {}},
    "prefix lists, 5 groups per role": {"aws": {"prefixLists": True}},
}
# mode -> security groups per role (kubeports:aws.groupsPerRole), placed as the AWS module
# places them (kubeports.core.shards) against the default quota; 5 is EC2's default per interface.
MODE_GROUPS = {"cidr rules, 5 groups per role": 5, "prefix lists, 5 groups per role": 5}


def rule_resources(project) -> int:
    """Rule resources the stack's cloud creates: its backend's names, one resource each, of the
    rules it renders (`cloud_rules`: CIDR sets as one peer, subnet peers)."""
    from kubeports.components import backend_for  # imports the stack's provider SDK: only when counting

    backend = backend_for(project.stack)
    return len({backend.rule_name(rule) for rule in project.cloud_rules})


def cidrs(set_index: int, k: int, families: list[str]) -> list[str]:
    out = []
    if "IPv4" in families:
        out += [f"100.{64 + set_index}.{i // 256}.{i % 256}/32" if k > 256 else f"100.{64 + set_index}.{i}.0/24"
                for i in range(k)]
    if "IPv6" in families:
        out += [f"2001:db8:{set_index:x}{i:03x}::/48" for i in range(k)]
    return out


def with_cidrs(stack: str, k: int, mode: dict, directory: str, listed: tuple[str, ...] = CIDR_SETS) -> str:
    """The stack with k CIDRs per family in each set of `listed` (the others as the stack has them)."""
    doc = load_doc(os.path.join(ROOT, f"Pulumi.{stack}.yaml"))
    cluster = doc["config"]["kubeports:cluster"]
    families = cluster.get("ipFamilies", ["IPv4"])
    for index, name in enumerate(CIDR_SETS):
        if name in listed:
            cluster.setdefault("cidrs", {})[name] = cidrs(index, k, families)
    doc["config"][f"kubeports:{doc['config']['kubeports:cloud']}"].update(mode)
    cluster["quota"] = {**cluster.get("quota", {}), "neutronRules": 10**6, "awsRulesPerGroup": 10**6}
    return write_stack(doc, directory, f"{stack}-k{k}-{len(listed)}")


def cidr_row(cloud: str, stack: str, mode: str, k: int, directory: str, portspecs: str | None,
             listed: tuple[str, ...] = CIDR_SETS) -> dict:
    path = with_cidrs(stack, k, MODES[mode][cloud], directory, listed)
    with mock.patch.object(quota_module, "prefix_list_problems", lambda *_: []), \
            mock.patch.object(quota_module, "region_list_problems", lambda *_: []):  # counted below, not raised
        project = load_project(path, portspecs)
    rules = project.cloud_rules
    per_role = MODE_GROUPS.get(mode, 1)
    quota = QuotaSettings()
    # EC2 takes 100 entries per request, and the provider creates a list in one: refused at any quota
    too_long = project.stack.cloud == "aws" and bool(prefix_list_problems(rules, per_role))
    region_over = project.stack.cloud == "aws" and bool(region_list_problems(rules, quota, per_role))  # 100 per Region
    if project.stack.cloud == "aws":  # as the AWS module renders them at the default quota: long sets split
        resources = len(aws_units(rules, per_role))
        objects = len(prefix_lists(rules, per_role))
    else:
        resources, objects = rule_resources(project), len(cidr_set_objects(rules))
    # security groups, address groups / prefix lists
    groups = sum(groups_of(role, per_role) for role in project.stack.cluster.roles) + objects
    if project.stack.cloud == "aws":
        local = tuple(project.stack.cluster.roles)
        counts = aws_group_counts(rules, per_role, quota.aws_rules_per_group, local)
        (role, index, direction, family), fullest = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        label = group_label(role, index, groups_of(role, per_role, local))
        use, limit, where = fullest, quota.aws_rules_per_group, f" ({label} {direction} {family})"
    else:
        use, limit, where = resources + quota.neutron_used_rules, quota.neutron_rules, ""
    return {"cloud": project.stack.cloud, "stack": stack, "mode": mode, "k": k, "rules": len(project.resolution.rules),
            "resources": resources, "objects": resources + groups, "lists": objects, "use": use, "limit": limit,
            "where": where + ("; a list over 100 entries" if too_long else "")
            + (f"; {objects} prefix lists, {quota.aws_prefix_lists_per_region} per Region" if region_over else ""),
            "fits": use <= limit and not too_long and not region_over}


def cidr_table(portspecs: str | None) -> str:
    rows = []
    with tempfile.TemporaryDirectory(prefix="kubeports-rules-") as tmp:
        for cloud, stack in SCALE_STACKS:
            for mode in (m for m, clouds in MODES.items() if cloud in clouds):
                for k in SIZES:
                    r = cidr_row(cloud, stack, mode, k, tmp, portspecs)
                    assert r["cloud"] == cloud
                    rows.append((cloud, stack, mode, k, r["rules"], r["resources"], r["objects"],
                                 f"{r['use']}/{r['limit']}{r['where']}", "yes" if r["fits"] else "**no**"))
    return ("\n## Rules as CIDR lists grow (k CIDRs per set and family)\n\n"
            + md_table(["Cloud", "Stack", "Mode", "k", "Rules", "Rule resources", "API objects",
                        "Quota use (default quota)", "Fits"], rows, right=(3, 4, 5, 6)))


FIT_MODE = "prefix lists, 5 groups per role"


def fit_table(portspecs: str | None) -> str:
    """Each AWS stack with one or two of its sets at 200 entries (the others as the stack has
    them), as split prefix lists over 5 groups: which fit EC2's default quota."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="kubeports-rules-") as tmp:
        for cloud, stack in (s for s in SCALE_STACKS if s[0] == "aws"):
            for listed in [(name,) for name in CIDR_SETS] + list(itertools.combinations(CIDR_SETS, 2)):
                r = cidr_row(cloud, stack, FIT_MODE, 200, tmp, portspecs, listed)
                rows.append((stack, ", ".join(listed), r["rules"], r["resources"], r["lists"],
                             f"{r['use']}/{r['limit']}{r['where']}", "yes" if r["fits"] else "**no**"))
    return ("\n## 200-entry sets within EC2's default quota (prefix lists split over 5 groups per role)\n\n"
            + md_table(["Stack", "Sets at 200 per family", "Rules", "Rule resources", "Prefix lists",
                        "Quota use (default quota)", "Fits"], rows, right=(2, 3, 4)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=csv_arg, default=None, help="stack names, comma-separated (default: all)")
    parser.add_argument("--portspecs", default=None, help="catalog directory (default: portspecs/)")
    parser.add_argument("--no-details", action="store_true", help="print the table only")
    parser.add_argument("--no-cidr-table", action="store_true", help="skip the CIDR-list table (faster)")
    args = parser.parse_args(argv)
    results = [measure(path, args.portspecs) for path in example_stacks(args.stacks)]
    sys.stdout.write(render(results, details=not args.no_details))
    if not args.no_cidr_table:
        sys.stdout.write(cidr_table(args.portspecs))
        sys.stdout.write(fit_table(args.portspecs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
