"""kubeports.plan.compare: plan and rule diffs (pure; one test at the end runs real plans)."""
from __future__ import annotations

import json
import os
import re
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.paths import ROOT
from kubeports.plan import compare as plandiff
from kubeports.plan.compare import diff_plans, diff_rules, role_of, to_json, to_markdown, to_text
from kubeports.render.review import Side

OS_RULE = "openstack:networking/secGroupRule:SecGroupRule"
OS_PORT = "openstack:networking/port:Port"
OS_VM = "openstack:compute/instance:Instance"
OS_SG = "openstack:networking/secGroup:SecGroup"
AWS_VM = "aws:ec2/instance:Instance"
AWS_SG = "aws:ec2/securityGroup:SecurityGroup"
AWS_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def urn(type_: str, name: str, role: str = "Worker") -> str:
    return f"urn:pulumi:dev::kubeports::kubeports:index:Cluster$kubeports:index:{role}${type_}::{name}"


def res(type_: str, name: str, inputs: dict, options: dict | None = None, role: str = "Worker") -> dict:
    out = {"urn": urn(type_, name, role), "type": type_, "name": name, "parent": None, "inputs": inputs}
    if options:
        out["options"] = options
    return out


def plan(*resources: dict) -> dict:
    """The Plan.to_json() shape: options beside the resources, keyed by URN."""
    bare = [{k: v for k, v in r.items() if k != "options"} for r in resources]
    return {"stack": "dev", "resources": bare, "options": {r["urn"]: r["options"] for r in resources if "options" in r},
            "outputs": {}}


VM = {"name": "w-0", "flavorName": "m1.large", "keyPair": "ops", "imageId": "img-a",
      "blockDevices": [{"uuid": "img-a", "volumeSize": 80}], "metadata": {"role": "worker"},
      "networks": [{"port": "w-0-port-id"}], "userData": "#cloud-config\n"}
AWS = {"ami": "ami-1", "instanceType": "m6i.large", "subnetId": "subnet-a", "keyName": "ops",
       "rootBlockDevice": {"encrypted": True, "volumeSize": 80, "volumeType": "gp3"}, "tags": {"Name": "w-0"},
       "userData": "#cloud-config\n", "vpcSecurityGroupIds": ["sg-1"]}
RULE = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 22, "portRangeMax": 22,
        "remoteIpPrefix": "10.0.0.0/8", "securityGroupId": "sg-id", "description": "ssh"}
AWS_RULE = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
            "cidrIpv4": "10.0.0.0/8", "description": "ssh"}


def changed(base: dict, **edits) -> dict:
    out = json.loads(json.dumps(base))
    for dotted, value in edits.items():
        target = out
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is plandiff.ANY:  # delete the key
            target.pop(last)
        else:
            target[last] = value
    return out


