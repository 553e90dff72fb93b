"""Quota preflight (issue 2 §6): AWS counts rules per group, direction and family (60 by
default; a group reference counts once in each family); Neutron counts rules per project
(100 by default) and groups per project (10). Both are configurable in the stack
(`kubeports:cluster.quota`), and a cluster that will not fit fails with a clear message."""
from __future__ import annotations

import ipaddress

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project
from kubeports.core.quota import aws_counts, quota_headroom, quota_problems
from kubeports.core.rules import Rule
from kubeports.core.settings import ClusterSettings, QuotaSettings

CLUSTER = ClusterSettings.model_validate({
    "name": "q", "distribution": "kubeadm", "kubernetesVersion": "1.31", "cni": {"name": "calico", "mode": "ipip"},
    "roles": {"control-plane": {"count": 1}, "worker": {"count": 1}}})


def cidr_rules(n: int, family: str = "IPv4", direction: str = "ingress", role: str = "worker") -> list[Rule]:
    """n distinct rules from CIDR peers (one per /32 or /128)."""
    base = ipaddress.ip_address("10.0.0.0" if family == "IPv4" else "2001:db8::")
    suffix = 32 if family == "IPv4" else 128
    return [Rule(role, direction, "tcp", 443, 443, "cidr", f"{base + i}/{suffix}", family, "x", ()) for i in range(n)]


def role_rules(n: int, families=("IPv4", "IPv6"), role: str = "worker") -> list[Rule]:
    """n flows from a group reference, each in the given families (ports 1000..)."""
    return [Rule(role, "ingress", "tcp", 1000 + i, 1000 + i, "role", "control-plane", fam, "x", ())
            for i in range(n) for fam in families]


def spread(groups: int) -> str:
    """What a message over the AWS quota adds when more groups per role would hold the rules."""
    return (f"; set kubeports:aws.groupsPerRole to {groups}: {groups} groups per role hold every role's rules within "
            "this quota (each node carries its role's groups; an interface carries 5, "
            "kubeports:cluster.quota.awsGroupsPerInterface)")


def limited(**quota) -> ClusterSettings:
    return CLUSTER.model_copy(update={"quota": QuotaSettings.model_validate(quota)})


# --------------------------------------------------------------------------- AWS


def test_aws_default_is_60_per_group_direction_and_family():
    assert quota_problems("aws", tuple(cidr_rules(60)), CLUSTER) == []
    assert quota_problems("aws", tuple(cidr_rules(61)), CLUSTER) == [
        "AWS quota: security group worker has 61 ingress IPv4 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup)" + spread(2)]


def test_aws_counts_directions_families_and_groups_apart():
    rules = cidr_rules(60) + cidr_rules(60, "IPv6") + cidr_rules(60, direction="egress") + cidr_rules(60, role="etcd")
    assert quota_problems("aws", tuple(rules), CLUSTER) == []
    assert set(aws_counts(tuple(rules)).values()) == {60}


def test_aws_group_reference_counts_once_in_each_family():
    # 30 flows from the control-plane group in both families = 30 AWS rules, each counted in IPv4 and IPv6
    counts = aws_counts(tuple(role_rules(30)))
    assert counts == {("worker", "ingress", "IPv4"): 30, ("worker", "ingress", "IPv6"): 30}
    # an IPv4-only group reference still counts against IPv6
    counts = aws_counts(tuple(role_rules(30, families=("IPv4",))))
    assert counts == {("worker", "ingress", "IPv4"): 30, ("worker", "ingress", "IPv6"): 30}
    rules = tuple(role_rules(40) + cidr_rules(21, "IPv6"))
    assert quota_problems("aws", rules, CLUSTER) == [
        "AWS quota: security group worker has 61 ingress IPv6 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup)" + spread(2)]


