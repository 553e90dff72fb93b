"""The bastion role and SSH reachability, read back from the cloud resources a plan makes.

SSH reachability is computed from the planned security-group rules themselves (Neutron
rules, AWS ingress rules), so it checks what a cloud would enforce, not the resolver.
The SSH port is read from the catalog's `ssh-nodes` flow, never written here.
"""
from __future__ import annotations

import os

import pytest

from kubeports.core.catalog import load_catalog
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.project import load_project
from kubeports.plan.offline import Plan, run_plan
from tests.plans import variant

EXAMPLES = os.path.join(ROOT, "examples", "api-load-balancer")
OCTAVIA = os.path.join(EXAMPLES, "Pulumi.octavia.yaml")
NLB = os.path.join(EXAMPLES, "Pulumi.nlb.yaml")
DEV = os.path.join(ROOT, "Pulumi.dev.yaml")  # OpenStack, no bastion
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")  # AWS, no bastion
WORLD = {"0.0.0.0/0", "::/0"}

OS_RULE = "openstack:networking/secGroupRule:SecGroupRule"
OS_SERVER = "openstack:compute/instance:Instance"
OS_PORT = "openstack:networking/port:Port"
OS_FIP = "openstack:networking/floatingIp:FloatingIp"
OS_FIP_ASSOC = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
AWS_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AWS_INSTANCE = "aws:ec2/instance:Instance"
AWS_EIP = "aws:ec2/eip:Eip"
AWS_EIP_ASSOC = "aws:ec2/eipAssociation:EipAssociation"


def ssh_port() -> int:
    (flow,) = [f.flow for f in load_catalog(PORTSPECS).flows if f.flow.name == "ssh-nodes"]
    (port,) = flow.ports
    assert isinstance(port, tuple) and port[0] == port[1]
    return port[0]


SSH = ssh_port()



def _covers(low, high, port: int) -> bool:
    return low is None or low <= port <= (high if high is not None else low)


# The shipped stacks' podCidrs: where pod IPs are routed natively (IPv6 under Calico IP-in-IP), pods reach every
# node port, SSH too; docs/promises.md states that limit. The promise checked here is about everyone else.
PODS = {"10.244.0.0/16", "fd00:10:244::/56"}


