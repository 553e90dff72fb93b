"""The policy pack, without the Pulumi CLI: each policy's `validate` called directly.

`policy/__main__.py` is never imported (constructing PolicyPack starts a gRPC server and
blocks); only `policy/kubeports_policies.py` is. Resources come from the offline plan of
every example stack (no violation allowed) and from a crafted program run under the same
mocks, so the bad resources carry the SDK's real camelCase inputs.
"""
from __future__ import annotations

import ast
import copy
import glob
import os
import subprocess
import sys
import textwrap
from collections import Counter
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

from kubeports.core.paths import ROOT
from kubeports.plan.offline import run_plan

POLICY_DIR = os.path.join(ROOT, "policy")
sys.path.insert(0, POLICY_DIR)
import kubeports_policies as kp  # noqa: E402

# Every example stack: the main program's (the project's and examples/api-load-balancer's),
# and the worker-pool example, a program of its own that reads the dev stack's outputs.
STACKS = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
STACKS += sorted(glob.glob(os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.*.yaml")))
POOL = os.path.join(ROOT, "examples", "worker-pool")


class FakeArgs:
    """What the engine hands a ResourceValidation: type, camelCase props, urn, name, opts."""

    def __init__(self, resource_type: str, props: Any, name: str = "r", urn: str | None = None):
        self.resource_type = resource_type
        self.props = props
        self.name = name
        self.urn = urn or f"urn:pulumi:test::kubeports::{resource_type}::{name}"
        self.opts = None
        self.provider = None
        self.stack_tags: dict[str, str] = {}

    def get_config(self) -> dict[str, Any]:
        return {}


def violations(resource_type: str, props: dict[str, Any], name: str = "r", proxy: bool = True) -> dict[str, list[str]]:
    """policy name -> messages. `proxy` wraps props as the engine does (unknowns raise)."""
    found: dict[str, list[str]] = {}
    wrapped = unknown_checking_proxy(copy.deepcopy(props)) if proxy else props
    for policy in kp.POLICIES:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        def report(message: str, urn: str | None = None, _name: str = policy.name) -> None:
            assert isinstance(message, str) and message
            found.setdefault(_name, []).append(message)

        assert policy.validate(FakeArgs(resource_type, wrapped, name), report) is None
    return found


# --- the pack itself --------------------------------------------------------------------------

def test_pack_files_and_policies():
    for name in ("PulumiPolicy.yaml", "__main__.py", "kubeports_policies.py", "requirements.txt"):
        assert os.path.isfile(os.path.join(POLICY_DIR, name)), name
    names = [p.name for p in kp.POLICIES]
    assert len(names) == len(set(names)) == 8
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in kp.POLICIES)


def test_entry_point_only_builds_the_pack():
    """Read, never imported: imports, then a single PolicyPack(...) call over POLICIES."""
    tree = ast.parse(open(os.path.join(POLICY_DIR, "__main__.py"), encoding="utf-8").read())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    calls = [n for n in body if not isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(calls) == 1 and isinstance(calls[0].value, ast.Call)
    assert calls[0].value.func.id == "PolicyPack"
    assert any(isinstance(kw.value, ast.Name) and kw.value.id == "POLICIES" for kw in calls[0].value.keywords)


def test_pack_serves_the_policies_over_grpc():
    """The entry point run as Pulumi runs it (a process of its own, never imported here):
    it serves the analyzer; the engine's real path (Struct properties, numbers as doubles,
    the unknown-value proxy) reports a world-open etcd and stays silent on unknowns."""
    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    def analyze(stub, resource_type: str, props: dict[str, Any]) -> list[tuple[str, str]]:
        struct = struct_pb2.Struct()
        struct.update(props)
        request = analyzer_pb2.AnalyzeRequest(type=resource_type, properties=struct, name="r",
                                              urn=f"urn:pulumi:test::kubeports::{resource_type}::r")
        return [(d.policyName, d.message) for d in stub.Analyze(request, timeout=20).diagnostics]

    proc = subprocess.Popen([sys.executable, POLICY_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stub = analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{int(proc.stdout.readline())}"))
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=20)
        assert info.name == "kubeports"
        assert [p.name for p in info.policies] == [p.name for p in kp.POLICIES]
        assert {p.enforcementLevel for p in info.policies} == {1}  # MANDATORY
        rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 2379,
                "portRangeMax": 2380, "remoteIpPrefix": "0.0.0.0/0", "description": "etcd"}
        found = analyze(stub, kp.OPENSTACK_RULE, rule)
        assert [name for name, _ in found] == [CONTROL]
        assert found[0][1].endswith("tcp 2379-2380 from 0.0.0.0/0 reaches etcd 2379-2381")
        assert analyze(stub, kp.OPENSTACK_RULE, {**rule, "remoteIpPrefix": "10.0.0.0/8"}) == []
        unknown = {**rule, "remoteIpPrefix": UNKNOWN_STRING_VALUE, "description": UNKNOWN_STRING_VALUE}
        assert analyze(stub, kp.OPENSTACK_RULE, unknown) == []  # not even a "can't run during preview"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --- every example stack passes ---------------------------------------------------------------

@pytest.fixture(scope="module", params=[*STACKS, POOL], ids=os.path.basename)
def plan(request):
    if request.param != POOL:
        return run_plan(request.param)
    dev = run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))
    return run_plan(os.path.join(POOL, "Pulumi.pool.yaml"), program=os.path.join(POOL, "__main__.py"),
                    stack_outputs={"acme/kubeports/dev": dev.outputs})


