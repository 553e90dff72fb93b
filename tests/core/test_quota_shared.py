"""Quota preflight where a quota is shared (kubeports/core/quota.py, issues 13 and 14):
- a stack with `kubeports:peerStack` lands in its peer's project: the peer's `quota_usage`
  output counts with this stack's own rules, groups and server groups;
- a rollout step is create-first on OpenStack: the role's server group holds `count` + the
  nodes the step replaces while it runs (Nova's default: 10 members per group)."""
from __future__ import annotations

import pytest

from kubeports.core.quota import (
    peer_quota_problems,
    peer_usage_of,
    project_usage,
    quota_problems,
    rollout_surge,
)
from kubeports.core.rules import Rule
from kubeports.core.settings import ClusterSettings
from kubeports.core.siblings import sibling_rules

PEER = "acme/kubeports/dev"
REMEDY = ("raise the project's Nova quota (`openstack quota set --server-groups N --server-group-members N`) "
          "and set it in kubeports:cluster.quota")


def cluster(roles: dict, **quota) -> ClusterSettings:
    return ClusterSettings.model_validate({
        "name": "q", "distribution": "kubeadm", "kubernetesVersion": "1.31", "cni": {"name": "calico", "mode": "ipip"},
        "roles": roles, "quota": quota})


def cidr_rules(n: int, role: str = "worker") -> tuple[Rule, ...]:
    return tuple(Rule(role, "ingress", "tcp", 1000 + i, 1000 + i, "cidr", "10.0.0.0/8", "IPv4", "x", ())
                 for i in range(n))


def worker_to_worker(n: int) -> tuple[Rule, ...]:
    return tuple(Rule("worker", "ingress", "tcp", 2000 + i, 2000 + i, "role", "worker", "IPv4", "x", ())
                 for i in range(n))


POOL = cluster({"worker": {"count": 2}})
MAIN_USAGE = {"neutronRules": 62, "neutronGroups": 3, "novaServerGroups": 2}


# --------------------------------------------------------------------------- peer stack

def test_the_peer_stacks_usage_counts_with_this_stacks_rules():
    assert peer_quota_problems(cidr_rules(38), POOL, PEER, MAIN_USAGE) == []  # 38 + 62 = 100
    assert peer_quota_problems(cidr_rules(39), POOL, PEER, MAIN_USAGE) == [
        "Neutron quota: this stack's 39 security group rules, the 62 that stack acme/kubeports/dev holds in the "
        "project (its quota_usage output) make 101; the project allows 100 (kubeports:cluster.quota.neutronRules)"]


def test_rules_towards_the_peers_group_of_a_role_count_twice_more():
    """Each worker <-> worker rule is also made with the main stack's workers, both ways."""
    fits, over = cidr_rules(20) + worker_to_worker(6), cidr_rules(20) + worker_to_worker(7)
    assert len(sibling_rules(fits, ["worker"])) == 12
    assert peer_quota_problems(fits, POOL, PEER, MAIN_USAGE, siblings=("worker",)) == []  # 26 + 12 + 62 = 100
    assert peer_quota_problems(over, POOL, PEER, MAIN_USAGE) == []  # without siblings: 27 + 62
    assert peer_quota_problems(over, POOL, PEER, MAIN_USAGE, siblings=("worker",)) == [
        "Neutron quota: this stack's 41 security group rules, the 62 that stack acme/kubeports/dev holds in the "
        "project (its quota_usage output) make 103; the project allows 100 (kubeports:cluster.quota.neutronRules)"]


def test_groups_and_server_groups_of_both_stacks_count_together():
    usage = {"neutronRules": 10, "neutronGroups": 10, "novaServerGroups": 10}
    assert peer_quota_problems((), POOL, PEER, usage) == [
        "Neutron quota: this stack's 1 security groups, the 10 that stack acme/kubeports/dev holds in the project "
        "(its quota_usage output) make 11; the project allows 10 (kubeports:cluster.quota.neutronGroups)",
        "Nova quota: this stack's 1 server groups, the 10 that stack acme/kubeports/dev holds in the project "
        "(its quota_usage output) make 11; the project allows 10 (kubeports:cluster.quota.novaServerGroups)"]


def test_with_a_peer_the_used_settings_mean_what_else_the_project_holds():
    """The peer's count has the default group already: unset, nothing more is added; set,
    it is what the project holds besides both stacks (e.g. a second pool)."""
    other_pool = cluster({"worker": {"count": 2}}, neutronUsedRules=30)
    assert peer_quota_problems(cidr_rules(8), other_pool, PEER, MAIN_USAGE) == []  # 8 + 62 + 30
    assert peer_quota_problems(cidr_rules(9), other_pool, PEER, MAIN_USAGE) == [
        "Neutron quota: this stack's 9 security group rules, the 62 that stack acme/kubeports/dev holds in the "
        "project (its quota_usage output) and 30 more (kubeports:cluster.quota.neutronUsedRules) make 101; the "
        "project allows 100 (kubeports:cluster.quota.neutronRules)"]