def ssh_sources(plan: Plan) -> dict[str, set[str]]:
    """Group id -> every source (a group id or a CIDR) an ingress rule admits on the SSH port (pods aside)."""
    out: dict[str, set[str]] = {}
    for rule in plan.by_type(OS_RULE):
        i = rule.inputs
        if i["direction"] != "ingress" or i.get("protocol", "tcp") not in ("tcp", "6"):
            continue
        if _covers(i.get("portRangeMin"), i.get("portRangeMax"), SSH):
            peers = {i["remoteGroupId"]} if "remoteGroupId" in i else {i["remoteIpPrefix"]} if "remoteIpPrefix" in i \
                else {"::/0" if i["ethertype"] == "IPv6" else "0.0.0.0/0"}  # Neutron: no peer means any of the family
            peers -= PODS
            if not peers:
                continue
            out.setdefault(i["securityGroupId"], set()).update(peers)
    for rule in plan.by_type(AWS_INGRESS):
        if (rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6")) in PODS:
            continue
        i = rule.inputs
        if i["ipProtocol"] == "-1" or (i["ipProtocol"] in ("tcp", "6") and _covers(i.get("fromPort"), i.get("toPort"),
                                                                                   SSH)):
            out.setdefault(i["securityGroupId"], set()).add(
                i.get("referencedSecurityGroupId") or i.get("cidrIpv4") or i.get("cidrIpv6"))
    return out


_plans: dict[str, Plan] = {}


def plan(stack: str) -> Plan:
    if stack not in _plans:
        _plans[stack] = run_plan(stack)
    return _plans[stack]


def groups(stack: str) -> dict[str, str]:
    """Role -> its group id in the plan (roles with VMs; the load balancer has no SSH)."""
    p = plan(stack)
    return {role: gid for role, gid in p.outputs["security_group_ids"].items()}


@pytest.mark.parametrize("stack", [OCTAVIA, NLB], ids=os.path.basename)
def test_ssh_reaches_the_bastion_from_admin_only_and_every_other_role_from_the_bastion_only(stack):
    project = load_project(stack)
    admin = set(project.stack.cluster.cidrs["admin"])
    sources = ssh_sources(plan(stack))
    ids = groups(stack)
    assert sources[ids["bastion"]] == admin
    node_roles = [r for r in project.stack.cluster.roles if r not in ("bastion", "load-balancer")]
    assert node_roles
    for role in node_roles:
        assert sources[ids[role]] == {ids["bastion"]}, role
    assert set(sources) == {ids[r] for r in ["bastion", *node_roles]}  # the load balancer takes no SSH
    assert not WORLD & set().union(*sources.values())


def test_strict_egress_lets_the_bastion_out_on_ssh_to_each_node_role_only():
    project, p = load_project(NLB), plan(NLB)
    ids = groups(NLB)
    out = [r.inputs for r in p.by_type(AWS_EGRESS) if r.inputs["securityGroupId"] == ids["bastion"]]
    assert {(i["fromPort"], i["toPort"]) for i in out} == {(SSH, SSH)}
    node_roles = {r for r in project.stack.cluster.roles if r not in ("bastion", "load-balancer")}
    assert {i["referencedSecurityGroupId"] for i in out} == {ids[r] for r in node_roles}


@pytest.mark.parametrize("stack", [DEV, PROD_AWS], ids=os.path.basename)
def test_without_a_bastion_ssh_comes_from_admin_only(stack):
    project = load_project(stack)
    assert "bastion" not in project.stack.cluster.roles
    admin = set(project.stack.cluster.cidrs["admin"])
    sources = ssh_sources(plan(stack))
    ids = groups(stack)
    assert set(sources) == set(ids.values())
    for role, gid in ids.items():
        assert sources[gid] == admin, role
    assert not [r for r in plan(stack).resources if "bastion" in r.name]


@pytest.mark.parametrize("base", [OCTAVIA, NLB, DEV, PROD_AWS], ids=os.path.basename)
def test_no_admin_set_means_no_ssh_from_outside_at_all(tmp_path, base):
    """No `admin` CIDRs: nothing outside reaches SSH; a bastion stays the nodes' only source."""
    stack = variant(tmp_path, base, "no-admin", lambda c: c["kubeports:cluster"]["cidrs"].pop("admin"))
    sources = ssh_sources(plan(stack))
    bastion = groups(stack).get("bastion")
    assert bastion not in sources
    assert set().union(set(), *sources.values()) == ({bastion} if bastion else set())


@pytest.mark.parametrize("base", [OCTAVIA, NLB], ids=os.path.basename)
def test_the_world_reaches_the_bastion_only_when_admin_says_so(tmp_path, base):
    stack = variant(tmp_path, base, "admin-world",
                    lambda c: c["kubeports:cluster"]["cidrs"].update(admin=["0.0.0.0/0"]))
    sources = ssh_sources(plan(stack))
    ids = groups(stack)
    assert sources[ids["bastion"]] == {"0.0.0.0/0"}
    assert all(srcs == {ids["bastion"]} for gid, srcs in sources.items() if gid != ids["bastion"])


def test_openstack_bastion_is_one_small_vm_with_a_floating_ip_on_its_port():
    project, p = load_project(OCTAVIA), plan(OCTAVIA)
    settings = project.stack.openstack
    role = project.stack.cluster.roles["bastion"]
    servers = [s for s in p.by_type(OS_SERVER) if s.inputs["metadata"]["kubeports-role"] == "bastion"]
    assert len(servers) == role.count == 1
    (server,) = servers
    assert server.inputs["flavorName"] == role.flavor
    fip = {r.name: r for r in p.by_type(OS_FIP)}[f"{server.name}-fip"]
    assoc = {r.name: r for r in p.by_type(OS_FIP_ASSOC)}[f"{server.name}-fip-association"]
    assert fip.inputs["pool"] == settings.floating_ip_pool
    assert assoc.inputs["portId"] == server.inputs["networks"][0]["port"]  # the port named by its generation
    assert p.outputs["bastion_public_ips"] == [assoc.inputs["floatingIp"]]
    component = {r.name: r for r in p.resources}[f"{project.stack.cluster.name}-bastion"]
    assert fip.parent == assoc.parent == component.urn
    # other roles get no public address
    assert {r.name for r in p.by_type(OS_FIP)} == {f"{server.name}-fip", f"{project.stack.cluster.name}-load-balancer-fip"}


def test_aws_bastion_is_one_small_instance_with_an_elastic_ip_in_its_public_subnet():
    project, p = load_project(NLB), plan(NLB)
    settings = project.stack.aws
    role = project.stack.cluster.roles["bastion"]
    instances = [i for i in p.by_type(AWS_INSTANCE) if i.inputs["tags"]["kubeports/role"] == "bastion"]
    assert len(instances) == role.count == 1
    (inst,) = instances
    assert inst.inputs["instanceType"] == role.instance_type
    assert inst.inputs["subnetId"] == settings.bastion_subnet_id
    assert inst.inputs["metadataOptions"]["httpTokens"] == "required"
    (eip,), (assoc,) = p.by_type(AWS_EIP), p.by_type(AWS_EIP_ASSOC)
    assert eip.inputs["domain"] == "vpc"
    assert assoc.inputs == {"allocationId": f"{eip.name}-id", "instanceId": f"{inst.name}-id"}
    assert len(p.outputs["bastion_public_ips"]) == 1 and p.outputs["bastion_public_ips"][0].startswith("203.0.113.")
    others = [i for i in p.by_type(AWS_INSTANCE) if i is not inst]
    assert all(i.inputs["subnetId"] in settings.subnet_ids for i in others)


def test_openstack_bastion_needs_a_floating_ip_pool(tmp_path):
    def edit(config):
        config["kubeports:cluster"]["roles"]["bastion"] = {"count": 1}
    stack = variant(tmp_path, DEV, "bastion-no-pool", edit)
    with pytest.raises(KubeportsError, match="kubeports:openstack.floatingIpPool: a bastion needs a public address"):
        load_project(stack)


@pytest.mark.parametrize("base", [DEV, PROD_AWS], ids=os.path.basename)
def test_adding_a_bastion_to_a_stack_moves_ssh_to_it_and_touches_no_other_vm(tmp_path, base):
    def edit(config):
        config["kubeports:cluster"]["roles"]["bastion"] = {"count": 1}
        if "kubeports:openstack" in config:
            config["kubeports:openstack"]["floatingIpPool"] = "public"
    stack = variant(tmp_path, base, "with-bastion", edit)
    before, after = plan(base), plan(stack)
    vms = {OS_SERVER, OS_PORT, AWS_INSTANCE}
    old = {r.name: r for r in before.resources if r.type in vms}
    new = {r.name: r for r in after.resources if r.type in vms}
    assert {n for n in set(new) - set(old)} and all("bastion" in n for n in set(new) - set(old))
    def options(res):  # an alias is a URN, and the URN names the stack, which differs here
        return {k: v for k, v in res.options.items() if k != "aliases"}

    for name, res in old.items():
        assert new[name].inputs == res.inputs and options(new[name]) == options(res), name
    ids = groups(stack)
    sources = ssh_sources(after)
    assert all(srcs == {ids["bastion"]} for gid, srcs in sources.items() if gid != ids["bastion"])
