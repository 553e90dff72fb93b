"""The offline plan: the real program under mocks, per example stack, and what edits do to it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from kubeports.core.paths import ROOT
from kubeports.plan.offline import NOTICE, run_plan
from tests.plans import (
    STACK_FILES,
    append_flow,
    by_name,
    copy_catalog,
    fingerprint,
    plan_of,
    reorder_catalog,
    rules_of,
)

INSTANCE_TYPES = ("openstack:compute/instance:Instance", "aws:ec2/instance:Instance")


def kubeports(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubeports", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.mark.parametrize("stack", STACK_FILES, ids=os.path.basename)
def test_reordered_yaml_registers_identical_urns_and_inputs(stack, tmp_path):
    catalog = copy_catalog(str(tmp_path))
    reorder_catalog(catalog, seed=len(stack))
    assert fingerprint(run_plan(stack, catalog)) == fingerprint(plan_of(stack))


@pytest.mark.parametrize("stack", STACK_FILES, ids=os.path.basename)
def test_adding_one_port_adds_exactly_its_rules_and_touches_no_instance(stack, tmp_path):
    catalog = copy_catalog(str(tmp_path))
    append_flow(catalog, "kubernetes.yaml" if "kubeadm" in open(stack).read() else "ssh.yaml",
                {"name": "node-exporter", "purpose": "node exporter metrics", "protocol": "tcp", "ports": 9100,
                 "to": ["worker"], "from": ["control-plane"]})
    old_keys = {r.key for r in rules_of(stack)}
    new_rules = [r for r in rules_of(stack, catalog) if r.key not in old_keys]
    assert new_rules, "the flow must add rules in this stack"
    config = yaml.safe_load(open(stack, encoding="utf-8"))["config"]
    cluster, cloud = config["kubeports:cluster"]["name"], config["kubeports:cloud"]
    # each new rule's resource name is `<cluster>-<key>`; AWS names a group reference once for both families
    expected = {f"{cluster}-{r.key.rsplit('-', 1)[0] if cloud == 'aws' and r.peer_kind == 'role' else r.key}"
                for r in new_rules}
    before, after = by_name(plan_of(stack)), by_name(run_plan(stack, catalog))
    assert set(before) <= set(after), "nothing is deleted"
    assert set(after) - set(before) == expected
    for name, res in before.items():
        assert after[name].inputs == res.inputs and after[name].options == res.options, name


def test_plan_command_text_says_no_cloud_was_contacted():
    result = kubeports("plan", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert NOTICE in result.stdout
    assert "+ openstack:compute/instance:Instance  dev-control-plane-0" in result.stdout
    assert "remoteGroupId: \"dev-worker-sg-id\"" in result.stdout  # cross-references name their target


def test_plan_command_json_shape_for_the_aws_stack():
    result = kubeports("plan", "--stack", "prod-aws", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["notice"] == NOTICE
    assert {"resources", "outputs"} <= set(doc)
    for res in doc["resources"]:
        assert set(res) == {"urn", "type", "name", "parent", "inputs"}
    ids = {f"{r['name']}-id" for r in doc["resources"]}
    refs = [r["inputs"]["referencedSecurityGroupId"] for r in doc["resources"]
            if "referencedSecurityGroupId" in r["inputs"]]
    assert refs and set(refs) <= ids
    assert doc["outputs"]["api_endpoint"].startswith("https://")


def test_a_bad_stack_fails_with_one_line_before_any_resource(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(open(os.path.join(ROOT, "Pulumi.dev.yaml")).read().replace("mode: ipip", "mode: ipipx"))
    result = kubeports("plan", "--stack-file", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{bad}:9: config.kubeports:cluster.cni.mode: unknown mode 'ipipx' for calico" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("stack", STACK_FILES, ids=os.path.basename)
def test_outputs_per_role(stack):
    plan = plan_of(stack)
    groups = plan.outputs["security_group_ids"]
    for role, group_id in groups.items():
        assert plan.outputs[f"{role}_instance_ids"] == sorted(
            f"{r.name}-id" for r in plan.resources if r.type in INSTANCE_TYPES and group_id.removesuffix("-sg-id")
            + "-" in r.name + "-" and r.name.rsplit("-", 1)[0] == group_id.removesuffix("-sg-id"))
        assert len(plan.outputs[f"{role}_private_ips"]) == len(plan.outputs[f"{role}_instance_ids"])


@pytest.mark.parametrize("stack", STACK_FILES, ids=os.path.basename)
def test_urns_carry_the_engine_parent_chain(stack):
    """As the engine builds them (resource.NewURN): the parent's whole qualified type, `$`, the type;
    so `pulumi state`, `--target` and aliases can use them. The root stack is no parent type."""
    plan = plan_of(stack)
    urns = {r.urn: r for r in plan.resources}
    for res in plan.resources:
        project_stack, qualified, name = res.urn.split("::")[0:2], res.urn.split("::")[2], res.urn.split("::")[3]
        assert project_stack == [f"urn:pulumi:{plan.stack}", "kubeports"] and name == res.name
        want = f"{urns[res.parent].urn.split('::')[2]}${res.type}" if res.parent else res.type
        assert qualified == want, res.urn
    cluster = yaml.safe_load(open(stack, encoding="utf-8"))["config"]["kubeports:cluster"]["name"]
    groups = [r for r in plan.resources if r.name == f"{cluster}-control-plane-sg"]
    assert [g.urn.split("::")[2] for g in groups] == [
        "kubeports:index:Cluster$kubeports:index:ControlPlane$" + groups[0].type]


def test_a_plan_captures_no_stack_and_puts_the_sdk_back(monkeypatch):
    """The SDK's per-resource stack capture is skipped while a plan runs (the mock monitor
    never reads it) and is the SDK's own again afterwards."""
    from pulumi.runtime import resource as runtime_resource

    calls = []

    def counting():
        calls.append(1)
        return runtime_resource.source_pb2.StackTrace()

    monkeypatch.setattr(runtime_resource, "_get_stack_trace", counting)
    plan = run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))
    assert plan.resources and calls == []
    assert runtime_resource._get_stack_trace is counting


