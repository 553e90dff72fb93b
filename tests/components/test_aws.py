"""The AWS backend under Pulumi mocks: groups, one-source rules, instances, per example stack."""
from __future__ import annotations

import os

import pytest
import yaml

from tests.plans import plan_of, rules_of, stacks_of

STACKS = stacks_of("aws")
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INSTANCE = "aws:ec2/instance:Instance"
SOURCES = ("referencedSecurityGroupId", "cidrIpv4", "cidrIpv6")


def cluster_of(stack_file: str) -> dict:
    with open(stack_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["config"]["kubeports:cluster"]


def expected_aws(rule, cluster: str) -> dict:
    """AWS's reading of a rule, stated independently of components/clouds/aws.py."""
    want = {"securityGroupId": f"{cluster}-{rule.role}-sg-id", "description": rule.description,
            "ipProtocol": "-1" if rule.protocol == "all" else rule.protocol}
    if rule.protocol in ("tcp", "udp"):
        want.update(fromPort=rule.from_port, toPort=rule.to_port)
    if rule.protocol in ("icmp", "icmpv6"):
        want.update(fromPort=-1 if rule.from_port is None else rule.from_port,
                    toPort=-1 if rule.to_port is None else rule.to_port)
    if rule.peer_kind == "role":
        want["referencedSecurityGroupId"] = f"{cluster}-{rule.peer}-sg-id"
    else:
        want["cidrIpv4" if rule.ethertype == "IPv4" else "cidrIpv6"] = rule.peer
    return want


def aws_name(rule, cluster: str) -> str:
    # a group reference has no family: both twins are one AWS rule, named without -v4/-v6
    return f"{cluster}-{rule.key.rsplit('-', 1)[0] if rule.peer_kind == 'role' else rule.key}"


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_one_group_per_role_without_inline_rules(stack):
    cluster = cluster_of(stack)
    groups = plan_of(stack).by_type(SG)
    assert sorted(g.name for g in groups) == sorted(f"{cluster['name']}-{r}-sg" for r in cluster["roles"])
    for group in groups:
        assert "ingress" not in group.inputs and "egress" not in group.inputs
        assert group.inputs["revokeRulesOnDelete"] is True
        assert group.inputs["tags"][f"kubernetes.io/cluster/{cluster['name']}"] == "owned"


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_every_resolved_rule_exactly_once_with_one_source(stack):
    name = cluster_of(stack)["name"]
    rules = rules_of(stack)
    plan = plan_of(stack)
    planned = {r.name: r for r in plan.by_type(INGRESS) + plan.by_type(EGRESS)}
    expected_names = {aws_name(rule, name) for rule in rules}
    assert set(planned) == expected_names
    for rule in rules:
        res = planned[aws_name(rule, name)]
        assert res.type == (INGRESS if rule.direction == "ingress" else EGRESS)
        assert res.inputs == expected_aws(rule, name), rule.key
        assert sum(key in res.inputs for key in SOURCES) == 1


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_egress_is_explicit(stack):
    """The provider removes AWS's default allow-all egress: every role needs its own."""
    cluster = cluster_of(stack)
    egress_groups = {r.inputs["securityGroupId"] for r in plan_of(stack).by_type(EGRESS)}
    assert egress_groups == {f"{cluster['name']}-{role}-sg-id" for role in cluster["roles"]}


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_instances_imdsv2_encrypted_tagged_spread(stack):
    config = yaml.safe_load(open(stack, encoding="utf-8"))["config"]
    cluster, aws = config["kubeports:cluster"], config["kubeports:aws"]
    instances = plan_of(stack).by_type(INSTANCE)
    assert len(instances) == sum(role["count"] for role in cluster["roles"].values())
    for inst in instances:
        role = inst.inputs["tags"]["kubeports/role"]
        assert inst.inputs["metadataOptions"]["httpTokens"] == "required"
        assert inst.inputs["rootBlockDevice"] == {"encrypted": True, "volumeType": "gp3",
                                                 "volumeSize": cluster["roles"][role].get("volumeSize", 50),
                                                 "deleteOnTermination": role not in ("control-plane", "etcd")}
        assert inst.inputs["tags"][f"kubernetes.io/cluster/{cluster['name']}"] == "owned"
        assert inst.inputs["vpcSecurityGroupIds"] == [f"{cluster['name']}-{role}-sg-id"]
        index = int(inst.name.rsplit("-", 1)[1])
        assert inst.inputs["subnetId"] == aws["subnetIds"][index % len(aws["subnetIds"])]
        assert inst.options.get("protect", False) == cluster["roles"][role].get("protect", False)


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_source_dest_check_off_only_for_native_pod_routing(stack):
    cni = cluster_of(stack)["cni"]
    native = (cni["name"], cni["mode"]) in {("cilium", "native"), ("calico", "bgp"), ("flannel", "host-gw")}
    for inst in plan_of(stack).by_type(INSTANCE):
        assert inst.inputs["sourceDestCheck"] is (not native)


def test_a_custom_api_port_reaches_the_rules_and_the_endpoint():
    stack = next(s for s in STACKS if s.endswith("Pulumi.aws-cilium.yaml"))
    plan = plan_of(stack)
    api = [r for r in plan.by_type(INGRESS) if "Kubernetes API" in r.inputs["description"]]
    assert api and all(r.inputs["fromPort"] == r.inputs["toPort"] == 443 for r in api)
    assert plan.outputs["api_endpoint"].endswith(":443")
    nodeports = [r for r in plan.by_type(INGRESS) if r.inputs["description"].startswith("NodePort")]
    assert nodeports and all((r.inputs["fromPort"], r.inputs["toPort"]) == (31000, 31999) for r in nodeports)