# (case, type, old inputs, new inputs, options, expected action, paths that force a replacement)
CASES = [
    ("identical", OS_VM, VM, VM, None, None, []),
    ("neutron rule: description forces new", OS_RULE, RULE, changed(RULE, description="ssh (admins)"), None,
     "replace", ["description"]),
    ("neutron rule: port forces new", OS_RULE, RULE, changed(RULE, portRangeMax=23), None, "replace",
     ["portRangeMax"]),
    ("port: network forces new", OS_PORT, {"networkId": "n1", "name": "p"}, {"networkId": "n2", "name": "p"}, None,
     "replace", ["networkId"]),
    ("port: security groups update", OS_PORT, {"networkId": "n1", "securityGroupIds": ["a"]},
     {"networkId": "n1", "securityGroupIds": ["a", "b"]}, None, "update", []),
    ("server: key pair forces new", OS_VM, VM, changed(VM, keyPair="ops2"), None, "replace", ["keyPair"]),
    ("server: boot volume image forces new", OS_VM, VM, changed(VM, blockDevices__0__uuid="img-b"), None,
     "replace", ["blockDevices[0].uuid"]),
    ("server: user data forces new", OS_VM, VM, changed(VM, userData="x"), None, "replace", ["userData"]),
    ("server: image rebuilds in place", OS_VM, VM, changed(VM, imageId="img-b"), None, "update", []),
    ("server: flavor resizes in place", OS_VM, VM, changed(VM, flavorName="m1.xlarge"), None, "update", []),
    ("server: rename updates in place", OS_VM, VM, changed(VM, name="w-00"), None, "update", []),
    ("server: metadata updates", OS_VM, VM, changed(VM, metadata__role="w"), None, "update", []),
    ("server: ignored image is no change", OS_VM, VM, changed(VM, imageId="img-b", blockDevices__0__uuid="img-b"),
     {"ignoreChanges": ["imageId", "blockDevices"]}, "ignored", []),
    ("server: ignored in snake_case", OS_VM, VM, changed(VM, imageId="img-b"),
     {"ignoreChanges": ["image_id"]}, "ignored", []),
    ("server: ignored by wildcard path", OS_VM, VM, changed(VM, blockDevices__0__uuid="img-b"),
     {"ignoreChanges": ["blockDevices[*].uuid"]}, "ignored", []),
    ("server: ignore one, replace on another", OS_VM, VM, changed(VM, imageId="img-b", keyPair="k2"),
     {"ignoreChanges": ["imageId"]}, "replace", ["keyPair"]),
    ("secgroup: rename updates", OS_SG, {"name": "a", "description": "d"}, {"name": "b", "description": "d"}, None,
     "update", []),
    ("ec2: ami forces new", AWS_VM, AWS, changed(AWS, ami="ami-2"), None, "replace", ["ami"]),
    ("ec2: ami ignored", AWS_VM, AWS, changed(AWS, ami="ami-2"), {"ignoreChanges": ["ami"]}, "ignored", []),
    ("ec2: subnet forces new", AWS_VM, AWS, changed(AWS, subnetId="subnet-b"), None, "replace", ["subnetId"]),
    ("ec2: root encryption forces new", AWS_VM, AWS, changed(AWS, rootBlockDevice__encrypted=False), None,
     "replace", ["rootBlockDevice.encrypted"]),
    ("ec2: root size updates", AWS_VM, AWS, changed(AWS, rootBlockDevice__volumeSize=100), None, "update", []),
    ("ec2: instance type updates", AWS_VM, AWS, changed(AWS, instanceType="m6i.xlarge"), None, "update", []),
    ("ec2: user data stop/start", AWS_VM, AWS, changed(AWS, userData="y"), None, "update", []),
    ("ec2: user data replace-on-change", AWS_VM, changed(AWS, userDataReplaceOnChange=True),
     changed(AWS, userData="y", userDataReplaceOnChange=True), None, "replace", ["userData"]),
    ("ec2: tag updates", AWS_VM, AWS, changed(AWS, tags__Name="w-1"), None, "update", []),
    ("aws group: description forces new", AWS_SG, {"description": "a", "vpcId": "v"},
     {"description": "b", "vpcId": "v"}, None, "replace", ["description"]),
    ("aws group: tags update", AWS_SG, {"description": "a", "tags": {}}, {"description": "a", "tags": {"x": "1"}},
     None, "update", []),
    ("aws rule: port updates in place", AWS_IN, AWS_RULE, changed(AWS_RULE, toPort=23), None, "update", []),
    ("aws rule: cidr updates in place", AWS_IN, AWS_RULE, changed(AWS_RULE, cidrIpv4="10.1.0.0/16"), None,
     "update", []),
    ("aws rule: group forces new", AWS_IN, AWS_RULE, changed(AWS_RULE, securityGroupId="sg-2"), None, "replace",
     ["securityGroupId"]),
    ("aws rule: source kind switch forces new", AWS_IN, AWS_RULE,
     changed(AWS_RULE, cidrIpv4=plandiff.ANY, referencedSecurityGroupId="sg-9"), None, "replace",
     ["cidrIpv4", "referencedSecurityGroupId"]),
    ("unknown type: any change updates", "acme:x:Thing", {"a": 1}, {"a": 2}, None, "update", []),
]


@pytest.mark.parametrize(("case", "type_", "old", "new", "options", "action", "replacing"), CASES,
                         ids=[c[0] for c in CASES])
def test_resource_change(case, type_, old, new, options, action, replacing):
    diff = diff_plans(plan(res(type_, "r", old, options)), plan(res(type_, "r", new, options)))
    found = diff.changes + diff.ignored
    if action is None:
        assert found == () and diff.unchanged == 1 and diff.is_empty
        return
    assert [c.action for c in found] == [action]
    assert sorted(p.path for p in found[0].changes if p.replaces) == sorted(replacing)
    assert diff.is_empty == (action == "ignored")


def test_ignored_change_is_listed_but_not_a_change():
    old = plan(res(OS_VM, "cp-0", VM, {"ignoreChanges": ["imageId", "blockDevices"], "protect": True}))
    new = plan(res(OS_VM, "cp-0", changed(VM, blockDevices__0__uuid="img-b"),
                   {"ignoreChanges": ["imageId", "blockDevices"], "protect": True}))
    diff = diff_plans(old, new)
    assert diff.is_empty
    assert [c.ignored for c in diff.ignored] == [("blockDevices[0].uuid",)]
    assert "No changes (1 resources with changes held back by ignoreChanges)." in to_markdown(diff)