def test_a_plan_checks_unknowns_without_the_sdk_closure_and_puts_it_back(monkeypatch):
    """While a plan runs, `rpc.contains_unknowns` is kubeports' acyclic one (the SDK's makes a
    function-cell cycle per call, which the paused collector never frees); it answers as
    the SDK's does, and the SDK's is back afterwards."""
    from pulumi.output import UNKNOWN
    from pulumi.runtime import rpc as runtime_rpc

    from kubeports.plan import offline

    sdk = runtime_rpc.contains_unknowns
    shared = {"a": [1, {"b": "x"}]}
    values = [None, "x", 3, [], {}, [1, [2, [3]]], {"a": {"b": [UNKNOWN]}}, [shared, shared], UNKNOWN,
              [{"a": 1}, [None, UNKNOWN]], {"k": ({"t": UNKNOWN},)}, True, 2.5]
    assert [offline._contains_unknowns(v) for v in values] == [sdk(v) for v in values]
    assert [sdk(v) for v in values] == [False, False, False, False, False, False, True, False, True, True, False,
                                        False, False]
    seen = []
    original_run = offline._run
    monkeypatch.setattr(offline, "_run", lambda *a: seen.append(runtime_rpc.contains_unknowns) or original_run(*a))
    assert run_plan(os.path.join(ROOT, "Pulumi.dev.yaml")).resources
    assert seen == [offline._contains_unknowns]
    assert runtime_rpc.contains_unknowns is sdk


def test_nothing_of_a_plan_stays_reachable_once_it_is_returned(monkeypatch):
    import gc
    import weakref

    import pulumi.resource as sdk_resource

    registered: list[weakref.ref] = []
    register = sdk_resource.register_resource
    monkeypatch.setattr(sdk_resource, "register_resource",
                        lambda res, *args, **kwargs: registered.append(weakref.ref(res)) or register(res, *args, **kwargs))
    plan = run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))
    gc.collect()
    assert (len(registered) >= len(plan.resources) > 50, [r() for r in registered if r() is not None]) == (True, [])