def test_aws_limit_is_configurable():
    rules = tuple(cidr_rules(11) + cidr_rules(3, role="etcd"))
    assert quota_problems("aws", rules, limited(awsRulesPerGroup=11)) == []
    assert quota_problems("aws", rules, limited(awsRulesPerGroup=10)) == [
        "AWS quota: security group worker has 11 ingress IPv4 rules; the limit is 10 "
        "(kubeports:cluster.quota.awsRulesPerGroup)" + spread(2)]
    assert quota_problems("aws", tuple(cidr_rules(200)), limited(awsRulesPerGroup=200)) == []


# --------------------------------------------------------------------------- Neutron


NEUTRON_RULES = "Neutron quota: {n} security group rules and {used} the project already holds " \
    "(kubeports:cluster.quota.neutronUsedRules) make {total}; the project allows {limit} " \
    "(kubeports:cluster.quota.neutronRules)"


def neutron_rules(n: int, used: int = 4, limit: int = 100) -> str:
    return NEUTRON_RULES.format(n=n, used=used, total=n + used, limit=limit)


def test_neutron_default_is_100_rules_per_project_of_which_the_default_group_holds_4():
    """A real Neutron refuses the 97th rule of a fresh project: its default group holds 4 (FINDINGS.md)."""
    spread = cidr_rules(48) + cidr_rules(48, role="control-plane")  # per project, not per group
    assert quota_problems("openstack", tuple(spread), CLUSTER) == []
    assert quota_problems("openstack", tuple(spread + cidr_rules(1, "IPv6")), CLUSTER) == [neutron_rules(97)]


def test_neutron_counts_each_family_of_a_group_reference():
    assert quota_problems("openstack", tuple(role_rules(48)), CLUSTER) == []  # 96 Neutron rules
    assert quota_problems("openstack", tuple(role_rules(49)), CLUSTER) == [neutron_rules(98)]


def test_neutron_limits_are_configurable():
    assert quota_problems("openstack", tuple(cidr_rules(146)), limited(neutronRules=150)) == []
    assert quota_problems("openstack", tuple(cidr_rules(146)), limited(neutronRules=149)) == [
        neutron_rules(146, limit=149)]
    assert quota_problems("openstack", (), limited(neutronGroups=2)) == [
        "Neutron quota: 2 security groups and 1 the project already holds (kubeports:cluster.quota.neutronUsedGroups) "
        "make 3; the project allows 2 (kubeports:cluster.quota.neutronGroups)"]


@pytest.mark.parametrize(("used_rules", "used_groups", "fits_rules", "fits_groups"),
                         [(0, 0, 100, 10), (4, 1, 96, 9), (30, 3, 70, 7)])
def test_what_the_project_already_holds_is_configurable(used_rules, used_groups, fits_rules, fits_groups):
    """Projects that hold other groups than `default` say so; a project with none says 0."""
    quota = {"neutronUsedRules": used_rules, "neutronUsedGroups": used_groups}
    roles = {r: {"count": 1} for r in ("control-plane", "worker", "etcd", "registry", "rancher-server", "bastion")}
    assert quota_problems("openstack", tuple(cidr_rules(fits_rules)), limited(**quota)) == []
    assert quota_problems("openstack", tuple(cidr_rules(fits_rules + 1)), limited(**quota)) == [
        neutron_rules(fits_rules + 1, used=used_rules)]
    many = CLUSTER.model_copy(update={"roles": ClusterSettings.model_validate(
        {**CLUSTER.model_dump(by_alias=True), "roles": roles}).roles, "quota": QuotaSettings.model_validate(
            {**quota, "neutronGroups": used_groups + len(roles) - 1})})
    assert [p for p in quota_problems("openstack", (), many) if "security groups" in p] == [
        f"Neutron quota: {len(roles)} security groups and {used_groups} the project already holds "
        f"(kubeports:cluster.quota.neutronUsedGroups) make {used_groups + len(roles)}; the project allows "
        f"{used_groups + len(roles) - 1} (kubeports:cluster.quota.neutronGroups)"]
    assert fits_groups == 10 - used_groups


