"""The `load-balancer` role under Pulumi mocks: Octavia on OpenStack, an NLB on AWS.

Expected ports come from the resolved project (catalog + stack overrides), never from
numbers written here, except in the override stacks this file writes itself.
"""
from __future__ import annotations

import os

import pytest
import yaml

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import Project, load_project
from kubeports.core.rules import cidr_label, rule_key
from kubeports.plan.offline import Plan, run_plan
from tests.plans import append_flow, by_name, copy_catalog, variant

EXAMPLES = os.path.join(ROOT, "examples", "api-load-balancer")
OCTAVIA = os.path.join(EXAMPLES, "Pulumi.octavia.yaml")
NLB = os.path.join(EXAMPLES, "Pulumi.nlb.yaml")
LB = "load-balancer"

OS_LB = "openstack:loadbalancer/loadBalancer:LoadBalancer"
OS_LISTENER = "openstack:loadbalancer/listener:Listener"
OS_POOL = "openstack:loadbalancer/pool:Pool"
OS_MONITOR = "openstack:loadbalancer/monitor:Monitor"
OS_MEMBER = "openstack:loadbalancer/member:Member"
OS_SG = "openstack:networking/secGroup:SecGroup"
OS_RULE = "openstack:networking/secGroupRule:SecGroupRule"
OS_FIP = "openstack:networking/floatingIp:FloatingIp"
OS_FIP_ASSOC = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
OS_SERVER = "openstack:compute/instance:Instance"

AWS_NLB = "aws:lb/loadBalancer:LoadBalancer"
AWS_TG = "aws:lb/targetGroup:TargetGroup"
AWS_LISTENER = "aws:lb/listener:Listener"
AWS_ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
AWS_SG = "aws:ec2/securityGroup:SecurityGroup"
AWS_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AWS_INSTANCE = "aws:ec2/instance:Instance"
COMPONENT = "kubeports:index:LoadBalancer"

_plans: dict[str, Plan] = {}


def plan(stack_file: str, portspecs: str | None = None) -> Plan:
    key = f"{stack_file}|{portspecs}"
    if key not in _plans:
        _plans[key] = run_plan(stack_file, portspecs)
    return _plans[key]



def only(plan_: Plan, type_: str):
    (res,) = plan_.by_type(type_)
    return res


def ports(project: Project) -> tuple[int, int]:
    """(the balancer's API port, the API servers' port) as this stack resolves them."""
    return project.port("kube-apiserver-lb")[0], project.port("kube-apiserver")[0]


def cluster_name(project: Project) -> str:
    return project.stack.cluster.name


# --- OpenStack: Octavia --------------------------------------------------------------

def test_octavia_listener_pool_monitor_and_members_on_the_resolved_ports():
    project, p = load_project(OCTAVIA), plan(OCTAVIA)
    settings = project.stack.openstack
    lb_port, api_port = ports(project)
    octavia = only(p, OS_LB)
    assert octavia.inputs["vipSubnetId"] == settings.subnet_id
    assert octavia.inputs["loadbalancerProvider"] == "amphora"
    assert octavia.options.get("protect") is True  # roles.load-balancer.protect
    listener = only(p, OS_LISTENER)
    assert listener.inputs["loadbalancerId"] == f"{octavia.name}-id"
    assert (listener.inputs["protocol"], listener.inputs["protocolPort"]) == ("TCP", lb_port)
    pool = only(p, OS_POOL)
    assert pool.inputs["listenerId"] == f"{listener.name}-id"
    assert (pool.inputs["protocol"], pool.inputs["lbMethod"]) == ("TCP", "ROUND_ROBIN")
    monitor = only(p, OS_MONITOR)
    assert monitor.inputs["poolId"] == f"{pool.name}-id" and monitor.inputs["type"] == "TCP"
    members = p.by_type(OS_MEMBER)
    servers = [s for s in p.by_type(OS_SERVER) if s.inputs["metadata"]["kubeports-role"] == "control-plane"]
    assert len(members) == len(servers) == project.stack.cluster.roles["control-plane"].count
    assert sorted(m.inputs["address"] for m in members) == sorted(p.outputs["control-plane_private_ips"])
    for member in members:
        assert member.inputs["poolId"] == f"{pool.name}-id"
        assert member.inputs["protocolPort"] == api_port
        assert member.inputs["subnetId"] == settings.subnet_id
    # names come from content: the member is named by its VM, not by a position in a list
    assert {m.inputs["name"] for m in members} == {s.name for s in servers}


