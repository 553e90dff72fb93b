"""Quota preflight: will the resolved rules fit the cloud before anything is created?

Rules of this file:
- AWS counts rules per group, per direction and per address family (60 each by
  default); a rule that references a group counts in each family it serves;
- Neutron counts rules per project (100 by default) and groups per project (10), and
  the project already holds some: its `default` group and that group's 4 rules, made by
  Neutron on the project's first call (`neutronUsedGroups`/`neutronUsedRules`, for
  projects that hold more). Each group we create also gets 2 default egress rules;
  we delete them at once (`delete_default_rules`), so they do not stay, but creating a
  group needs 2 free rules for that moment;
- Nova counts server groups per project (10) and members per group (10): each role
  with VMs is one server group of `count` members, so the 11th server of a role fails;
  a role with pools has one server group per pool (anti-affinity among alike nodes);
  a rollout step on OpenStack is create-first (a new server on a new port, then the old
  one goes), so while a step runs the group holds `count` + the nodes it replaces;
- CIDR sets as one peer (`set` rules, issue 19): Neutron counts such a rule as one rule and
  has no quota on address groups (neutron 29.0.0 registers none in `neutron/conf/quota.py`);
  AWS counts a rule referencing a prefix list as the list's `max_entries` in its family;
  a list holds at most 1,000 entries, and EC2 takes at most 100 per request, which the
  provider exceeds when it creates a longer list in one call (`prefix_list_problems`:
  refused, with the groups per role that split it short enough). kubeports sets
  `max_entries` to the entries the list holds (`prefix_list_max_entries`): headroom would
  count against every group that references the list, once per flow, and AWS changes
  `max_entries` in place;
- EC2 counts customer-managed prefix lists per Region (100 by default, adjustable): this
  stack's lists and those the Region holds besides (`awsUsedPrefixLists`, 0 unless set:
  offline nothing else is known; `kubeports audit --live` counts them);
- the numbers come from the stack (`kubeports:cluster.quota`), defaults from the
  providers' documented defaults; `quota_headroom` says what is left, in the same terms.
"""
from __future__ import annotations

from collections import Counter

from .rules import Rule
from .settings import AWS_RULES_PER_INTERFACE, LOAD_BALANCER, ClusterSettings, QuotaSettings, RoleSettings
from .shards import (
    aws_group_counts,
    aws_placement,
    aws_units,
    groups_needed,
    groups_of,
    prefix_list_max_entries,
    set_object_name,
    set_parts,
)
from .siblings import sibling_rules

NEUTRON_GROUP_DEFAULT_RULES = 2  # egress IPv4 and IPv6 of every non-default group (Neutron's templates)
AWS_ENTRIES_PER_REQUEST = 100  # EC2 API: entries per CreateManagedPrefixList / ModifyManagedPrefixList request
NOVA_REMEDY = ("raise the project's Nova quota (`openstack quota set --server-groups N --server-group-members N`) "
               "and set it in kubeports:cluster.quota")


def quota_problems(cloud: str, rules: tuple[Rule, ...], cluster: ClusterSettings, groups: int = 1) -> list[str]:
    """`groups`: security groups per role (kubeports:aws.groupsPerRole), the rules placed over
    them as the AWS module places them (kubeports.core.shards)."""
    if cloud == "aws":
        return (_aws(rules, cluster, groups) + prefix_list_problems(rules, groups, groups_most(cluster.quota))
                + region_list_problems(rules, cluster.quota, groups))
    return _neutron(rules, cluster) + _nova(cluster) + _nova_rollout(cluster)


def aws_counts(rules: tuple[Rule, ...]) -> Counter:
    """(role, direction, family) -> rules AWS will count in a role's one group. Group references
    have no family in AWS, so the IPv4 and IPv6 variants of one are a single AWS rule counted in both."""
    return Counter({(role, direction, family): n
                    for (role, _, direction, family), n in aws_group_counts(rules, 1, 0).items()})