def test_example_stacks_have_no_violations(plan):
    assert plan.resources
    found = {r.name: v for r in plan.resources if (v := violations(r.type, r.inputs, r.name))}
    assert found == {}


def test_example_stacks_are_checked_at_all(plan):
    """The plans do contain what the policies read: rules from the world, all-protocol
    egress, instances; so a pass above is not a pass by not looking."""
    types = Counter(r.type for r in plan.resources)
    readers = sum(n for t, n in types.items() if t in kp.READERS)
    assert readers > 10
    world = [rule for r in plan.resources if r.type in kp.READERS
             for rule in kp.sg_rules(FakeArgs(r.type, r.inputs)) if rule.world_peers()]
    assert world, "every example opens something to the world (ingress or egress)"


# --- crafted bad resources, through the SDK under mocks ----------------------------------------

CRAFTED = textwrap.dedent('''
    import pulumi_aws as aws
    import pulumi_openstack as openstack

    aws.vpc.SecurityGroupIngressRule("etcd-via-full-range", security_group_id="sg-1", ip_protocol="tcp",
        from_port=0, to_port=65535, cidr_ipv4="0.0.0.0/0", description="every tcp port")
    aws.vpc.SecurityGroupIngressRule("all-protocols-from-v6", security_group_id="sg-1", ip_protocol="-1",
        cidr_ipv6="::/0", description="everything")
    aws.ec2.SecurityGroupRule("ec2-kubelet-world", type="ingress", security_group_id="sg-1", protocol="6",
        from_port=10250, to_port=10250, cidr_blocks=["10.0.0.0/8", "0.0.0.0/0"], description="kubelet")
    aws.vpc.SecurityGroupEgressRule("egress-no-description", security_group_id="sg-1", ip_protocol="tcp",
        from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0", description="  ")
    openstack.networking.SecGroupRule("neutron-no-description", direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8",
        security_group_id="sg-2")
    openstack.networking.SecGroupRule("neutron-any-remote-any-protocol", direction="ingress", ethertype="IPv6",
        security_group_id="sg-2", description="no remote, no protocol")
    openstack.networking.SecGroupRule("neutron-scheduler-open-range", direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=10251, security_group_id="sg-2", remote_ip_prefix="0.0.0.0/0",
        description="min only")
    aws.ec2.Instance("imdsv1", ami="ami-1", instance_type="t3.small",
        metadata_options={"http_tokens": "optional"}, root_block_device={"encrypted": True})
    aws.ec2.Instance("imds-default", ami="ami-1", instance_type="t3.small", root_block_device={"encrypted": True})
    aws.ec2.Instance("unencrypted", ami="ami-1", instance_type="t3.small",
        metadata_options={"http_tokens": "required"}, root_block_device={"encrypted": False},
        ebs_block_devices=[{"device_name": "/dev/sdf", "encrypted": True},
                           {"device_name": "/dev/sdg"}])
    aws.ebs.Volume("plain-volume", availability_zone="eu-central-1a", size=10)
    aws.ec2.SecurityGroup("inline-ingress", vpc_id="vpc-1", ingress=[{"protocol": "tcp", "from_port": 443,
        "to_port": 443, "cidr_blocks": ["10.0.0.0/8"], "description": "https"}])
    aws.ec2.SecurityGroup("inline-etcd-world", vpc_id="vpc-1", ingress=[{"protocol": "tcp", "from_port": 2379,
        "to_port": 2380, "cidr_blocks": ["0.0.0.0/0"]}], egress=[{"protocol": "-1", "from_port": 0,
        "to_port": 0, "cidr_blocks": ["0.0.0.0/0"], "description": "all out"}])

    # Fine: near misses that must not be reported.
    openstack.networking.SecGroupRule("ok-udp-10250-world", direction="ingress", ethertype="IPv4", protocol="udp",
        port_range_min=10250, port_range_max=10250, remote_ip_prefix="0.0.0.0/0", security_group_id="sg-2",
        description="udp is not the kubelet")
    openstack.networking.SecGroupRule("ok-above-etcd", direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=2382, port_range_max=2400, remote_ip_prefix="0.0.0.0/0", security_group_id="sg-2",
        description="next to etcd")
    openstack.networking.SecGroupRule("ok-etcd-private", direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=2379, port_range_max=2381, remote_ip_prefix="10.0.0.0/8", security_group_id="sg-2",
        description="etcd from the VPC")
    openstack.networking.SecGroupRule("ok-etcd-from-group", direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=2379, port_range_max=2380, remote_group_id="sg-3",
        security_group_id="sg-2", description="etcd peers")
    openstack.networking.SecGroupRule("ok-egress-all-world", direction="egress", ethertype="IPv6",
        remote_ip_prefix="::/0", security_group_id="sg-2", description="egress open")
    aws.vpc.SecurityGroupIngressRule("ok-proto4-world", security_group_id="sg-1", ip_protocol="4",
        cidr_ipv4="0.0.0.0/0", description="IP-in-IP carries no ports")
    openstack.networking.SecGroup("ok-neutron-group", name="g", delete_default_rules=True)
    aws.ec2.SecurityGroup("ok-aws-group", vpc_id="vpc-1", description="no inline rules")
    aws.ec2.Instance("ok-instance", ami="ami-1", instance_type="t3.small",
        metadata_options={"http_tokens": "required"}, root_block_device={"encrypted": True},
        ebs_block_devices=[{"device_name": "/dev/sdf", "encrypted": True}])
    aws.ec2.Instance("ok-imds-off", ami="ami-1", instance_type="t3.small",
        metadata_options={"http_endpoint": "disabled"}, root_block_device={"encrypted": True})
''')