def test_octavia_children_are_parented_to_the_component_and_the_role_has_no_vm_or_group():
    p = plan(OCTAVIA)
    component = only(p, COMPONENT)
    for type_ in (OS_LB, OS_LISTENER, OS_POOL, OS_MONITOR, OS_MEMBER):
        assert all(r.parent == component.urn for r in p.by_type(type_)), type_
    name = cluster_name(load_project(OCTAVIA))
    assert not [r for r in p.by_type(OS_SERVER) if r.inputs["metadata"]["kubeports-role"] == LB]
    assert f"{name}-{LB}-sg" not in {g.name for g in p.by_type(OS_SG)}  # Octavia owns its ports' groups
    assert LB not in p.outputs["security_group_ids"]


def test_octavia_amphora_listener_admits_the_nodes_subnet_and_api_clients_of_the_vip_family():
    project, p = load_project(OCTAVIA), plan(OCTAVIA)
    subnet = project.stack.openstack.subnet_cidr
    api_clients = project.stack.cluster.cidrs["api-clients"]
    want = {subnet} | {c for c in api_clients if ":" not in c}  # the VIP is IPv4: Octavia refuses other families
    assert set(only(p, OS_LISTENER).inputs["allowedCidrs"]) == want


def sent_key(rule, cidr: str) -> str:
    """A rule towards or from the load balancer is named by what is sent: the same rule with `cidr` as its peer."""
    return rule_key(rule.role, rule.direction, rule.protocol, rule.from_port, rule.to_port, "cidr", cidr,
                    rule.ethertype)


def expected_openstack_rule_names(project: Project, extra_per_lb_rule) -> set[str]:
    """Every resolved rule as components/clouds/openstack.py's header says it is rendered."""
    name, subnet = cluster_name(project), project.stack.openstack.subnet_cidr
    names = set()
    for rule in project.resolution.rules:
        if rule.role == LB:
            continue
        if rule.peer_kind == "role" and rule.peer == LB:
            family = "IPv6" if ":" in subnet else "IPv4"
            cidrs = ({subnet} if family == rule.ethertype else set()) | extra_per_lb_rule(rule)
            names |= {f"{name}-{sent_key(rule, cidr)}" for cidr in cidrs}
        else:
            names.add(f"{name}-{rule.key}")
    return names


def test_octavia_amphora_rules_between_load_balancer_control_plane_and_workers_match_the_specs():
    project, p = load_project(OCTAVIA), plan(OCTAVIA)
    name, subnet = cluster_name(project), project.stack.openstack.subnet_cidr
    _, api_port = ports(project)
    planned = by_name(p)
    rule_names = {r.name for r in p.by_type(OS_RULE)}
    assert rule_names == expected_openstack_rule_names(project, lambda rule: set())
    api = planned[f"{name}-control-plane-in-tcp-{api_port}-from-{cidr_label(subnet)}-v4"]
    assert api.inputs["remoteIpPrefix"] == subnet and "remoteGroupId" not in api.inputs
    assert (api.inputs["portRangeMin"], api.inputs["portRangeMax"]) == (api_port, api_port)
    assert api.inputs["securityGroupId"] == f"{name}-control-plane-sg-id"
    assert "amphora" in api.inputs["description"]
    assert api.options.get("deleteBeforeReplace") is True
    # the API load balancer reaches only the API servers: "Load balancers" of the kube-proxy and NodePort rows
    # are the Service load balancers, a CIDR set closed by default (issue 12 item 9)
    assert not [n for n in rule_names if n.startswith(f"{name}-worker-in-")
                and (f"-from-{LB}-" in n or f"-from-{cidr_label(subnet)}-" in n)]
    # no IPv6 twin: the amphorae talk to members over the IPv4 subnet
    assert not [n for n in rule_names if f"-from-{LB}-v6" in n]
    # nothing names a group of the load balancer, and no rule sits on one
    assert not [r for r in p.by_type(OS_RULE) if f"{name}-{LB}-sg-id" in repr(r.inputs)]


def ovn_stack(tmp_path, egress: str = "open") -> str:
    def edit(config):
        config["kubeports:openstack"]["lbProvider"] = "ovn"
        config["kubeports:cluster"]["egress"] = egress
        config["kubeports:cluster"]["quota"] = {"neutronRules": 500}  # strict + dual stack: a raised quota
    return variant(tmp_path, OCTAVIA, f"ovn-{egress}", edit)