# --------------------------------------------------------------------------- Nova

REMEDY = ("raise the project's Nova quota (`openstack quota set --server-groups N --server-group-members N`) "
          "and set it in kubeports:cluster.quota")


def with_roles(**counts) -> ClusterSettings:
    data = CLUSTER.model_dump(by_alias=True)
    return ClusterSettings.model_validate({**data, "roles": {r.replace("_", "-"): {"count": n}
                                                             for r, n in counts.items()}})


def test_nova_default_is_10_members_per_server_group():
    """One server group per role: its 11th server fails on Nova's default quota."""
    assert quota_problems("openstack", (), with_roles(control_plane=3, worker=10)) == []
    assert quota_problems("openstack", (), with_roles(control_plane=3, worker=11)) == [
        "Nova quota: role worker has 11 servers in its server group; the project allows 10 per group "
        f"(kubeports:cluster.quota.novaServerGroupMembers): {REMEDY}"]
    assert quota_problems("aws", (), with_roles(control_plane=3, worker=11)) == []  # no server groups on AWS


def test_nova_limits_are_configurable():
    big = with_roles(control_plane=3, worker=40)
    raised = big.model_copy(update={"quota": QuotaSettings.model_validate({"novaServerGroupMembers": 40})})
    assert quota_problems("openstack", (), raised) == []
    fewer = big.model_copy(update={"quota": QuotaSettings.model_validate(
        {"novaServerGroupMembers": 40, "novaServerGroups": 1})})
    assert quota_problems("openstack", (), fewer) == [
        f"Nova quota: 2 server groups; the project allows 1 (kubeports:cluster.quota.novaServerGroups): {REMEDY}"]


# --------------------------------------------------------------------------- headroom


def test_headroom_says_what_is_left_of_each_quota():
    rules = tuple(cidr_rules(30) + cidr_rules(6, role="control-plane"))
    assert quota_headroom("openstack", rules, with_roles(control_plane=3, worker=7)) == [
        "Neutron quota: 40 of 100 security group rules (36 of this stack, 4 already in the project), 60 left; "
        "a new group needs 2 free for a moment",
        "Neutron quota: 3 of 10 security groups (2 of this stack, 1 already in the project), 7 left",
        "Nova quota: 2 of 10 server groups, 8 left; fullest is worker with 7 of 10 members"]
    assert quota_headroom("aws", rules, CLUSTER) == [
        "AWS quota: fullest is security group worker, ingress IPv4: 30 of 60 rules, 30 left"]


def test_rules_command_prints_the_headroom(tmp_path, run_cli):
    path = stack(tmp_path, "openstack", 3)
    project = load_project(path)
    n = len(project.resolution.rules)
    code, out, err = run_cli("rules", "--stack-file", path)
    assert code == 0
    assert [line for line in err.splitlines() if line.startswith("quota: ")] == [
        f"quota: Neutron quota: {n + 4} of 100 security group rules ({n} of this stack, 4 already in the project), "
        f"{96 - n} left; a new group needs 2 free for a moment",
        "quota: Neutron quota: 3 of 10 security groups (2 of this stack, 1 already in the project), 7 left",
        "quota: Nova quota: 2 of 10 server groups, 8 left; fullest is control-plane with 3 of 10 members"]


def test_bad_quota_settings_are_rejected():
    with pytest.raises(ValueError):
        QuotaSettings.model_validate({"neutronRules": 0})
    with pytest.raises(ValueError):
        QuotaSettings.model_validate({"awsRulesPerGroup": -5})


# --------------------------------------------------------------------------- end to end


def test_shipped_stacks_fit_their_quotas(projects):
    for project in projects.values():
        assert quota_problems(project.stack.cloud, project.resolution.rules, project.stack.cluster) == []