CONTROL = "kubeports-control-plane-ports-not-public"
DESCRIPTION = "kubeports-rule-description"
IMDS = "kubeports-aws-imdsv2"
ENCRYPTED = "kubeports-aws-encrypted-volumes"
INLINE = "kubeports-no-inline-rules"
ALL_WORLD = "kubeports-no-all-protocols-from-world"

# resource name -> {policy: [a fragment of each expected message]}
EXPECTED: dict[str, dict[str, list[str]]] = {
    "etcd-via-full-range": {CONTROL: ["tcp 0-65535 from 0.0.0.0/0 reaches etcd 2379-2381, kubelet 10250"]},
    "all-protocols-from-v6": {CONTROL: ["all protocols from ::/0 reaches etcd"],
                              ALL_WORLD: ["ingress of all protocols from ::/0"]},
    "ec2-kubelet-world": {CONTROL: ["tcp 10250 from 0.0.0.0/0 reaches kubelet 10250"]},
    "egress-no-description": {DESCRIPTION: ["has no description"]},
    "neutron-no-description": {DESCRIPTION: ["has no description"]},
    "neutron-any-remote-any-protocol": {CONTROL: ["all protocols from ::/0"], ALL_WORLD: ["from ::/0"]},
    "neutron-scheduler-open-range": {
        CONTROL: ["tcp 10251-65535 from 0.0.0.0/0 reaches kubelet read-only 10255, kube-scheduler 10259"]},
    "imdsv1": {IMDS: ["httpTokens is 'optional'"]},
    "imds-default": {IMDS: ["httpTokens is unset"]},
    "unencrypted": {ENCRYPTED: ["rootBlockDevice.encrypted is False", "ebsBlockDevices[1].encrypted is unset"]},
    "plain-volume": {ENCRYPTED: ["volume.encrypted is unset"]},
    "inline-ingress": {INLINE: ["ingress holds 1 inline rule"]},
    "inline-etcd-world": {INLINE: ["ingress holds 1", "egress holds 1"],
                          CONTROL: ["ingress[0]: tcp 2379-2380 from 0.0.0.0/0 reaches etcd 2379-2381"],
                          DESCRIPTION: ["ingress[0]: security group rule has no description"]},
}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp("crafted")
    (root / "program.py").write_text(CRAFTED)
    (root / "Pulumi.crafted.yaml").write_text("config: {}\n")
    plan = run_plan(str(root / "Pulumi.crafted.yaml"), program=str(root / "program.py"))
    return {r.name: r for r in plan.resources}