def test_octavia_ovn_keeps_client_addresses_so_members_admit_the_listener_clients(tmp_path):
    """OVN has no allowed_cidrs; members see the client. With the shipped catalog the API
    servers already admit `api-clients` directly, so the expansion adds only the subnet
    (a repeated rule would 409); a catalog without that direct row shows the clients."""
    stack = ovn_stack(tmp_path)
    project, p = load_project(stack), plan(stack)
    name, subnet = cluster_name(project), project.stack.openstack.subnet_cidr
    _, api_port = ports(project)
    assert only(p, OS_LB).inputs["loadbalancerProvider"] == "ovn"
    assert "allowedCidrs" not in only(p, OS_LISTENER).inputs
    assert only(p, OS_POOL).inputs["lbMethod"] == "SOURCE_IP_PORT"
    assert only(p, OS_MONITOR).inputs["type"] == "TCP"
    assert {r.name for r in p.by_type(OS_RULE)} == expected_openstack_rule_names(project, lambda rule: set())
    hm = by_name(p)[f"{name}-control-plane-in-tcp-{api_port}-from-{cidr_label(subnet)}-v4"]
    assert "health-check port" in hm.inputs["description"]

    catalog = copy_catalog(str(tmp_path))
    path = os.path.join(catalog, "kubernetes.yaml")
    data = yaml.safe_load(open(path, encoding="utf-8"))
    api_flow = next(f for f in data["flows"] if f["name"] == "kube-apiserver")
    api_flow["from"] = [peer for peer in api_flow["from"] if peer != "api-clients"]
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    project, p = load_project(stack, catalog), plan(stack, catalog)
    clients = [c for c in project.stack.cluster.cidrs["api-clients"] if ":" not in c]

    def client_labels(rule):
        hit = rule.role == "control-plane" and rule.direction == "ingress" and rule.from_port == api_port
        return set(clients) if hit and rule.ethertype == "IPv4" else set()

    assert {r.name for r in p.by_type(OS_RULE)} == expected_openstack_rule_names(project, client_labels)
    for cidr in clients:
        rule = by_name(p)[f"{name}-control-plane-in-tcp-{api_port}-from-{cidr_label(cidr)}-v4"]
        assert rule.inputs["remoteIpPrefix"] == cidr and "OVN keeps the address" in rule.inputs["description"]


def test_octavia_strict_egress_reaches_the_vip_subnet_and_the_floating_ip(tmp_path):
    stack = ovn_stack(tmp_path, egress="strict")
    project, p = load_project(stack), plan(stack)
    name, subnet = cluster_name(project), project.stack.openstack.subnet_cidr
    lb_port, _ = ports(project)
    fip = by_name(p)[f"{name}-{LB}-fip-association"].inputs["floatingIp"]
    planned = by_name(p)
    for role in ("control-plane", "worker"):
        base = f"{name}-{role}-out-tcp-{lb_port}-to-{LB}-v4"
        assert planned[f"{name}-{role}-out-tcp-{lb_port}-to-{cidr_label(subnet)}-v4"].inputs["remoteIpPrefix"] == subnet
        assert planned[f"{base}-via-floating-ip"].inputs["remoteIpPrefix"] == f"{fip}/32"
        assert planned[f"{base}-via-floating-ip"].inputs["direction"] == "egress"


def test_octavia_floating_ip_is_the_api_endpoint(tmp_path):
    project, p = load_project(OCTAVIA), plan(OCTAVIA)
    lb_port, _ = ports(project)
    octavia = only(p, OS_LB)
    fip, assoc = (by_name(p)[f"{octavia.parent.rsplit('::', 1)[1]}-{suffix}"] for suffix in ("fip", "fip-association"))
    assert fip.inputs["pool"] == project.stack.openstack.floating_ip_pool
    assert assoc.inputs["portId"] == f"{octavia.name}-vip-port-id"  # the VIP's port
    assert p.outputs["api_endpoint"] == f"https://{assoc.inputs['floatingIp']}:{lb_port}"
    assert p.outputs["load_balancer_address"] == assoc.inputs["floatingIp"]

    stack = variant(tmp_path, OCTAVIA, "vip", lambda c: c["kubeports:openstack"].pop("lbFloatingIp"))
    p = plan(stack)
    assert not [r for r in p.by_type(OS_FIP) + p.by_type(OS_FIP_ASSOC) if LB in r.name]
    vip = p.outputs["load_balancer_address"]
    assert vip and p.outputs["api_endpoint"] == f"https://{vip}:{lb_port}"
    assert vip not in p.outputs["control-plane_private_ips"]