def cidr_set_objects(rules: tuple[Rule, ...]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(set, family) -> entries of every address group / prefix list the rules reference."""
    return {(r.peer, r.ethertype): r.members for r in sorted(rules, key=Rule.sort_key) if r.peer_kind == "set"}


def prefix_lists(rules: tuple[Rule, ...], groups: int) -> dict[tuple[str, str, int], tuple[str, ...]]:
    """(set, family, part) -> entries of every prefix list the AWS module creates: with several
    groups per role each set is split over them (kubeports.core.shards `set_parts`)."""
    return {(name, family, part): members
            for (name, family), whole in cidr_set_objects(rules).items()
            for part, members in set_parts(whole, groups).items()}


def prefix_list_names(rules: tuple[Rule, ...], cluster: str, groups: int) -> set[str]:
    """The names (PrefixListName) of the prefix lists the AWS module creates for these rules."""
    return {set_object_name(cluster, name, family, part) for name, family, part in prefix_lists(rules, groups)}


def prefix_list_problems(rules: tuple[Rule, ...], groups: int = 1, most: int = 1) -> list[str]:
    """Prefix lists the provider cannot create: EC2 takes at most 100 entries per request
    (CreateManagedPrefixList's Entry.N, ModifyManagedPrefixList's AddEntry.N), and
    terraform-provider-aws sends all of a list's entries in its one create call (its issue
    #35371: "The number of entries per request cannot exceeds limit (100)"). `most`: the
    groups per role an interface allows, for the advice."""
    too_long = {key: members for key, members in sorted(prefix_lists(rules, groups).items())
                if len(members) > AWS_ENTRIES_PER_REQUEST}
    if not too_long:
        return []
    fits = next((n for n in range(max(2, groups + 1), most + 1)
                 if all(len(m) <= AWS_ENTRIES_PER_REQUEST for m in prefix_lists(rules, n).values())), None)
    remedy = (f"set kubeports:aws.groupsPerRole to {fits} (each set split into {fits} lists of at most "
              f"{AWS_ENTRIES_PER_REQUEST}), or list fewer CIDRs in the set" if fits else
              "list fewer CIDRs in the set, or set kubeports:aws.prefixLists false")
    return [f"AWS API: the prefix list of CIDR set {name} ({fam}" + (f", part {part} of {groups}" if part else "")
            + f") holds {len(members)} entries; EC2 takes at most {AWS_ENTRIES_PER_REQUEST} per request and the "
            f"provider creates a list in one request (terraform-provider-aws#35371): {remedy}"
            for (name, fam, part), members in too_long.items()]


def region_list_problems(rules: tuple[Rule, ...], quota: QuotaSettings, groups: int = 1) -> list[str]:
    """EC2's "Prefix lists per Region": the lists this stack creates and the others the Region
    holds (kubeports:cluster.quota.awsUsedPrefixLists) within awsPrefixListsPerRegion."""
    ours = len(prefix_lists(rules, groups))
    total = ours + quota.aws_used_prefix_lists
    if not ours or total <= quota.aws_prefix_lists_per_region:
        return []
    split = (f"; with kubeports:aws.groupsPerRole {groups} every set is {groups} lists per family"
             if groups > 1 else "")
    return [f"AWS quota: this stack creates {ours} prefix lists and the Region holds {quota.aws_used_prefix_lists} "
            f"more (kubeports:cluster.quota.awsUsedPrefixLists): {total}; the Region allows "
            f"{quota.aws_prefix_lists_per_region} (kubeports:cluster.quota.awsPrefixListsPerRegion){split}: raise "
            "'Prefix lists per Region' in Service Quotas and set the new limit there, or set "
            "kubeports:aws.prefixLists false"]


def cidr_set_headroom(cloud: str, rules: tuple[Rule, ...], groups: int = 1,
                      quota: QuotaSettings | None = None) -> list[str]:
    """One line on the sets rendered as one peer: what each cloud counts for them."""
    objects = cidr_set_objects(rules)
    if not objects:
        return []
    uses = len([r for r in rules if r.peer_kind == "set"])
    if cloud == "aws":
        lists = prefix_lists(rules, groups)
        entries = sum(prefix_list_max_entries(m) for m in lists.values())
        split = len({key[:2] for key in lists if key[2]})
        parts = f", {split} of the sets split over the groups" if split else ""
        uses = len([u for u in aws_units(rules, groups).values() if u.rule.peer_kind == "set"])
        quota = quota or QuotaSettings()
        region = len(lists) + quota.aws_used_prefix_lists
        return [f"AWS prefix lists: {len(lists)} lists ({entries} entries, max entries = entries{parts}), "
                f"referenced by {uses} rules; each reference counts its list's max entries in the group's quota; "
                f"the Region: {region} of {quota.aws_prefix_lists_per_region} lists ({len(lists)} of this stack, "
                f"{quota.aws_used_prefix_lists} besides), {quota.aws_prefix_lists_per_region - region} left"]
    entries = sum(len(m) for m in objects.values())
    return [f"Neutron address groups: {len(objects)} groups ({entries} addresses), referenced by {uses} rules; "
            "each reference is one rule, and Neutron has no quota on address groups"]


def _aws(rules: tuple[Rule, ...], cluster: ClusterSettings, groups: int) -> list[str]:
    quota, local, limit = cluster.quota, tuple(cluster.roles), cluster.quota.aws_rules_per_group
    over = [(where, n) for where, n in sorted(aws_group_counts(rules, groups, limit, local).items()) if n > limit]
    if not over:
        return []
    placement = aws_placement(rules, groups, limit, local)  # what the remedy needs: only when a group is over
    listed = Counter()  # (role, group, direction, family) -> what prefix-list references count there
    for name, (rule, weight, _) in aws_units(rules, groups).items():
        if rule.peer_kind == "set":
            for slot, n in weight.items():
                listed[(rule.role, placement[name], *slot)] += n
    most = groups_most(quota)
    spread = _groups_part(groups_needed(rules, limit, most, local), groups, quota)
    return [f"AWS quota: security group {group_label(role, index, groups_of(role, groups, local))} has {n} "
            f"{direction} {family} rules; the limit is {limit} (kubeports:cluster.quota.awsRulesPerGroup)"
            + _remedy(n, listed[(role, index, direction, family)], spread)
            for (role, index, direction, family), n in over]


def groups_most(quota: QuotaSettings) -> int:
    """The most groups per role an interface takes: EC2 caps groups per interface, and rules
    per group x groups per interface at 1,000."""
    return min(quota.aws_groups_per_interface, max(1, AWS_RULES_PER_INTERFACE // quota.aws_rules_per_group))


def group_label(role: str, index: int, groups: int) -> str:
    """A role's group as messages name it: `worker`, or `worker (group 2 of 3)`."""
    return role if groups == 1 else f"{role} (group {index + 1} of {groups})"


def _groups_part(needed: int | None, groups: int, quota: QuotaSettings) -> str:
    """More groups per role, where they would hold every role's rules within this quota."""
    if needed is None or needed <= groups:
        return ""
    return (f"set kubeports:aws.groupsPerRole to {needed}: {needed} groups per role hold every role's rules "
            f"within this quota (each node carries its role's groups; an interface carries "
            f"{quota.aws_groups_per_interface}, kubeports:cluster.quota.awsGroupsPerInterface)")


def _remedy(count: int, from_lists: int, spread: str) -> str:
    """Why a group is over and what would fit it. With prefix lists: EC2 counts each reference
    as its list's max entries, so lists save rule resources and API calls, not quota."""
    if not from_lists:
        return f"; {spread}" if spread else ""
    ceiling = f"{AWS_RULES_PER_INTERFACE:,}"
    remedy = (f"more than a quota increase can give ({ceiling} rules per group at most, with one group per "
              "interface): list fewer CIDRs in the sets"
              if count > AWS_RULES_PER_INTERFACE else
              "raise 'Inbound or outbound rules per security group' in Service Quotas (rules per group x groups "
              f"per interface at most {ceiling}) and set the new limit in kubeports:cluster.quota.awsRulesPerGroup, "
              "or list fewer CIDRs in the sets")
    return (f"; {from_lists} of them are the entries of the prefix lists it references (EC2 counts a reference "
            f"as its list's max entries); " + (f"{spread}; or {remedy}" if spread else remedy))


def neutron_counts(rules: tuple[Rule, ...], cluster: ClusterSettings) -> tuple[int, int]:
    """(rules, groups) this stack creates in Neutron. Octavia's load balancer has no group
    of ours: its own rules become the listener's allowed CIDRs, so neither they nor its
    group count."""
    return (len([r for r in rules if r.role != LOAD_BALANCER]),
            len([r for r in cluster.roles if r != LOAD_BALANCER]))


def _neutron(rules: tuple[Rule, ...], cluster: ClusterSettings) -> list[str]:
    problems = []
    quota = cluster.quota
    ours, groups = neutron_counts(rules, cluster)
    if ours + quota.neutron_used_rules > quota.neutron_rules:
        problems.append(f"Neutron quota: {ours} security group rules and {quota.neutron_used_rules} the project "
                        f"already holds (kubeports:cluster.quota.neutronUsedRules) make "
                        f"{ours + quota.neutron_used_rules}; the project allows {quota.neutron_rules} "
                        "(kubeports:cluster.quota.neutronRules)")
    if groups + quota.neutron_used_groups > quota.neutron_groups:
        problems.append(f"Neutron quota: {groups} security groups and {quota.neutron_used_groups} the project already "
                        f"holds (kubeports:cluster.quota.neutronUsedGroups) make {groups + quota.neutron_used_groups}; "
                        f"the project allows {quota.neutron_groups} (kubeports:cluster.quota.neutronGroups)")
    return problems


def nova_server_groups(cluster: ClusterSettings) -> dict[str, int]:
    """role (`role/pool` for a pool) -> members of its server group: one per role with VMs,
    or per pool of a role with pools (see components/clouds/openstack.py)."""
    return {role if pool is None else f"{role}/{pool}": s.count
            for role, settings in sorted(cluster.roles.items()) if role != LOAD_BALANCER
            for pool, s in settings.node_pools()}


def _nova(cluster: ClusterSettings) -> list[str]:
    quota = cluster.quota
    groups = nova_server_groups(cluster)
    problems = [f"Nova quota: {'pool' if '/' in role else 'role'} {role} has {n} servers in its server group; the project allows "
                f"{quota.nova_server_group_members} per group (kubeports:cluster.quota.novaServerGroupMembers): "
                f"{NOVA_REMEDY}" for role, n in groups.items() if n > quota.nova_server_group_members]
    if len(groups) > quota.nova_server_groups:
        problems.append(f"Nova quota: {len(groups)} server groups; the project allows {quota.nova_server_groups} "
                        f"(kubeports:cluster.quota.novaServerGroups): {NOVA_REMEDY}")
    return problems


def rollout_surge(role: RoleSettings) -> int:
    """The most servers a step of the role's rollout, from this one on, creates before it
    deletes their olds (kubeports/core/lifecycle.py: step s replaces nodes (s-1)*m .. s*m-1)."""
    if role.rollout is None:
        return 0
    done = max(0, role.rollout.step - 1) * role.max_unavailable
    return max(0, min(role.max_unavailable, role.count - done))


def _nova_rollout(cluster: ClusterSettings) -> list[str]:
    """Create-first needs room in the server group (one per role, or per pool); a group
    already over the limit without a rollout is reported by _nova alone."""
    limit = cluster.quota.nova_server_group_members
    problems = []
    for role, role_settings in sorted(cluster.roles.items()):
        if role == LOAD_BALANCER:
            continue
        for pool, settings in role_settings.node_pools():
            surge = rollout_surge(settings)
            if not surge or settings.count > limit or settings.count + surge <= limit:
                continue
            where = f"role {role}" if pool is None else f"pool {role}/{pool}"
            fewer = limit - settings.count
            lower = f", or set maxUnavailable to {fewer}" if fewer >= 1 else ""
            problems.append(
                f"Nova quota: {where} has {settings.count} servers and its rollout creates {surge} new before it "
                f"deletes the old (create-first, maxUnavailable {settings.max_unavailable}): "
                f"{settings.count + surge} members of its server group during a step; the project allows {limit} "
                f"per group (kubeports:cluster.quota.novaServerGroupMembers): {NOVA_REMEDY}{lower}")
    return problems


def quota_headroom(cloud: str, rules: tuple[Rule, ...], cluster: ClusterSettings, groups: int = 1) -> list[str]:
    """What is left of each quota after this stack, one line each (for `rules` and `plan`);
    `groups` as in quota_problems."""
    quota = cluster.quota
    if cloud == "aws":
        local = tuple(cluster.roles)
        counts = aws_group_counts(rules, groups, quota.aws_rules_per_group, local)
        if not counts:
            return []
        (role, index, direction, family), n = max(sorted(counts.items()), key=lambda item: item[1])
        label = group_label(role, index, groups_of(role, groups, local))
        return [f"AWS quota: fullest is security group {label}, {direction} {family}: {n} of "
                f"{quota.aws_rules_per_group} rules, {quota.aws_rules_per_group - n} left",
                *cidr_set_headroom(cloud, rules, groups, quota)]
    ours, groups = neutron_counts(rules, cluster)
    used_rules, used_groups = ours + quota.neutron_used_rules, groups + quota.neutron_used_groups
    members = nova_server_groups(cluster)
    fullest = max(members.items(), key=lambda item: item[1], default=("-", 0))  # ties: the first role by name
    return [
        f"Neutron quota: {used_rules} of {quota.neutron_rules} security group rules ({ours} of this stack, "
        f"{quota.neutron_used_rules} already in the project), {quota.neutron_rules - used_rules} left; "
        f"a new group needs {NEUTRON_GROUP_DEFAULT_RULES} free for a moment",
        f"Neutron quota: {used_groups} of {quota.neutron_groups} security groups ({groups} of this stack, "
        f"{quota.neutron_used_groups} already in the project), {quota.neutron_groups - used_groups} left",
        f"Nova quota: {len(members)} of {quota.nova_server_groups} server groups, "
        f"{quota.nova_server_groups - len(members)} left; fullest is {fullest[0]} with {fullest[1]} of "
        f"{quota.nova_server_group_members} members",
        *cidr_set_headroom(cloud, rules),
    ]


# ---- what a stack holds in its project, and a stack that joins it (kubeports:peerStack) --------
# A worker pool's groups and rules, and its rules on the main stack's groups, land in the
# main stack's project: the same Neutron and Nova quotas. The main stack exports what its
# preflight counted (`quota_usage`); the pool's preflight adds it (check_peer_quota in
# project.py). With a peer, `neutronUsedRules`/`neutronUsedGroups` mean what the project
# holds *besides* both stacks (0 unless set: the peer's count already has the default group).
PEER_USAGE_KEYS = ("neutronRules", "neutronGroups", "novaServerGroups")


def project_usage(cloud: str, rules: tuple[Rule, ...], cluster: ClusterSettings,
                  peer: dict[str, int] | None = None, siblings: tuple[str, ...] = ()) -> dict[str, int]:
    """The stack output `quota_usage`: what the project holds once this stack is up, as the
    preflight counts it (this stack's objects, what it was told the project holds, its peer's).
    `siblings`: the roles whose rules the program also makes towards the peer's group of that
    role (ClusterArgs.sibling_group_ids), each such rule two more in Neutron."""
    if cloud != "openstack":
        return {}
    ours, groups = neutron_counts((*rules, *sibling_rules(rules, siblings)), cluster)
    used_rules, used_groups = _used(cluster, peer)
    peer = peer or {}
    return {"neutronRules": ours + used_rules + peer.get("neutronRules", 0),
            "neutronGroups": groups + used_groups + peer.get("neutronGroups", 0),
            "novaServerGroups": len(nova_server_groups(cluster)) + peer.get("novaServerGroups", 0)}


def _used(cluster: ClusterSettings, peer: dict[str, int] | None) -> tuple[int, int]:
    """What the project holds outside this stack (and outside its peer, when there is one)."""
    quota = cluster.quota
    if peer is None:
        return quota.neutron_used_rules, quota.neutron_used_groups
    fields = quota.model_fields_set
    return (quota.neutron_used_rules if "neutron_used_rules" in fields else 0,
            quota.neutron_used_groups if "neutron_used_groups" in fields else 0)


def peer_usage_of(peer_stack: str, usage: object) -> tuple[dict[str, int] | None, str | None]:
    """`quota_usage` as read from the peer stack (numbers come through Pulumi as floats):
    (the counts, None), or (None, what is wrong with it)."""
    def count(value: object) -> int | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and float(value).is_integer()
        return int(value) if ok else None
    counts = {k: count(usage.get(k)) for k in PEER_USAGE_KEYS} if isinstance(usage, dict) else {}
    if counts and all(v is not None for v in counts.values()):
        return counts, None
    return None, (f"stack {peer_stack}: its quota_usage output must map {', '.join(PEER_USAGE_KEYS)} to counts "
                  f"(got {usage!r})")


def peer_quota_problems(rules: tuple[Rule, ...], cluster: ClusterSettings, peer_stack: str,
                        peer: dict[str, int], siblings: tuple[str, ...] = ()) -> list[str]:
    """The OpenStack preflight of a stack whose project already holds `peer` (its peer
    stack's `quota_usage`): Neutron rules and groups, Nova server groups of the project.
    `siblings` as in project_usage."""
    quota = cluster.quota
    ours, groups = neutron_counts((*rules, *sibling_rules(rules, siblings)), cluster)
    used_rules, used_groups = _used(cluster, peer)
    counted = [
        (ours, "security group rules", peer["neutronRules"], used_rules, "neutronUsedRules", quota.neutron_rules,
         "neutronRules"),
        (groups, "security groups", peer["neutronGroups"], used_groups, "neutronUsedGroups", quota.neutron_groups,
         "neutronGroups"),
        (len(nova_server_groups(cluster)), "server groups", peer["novaServerGroups"], 0, "", quota.nova_server_groups,
         "novaServerGroups"),
    ]
    problems = []
    for n, what, theirs, extra, extra_key, limit, limit_key in counted:
        total = n + theirs + extra
        if total <= limit:
            continue
        service = "Nova" if what == "server groups" else "Neutron"
        more = f" and {extra} more (kubeports:cluster.quota.{extra_key})" if extra else ""
        problems.append(f"{service} quota: this stack's {n} {what}, the {theirs} that stack {peer_stack} holds in "
                        f"the project (its quota_usage output){more} make {total}; the project allows {limit} "
                        f"(kubeports:cluster.quota.{limit_key})")
    return problems