def test_crafted_program_registered_everything(crafted):
    assert set(EXPECTED) | {n for n in crafted if n.startswith("ok-")} == set(crafted)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crafted_bad_resource_gets_the_right_violation(crafted, name):
    res = crafted[name]
    found = violations(res.type, res.inputs, name)
    assert set(found) == set(EXPECTED[name]), found
    for policy, fragments in EXPECTED[name].items():
        assert len(found[policy]) == len(fragments), found[policy]
        for fragment in fragments:
            assert any(fragment in message for message in found[policy]), (fragment, found[policy])


def test_crafted_near_misses_pass(crafted):
    ok = {n: violations(r.type, r.inputs, n) for n, r in crafted.items() if n.startswith("ok-")}
    assert len(ok) == 10 and all(v == {} for v in ok.values()), ok


# --- what the engine may send: numbers as doubles, unknowns during preview -----------------------

def test_protobuf_doubles_and_spellings():
    props = {"ipProtocol": "TCP", "fromPort": 2000.0, "toPort": 3000.0, "cidrIpv4": "0.0.0.0/0", "description": "d"}
    assert set(violations(kp.AWS_INGRESS_RULE, props)) == {CONTROL}
    spelt = {"direction": "ingress", "ethertype": "IPv6", "protocol": "any", "remoteIpPrefix": "0::/0",
             "description": "d"}
    assert set(violations(kp.OPENSTACK_RULE, spelt)) == {CONTROL, ALL_WORLD}


UNKNOWN_CASES = [
    (kp.OPENSTACK_RULE, {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 2379,
                         "portRangeMax": 2379, "remoteIpPrefix": UNKNOWN_STRING_VALUE,
                         "description": UNKNOWN_STRING_VALUE}),
    (kp.OPENSTACK_RULE, {"direction": "ingress", "ethertype": "IPv4", "protocol": UNKNOWN_STRING_VALUE,
                         "remoteGroupId": UNKNOWN_STRING_VALUE, "description": "peer group not created yet"}),
    (kp.OPENSTACK_RULE, {"direction": UNKNOWN_STRING_VALUE, "ethertype": UNKNOWN_STRING_VALUE,
                         "description": "no remote, unknown family"}),
    (kp.AWS_INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": UNKNOWN_NUMBER_VALUE, "toPort": 65535,
                           "cidrIpv4": "0.0.0.0/0", "description": "d"}),
    (kp.AWS_EC2_RULE, {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0,
                       "cidrBlocks": UNKNOWN_ARRAY_VALUE, "description": "d"}),
    (kp.AWS_EC2_RULE, {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0,
                       "cidrBlocks": [UNKNOWN_STRING_VALUE], "description": "d"}),
    (kp.AWS_GROUP, {"vpcId": "vpc-1", "ingress": UNKNOWN_ARRAY_VALUE}),
    (kp.AWS_GROUP, {"vpcId": "vpc-1", "egress": []}),
    ("aws:ec2/instance:Instance", {"metadataOptions": UNKNOWN_OBJECT_VALUE, "rootBlockDevice": UNKNOWN_OBJECT_VALUE,
                                   "ebsBlockDevices": UNKNOWN_ARRAY_VALUE}),
    ("aws:ec2/instance:Instance", {"metadataOptions": {"httpTokens": UNKNOWN_STRING_VALUE},
                                   "rootBlockDevice": {"encrypted": UNKNOWN_BOOLEAN_VALUE},
                                   "ebsBlockDevices": [UNKNOWN_OBJECT_VALUE, {"encrypted": UNKNOWN_BOOLEAN_VALUE}]}),
    (kp.AWS_VOLUME, {"encrypted": UNKNOWN_BOOLEAN_VALUE}),
]


@pytest.mark.parametrize("proxy", [True, False], ids=["engine-proxy", "plain-dict"])
@pytest.mark.parametrize("resource_type,props", UNKNOWN_CASES)
def test_unknown_values_are_skipped_not_reported(resource_type, props, proxy):
    assert violations(resource_type, props, proxy=proxy) == {}