STACK = """\
config:
  kubeports:cloud: CLOUD
  kubeports:openstack: {image: ubuntu, flavor: m1.large, networkId: net-1}
  kubeports:aws: {ami: ami-0123456789abcdef0, instanceType: m6i.large, vpcId: vpc-1, subnetIds: [subnet-1]}
  kubeports:cluster:
    name: big
    distribution: kubeadm
    kubernetesVersion: "1.31"
    cni: {name: calico, mode: ipip}
    ipFamilies: [IPv4]
    cidrs:
      api-clients: CLIENTS
    roles:
      control-plane: {count: 3}
      worker: {count: 3}
QUOTA"""


def stack(tmp_path, cloud: str, clients: int, quota: str = "") -> str:
    nets = [f"10.{i // 256}.{i % 256}.0/24" for i in range(clients)]
    path = tmp_path / f"Pulumi.{cloud}.yaml"
    path.write_text(STACK.replace("CLOUD", cloud).replace("CLIENTS", "[" + ", ".join(nets) + "]")
                    .replace("QUOTA", quota))
    return str(path)


def test_too_many_api_clients_for_aws_fails_with_a_clear_message(tmp_path, run_cli):
    fits = load_project(stack(tmp_path, "aws", 50)).resolution.rules
    cp = aws_counts(fits)[("control-plane", "ingress", "IPv4")]
    assert cp <= 60
    path = stack(tmp_path, "aws", 50 + 61 - cp)  # one rule too many on the control plane
    line = open(path, encoding="utf-8").read().splitlines().index("  kubeports:cluster:") + 1
    want = (f"{path}:{line}: config.kubeports:cluster.quota: AWS quota: security group control-plane has 61 ingress "
            "IPv4 rules; the limit is 60 (kubeports:cluster.quota.awsRulesPerGroup)" + spread(2))
    with pytest.raises(KubeportsError) as caught:
        load_project(path)
    assert str(caught.value) == want
    code, out, err = run_cli("rules", "--stack-file", path)
    assert (code, out, err.splitlines()[-1]) == (1, "", want)


def test_raising_the_quota_in_the_stack_lets_it_fit(tmp_path):
    path = stack(tmp_path, "aws", 80, "    quota: {awsRulesPerGroup: 120}\n")
    assert len(load_project(path).resolution.rules) > 80


def test_neutron_project_quota_points_at_the_quota_setting(tmp_path):
    rules = len(load_project(stack(tmp_path, "openstack", 3)).resolution.rules)
    path = stack(tmp_path, "openstack", 3, f"    quota:\n      neutronRules: {rules - 1}\n")
    line = open(path, encoding="utf-8").read().splitlines().index("    quota:") + 1
    with pytest.raises(KubeportsError) as caught:
        load_project(path)
    assert str(caught.value) == (f"{path}:{line}: config.kubeports:cluster.quota: "
                                 + neutron_rules(rules, limit=rules - 1))


def test_octavia_load_balancer_rules_and_group_do_not_count_against_neutron():
    """Octavia has no group of ours: the load balancer's own rules become listener allowed CIDRs."""
    with_lb = CLUSTER.model_copy(update={"roles": {**CLUSTER.roles, "load-balancer": CLUSTER.roles["worker"]
                                                   .model_copy(update={"count": 0})}})
    lb_rules = cidr_rules(30, role="load-balancer")
    assert quota_problems("openstack", tuple(cidr_rules(96) + lb_rules), with_lb) == []
    assert quota_problems("openstack", tuple(cidr_rules(97) + lb_rules), with_lb) == [neutron_rules(97)]
    assert quota_problems("openstack", (), with_lb.model_copy(update={"quota": QuotaSettings.model_validate(
        {"neutronGroups": 3})})) == []


# --------------------------------------------------------------- AWS, several groups per role


def set_rule(name: str, entries: int, port: int, role: str = "worker") -> Rule:
    members = tuple(f"100.64.{i}.0/24" for i in range(entries))
    return Rule(role, "ingress", "tcp", port, port, "set", name, "IPv4", "x", (), members)


