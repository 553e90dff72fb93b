"""Quota preflight (issue 2 §6): AWS counts rules per group, direction and family (60 by
default; a group reference counts once in each family); Neutron counts rules per project
(100 by default) and groups per project (10). Both are configurable in the stack
(`kubeports:cluster.quota`), and a cluster that will not fit fails with a clear message."""
from __future__ import annotations

import ipaddress

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project
from kubeports.core.quota import aws_counts, quota_problems
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


def limited(**quota) -> ClusterSettings:
    return CLUSTER.model_copy(update={"quota": QuotaSettings.model_validate(quota)})


# --------------------------------------------------------------------------- AWS


def test_aws_default_is_60_per_group_direction_and_family():
    assert quota_problems("aws", tuple(cidr_rules(60)), CLUSTER) == []
    assert quota_problems("aws", tuple(cidr_rules(61)), CLUSTER) == [
        "AWS quota: security group worker has 61 ingress IPv4 rules; the limit is 60 "
        "(kubeports:cluster.quota.awsRulesPerGroup)"]


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
        "(kubeports:cluster.quota.awsRulesPerGroup)"]


def test_aws_limit_is_configurable():
    rules = tuple(cidr_rules(11) + cidr_rules(3, role="etcd"))
    assert quota_problems("aws", rules, limited(awsRulesPerGroup=11)) == []
    assert quota_problems("aws", rules, limited(awsRulesPerGroup=10)) == [
        "AWS quota: security group worker has 11 ingress IPv4 rules; the limit is 10 "
        "(kubeports:cluster.quota.awsRulesPerGroup)"]
    assert quota_problems("aws", tuple(cidr_rules(200)), limited(awsRulesPerGroup=200)) == []


# --------------------------------------------------------------------------- Neutron


def test_neutron_default_is_100_rules_per_project():
    spread = cidr_rules(50) + cidr_rules(50, role="control-plane")  # per project, not per group
    assert quota_problems("openstack", tuple(spread), CLUSTER) == []
    assert quota_problems("openstack", tuple(spread + cidr_rules(1, "IPv6")), CLUSTER) == [
        "Neutron quota: 101 security group rules; the project allows 100 (kubeports:cluster.quota.neutronRules)"]


def test_neutron_counts_each_family_of_a_group_reference():
    assert quota_problems("openstack", tuple(role_rules(50)), CLUSTER) == []  # 100 Neutron rules
    assert quota_problems("openstack", tuple(role_rules(51)), CLUSTER) != []


def test_neutron_limits_are_configurable():
    assert quota_problems("openstack", tuple(cidr_rules(150)), limited(neutronRules=150)) == []
    assert quota_problems("openstack", tuple(cidr_rules(150)), limited(neutronRules=149)) == [
        "Neutron quota: 150 security group rules; the project allows 149 (kubeports:cluster.quota.neutronRules)"]
    assert quota_problems("openstack", (), limited(neutronGroups=1)) == [
        "Neutron quota: 2 security groups; the project allows 1 (kubeports:cluster.quota.neutronGroups)"]


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
            "IPv4 rules; the limit is 60 (kubeports:cluster.quota.awsRulesPerGroup)")
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
    assert str(caught.value) == (f"{path}:{line}: config.kubeports:cluster.quota: Neutron quota: {rules} security "
                                 f"group rules; the project allows {rules - 1} (kubeports:cluster.quota.neutronRules)")


def test_octavia_load_balancer_rules_and_group_do_not_count_against_neutron():
    """Octavia has no group of ours: the load balancer's own rules become listener allowed CIDRs."""
    with_lb = CLUSTER.model_copy(update={"roles": {**CLUSTER.roles, "load-balancer": CLUSTER.roles["worker"]
                                                   .model_copy(update={"count": 0})}})
    lb_rules = cidr_rules(30, role="load-balancer")
    assert quota_problems("openstack", tuple(cidr_rules(100) + lb_rules), with_lb) == []
    assert quota_problems("openstack", tuple(cidr_rules(101) + lb_rules), with_lb) == [
        "Neutron quota: 101 security group rules; the project allows 100 (kubeports:cluster.quota.neutronRules)"]
    assert quota_problems("openstack", (), with_lb.model_copy(update={"quota": QuotaSettings.model_validate(
        {"neutronGroups": 2})})) == []