# --- AWS: a Network Load Balancer ----------------------------------------------------

def test_nlb_with_its_own_group_target_group_listener_and_attachments():
    project, p = load_project(NLB), plan(NLB)
    name, settings = cluster_name(project), project.stack.aws
    lb_port, api_port = ports(project)
    group = by_name(p)[f"{name}-{LB}-sg"]
    assert group.type == AWS_SG and group.inputs["vpcId"] == settings.vpc_id
    nlb = only(p, AWS_NLB)
    assert nlb.inputs["loadBalancerType"] == "network" and nlb.inputs["internal"] is True
    assert nlb.inputs["securityGroups"] == [f"{group.name}-id"]  # set at creation: AWS allows no later change
    assert nlb.inputs["subnets"] == settings.subnet_ids
    assert nlb.options.get("protect") is True and nlb.inputs["enableDeletionProtection"] is True
    tg = only(p, AWS_TG)
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (api_port, "TCP", "instance")
    assert tg.inputs["vpcId"] == settings.vpc_id
    assert tg.inputs["healthCheck"]["protocol"] == "TCP" and tg.inputs["healthCheck"]["enabled"] is True
    assert tg.inputs["healthCheck"]["port"] == "traffic-port"
    assert tg.inputs["preserveClientIp"] == "false"  # no hairpin to itself for a control-plane client
    listener = only(p, AWS_LISTENER)
    assert listener.inputs["loadBalancerArn"] == f"{nlb.name}-id"
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (lb_port, "TCP")
    assert listener.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": f"{tg.name}-id"}]
    instances = [i.name for i in p.by_type(AWS_INSTANCE) if i.inputs["tags"]["kubeports/role"] == "control-plane"]
    attachments = p.by_type(AWS_ATTACH)
    assert sorted(a.inputs["targetId"] for a in attachments) == sorted(f"{i}-id" for i in instances)
    assert all(a.inputs["targetGroupArn"] == f"{tg.name}-id" and a.inputs["port"] == api_port for a in attachments)
    component = only(p, COMPONENT)
    for type_ in (AWS_NLB, AWS_TG, AWS_LISTENER, AWS_ATTACH):
        assert all(r.parent == component.urn for r in p.by_type(type_)), type_
    assert group.parent == component.urn
    assert not [i for i in p.by_type(AWS_INSTANCE) if i.inputs["tags"]["kubeports/role"] == LB]


def aws_name(rule, cluster: str) -> str:
    return f"{cluster}-{rule.key.rsplit('-', 1)[0] if rule.peer_kind == 'role' else rule.key}"