def test_unknown_elsewhere_does_not_hide_a_known_violation():
    props = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 10250,
             "portRangeMax": 10250, "remoteIpPrefix": "0.0.0.0/0", "securityGroupId": UNKNOWN_STRING_VALUE,
             "description": UNKNOWN_STRING_VALUE}
    assert set(violations(kp.OPENSTACK_RULE, props)) == {CONTROL}


def test_other_resource_types_are_ignored():
    assert violations("openstack:compute/instance:Instance", {"name": "x"}) == {}
    assert violations("kubeports:index:Cluster", {}) == {}


def test_generic_group_with_inline_rules():
    """OpenStack's Neutron groups have no inline rules, but any *SecGroup type with a rule
    list (as nova's old groups had) is caught."""
    assert set(violations("openstack:compute/secGroup:SecGroup", {"rules": [{"fromPort": 22}]})) == {INLINE}
    assert violations("openstack:networking/secGroup:SecGroup", {"name": "g", "deleteDefaultRules": True}) == {}


# --- issue 15: public is more than /0; split-world unions; ranges; protocol 0 -------------------

TOGETHER = "kubeports-control-plane-ports-not-public-together"


class FakeResource:
    def __init__(self, resource_type: str, props: Any, urn: str):
        self.resource_type, self.props, self.urn, self.name = resource_type, props, urn, urn.rsplit("::", 1)[-1]


class FakeStackArgs:
    def __init__(self, resources: list[FakeResource]):
        self.resources = resources

    def get_config(self) -> dict[str, Any]:
        return {}


