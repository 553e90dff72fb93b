"""The OpenStack backend under Pulumi mocks: groups, rules, ports, servers, per example stack."""
from __future__ import annotations

import os

import pytest
import yaml

from kubeports.components.clouds import openstack as openstack_backend
from kubeports.core.cloudcheck import cloud_problems
from kubeports.core.paths import ROOT, display_path
from kubeports.core.rules import Rule
from tests.plans import append_flow, by_name, copy_catalog, plan_of, rules_of, stacks_of

STACKS = stacks_of("openstack")
SG = "openstack:networking/secGroup:SecGroup"
RULE = "openstack:networking/secGroupRule:SecGroupRule"
PORT = "openstack:networking/port:Port"
SERVER = "openstack:compute/instance:Instance"
SERVER_GROUP = "openstack:compute/serverGroup:ServerGroup"


def cluster_of(stack_file: str) -> dict:
    with open(stack_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["config"]["kubeports:cluster"]


def expected_neutron(rule, cluster: str) -> dict:
    """Neutron's reading of a rule, stated independently of components/clouds/openstack.py."""
    want = {"direction": rule.direction, "ethertype": rule.ethertype,
            "securityGroupId": f"{cluster}-{rule.role}-sg-id", "description": rule.description}
    if rule.protocol != "all":
        want["protocol"] = {"icmpv6": "ipv6-icmp"}.get(rule.protocol, rule.protocol)
    full = rule.protocol in ("tcp", "udp") and (rule.from_port, rule.to_port) == (1, 65535)  # Neutron: no range
    if rule.from_port is not None and not full:
        want["portRangeMin"] = rule.from_port
    if rule.to_port is not None and not full:
        want["portRangeMax"] = rule.to_port
    if rule.peer_kind == "role":
        want["remoteGroupId"] = f"{cluster}-{rule.peer}-sg-id"
    elif rule.peer not in ("0.0.0.0/0", "::/0"):  # anywhere: no prefix, as Neutron's default rules
        want["remoteIpPrefix"] = rule.peer
    return want


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_one_group_per_role_with_default_rules_deleted(stack):
    cluster = cluster_of(stack)
    groups = plan_of(stack).by_type(SG)
    assert sorted(g.name for g in groups) == sorted(f"{cluster['name']}-{r}-sg" for r in cluster["roles"])
    assert all(g.inputs["deleteDefaultRules"] is True for g in groups)
    assert all("rules" not in g.inputs for g in groups)


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_every_resolved_rule_exactly_once_with_neutron_fields(stack):
    name = cluster_of(stack)["name"]
    rules = rules_of(stack)
    planned = plan_of(stack).by_type(RULE)
    assert len(planned) == len(rules)
    resources = {r.name: r for r in planned}
    for rule in rules:
        res = resources[f"{name}-{rule.key}"]
        assert res.inputs == expected_neutron(rule, name), rule.key
        assert res.options.get("deleteBeforeReplace") is True
        assert res.parent and res.parent.endswith(f"::{name}-{rule.role}")


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_no_resource_for_an_absent_role(stack):
    cluster = cluster_of(stack)
    absent = {"control-plane", "worker", "etcd", "rancher-server", "registry", "bastion"} - set(cluster["roles"])
    for res in plan_of(stack).resources:
        for role in absent:
            assert not res.name.startswith(f"{cluster['name']}-{role}-"), res.name
            assert f"-from-{role}-" not in res.name and f"-to-{role}-" not in res.name, res.name


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_servers_per_role_sit_on_a_port_with_the_role_group(stack):
    cluster = cluster_of(stack)
    name = cluster["name"]
    plan = plan_of(stack)
    resources = by_name(plan)
    for role, settings in cluster["roles"].items():
        servers = [r for r in plan.by_type(SERVER) if r.name.startswith(f"{name}-{role}-")]
        assert len(servers) == settings["count"]
        for server in servers:
            port = resources[f"{server.name}-port-{server.inputs['metadata']['kubeports-generation']}"]
            assert server.inputs["networks"] == [{"port": f"{port.name}-id"}]
            assert port.inputs["securityGroupIds"] == [f"{name}-{role}-sg-id"]
            assert server.inputs["schedulerHints"] == [{"group": f"{name}-{role}-servers-id"}]
            assert server.options.get("protect", False) == settings.get("protect", False)
        group = resources[f"{name}-{role}-servers"]
        assert group.type == SERVER_GROUP and group.inputs["policies"] == "soft-anti-affinity"


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_unpinned_images_are_held_on_every_server(stack):
    """No example stack pins an image id: every server keeps the image it was created with
    (tests/components/test_lifecycle.py covers pins and rollouts)."""
    for server in plan_of(stack).by_type(SERVER):
        assert server.options.get("ignoreChanges") == ["imageId", "blockDevices"], server.name


def test_boot_from_volume_uses_the_looked_up_image():
    stack = next(s for s in STACKS if s.endswith("Pulumi.dev.yaml"))
    for server in plan_of(stack).by_type(SERVER):
        assert "imageId" not in server.inputs
        (device,) = server.inputs["blockDevices"]
        assert device["uuid"] == "image-ubuntu-24.04-id" and device["volumeSize"] == 80


def native_routing_stack(tmp_path, routes: bool) -> str:
    base = next(s for s in STACKS if s.endswith("Pulumi.dev.yaml"))
    with open(base, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["config"]["kubeports:cluster"]["cni"] = {"name": "calico", "mode": "bgp" if routes else "vxlan"}
    path = tmp_path / "Pulumi.native.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("routes", [True, False])
def test_pod_cidr_is_an_allowed_address_pair_only_when_pods_are_routed(tmp_path, routes):
    plan = plan_of(native_routing_stack(tmp_path, routes))
    for port in plan.by_type(PORT):
        pairs = port.inputs.get("allowedAddressPairs")
        assert pairs == ([{"ipAddress": "10.244.0.0/16"}, {"ipAddress": "fd00:10:244::/56"}] if routes else None)


def test_kube_vip_vip_is_an_allowed_address_pair_of_the_control_plane_ports_only():
    """issue 12 item 8: the offline stack's kube-vip address 10.0.0.10 (flannel VXLAN: no pod CIDR pairs)."""
    plan = plan_of(next(s for s in STACKS if s.endswith("Pulumi.offline.yaml")))
    ports = plan.by_type(PORT)
    assert ports
    for port in ports:
        want = [{"ipAddress": "10.0.0.10"}] if port.name.startswith("offline-control-plane-") else None
        assert port.inputs.get("allowedAddressPairs") == want, port.name


def test_port_spec_changes_never_reach_a_server():
    """Servers depend on the group id only, never on a rule: no rule input is a server input."""
    stack = next(s for s in STACKS if s.endswith("Pulumi.dev.yaml"))
    rule_ids = {f"{r.name}-id" for r in plan_of(stack).by_type(RULE)}
    for res in plan_of(stack).resources:
        if res.type in (SERVER, PORT):
            assert not any(rid in repr(res.inputs) for rid in rule_ids)


def a_rule(protocol: str, low, high, family: str = "IPv4") -> Rule:
    return Rule("worker", "ingress", protocol, low, high, "cidr", "10.0.0.0/8" if family == "IPv4" else "fd00::/8",
                family, "a test rule", ())


@pytest.mark.parametrize(("protocol", "low", "high", "sent"), [
    ("tcp", 1, 65535, {}),  # Neutron stores it as no range; 1/65535 would read back 0/0 and replace every run
    ("udp", 1, 65535, {}),
    ("tcp", 1, 65534, {"port_range_min": 1, "port_range_max": 65534}),
    ("tcp", 2, 65535, {"port_range_min": 2, "port_range_max": 65535}),
    ("tcp", 6443, 6443, {"port_range_min": 6443, "port_range_max": 6443}),
    ("icmp", 8, 0, {"port_range_min": 8, "port_range_max": 0}),  # echo request: code 0 is its only code
    ("icmp", None, None, {}),
])
def test_ports_as_the_provider_sends_them(protocol, low, high, sent):
    args = openstack_backend.rule_args(a_rule(protocol, low, high), "sg", None)
    assert {k: v for k, v in args.items() if k.startswith("port_range")} == sent
    assert args["protocol"] == protocol


@pytest.mark.parametrize(("protocol", "low", "high", "family", "message"), [
    ("icmp", 3, None, "IPv4", "worker-in-icmp-type3-from-10.0.0.0-8-v4: ICMP type 3 without a code cannot be sent by "
     "the OpenStack provider (port_range_max is required with port_range_min); use all ICMP (no icmp:) or a message "
     "with a code"),
    ("icmpv6", 1, None, "IPv6", "worker-in-icmpv6-type1-from-fd00..-8-v6: ICMP type 1 without a code cannot be sent "
     "by the OpenStack provider (port_range_max is required with port_range_min); use all ICMP (no icmp:) or a "
     "message with a code"),
    ("icmp", 0, 0, "IPv4", "worker-in-icmp-type0-code0-from-10.0.0.0-8-v4: ICMP type 0 cannot reach Neutron through "
     "the OpenStack provider (gophercloud drops a 0 port), so the rule would admit all ICMP; use all ICMP knowingly "
     "(no icmp:) or leave it out"),
    ("icmp", 3, 0, "IPv4", "worker-in-icmp-type3-code0-from-10.0.0.0-8-v4: ICMP code 0 of type 3 would arrive as "
     "every code of that type (gophercloud drops a 0 port); leave the code out only where that is meant"),
])
def test_icmp_the_openstack_provider_cannot_send_is_refused_before_anything_is_registered(protocol, low, high, family,
                                                                                            message):
    rule = a_rule(protocol, low, high, family)
    assert cloud_problems("openstack", (rule,)) == [message]
    assert cloud_problems("aws", (rule,)) == []  # AWS takes -1 for any code
    with pytest.raises(ValueError):
        openstack_backend.rule_args(rule, "sg", None)


@pytest.mark.parametrize(("protocol", "low", "high", "family"), [
    ("icmp", 8, 0, "IPv4"), ("icmpv6", 128, 0, "IPv6"), ("icmpv6", 129, 0, "IPv6"), ("icmp", 11, 1, "IPv4"),
    ("icmp", None, None, "IPv4")])
def test_icmp_the_openstack_provider_sends_as_meant_passes(protocol, low, high, family):
    assert cloud_problems("openstack", (a_rule(protocol, low, high, family),)) == []


def test_a_stack_asking_for_destination_unreachable_on_openstack_gets_one_line(tmp_path, run_cli):
    catalog = copy_catalog(str(tmp_path))
    append_flow(catalog, "ssh.yaml", {"name": "unreachable", "purpose": "path MTU discovery", "protocol": "icmp",
                                      "icmp": "destination-unreachable", "to": ["worker"], "from": ["control-plane"]})
    stack = os.path.join(ROOT, "Pulumi.dev.yaml")
    line = open(stack, encoding="utf-8").read().splitlines().index(
        next(ln for ln in open(stack, encoding="utf-8").read().splitlines() if ln.startswith("  kubeports:cloud:"))) + 1
    code, out, err = run_cli("rules", "--stack", "dev", "--replace-catalog", catalog)
    assert (code, out) == (1, "")
    assert err.splitlines()[0].startswith(f"{display_path(stack)}:{line}: kubeports:cloud: worker-in-icmp-type3-from-"
                                          "control-plane-v4: ICMP type 3 without a code cannot be sent")
    assert "Traceback" not in err


@pytest.mark.parametrize("stack", STACKS, ids=os.path.basename)
def test_ports_set_port_security_explicitly(stack):
    """A network whose default is port_security_enabled=false refuses ports with groups or
    address pairs (PortSecurityAndIPRequiredForSecurityGroups): the port says it."""
    ports = plan_of(stack).by_type(PORT)
    assert ports and all(p.inputs["portSecurityEnabled"] is True for p in ports)
