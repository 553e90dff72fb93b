"""AWS, several security groups per role (kubeports:aws.groupsPerRole, kubeports.core.shards),
checked on what the AWS module registers: the guarantee is about the rules EC2 receives.

With 50-entry CIDR sets as prefix lists, prod-aws is over the default 60 rules per group in
one group and fits in four. Checked on the plan: every rule sits in one of its role's
groups and EC2's count of each group (a prefix-list reference as the list's max entries,
read from the registered list) is within the quota; every node carries exactly its role's
groups; peers name only a role's first group; the group count never depends on the rules,
so an added port adds its rules and changes no instance."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.plan.offline import run_plan
from tests.plans import by_name, variant

PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
CLIENT_SETS = ("api-clients", "nodeport-clients", "admin", "ingress-clients")
RULE_TYPES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
              "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")


def with_sets(k: int, groups: int | None, extra_from: str | None = None):
    def edit(config):
        for n, name in enumerate(CLIENT_SETS):
            config["kubeports:cluster"]["cidrs"][name] = [f"100.{64 + n}.{i}.0/24" for i in range(k)]
        config["kubeports:aws"]["prefixLists"] = True
        if groups is not None:
            config["kubeports:aws"]["groupsPerRole"] = groups
        if extra_from:
            config["kubeports:cluster"].setdefault("extraFlows", []).append({
                "name": "node-metrics", "purpose": "node exporter, scraped", "protocol": "tcp", "ports": 9100,
                "to": ["worker"], "from": [extra_from]})
    return edit


def ec2_counts(resources: dict) -> tuple[Counter, dict[str, str]]:
    """A plan's resources (name -> resource): (group name, direction, family) -> what EC2
    counts there; group id -> group name."""
    groups = {f"{r.name}-id": r.name for r in resources.values() if r.type == "aws:ec2/securityGroup:SecurityGroup"}
    lists = {f"{r.name}-id": r.inputs for r in resources.values()
             if r.type == "aws:ec2/managedPrefixList:ManagedPrefixList"}
    counts: Counter = Counter()
    for r in resources.values():
        if r.type not in RULE_TYPES:
            continue
        direction = "ingress" if "Ingress" in r.type else "egress"
        group = groups[r.inputs["securityGroupId"]]
        if "prefixListId" in r.inputs:
            found = lists[r.inputs["prefixListId"]]
            counts[(group, direction, found["addressFamily"])] += found["maxEntries"]
        elif "referencedSecurityGroupId" in r.inputs:
            counts[(group, direction, "IPv4")] += 1
            counts[(group, direction, "IPv6")] += 1
        else:
            counts[(group, direction, "IPv4" if "cidrIpv4" in r.inputs else "IPv6")] += 1
    return counts, groups


@pytest.fixture(scope="module")
def spread(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("groups")
    return run_plan(variant(tmp, PROD_AWS, "k50-g4", with_sets(50, 4)))


def test_fifty_entry_sets_are_refused_in_one_group_and_the_message_names_the_fix(tmp_path):
    with pytest.raises(KubeportsError) as refused:
        load_project(variant(tmp_path, PROD_AWS, "k50-g1", with_sets(50, None)))
    messages = [p.message for p in refused.value.problems]
    assert messages and all("set kubeports:aws.groupsPerRole to 4: 4 groups per role hold every role's rules" in m
                            for m in messages)


def test_every_group_ec2_receives_is_within_the_default_quota(spread):
    counts, groups = ec2_counts(by_name(spread))
    assert max(counts.values()) <= 60
    assert len(groups) == 3 * 4  # control-plane, etcd, worker: four groups each
    assert sum(counts.values()) > 3 * 60  # more than one group per role could hold


def test_each_rule_is_in_one_of_its_roles_groups_and_peers_name_the_first(spread):
    resources = by_name(spread)
    groups = {f"{r.name}-id": r for r in resources.values() if r.type == "aws:ec2/securityGroup:SecurityGroup"}
    for r in resources.values():
        if r.type not in RULE_TYPES:
            continue
        group = groups[r.inputs["securityGroupId"]]
        assert r.name.startswith(f"prod-{group.inputs['tags']['kubeports/role']}-")
        if "referencedSecurityGroupId" in r.inputs:
            assert groups[r.inputs["referencedSecurityGroupId"]].name.endswith("-sg")  # the first group


def test_every_node_carries_exactly_its_roles_groups(spread):
    resources = by_name(spread)
    for r in resources.values():
        if r.type != "aws:ec2/instance:Instance":
            continue
        role = r.inputs["tags"]["kubeports/role"]
        assert r.inputs["vpcSecurityGroupIds"] == [f"prod-{role}-sg-id"] + [f"prod-{role}-sg-{n}-id" for n in (2, 3, 4)]
        extra = [resources[g[:-3]] for g in r.inputs["vpcSecurityGroupIds"][1:]]
        assert [g.inputs["tags"]["kubeports/group"] for g in extra] == ["2", "3", "4"]


def changes(before, after) -> tuple[list[str], list[str]]:
    """(names added, names of resources whose inputs changed) from one plan to the next."""
    assert set(before) <= set(after)
    return (sorted(set(after) - set(before)),
            sorted(n for n in before if before[n].inputs != after[n].inputs))


def test_an_added_port_from_a_group_adds_its_rule_and_moves_nothing(tmp_path, spread):
    more = by_name(run_plan(variant(tmp_path, PROD_AWS, "k50-g4-cp", with_sets(50, 4, "control-plane"))))
    added, changed = changes(by_name(spread), more)
    assert (added, changed) == (["prod-control-plane-out-tcp-9100-to-worker", "prod-worker-in-tcp-9100-from-control-plane"], [])


def test_an_added_port_from_a_set_fits_a_fifth_group_and_touches_no_node(tmp_path):
    """A fifth 50-entry reference on the workers takes the first group's room, so rules of
    the workers move to other groups (each a replaced rule in the diff, docs/clouds.md):
    only their group changes, and no node or group does, as both come from the stack."""
    base = by_name(run_plan(variant(tmp_path, PROD_AWS, "k50-g5", with_sets(50, 5))))
    more = by_name(run_plan(variant(tmp_path, PROD_AWS, "k50-g5-admin", with_sets(50, 5, "admin"))))
    added, changed = changes(base, more)
    assert added == [f"prod-worker-in-tcp-9100-from-admin-v4-part-{n}" for n in range(1, 6)]  # one per part of admin
    assert changed and all(n.startswith("prod-worker-in-") for n in changed)
    for name in changed:
        moved = {k for k in base[name].inputs if base[name].inputs[k] != more[name].inputs.get(k)}
        assert moved == {"securityGroupId"}
    assert max(ec2_counts(more)[0].values()) <= 60


def test_one_group_per_role_renders_as_the_default(tmp_path):
    explicit = run_plan(variant(tmp_path, PROD_AWS, "g1", lambda c: c["kubeports:aws"].update(groupsPerRole=1)))
    default = run_plan(PROD_AWS)
    assert [(r.name, r.type, r.inputs) for r in explicit.resources] == [(r.name, r.type, r.inputs)
                                                                       for r in default.resources]


@pytest.mark.parametrize("groups,quota,message", [
    (6, {}, "6 groups per role, but a network interface carries at most 5 "
            "(kubeports:cluster.quota.awsGroupsPerInterface, EC2's default 5; raise it in Service Quotas first)"),
    (3, {"awsRulesPerGroup": 400}, "3 groups of 400 rules (kubeports:cluster.quota.awsRulesPerGroup) make 1200 rules "
                                   "per interface; EC2 allows 1,000 (rules per group x groups per interface)"),
])
def test_groups_beyond_ec2s_interface_quotas_are_refused_at_their_line(tmp_path, groups, quota, message):
    def edit(config):
        config["kubeports:aws"]["groupsPerRole"] = groups
        config["kubeports:cluster"]["quota"] = quota
    path = variant(tmp_path, PROD_AWS, "refused", edit)
    with pytest.raises(KubeportsError) as refused:
        load_project(path)
    line = open(path, encoding="utf-8").read().splitlines().index(f"    groupsPerRole: {groups}") + 1
    assert str(refused.value) == f"{path}:{line}: config.kubeports:aws.groupsPerRole: {message}"


def test_the_load_balancer_keeps_one_group_while_the_nodes_get_several(tmp_path):
    nlb = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.nlb.yaml")
    resources = by_name(run_plan(variant(tmp_path, nlb, "nlb-g3", lambda c: c["kubeports:aws"].update(groupsPerRole=3))))
    balancer = next(r for r in resources.values() if r.type == "aws:lb/loadBalancer:LoadBalancer")
    assert len(balancer.inputs["securityGroups"]) == 1
    assert not any(name.startswith(f"{balancer.name[:-4]}-sg-") for name in resources)
    nodes = [r for r in resources.values() if r.type == "aws:ec2/instance:Instance"]
    assert nodes and all(len(r.inputs["vpcSecurityGroupIds"]) == 3 for r in nodes)
    assert max(ec2_counts(resources)[0].values()) <= 60


def test_rules_on_another_stacks_roles_go_to_their_first_group(tmp_path):
    """A pool stack (every role but its workers external) with three groups per role: its
    workers get three groups; its rules on the main stack's roles go to the group id the
    main stack exports for each (their first), never to a group of the pool's."""
    from tests.components.test_worker_pool import PROGRAM, derive_pool, group_of, rules_in
    from tests.plans import plan_of

    def three(config):
        config["kubeports:aws"]["groupsPerRole"] = 3
    main_file = variant(tmp_path, PROD_AWS, "prod-aws", three)
    pool_file, main = derive_pool(main_file, str(tmp_path))
    outputs = plan_of(main_file).outputs
    plan = run_plan(pool_file, program=PROGRAM, stack_outputs={main: outputs})
    own = {f"prod-pool-worker-sg{suffix}-id" for suffix in ("", "-2", "-3")}
    main_ids = {**outputs["security_group_ids"], "worker-sibling": outputs["security_group_ids"]["worker"]}
    external = 0
    for rule in rules_in(plan):
        rest = rule.name[len("prod-pool-"):]
        role = next(r for r in sorted(main_ids, key=len, reverse=True) if rest.startswith(f"{r}-"))
        if role == "worker":  # the pool's own workers
            assert group_of(rule) in own, rule.name
        else:
            external += 1
            assert group_of(rule) == main_ids[role], rule.name
    assert external
    nodes = [r for r in plan.resources if r.type == "aws:ec2/instance:Instance"]
    assert nodes and all(set(r.inputs["vpcSecurityGroupIds"]) == own for r in nodes)