def test_aws_groups_per_role_spread_the_rules_and_name_the_fullest_group():
    rules = tuple(cidr_rules(61))
    assert quota_problems("aws", rules, CLUSTER, groups=2) == []
    assert quota_problems("aws", tuple(cidr_rules(121)), CLUSTER, groups=2) == [
        "AWS quota: security group worker (group 1 of 2) has 61 ingress IPv4 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup)" + spread(3)]
    assert quota_headroom("aws", rules, CLUSTER, groups=2)[0] == (
        "AWS quota: fullest is security group worker (group 1 of 2), ingress IPv4: 54 of 60 rules, 6 left")


def test_prefix_lists_of_dozens_fit_the_default_quota_over_several_groups():
    rules = tuple([set_rule(f"s{i}", 50, 1000 + i) for i in range(4)] + cidr_rules(11))
    over = quota_problems("aws", rules, CLUSTER)
    assert over == [
        "AWS quota: security group worker has 211 ingress IPv4 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup); 200 of them are the entries of the prefix lists it references "
        "(EC2 counts a reference as its list's max entries); " + spread(4)[2:] + "; or raise 'Inbound or outbound "
        "rules per security group' in Service Quotas (rules per group x groups per interface at most 1,000) and set "
        "the new limit in kubeports:cluster.quota.awsRulesPerGroup, or list fewer CIDRs in the sets"]
    assert quota_problems("aws", rules, CLUSTER, groups=4) == []


def test_a_set_larger_than_a_group_is_advised_the_groups_its_parts_fit():
    """With several groups a set is split over them (shards.set_parts): 61
    entries fit 2 groups; 400 never fit 5 (one part holds at least 80, past 60)."""
    over = quota_problems("aws", (set_rule("big", 61, 22),), CLUSTER)
    assert len(over) == 1 and spread(2)[2:] in over[0] and "61 ingress IPv4 rules" in over[0]
    assert quota_problems("aws", (set_rule("big", 61, 22),), CLUSTER, groups=2) == []
    too_long = quota_problems("aws", (set_rule("big", 400, 22),), CLUSTER, groups=5)
    assert too_long and all("groupsPerRole to" not in m for m in too_long)


def test_a_prefix_list_over_100_entries_is_refused_at_any_quota_and_the_split_that_fits_is_named():
    """EC2 takes 100 entries per CreateManagedPrefixList request and the provider sends a
    list's entries in one (terraform-provider-aws#35371): a raised quota does not help."""
    raised = limited(awsRulesPerGroup=500)  # 2 groups x 500 within EC2's 1,000 per interface
    assert quota_problems("aws", (set_rule("big", 100, 22),), raised) == []
    assert quota_problems("aws", (set_rule("big", 101, 22),), raised) == [
        "AWS API: the prefix list of CIDR set big (IPv4) holds 101 entries; EC2 takes at most 100 per request and the "
        "provider creates a list in one request (terraform-provider-aws#35371): set kubeports:aws.groupsPerRole to 2 "
        "(each set split into 2 lists of at most 100), or list fewer CIDRs in the set"]
    assert quota_problems("aws", (set_rule("big", 101, 22),), raised, groups=2) == []
    alone = limited(awsRulesPerGroup=1000)  # one group per interface: no split can be advised
    assert quota_problems("aws", (set_rule("big", 101, 22),), alone)[0].endswith(
        "(terraform-provider-aws#35371): list fewer CIDRs in the set, or set kubeports:aws.prefixLists false")