def test_in_place_rebuild_is_noted():
    diff = diff_plans(plan(res(OS_VM, "w", VM)), plan(res(OS_VM, "w", changed(VM, imageId="img-b"))))
    assert diff.updated[0].changes[0].note.startswith("rebuilds the server")


def test_create_delete_and_notes():
    kept = res(OS_RULE, "keep", RULE)
    gone = res(OS_VM, "cp-0", VM, {"protect": True}, role="ControlPlane")
    swap = res(OS_RULE, "swap", RULE, {"deleteBeforeReplace": True, "protect": True})
    old = plan(kept, gone, swap)
    new = plan(kept, res(OS_PORT, "w-9-port", {"networkId": "n"}),
               res(OS_RULE, "swap", changed(RULE, portRangeMin=2222), {"deleteBeforeReplace": True, "protect": True}))
    diff = diff_plans(old, new)
    assert [c.name for c in diff.created] == ["w-9-port"]
    assert [c.name for c in diff.deleted] == ["cp-0"] and "protected" in diff.deleted[0].notes[0]
    assert [c.name for c in diff.replaced] == ["swap"]
    assert any("delete before replace" in n for n in diff.replaced[0].notes)
    assert diff.unchanged == 1
    assert diff.by_role() == {"worker": {"create": 1, "replace": 1}, "control-plane": {"delete": 1}}
    text = to_markdown(diff, title="t")
    assert "| worker | 0 | 0 | 0 | 1 | 0 | 0 | 1 |" in text and "**Blocked:**" in text


def test_option_only_change_is_reported():
    diff = diff_plans(plan(res(OS_VM, "w", VM)), plan(res(OS_VM, "w", VM, {"protect": True})))
    assert [c.action for c in diff.options] == ["options"] and not diff.is_empty
    assert diff.options[0].changes[0].path == "[protect]"


def test_accepts_lists_and_plan_like_objects():
    rec = types.SimpleNamespace(urn=urn(OS_VM, "w"), type=OS_VM, name="w", inputs=VM, options={})
    rec2 = types.SimpleNamespace(urn=urn(OS_VM, "w"), type=OS_VM, name="w", inputs=changed(VM, keyPair="x"),
                                 options={})
    assert diff_plans([rec], types.SimpleNamespace(resources=[rec2])).replaced[0].name == "w"
    assert diff_plans([res(OS_VM, "w", VM)], plan(res(OS_VM, "w", VM))).is_empty


@pytest.mark.parametrize(("urn_", "role"), [
    (urn(OS_RULE, "x", "ControlPlane"), "control-plane"),
    (urn(OS_RULE, "x", "RancherServer"), "rancher-server"),
    ("urn:pulumi:dev::kubeports::kubeports:index:Cluster$openstack:networking/secGroupRule:SecGroupRule::x", None),
    ("urn:pulumi:dev::kubeports::kubeports:index:Cluster::dev", None),
    ("urn:pulumi:dev::kubeports::kubeports:index:Cluster$kubeports:index:LoadBalancer::dev-lb", "load-balancer"),
])
def test_role_of(urn_, role):
    assert role_of(urn_) == role


def rule(key: str, role: str, description: str = "d", sources: tuple = ("a.yaml:1",)) -> dict:
    return {"key": key, "role": role, "direction": "ingress", "description": description, "sources": list(sources)}


def test_rule_diff_by_key():
    old = {"rules": [rule("worker-in-tcp-80", "worker"), rule("cp-in-tcp-6443", "control-plane"),
                     rule("worker-in-tcp-443", "worker")]}
    new = {"rules": [rule("worker-in-tcp-80", "worker", sources=("a.yaml:9",)),  # moved lines: no change
                     rule("cp-in-tcp-443", "control-plane"),
                     rule("worker-in-tcp-443", "worker", description="https")]}
    diff = diff_rules(old, new)
    assert [r["key"] for r in diff.added] == ["cp-in-tcp-443"]
    assert [r["key"] for r in diff.removed] == ["cp-in-tcp-6443"]
    assert [n["key"] for _o, n in diff.changed] == ["worker-in-tcp-443"]
    assert {role: {k: len(v) for k, v in slots.items()} for role, slots in diff.by_role().items()} == {
        "control-plane": {"added": 1, "removed": 1, "changed": 0}, "worker": {"added": 0, "removed": 0, "changed": 1}}
    assert diff_rules(old, old).is_empty and diff_rules(old["rules"], old).is_empty