def test_quota_usage_is_what_the_preflight_counted():
    main = cluster({"control-plane": {"count": 3}, "worker": {"count": 3}})
    assert project_usage("openstack", cidr_rules(58), main) == {
        "neutronRules": 62, "neutronGroups": 3, "novaServerGroups": 2}  # the default group's 4 rules and itself
    rules = cidr_rules(39) + worker_to_worker(13)
    assert project_usage("openstack", rules, POOL, MAIN_USAGE, siblings=("worker",)) == {
        "neutronRules": 62 + 52 + 26, "neutronGroups": 4, "novaServerGroups": 3}
    assert project_usage("aws", rules, POOL) == {}


@pytest.mark.parametrize(("usage", "counts"), [
    ({"neutronRules": 62.0, "neutronGroups": 3.0, "novaServerGroups": 2.0}, MAIN_USAGE),  # protobuf numbers
    ({"neutronRules": 62, "neutronGroups": 3}, None),
    ({"neutronRules": 6.5, "neutronGroups": 3, "novaServerGroups": 2}, None),
    ({"neutronRules": True, "neutronGroups": 3, "novaServerGroups": 2}, None),
    ("62", None),
])
def test_a_peer_usage_of_another_shape_is_one_clear_line(usage, counts):
    got, problem = peer_usage_of(PEER, usage)
    assert got == counts
    if counts is None:
        assert problem == ("stack acme/kubeports/dev: its quota_usage output must map neutronRules, neutronGroups, "
                           f"novaServerGroups to counts (got {usage!r})")


# --------------------------------------------------------------------------- rollout headroom

def rolling(count: int, m: int = 1, step: int = 1, **quota) -> ClusterSettings:
    return cluster({"control-plane": {"count": 3}, "worker": {
        "count": count, "maxUnavailable": m, "rollout": {"imageId": "img-new", "step": step}}}, **quota)


@pytest.mark.parametrize(("count", "m", "step", "surge"), [
    (10, 1, 0, 1), (10, 1, 1, 1), (10, 1, 10, 1), (10, 1, 11, 0), (5, 2, 3, 1), (5, 2, 2, 2), (3, 5, 1, 3)])
def test_the_surge_is_the_most_nodes_a_remaining_step_replaces(count, m, step, surge):
    assert rollout_surge(rolling(count, m, step).roles["worker"]) == surge


def test_a_create_first_rollout_needs_room_in_the_server_group():
    assert quota_problems("openstack", (), rolling(9)) == []  # 9 + 1 = 10
    assert quota_problems("openstack", (), rolling(10)) == [
        "Nova quota: role worker has 10 servers and its rollout creates 1 new before it deletes the old "
        "(create-first, maxUnavailable 1): 11 members of its server group during a step; the project allows 10 "
        f"per group (kubeports:cluster.quota.novaServerGroupMembers): {REMEDY}"]
    assert quota_problems("openstack", (), rolling(8, m=3)) == [
        "Nova quota: role worker has 8 servers and its rollout creates 3 new before it deletes the old "
        "(create-first, maxUnavailable 3): 11 members of its server group during a step; the project allows 10 "
        f"per group (kubeports:cluster.quota.novaServerGroupMembers): {REMEDY}, or set maxUnavailable to 2"]
    assert quota_problems("openstack", (), rolling(10, novaServerGroupMembers=11)) == []
    assert quota_problems("openstack", (), rolling(10, step=11)) == []  # every node moved: nothing left to create
    assert quota_problems("aws", (), rolling(10)) == []  # no server groups on AWS


def test_a_role_over_the_limit_is_reported_once():
    assert quota_problems("openstack", (), rolling(11)) == [
        "Nova quota: role worker has 11 servers in its server group; the project allows 10 per group "
        f"(kubeports:cluster.quota.novaServerGroupMembers): {REMEDY}"]


def test_each_pool_is_its_own_server_group_for_the_headroom():
    pools = cluster({"control-plane": {"count": 3}, "worker": {"pools": {
        "big": {"count": 10, "rollout": {"imageId": "img-new", "step": 1}}, "small": {"count": 4}}}})
    assert quota_problems("openstack", (), pools) == [
        "Nova quota: pool worker/big has 10 servers and its rollout creates 1 new before it deletes the old "
        "(create-first, maxUnavailable 1): 11 members of its server group during a step; the project allows 10 "
        f"per group (kubeports:cluster.quota.novaServerGroupMembers): {REMEDY}"]