def test_nlb_rules_between_load_balancer_control_plane_and_workers_match_the_specs():
    project, p = load_project(NLB), plan(NLB)
    name = cluster_name(project)
    lb_port, api_port = ports(project)
    planned = {r.name: r for r in p.by_type(AWS_INGRESS) + p.by_type(AWS_EGRESS)}
    assert set(planned) == {aws_name(rule, name) for rule in project.resolution.rules}
    lb_group, cp_group = f"{name}-{LB}-sg-id", f"{name}-control-plane-sg-id"
    # the control plane admits the NLB's group on the API servers' port ...
    api = planned[f"{name}-control-plane-in-tcp-{api_port}-from-{LB}"]
    assert api.inputs["referencedSecurityGroupId"] == lb_group and api.inputs["securityGroupId"] == cp_group
    assert (api.inputs["fromPort"], api.inputs["toPort"]) == (api_port, api_port)
    # ... the NLB's group sends there (strict egress) ...
    out = planned[f"{name}-{LB}-out-tcp-{api_port}-to-control-plane"]
    assert out.type == AWS_EGRESS and out.inputs["referencedSecurityGroupId"] == cp_group
    # ... and admits the api-clients set and the nodes on its own port, nobody else
    admitted = {(r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6") or r.inputs["referencedSecurityGroupId"])
                for r in p.by_type(AWS_INGRESS) if r.inputs["securityGroupId"] == lb_group}
    nodes = {f"{name}-{role}-sg-id" for role in ("control-plane", "worker", "etcd")}
    assert admitted == set(project.stack.cluster.cidrs["api-clients"]) | nodes
    for rule in p.by_type(AWS_INGRESS):
        if rule.inputs["securityGroupId"] == lb_group:
            assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (lb_port, lb_port)
    # nodes may reach the balancer (strict egress): the workers call the API through it
    assert planned[f"{name}-worker-out-tcp-{lb_port}-to-{LB}"].inputs["referencedSecurityGroupId"] == lb_group


def test_nlb_dns_name_is_the_api_endpoint():
    project, p = load_project(NLB), plan(NLB)
    lb_port, _ = ports(project)
    dns = p.outputs["load_balancer_address"]
    assert dns.endswith(".elb.amazonaws.com")
    assert p.outputs["api_endpoint"] == f"https://{dns}:{lb_port}"
    assert p.outputs["security_group_ids"][LB] == f"{cluster_name(project)}-{LB}-sg-id"


# --- Both clouds ---------------------------------------------------------------------

def overridden(tmp_path, base: str) -> str:
    """The issue's override: the API servers on 443, the load balancer on 8443."""
    def edit(config):
        config["kubeports:cluster"]["ports"] = {"kube-apiserver": 443, "kube-apiserver-lb": 8443}
    return variant(tmp_path, base, "override", edit)


@pytest.mark.parametrize("base", [OCTAVIA, NLB], ids=os.path.basename)
def test_port_overrides_reach_listener_members_rules_and_endpoint(tmp_path, base):
    stack = overridden(tmp_path, base)
    project, p = load_project(stack), plan(stack)
    assert ports(project) == (8443, 443)
    name = cluster_name(project)
    assert p.outputs["api_endpoint"].endswith(":8443")
    if project.stack.cloud == "openstack":
        assert only(p, OS_LISTENER).inputs["protocolPort"] == 8443
        assert {m.inputs["protocolPort"] for m in p.by_type(OS_MEMBER)} == {443}
        subnet = project.stack.openstack.subnet_cidr
        rule = by_name(p)[f"{name}-control-plane-in-tcp-443-from-{cidr_label(subnet)}-v4"]
        assert (rule.inputs["portRangeMin"], rule.inputs["portRangeMax"]) == (443, 443)
        assert not [r for r in p.by_type(OS_RULE) if "6443" in r.name]
    else:
        assert only(p, AWS_LISTENER).inputs["port"] == 8443
        assert only(p, AWS_TG).inputs["port"] == 443
        assert {a.inputs["port"] for a in p.by_type(AWS_ATTACH)} == {443}
        names = {r.name for r in p.by_type(AWS_INGRESS)}
        assert f"{name}-control-plane-in-tcp-443-from-{LB}" in names
        assert f"{name}-{LB}-in-tcp-8443-from-10.20.0.0-16-v4" in names
        assert not [n for n in names if "6443" in n]


@pytest.mark.parametrize("base", [OCTAVIA, NLB], ids=os.path.basename)
def test_without_the_role_nothing_names_a_load_balancer_and_the_endpoint_is_a_node(tmp_path, base):
    def edit(config):
        del config["kubeports:cluster"]["roles"][LB]
    stack = variant(tmp_path, base, "no-lb", edit)
    project, p = load_project(stack), plan(stack)
    assert not [r for r in p.resources if LB in r.name]
    assert not [r for r in project.resolution.rules if LB in (r.role, r.peer)]
    _, api_port = ports(project)
    assert p.outputs["api_endpoint"] == f"https://{p.outputs['control-plane_private_ips'][0]}:{api_port}"
    assert "load_balancer_address" not in p.outputs


def test_adding_a_port_the_load_balancer_forwards_adds_only_rules(tmp_path):
    """A new flow towards the balancer's targets adds rules; no listener, member or VM changes."""
    catalog = copy_catalog(str(tmp_path))
    append_flow(catalog, "load-balancer.yaml", {"name": "node-exporter", "purpose": "node exporter metrics",
                                                "protocol": "tcp", "ports": 9100, "to": ["control-plane"],
                                                "from": [LB]})
    before, after = by_name(plan(OCTAVIA)), by_name(plan(OCTAVIA, catalog))
    added = set(after) - set(before)
    assert added and all("9100" in n for n in added) and set(before) <= set(after)
    for name, res in before.items():
        assert after[name].inputs == res.inputs, name


# --- Settings ------------------------------------------------------------------------

@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["kubeports:cluster"]["roles"][LB].update(count=2),
     "roles.load-balancer.count: the load-balancer role is the cloud's load balancer and has no VMs"),
    (lambda c: c["kubeports:cluster"]["roles"][LB].update(flavor="m1.small"),
     "roles.load-balancer.flavor: the cloud's load balancer has no VMs; only protect applies"),
    (lambda c: c["kubeports:cluster"]["roles"].pop("control-plane"),
     "roles.load-balancer: the load balancer fronts the API servers; add a control-plane role"),
    (lambda c: c["kubeports:openstack"].pop("subnetCidr"),
     "kubeports:openstack.subnetCidr: a load-balancer role needs the CIDR of subnetId"),
    (lambda c: c["kubeports:openstack"].pop("floatingIpPool"),
     "kubeports:openstack.floatingIpPool: lbFloatingIp needs the external network"),
    (lambda c: c["kubeports:openstack"].update(lbProvider="f5"),
     "kubeports:openstack.lbProvider: 'f5' is not one of: amphora or ovn"),
])
def test_bad_load_balancer_settings_name_the_key(tmp_path, edit, message):
    stack = variant(tmp_path, OCTAVIA, "bad", edit)
    with pytest.raises(KubeportsError) as err:
        load_project(stack)
    assert message in str(err.value)