def test_markdown_and_json_shapes():
    rd = diff_rules({"rules": []}, {"rules": [rule("worker-in-tcp-8080-from-anywhere-v4", "worker")]})
    pd = diff_plans(plan(), plan(res(OS_RULE, "dev-worker-in-tcp-8080-from-anywhere-v4", RULE)))
    text = to_markdown(pd, rd, title="Stack dev")
    assert text.startswith("### Stack dev\n")
    assert "| worker | 1 | 0 | 0 | 1 | 0 | 0 | 0 |" in text
    assert "- + `worker-in-tcp-8080-from-anywhere-v4` — d\n" in text
    data = to_json(pd, rd)
    json.dumps(data)
    assert data["changed"] and data["roles"]["worker"]["rules_added"] == 1 and data["roles"]["worker"]["created"] == 1
    assert to_markdown() == "No changes.\n" and to_json()["changed"] is False


def test_paths_round_trip():
    for text in ('tags["kubernetes.io/cluster/dev"]', "blockDevices[0].uuid", "rootBlockDevice.encrypted", "a"):
        assert plandiff.format_path(plandiff._parse_path(text)) == text


def sdk_args_doc(type_: str) -> str | None:
    """The docstring of the *Args class of `type_` in the installed provider SDK."""
    import importlib
    import importlib.util

    package, module, name = type_.split(":")
    top = f"pulumi_{package}"
    if importlib.util.find_spec(top) is None:
        return None
    mod = importlib.import_module(f"{top}.{module.split('/')[0]}")
    return getattr(mod, f"{name}Args").__init__.__doc__ or ""


def forcing_params(doc: str) -> set[str]:
    """The arguments whose docstring says a change creates a new resource, camelCased."""
    params = re.findall(r":param [^:]*?(\w+): (.*?)(?=\n\s*:param |\Z)", doc, re.S)
    return {plandiff._camel(name) for name, text in params
            if re.search(r"creates? a new|forces? a new", " ".join(text.split()), re.I)}


OPENSTACK_TYPES = sorted(t for t in plandiff.FORCE_NEW if t.startswith("openstack:"))


@pytest.mark.parametrize("type_", OPENSTACK_TYPES)
def test_force_new_table_covers_the_sdk_docstrings(type_):
    """Every argument the installed pulumi-openstack says "creates a new" is in FORCE_NEW."""
    doc = sdk_args_doc(type_)
    if doc is None:
        pytest.skip("pulumi_openstack not installed")
    forcing = forcing_params(doc)
    assert forcing, f"{type_}: no argument of the docstring forces a new resource; is the parser broken?"
    table = plandiff.FORCE_NEW[type_]
    assert plandiff.ANY in table or forcing <= table, sorted(forcing - table)