def stack_violations(resources: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Messages of the stack policies over `resources` (type, props), wrapped as the engine does."""
    found: list[str] = []
    wrapped = [FakeResource(t, unknown_checking_proxy(copy.deepcopy(p)), f"urn:pulumi:test::kubeports::{t}::r{i}")
               for i, (t, p) in enumerate(resources)]
    for policy in kp.POLICIES:
        if not isinstance(policy, ResourceValidationPolicy):
            policy.validate(FakeStackArgs(wrapped), lambda message, urn=None: found.append(message))
    return found


def rule_props(cloud: str, protocol: Any, low: int | None, high: int | None, cidr: str, group: str = "sg-1"):
    v6 = ":" in cidr
    if cloud == "openstack":
        props: dict[str, Any] = {"direction": "ingress", "ethertype": "IPv6" if v6 else "IPv4",
                                 "securityGroupId": group, "remoteIpPrefix": cidr, "description": "d"}
        if protocol is not None:
            props["protocol"] = protocol
        if low is not None:
            props.update(portRangeMin=low, portRangeMax=high)
        return kp.OPENSTACK_RULE, props
    props = {"ipProtocol": "-1" if protocol is None else protocol, "securityGroupId": group,
             "cidrIpv6" if v6 else "cidrIpv4": cidr, "description": "d"}
    if low is not None:
        props.update(fromPort=low, toPort=high)
    return kp.AWS_INGRESS_RULE, props


SPLIT_WORLD = {"IPv4": ("0.0.0.0/1", "128.0.0.0/1"), "IPv6": ("::/1", "8000::/1")}
# Each no wider than a /8 (/16), together more: only the union says public.
PIECES = {"IPv4": ("10.0.0.0/8", "11.0.0.0/8"), "IPv6": ("2000::/16", "2001::/16")}
UNION = {"IPv4": "10.0.0.0/7", "IPv6": "2000::/15"}
WIDE = {"IPv4": ["0.0.0.0/1", "128.0.0.0/2", "0.0.0.0/7", "0.0.0.0/0"],
        "IPv6": ["::/1", "8000::/3", "2000::/15", "::/0"]}
NARROW = {"IPv4": ["10.0.0.0/8", "198.51.100.0/24"], "IPv6": ["2001:db8::/32", "fd00::/16"]}
# (protocol as the cloud spells it, ports) that reach the kubelet's 10250
REACHING = {"openstack": [("tcp", 10250, 10250), ("tcp", 10000, 11000), ("tcp", None, None), (None, None, None),
                          ("0", None, None), (0, None, None)],
            "aws": [("tcp", 10250, 10250), ("tcp", 1, 65535), ("-1", None, None), ("0", None, None),
                    (0, None, None), ("all", None, None)]}
CLOUDS = ("openstack", "aws")
FAMILIES = ("IPv4", "IPv6")


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("reach", range(6))
def test_a_wide_prefix_to_a_control_port_is_public(cloud, fam, index, reach):
    protocol, low, high = REACHING[cloud][reach]
    cidr = WIDE[fam][index]
    found = violations(*rule_props(cloud, protocol, low, high, cidr))
    assert CONTROL in found and any(f"from {cidr} reaches" in m and "kubelet 10250" in m for m in found[CONTROL])


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("cidr_index", range(2))
def test_a_narrow_prefix_is_no_violation(cloud, fam, cidr_index):
    assert violations(*rule_props(cloud, "tcp", 10250, 10250, NARROW[fam][cidr_index])) == {}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("reach", range(6))
def test_split_world_halves_are_each_public(cloud, fam, reach):
    protocol, low, high = REACHING[cloud][reach]
    for half in SPLIT_WORLD[fam]:
        assert CONTROL in violations(*rule_props(cloud, protocol, low, high, half))


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("reach", range(6))
def test_pieces_on_one_group_are_public_together(cloud, fam, reach):
    protocol, low, high = REACHING[cloud][reach]
    pieces = [rule_props(cloud, protocol, low, high, cidr) for cidr in PIECES[fam]]
    assert all(CONTROL not in violations(*piece) for piece in pieces)  # each alone: a /8 (/16) at most
    found = stack_violations(pieces)
    assert f"group sg-1: kubelet 10250 is reachable from {' + '.join(sorted(PIECES[fam]))}, together " \
           f"{UNION[fam]}: public" in found


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fam", FAMILIES)
def test_split_world_on_two_groups_or_other_ports_is_not(cloud, fam):
    a, b = PIECES[fam]
    apart = [rule_props(cloud, "tcp", 10250, 10250, a, "sg-1"), rule_props(cloud, "tcp", 10250, 10250, b, "sg-2")]
    assert stack_violations(apart) == []
    elsewhere = [rule_props(cloud, "tcp", 443, 443, a), rule_props(cloud, "tcp", 443, 443, b)]
    assert stack_violations(elsewhere) == []
    udp = [rule_props(cloud, "udp", 10250, 10250, a), rule_props(cloud, "udp", 10250, 10250, b)]
    assert stack_violations(udp) == []


@pytest.mark.parametrize("carrier", [("aws:ec2/instance:Instance", "vpcSecurityGroupIds"),
                                     ("openstack:networking/port:Port", "securityGroupIds")])
@pytest.mark.parametrize("fam", FAMILIES)
def test_pieces_on_groups_one_interface_carries_are_public_together(carrier, fam):
    """kubeports:aws.groupsPerRole spreads a role's rules over groups every node carries: the
    union is the node's, not one group's."""
    cloud = "aws" if carrier[0].startswith("aws") else "openstack"
    a, b = PIECES[fam]
    apart = [rule_props(cloud, "tcp", 10250, 10250, a, "sg-1"), rule_props(cloud, "tcp", 10250, 10250, b, "sg-2")]
    kind, key = carrier
    found = stack_violations([*apart, (kind, {key: ["sg-1", "sg-2"]})])
    assert found == [f"groups sg-1 + sg-2: kubelet 10250 is reachable from {' + '.join(sorted(PIECES[fam]))}, "
                     f"together {UNION[fam]}: public"]
    chained = [*apart, rule_props(cloud, "tcp", 10250, 10250, "192.0.2.0/24", "sg-3"),
               (kind, {key: ["sg-1", "sg-3"]}), (kind, {key: ["sg-3", "sg-2"]})]  # one component of three
    assert [m.split(":")[0] for m in stack_violations(chained)] == ["groups sg-1 + sg-2 + sg-3"]
    assert stack_violations([*apart, (kind, {key: ["sg-1"]}), (kind, {key: ["sg-2"]})]) == []


def test_two_halves_of_a_slash_eight_are_not_public():
    halves = [rule_props("aws", "tcp", 2379, 2379, c) for c in ("10.0.0.0/9", "10.128.0.0/9")]
    assert stack_violations(halves) == []
    more = [*halves, rule_props("aws", "tcp", 2379, 2379, "11.0.0.0/24")]
    assert stack_violations(more) == ["group sg-1: etcd 2379-2381 is reachable from 10.0.0.0/9 + 10.128.0.0/9 + "
                                      "11.0.0.0/24, together 10.0.0.0/8 + 11.0.0.0/24: public"]


def test_unknown_group_is_skipped_in_the_union():
    halves = [rule_props("openstack", "tcp", 10250, 10250, c, UNKNOWN_STRING_VALUE) for c in SPLIT_WORLD["IPv4"]]
    assert stack_violations(halves) == []


def test_example_stacks_pass_the_stack_policies(plan):
    assert stack_violations([(r.type, r.inputs) for r in plan.resources]) == []