def test_a_range_cannot_be_a_listener_port(tmp_path):
    stack = variant(tmp_path, NLB, "range", lambda c: c["kubeports:cluster"]["ports"].update(
        {"kube-apiserver-lb": "8443-8444"}))
    with pytest.raises(KubeportsError, match="ports.kube-apiserver-lb: a listener needs one port, not the range "
                       "8443-8444"):
        load_project(stack)  # the pure core refuses it: lint, rules and plan, before any resource


def neutron_key(res) -> tuple:
    """What Neutron compares for a duplicate rule (securitygroups_db._rule_to_key): no description."""
    return tuple(sorted((k, str(v)) for k, v in res.inputs.items() if k != "description"))


@pytest.mark.parametrize("provider", ["amphora", "ovn"])
def test_a_cidr_covering_the_member_subnet_keeps_one_resource_per_neutron_rule(tmp_path, provider):
    """Issue 13 §2.1: adding the member subnet to api-clients used to rename
    `...-from-load-balancer-v4-via-10.0.0.0-24` to `...-from-10.0.0.0-24-v4`; Pulumi creates the
    new name first and Neutron refuses it (409 SecurityGroupRuleExists). Named by what is sent,
    the rule keeps its name both ways, and nothing created duplicates something deleted."""
    from kubeports.plan.compare import diff_plans

    def edit(config):
        config["kubeports:openstack"]["lbProvider"] = provider
        config["kubeports:cluster"]["cidrs"]["api-clients"].append(config["kubeports:openstack"]["subnetCidr"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()  # one stack name: the URNs of both plans are comparable
    base = variant(tmp_path / "a", OCTAVIA, provider, lambda c: c["kubeports:openstack"].__setitem__("lbProvider",
                                                                                                   provider))
    wider = variant(tmp_path / "b", OCTAVIA, provider, edit)
    for old, new in ((base, wider), (wider, base)):
        a, b = run_plan(old), run_plan(new)
        diff = diff_plans(a.to_json(), b.to_json())
        created = {neutron_key(r) for r in b.by_type(OS_RULE) if r.urn in {c.urn for c in diff.created}}
        deleted = {neutron_key(r) for r in a.by_type(OS_RULE) if r.urn in {c.urn for c in diff.deleted}}
        assert created & deleted == set()
        for plan_ in (a, b):  # and no two names carry one Neutron rule
            keys = [neutron_key(r) for r in plan_.by_type(OS_RULE)]
            assert len(keys) == len(set(keys))
    name = load_project(base).stack.cluster.name
    _, api_port = ports(load_project(base))
    rule = f"{name}-control-plane-in-tcp-{api_port}-from-10.0.0.0-24-v4"
    assert rule in by_name(run_plan(base)) and rule in by_name(run_plan(wider))
    assert by_name(run_plan(base))[rule].options["aliases"] == [
        by_name(run_plan(base))[rule].urn.replace("-from-10.0.0.0-24-v4", f"-from-{LB}-v4-via-10.0.0.0-24")]


def test_octavia_allowed_cidrs_are_sorted_as_octavia_returns_them(tmp_path):
    """Octavia returns allowed_cidrs in its primary-key order, the CIDR strings; the provider
    compares the list in order, so any other order shows an update on every run."""
    def edit(config):
        config["kubeports:cluster"]["cidrs"]["api-clients"] = ["9.0.0.0/8", "192.0.2.0/24", "100.64.0.0/10"]
    p = plan(variant(tmp_path, OCTAVIA, "clients", edit))
    assert only(p, OS_LISTENER).inputs["allowedCidrs"] == [
        "10.0.0.0/24", "100.64.0.0/10", "192.0.2.0/24", "9.0.0.0/8"]