def registered_types() -> set[str]:
    """Every cloud type the program registers in any example stack (main and examples/)."""
    pytest.importorskip("pulumi")
    import glob

    from tests.plans import STACK_FILES, plan_of
    stacks = STACK_FILES + sorted(glob.glob(os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.*.yaml")))
    return {r.type for stack in stacks for r in plan_of(stack).resources
            if not r.type.startswith(plandiff.NOT_CLOUD_TYPES)}


def test_every_registered_type_has_a_replace_table():
    """A type the program registers without a FORCE_NEW entry would show every change as an update."""
    types_ = registered_types()
    assert "openstack:loadbalancer/member:Member" in types_ and "aws:lb/targetGroup:TargetGroup" in types_
    assert sorted(types_ - set(plandiff.FORCE_NEW)) == []


PROVIDER_CASES = [
    # (type, old inputs, new inputs, replaces?)
    ("openstack:loadbalancer/listener:Listener", {"protocolPort": 443, "name": "l"}, {"protocolPort": 8443, "name": "l"},
     True),
    ("openstack:loadbalancer/listener:Listener", {"allowedCidrs": ["10.0.0.0/24"]},
     {"allowedCidrs": ["10.0.0.0/24", "9.0.0.0/8"]}, False),
    ("openstack:loadbalancer/pool:Pool", {"listenerId": "a"}, {"listenerId": "b"}, True),
    ("openstack:loadbalancer/pool:Pool", {"lbMethod": "ROUND_ROBIN"}, {"lbMethod": "SOURCE_IP_PORT"}, False),
    ("openstack:loadbalancer/member:Member", {"address": "10.0.0.5"}, {"address": "10.0.0.6"}, True),
    ("openstack:loadbalancer/member:Member", {"weight": 1}, {"weight": 2}, False),
    ("openstack:loadbalancer/monitor:Monitor", {"delay": 10}, {"delay": 5}, False),
    ("openstack:loadbalancer/loadBalancer:LoadBalancer", {"vipSubnetId": "a"}, {"vipSubnetId": "b"}, True),
    ("openstack:networking/floatingIp:FloatingIp", {"pool": "a"}, {"pool": "b"}, True),
    ("openstack:networking/floatingIpAssociate:FloatingIpAssociate", {"portId": "a"}, {"portId": "b"}, False),
    ("openstack:networking/secGroup:SecGroup", {"deleteDefaultRules": True}, {"deleteDefaultRules": False}, True),
    ("openstack:networking/port:Port", {"valueSpecs": {"a": "1"}}, {"valueSpecs": {"a": "2"}}, True),
    ("openstack:networking/port:Port", {"portSecurityEnabled": None}, {"portSecurityEnabled": True}, False),
    ("aws:lb/targetGroup:TargetGroup", {"port": 6443}, {"port": 443}, True),
    ("aws:lb/targetGroup:TargetGroup", {"protocol": "TCP"}, {"protocol": "TLS"}, True),
    ("aws:lb/targetGroup:TargetGroup", {"vpcId": "a"}, {"vpcId": "b"}, True),
    ("aws:lb/targetGroup:TargetGroup", {"healthCheck": {"interval": 10}}, {"healthCheck": {"interval": 30}}, False),
    ("aws:lb/targetGroupAttachment:TargetGroupAttachment", {"port": 6443}, {"port": 443}, True),
    ("aws:lb/loadBalancer:LoadBalancer", {"internal": True}, {"internal": False}, True),
    ("aws:lb/loadBalancer:LoadBalancer", {"loadBalancerType": "network", "subnets": ["a", "b"]},
     {"loadBalancerType": "network", "subnets": ["a"]}, True),
    ("aws:lb/loadBalancer:LoadBalancer", {"tags": {"a": "1"}}, {"tags": {"a": "2"}}, False),
    ("aws:lb/listener:Listener", {"port": 443}, {"port": 8443}, False),
    ("aws:ec2/eip:Eip", {"domain": "vpc", "tags": {}}, {"domain": "standard", "tags": {}}, True),
    ("aws:ec2/eipAssociation:EipAssociation", {"instanceId": "i-1"}, {"instanceId": "i-2"}, True),
]


@pytest.mark.parametrize(("type_", "old", "new", "replaces"), PROVIDER_CASES,
                         ids=[f"{c[0].split(':')[-1]}-{next(iter(c[2]))}-{c[3]}" for c in PROVIDER_CASES])
def test_load_balancer_floating_ip_and_eip_changes(type_, old, new, replaces):
    diff = diff_plans(plan(res(type_, "r", old)), plan(res(type_, "r", new)))
    assert [c.action for c in diff.changes] == ["replace" if replaces else "update"]


@pytest.mark.parametrize(("type_", "inputs", "options", "note"), [
    (OS_PORT, {"name": "w-0", "networkId": "n1"}, None, plandiff.DELETE_FIRST_NOTE),
    ("openstack:compute/serverGroup:ServerGroup", {"name": "g", "policies": "soft-anti-affinity"}, None,
     plandiff.DELETE_FIRST_NOTE),
    (OS_PORT, {"networkId": "n1"}, None, None),  # autonamed: create before delete
    (OS_RULE, dict(RULE), None, None),  # no `name` in its schema: never by the bridge
    (OS_RULE, dict(RULE), {"deleteBeforeReplace": True}, "delete before replace: the old one goes first"),
    (AWS_SG, {"name": "g", "description": "a", "vpcId": "v"}, None, None),
])
def test_an_explicitly_named_openstack_resource_is_deleted_first(type_, inputs, options, note):
    """pulumi-terraform-bridge nameRequiresDeleteBeforeReplace: the diff says so."""
    key = {OS_PORT: "networkId", OS_RULE: "portRangeMax", AWS_SG: "vpcId"}.get(type_, "policies")
    new = {**inputs, key: "changed"}
    diff = diff_plans(plan(res(type_, "r", inputs, options)), plan(res(type_, "r", new, options)))
    (change,) = diff.replaced
    assert [n for n in change.notes if "delete" in n] == ([note] if note else [])


def test_an_alias_carries_a_resource_to_its_new_urn():
    """The engine follows an alias: the old name is not deleted, the new one not created."""
    old = res(OS_RULE, "dev-worker-in-tcp-22-from-load-balancer-v4-via-10.0.0.0-24", RULE)
    new = res(OS_RULE, "dev-worker-in-tcp-22-from-10.0.0.0-24-v4", RULE, {"aliases": [old["urn"]]})
    diff = diff_plans(plan(old), plan(new))
    assert diff.is_empty and diff.unchanged == 1
    moved = res(OS_RULE, new["name"], changed(RULE, description="other"), {"aliases": [old["urn"]]})
    diff = diff_plans(plan(old), plan(moved))
    assert [(c.action, c.name) for c in diff.changes] == [("replace", new["name"])]
    assert [c.name for c in diff_plans(plan(old), plan(res(OS_RULE, new["name"], RULE))).changes] == [
        new["name"], old["name"]]  # without the alias: a create and a delete


def test_real_plans_diff():
    """Two offline plans of the dev stack: identical -> empty; one more worker -> its port
    and server only, nothing replaced."""
    pytest.importorskip("pulumi")
    import tempfile

    import yaml

    from kubeports.core.paths import ROOT
    from kubeports.plan.offline import run_plan

    base = run_plan(os.path.join(ROOT, "Pulumi.dev.yaml")).to_json()
    assert diff_plans(base, run_plan(os.path.join(ROOT, "Pulumi.dev.yaml")).to_json()).is_empty
    doc = yaml.safe_load(open(os.path.join(ROOT, "Pulumi.dev.yaml"), encoding="utf-8"))
    doc["config"]["kubeports:cluster"]["roles"]["worker"]["count"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "Pulumi.dev.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh)
        new = run_plan(path).to_json()
        diff = diff_plans(base, new)
    (server,) = [r for r in new["resources"] if r["name"] == "dev-worker-3"]
    generation = server["inputs"]["metadata"]["kubeports-generation"]  # the port is named by it
    assert sorted(c.name for c in diff.created) == ["dev-worker-3", f"dev-worker-3-port-{generation}"]
    assert not (diff.deleted or diff.replaced or diff.updated)


# --- the review comment (kubeports.render.review through compare.to_markdown/to_text) -------
def prule(role: str, proto: str, low: int | None, high: int | None, peer: dict, purpose: str = "NodePort",
          direction: str = "ingress", ethertype: str = "IPv4") -> dict:
    peer_text = peer.get("role") or ("anywhere" if peer.get("cidr") in ("0.0.0.0/0", "::/0")
                                     else peer["cidr"].replace("/", "-"))
    ports = "all" if low is None else (str(low) if low == high else f"{low}-{high}")
    key = f"{role}-{'in' if direction == 'ingress' else 'out'}-{proto}-{ports}-from-{peer_text}-" \
          f"{'v4' if ethertype == 'IPv4' else 'v6'}"
    return {"key": key, "role": role, "direction": direction, "protocol": proto, "from_port": low, "to_port": high,
            "peer": peer, "ethertype": ethertype, "description": purpose, "sources": ["k.yaml:1"]}


def review(old_rules: list, new_rules: list, old_ctx: dict | None = None, new_ctx: dict | None = None,
           old_plan: dict | None = None, new_plan: dict | None = None, usage: tuple = ({}, {}),
           fmt=to_markdown) -> str:
    return fmt(diff_plans(old_plan or plan(), new_plan or plan()), diff_rules(old_rules, new_rules),
               title="Stack dev: main → feature",
               base=Side(tuple(old_rules), old_ctx or {}, usage[0]), head=Side(tuple(new_rules), new_ctx or {}, usage[1]))


def security(text: str) -> list[str]:
    block = text.split("**Security-relevant changes**\n\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


LAN = {"cidr": "198.51.100.0/24"}
NODEPORT_PEERS = [LAN, {"role": "worker"}, {"role": "control-plane"}, {"role": "load-balancer"}, {"role": "etcd"}]


@pytest.mark.parametrize(("case", "old", "new", "expected"), [
    ("opened to the world", [prule("worker", "tcp", 30000, 32767, LAN)],
     [prule("worker", "tcp", 30000, 32767, LAN), prule("worker", "tcp", 30000, 32767, {"cidr": "0.0.0.0/0"})],
     ["- **Reachable from the world:** worker in tcp 30000\\-32767 from 0\\.0\\.0\\.0/0 (NodePort)"]),
    ("a new CIDR", [prule("worker", "tcp", 443, 443, LAN, "HTTPS")],
     [prule("worker", "tcp", 443, 443, LAN, "HTTPS"), prule("worker", "tcp", 443, 443, {"cidr": "203.0.113.0/24"}, "HTTPS")],
     ["- **Reachable from a new CIDR:** worker in tcp 443 from 203\\.0\\.113\\.0/24 (HTTPS)"]),
    ("a new role", [], [prule("etcd", "tcp", 9100, 9100, {"role": "worker"}, "metrics")],
     ["- **Reachable from a new role:** etcd in tcp 9100 from worker (metrics)"]),
    ("a narrower range from the same peer is not wider", [prule("worker", "tcp", 30000, 32767, LAN)],
     [prule("worker", "tcp", 31000, 31999, LAN)], []),
    ("a removed rule is not wider", [prule("worker", "tcp", 443, 443, LAN)], [], []),
])
def test_the_comment_calls_out_wider_peers(case, old, new, expected):
    assert [line for line in security(review(old, new)) if "Reachable" in line] == expected


def test_security_block_says_none_when_nothing_matters():
    text = review([prule("worker", "tcp", 443, 443, LAN)], [])
    assert security(text) == ["None: no wider peer, sensitive port, egress, quota, instance or volume change."]


def test_a_moved_range_is_one_line_naming_the_port():
    old = [prule("worker", proto, 30000, 32767, peer) for proto in ("tcp", "udp") for peer in NODEPORT_PEERS]
    new = [prule("worker", proto, 31000, 31999, peer) for proto in ("tcp", "udp") for peer in NODEPORT_PEERS]
    ctx = {"named": {"nodeport-range": [[30000, 32767]]}}
    text = review(old, new, ctx, {**ctx, "overrides": {"nodeport-range": [31000, 31999]}})
    groups = text.split("**Changes by flow and port**\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert groups == ["- ~ `nodeport-range` 30000\\-32767 → 31000\\-31999 (10 rules replaced on worker)"]
    assert security(text)[0].startswith("None")
    plain = review(old, new, ctx, {**ctx, "overrides": {"nodeport-range": [31000, 31999]}}, fmt=to_text)
    assert "  ~ nodeport-range 30000-32767 → 31000-31999 (10 rules replaced on worker)\n" in plain


def test_sensitive_ports_egress_and_quota():
    ctx = {"sensitive": [[10250, 10250]], "egress": "open", "cloud": "openstack", "quota": {"neutronRules": 100}}
    old = [prule("worker", "tcp", 10250, 10250, {"role": "control-plane"}, "Kubelet API")]
    new = old + [prule("worker", "tcp", 10000, 11000, {"role": "worker"}, "debug"),
                 prule("worker", "all", None, None, {"cidr": "0.0.0.0/0"}, "egress", direction="egress")]
    lines = security(review(old, new, ctx, {**ctx, "egress": "strict"}, usage=({"project": 90}, {"project": 97})))
    assert lines == [
        "- **Reachable from a new role:** worker in tcp 10000\\-11000 from worker (debug)",
        "- **Sensitive port touched:** + worker in tcp 10000\\-11000 from worker (debug)",
        "- **Egress posture:** open → strict (1 egress rules added, 0 removed)",
        "- **Quota headroom:** project uses 97 of 100 Neutron rules per project (headroom 10 → 3)",
    ]
    roomy = security(review(new, old, ctx, ctx, usage=({"project": 97}, {"project": 90})))
    assert not any("Quota" in line for line in roomy)


def test_instances_replaced_deleted_and_delete_first():
    old = plan(res(OS_VM, "w-0", VM), res(OS_VM, "w-1", VM),
               res(OS_RULE, "r", RULE, {"deleteBeforeReplace": True}))
    new = plan(res(OS_VM, "w-0", changed(VM, keyPair="ops2")),
               res(OS_RULE, "r", changed(RULE, portRangeMax=23), {"deleteBeforeReplace": True}))
    assert security(review([], [], old_plan=old, new_plan=new)) == [
        "- **Deleted:** openstack\\.compute\\.Instance `w-1`",
        "- **Replaced:** openstack\\.compute\\.Instance `w-0` (forced by keyPair)",
        "- **Delete-first replacement:** openstack\\.networking\\.SecGroupRule `r` is deleted before its "
        "replacement exists",
    ]


def test_rules_in_numeric_port_order():
    new = [prule("worker", "tcp", 10250, 10250, {"role": "worker"}), prule("worker", "tcp", 179, 179, {"role": "worker"}),
           prule("worker", "tcp", 9100, 9100, {"role": "worker"})]
    text = review([], new)
    keys = re.findall(r"- \+ `(worker-in-tcp-\d+)-from", text)
    assert keys == ["worker-in-tcp-179", "worker-in-tcp-9100", "worker-in-tcp-10250"]


def test_text_has_the_same_sections_and_no_markup():
    old = [prule("worker", "tcp", 30000, 32767, LAN)]
    new = old + [prule("worker", "tcp", 30000, 32767, {"cidr": "0.0.0.0/0"}, "NodePort </details> <!-- *x*")]
    md, plain = review(old, new), review(old, new, fmt=to_text)
    assert plain.splitlines()[:2] == ["Stack dev: main → feature", "========================="]
    for heading in ("Security-relevant changes", "Summary", "Changes by flow and port", "Rules: 1 added, 0 removed"):
        assert heading in md and heading in plain
    assert "  ! Reachable from the world: worker in tcp 30000-32767 from 0.0.0.0/0 (NodePort </details> <!-- *x*)\n" \
        in plain
    assert not re.search(r"<details>|<summary>|\*\*|\| ---|`", plain)
    import cmarkgfm
    from cmarkgfm.cmark import Options

    page = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    assert "<!--" not in page and page.count("<details>") == page.count("</details>") == 1
    assert page.rstrip().endswith("</details>")  # the purpose closed nothing: the rules section is last


OWN_TAGS = {"h3", "p", "strong", "ul", "li", "code", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
            "br"}


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40))
def test_no_purpose_creates_markup(purpose):
    """Whatever a purpose holds, GitHub's renderer (raw HTML allowed) shows it as text."""
    import html as html_

    import cmarkgfm
    from cmarkgfm.cmark import Options

    old = [prule("worker", "tcp", 443, 443, LAN, "x")]
    new = [prule("worker", "tcp", 443, 443, {"cidr": "0.0.0.0/0"}, purpose)]
    page = cmarkgfm.github_flavored_markdown_to_html(review(old, new), options=Options.CMARK_OPT_UNSAFE)
    assert set(re.findall(r"</?([a-zA-Z0-9]+)", page)) <= OWN_TAGS
    assert "<!--" not in page
    shown = " ".join(purpose.translate({c: " " for c in [*range(32), 127, 0x2028, 0x2029]}).split())
    text = " ".join(html_.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert shown in text


def test_a_rule_remote_left_out_keeps_the_state_and_changes_nothing():
    """remote_ip_prefix is Optional+Computed: the anywhere rule sent without a prefix (issue 18)
    is no change against a plan that sent `0.0.0.0/0`, while a new prefix still replaces."""
    rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 443, "portRangeMax": 443,
            "securityGroupId": "sg-id", "description": "https"}
    old = plan(res(OS_RULE, "https", {**rule, "remoteIpPrefix": "0.0.0.0/0"}))
    same = diff_plans(old, plan(res(OS_RULE, "https", rule)))
    assert (same.replaced, same.updated, same.unchanged) == ((), (), 1)
    moved = diff_plans(old, plan(res(OS_RULE, "https", {**rule, "remoteIpPrefix": "10.0.0.0/8"})))
    assert [c.name for c in moved.replaced] == ["https"]


def test_aws_quota_headroom_counts_a_roles_groups():
    """kubeports:aws.groupsPerRole: a role's rules are spread over its groups, so its headroom is
    theirs together (the quota preflight has already checked each group; the load balancer has one)."""
    ctx = {"cloud": "aws", "quota": {"awsRulesPerGroup": 60, "awsGroupsPerRole": 4}}
    new = [prule("worker", "tcp", 9100, 9100, {"role": "worker"}, "metrics")]
    usage = ({"worker ingress IPv4": 200, "load-balancer ingress IPv4": 50},
             {"worker ingress IPv4": 230, "load-balancer ingress IPv4": 57})
    lines = [line for line in security(review([], new, ctx, ctx, usage=usage)) if "Quota" in line]
    assert lines == [
        "- **Quota headroom:** worker ingress IPv4 uses 230 of 60 x 4 groups AWS rules per group, direction and "
        "family (headroom 40 → 10)",
        "- **Quota headroom:** load\\-balancer ingress IPv4 uses 57 of 60 AWS rules per group, direction and family "
        "(headroom 10 → 3)",
    ]
    one = {"cloud": "aws", "quota": {"awsRulesPerGroup": 60}}
    assert any("worker ingress IPv4 uses 230 of 60 AWS" in line and "over quota" in line
               for line in security(review([], new, one, one, usage=usage)))