def test_headroom_counts_a_split_sets_parts_as_lists_and_rules():
    rules = (set_rule("big", 200, 22), set_rule("big", 200, 80), set_rule("small", 5, 443))
    assert quota_headroom("aws", rules, CLUSTER, groups=5)[-1] == (
        "AWS prefix lists: 8 lists (205 entries, max entries = entries, 2 of the sets split over the groups), "
        "referenced by 13 rules; each reference counts its list's max entries in the group's quota; the Region: 8 of "
        "100 lists (8 of this stack, 0 besides), 92 left")  # big: 5 parts, 2 flows; small: 3 of the 5 parts hold it
    assert quota_headroom("aws", rules, CLUSTER)[-1].startswith("AWS prefix lists: 2 lists (205 entries, max entries "
                                                                "= entries), referenced by 3 rules")
    assert quota_headroom("aws", rules, limited(awsUsedPrefixLists=90))[-1].endswith(
        "the Region: 92 of 100 lists (2 of this stack, 90 besides), 8 left")


def test_prefix_lists_per_region_count_this_stacks_lists_and_the_others():
    """EC2's 'Prefix lists per Region' (100): each part of a split set is a list of its own."""
    rules = tuple(set_rule(f"s{i}", 5, 1000 + i) for i in range(4))  # 4 sets: 4 lists, or 20 over 5 groups
    assert quota_problems("aws", rules, limited(awsUsedPrefixLists=96)) == []
    assert quota_problems("aws", rules, limited(awsUsedPrefixLists=97)) == [
        "AWS quota: this stack creates 4 prefix lists and the Region holds 97 more "
        "(kubeports:cluster.quota.awsUsedPrefixLists): 101; the Region allows 100 "
        "(kubeports:cluster.quota.awsPrefixListsPerRegion): raise 'Prefix lists per Region' in Service Quotas and set "
        "the new limit there, or set kubeports:aws.prefixLists false"]
    rules = tuple(set_rule(f"s{i}", 50, 1000 + i) for i in range(4))  # 50 entries: every part of 5 holds some
    split = quota_problems("aws", rules, limited(awsUsedPrefixLists=81), groups=5)
    assert [p.split(":")[1] for p in split] == [" this stack creates 20 prefix lists and the Region holds 81 more (kubeports"]
    assert "with kubeports:aws.groupsPerRole 5 every set is 5 lists per family" in split[0]
    assert quota_problems("aws", rules, limited(awsUsedPrefixLists=81, awsPrefixListsPerRegion=101), groups=5) == []
    assert quota_problems("aws", (), limited(awsUsedPrefixLists=500)) == []  # no lists of ours: not this stack's to refuse


def test_groups_beyond_the_interface_quota_are_not_advised():
    rules = tuple(set_rule(f"s{i}", 50, 1000 + i) for i in range(6))  # six references of 50: six groups
    assert quota_problems("aws", rules, CLUSTER, groups=6) == []
    assert "groupsPerRole" not in quota_problems("aws", rules, CLUSTER)[0]
    assert spread(6).replace("an interface carries 5", "an interface carries 6")[2:] in quota_problems(
        "aws", rules, limited(awsGroupsPerInterface=6))[0]


def test_groups_are_not_advised_past_ec2s_thousand_rules_per_interface():
    assert spread(2)[2:] in quota_problems("aws", tuple(cidr_rules(401)), limited(awsRulesPerGroup=400))[0]
    over = quota_problems("aws", tuple(cidr_rules(601)), limited(awsRulesPerGroup=600))  # 2 x 600 > 1,000
    assert len(over) == 1 and "groupsPerRole" not in over[0]


def test_a_role_another_stack_manages_has_its_one_group_here():
    """This stack's rules on a role it does not make groups for land in that role's first
    group (the id the peer gives), so they are counted there, however many groups its own roles have."""
    rules = tuple(cidr_rules(61, role="etcd"))  # etcd is not one of CLUSTER's roles
    assert quota_problems("aws", rules, CLUSTER, groups=2) == [
        "AWS quota: security group etcd has 61 ingress IPv4 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup)"]
    assert quota_problems("aws", tuple(cidr_rules(61)), CLUSTER, groups=2) == []  # worker is local
