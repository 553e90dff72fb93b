"""The component package, driven the way the Pulumi engine drives it.

`provider/` is run as the Pulumi CLI runs a Python plugin (`python provider/ <engine>`, a
process of its own); this test dials the port it prints and calls GetSchema and Construct
over gRPC, with the engine and resource monitor of tests/provider/engine.py. What a
Construct registers is compared with the offline plan of the Python program for the same
stack file (kubeports/plan/offline.py): every resource by URN, type, name, parent, inputs,
id and options, and the outputs with the program's exports.

What this proves: a program in another language that declares `kubeports:index:Cluster`
with a stack's `kubeports:*` values gets the resources the Python program creates, and
bad input is refused before any of them. What it does not: no Pulumi CLI, language host
or provider plugin ran (none can be installed here), so `pulumi package add`, the SDK it
generates and a TypeScript program using it are not exercised; neither is a cloud.
"""
from __future__ import annotations

import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import grpc
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.proto import errors_pb2, provider_pb2, provider_pb2_grpc, status_pb2
from pulumi.runtime.sync_await import _sync_await

from kubeports.core.errors import KubeportsError
from kubeports.core.notes import summarize
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project, load_stack_doc
from kubeports.plan.offline import PlanMocks, run_plan, stack_pins
from kubeports.provider.provider import VERSION
from tests.project import test_packaging
from tests.provider.engine import FakeEngine

PLUGIN = os.path.join(ROOT, "provider")
SCHEMA_FILE = os.path.join(PLUGIN, "schema.json")
TOKEN = "kubeports:index:Cluster"
STACKS = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
STACKS += sorted(glob.glob(os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.*.yaml")))
STACKS += sorted(glob.glob(os.path.join(ROOT, "examples", "node-pools", "Pulumi.*.yaml")))
DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
POOL = os.path.join(ROOT, "examples", "worker-pool", "Pulumi.pool.yaml")  # joins dev through kubeports:peerStack
installed = test_packaging.installed  # fixture: kubeports built as a wheel and installed outside the checkout


@pytest.fixture(scope="module")
def engine():
    fake = FakeEngine()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def provider(engine, tmp_path_factory):
    log = open(tmp_path_factory.mktemp("provider") / "stderr", "w+", encoding="utf-8")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, PLUGIN, engine.address], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the provider printed {port!r}, not its port; stderr: {log.seek(0) or log.read()}"
        stub = provider_pb2_grpc.ResourceProviderStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        configured = stub.Configure(provider_pb2.ConfigureRequest(acceptSecrets=True, acceptResources=True), timeout=30)
        assert (configured.acceptSecrets, configured.acceptResources, configured.acceptOutputs) == (True, True, True)
        yield stub  # configured, as the engine configures a provider before its first Construct
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def split_config(stack_file: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A stack file's config as a program in another language passes it: the `kubeports:*`
    values as the component's inputs, the rest (e.g. aws:region) as the stack's config."""
    _doc, config = load_stack_doc(stack_file)
    inputs = {k.removeprefix("kubeports:"): v for k, v in config.items() if k.startswith("kubeports:")}
    rest = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items() if not k.startswith("kubeports:")}
    return inputs, rest


def construct(provider, engine, stack: str, inputs: dict[str, Any], config: dict[str, str],
              mocks: PlanMocks, name: str, preview: bool = False) -> tuple[Any, Any]:
    """(the monitor's records, the ConstructResponse or the grpc.RpcError)."""
    monitor = engine.deployment(stack, "kubeports", mocks)
    request = provider_pb2.ConstructRequest(
        project="kubeports", stack=stack, config=config, dryRun=preview, parallel=8, monitorEndpoint=engine.address,
        type=TOKEN, name=name, parent=engine.root, inputs=_sync_await(rpc.serialize_properties(inputs, {})))
    try:
        return monitor, provider.Construct(request, timeout=120)
    except grpc.RpcError as exc:
        return monitor, exc


def construct_stack(provider, engine, stack_file: str, stack_outputs: dict[str, Any] | None = None):
    inputs, config = split_config(stack_file)
    stack = os.path.basename(stack_file)[len("Pulumi."):-len(".yaml")]
    _doc, whole = load_stack_doc(stack_file)
    mocks = PlanMocks(stack_outputs, pins=stack_pins(whole))
    return construct(provider, engine, stack, inputs, config, mocks, inputs["cluster"]["name"])


CAMEL = {"private_ip": "privateIp", "public_ip": "publicIp"}


def expected_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """The Python program's exports, as the component's outputs name them."""
    roles = sorted(outputs["nodes"])  # every local role with VMs
    out = {"securityGroupIds": outputs["security_group_ids"], "apiEndpoint": outputs["api_endpoint"],
           "privateIps": {r: outputs[f"{r}_private_ips"] for r in roles},
           "publicIps": {r: outputs[f"{r}_public_ips"] for r in roles if f"{r}_public_ips" in outputs},
           "instanceIds": {r: outputs[f"{r}_instance_ids"] for r in roles},
           "nodes": {r: [{CAMEL.get(k, k): v for k, v in node.items() if v is not None} for node in nodes]
                     for r, nodes in outputs["nodes"].items()}}
    if "load_balancer_address" in outputs:
        out["loadBalancerAddress"] = outputs["load_balancer_address"]
    return out


def input_errors(exc: grpc.RpcError) -> list[tuple[str, str]]:
    """(property path, reason) of an InputPropertiesError, as the engine reads them."""
    raw = dict(exc.trailing_metadata())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    details = errors_pb2.InputPropertiesError()
    assert status.details[0].Unpack(details)
    return [(e.property_path, e.reason) for e in details.errors]


# --- Construct registers what the Python program registers ---------------------------------------

@pytest.mark.parametrize("stack_file", STACKS, ids=os.path.basename)
def test_construct_registers_the_python_programs_resources(provider, engine, stack_file):
    plan = run_plan(stack_file)
    monitor, response = construct_stack(provider, engine, stack_file)
    assert not isinstance(response, grpc.RpcError), response.details()
    assert response.urn == f"urn:pulumi:{plan.stack}::kubeports::{TOKEN}::{split_config(stack_file)[0]['cluster']['name']}"
    registered = sorted(monitor.records, key=lambda r: r.urn)
    assert len(registered) > 20 and {r.type for r in registered} >= {TOKEN}
    assert [r.urn for r in registered] == [r.urn for r in plan.resources]
    assert registered == plan.resources  # type, name, parent, inputs, id and options of each
    assert rpc.deserialize_properties(response.state) == expected_outputs(plan.outputs)


def test_a_preview_registers_the_same_resources(provider, engine):
    """`pulumi preview` sends dryRun: the same registrations (the mock monitor still answers
    with ids and addresses, so this shows the preview path runs, not what unknowns do)."""
    inputs, config = split_config(DEV)
    _doc, whole = load_stack_doc(DEV)
    monitor, response = construct(provider, engine, "dev", inputs, config, PlanMocks(pins=stack_pins(whole)), "dev",
                                  preview=True)
    assert not isinstance(response, grpc.RpcError), response.details()
    assert sorted(monitor.records, key=lambda r: r.urn) == run_plan(DEV).resources


def test_a_stack_joining_another_reads_its_groups_through_a_stack_reference(provider, engine):
    dev = run_plan(DEV)
    peers = {"acme/kubeports/dev": dev.outputs}
    plan = run_plan(POOL, stack_outputs=peers)  # the main program, with the pool example's stack file
    monitor, response = construct_stack(provider, engine, POOL, peers)
    assert not isinstance(response, grpc.RpcError), response.details()
    registered = sorted(monitor.records, key=lambda r: r.urn)
    assert [r.options for r in registered if r.type == "pulumi:pulumi:StackReference"] == [{"read": True}]
    assert registered == plan.resources
    cp_rules = [r for r in registered if r.inputs.get("securityGroupId") == "dev-control-plane-sg-id"]
    assert cp_rules, "rules on the main stack's control-plane group, whose id came through the StackReference"


def test_the_resolvers_notes_reach_the_engine_log(provider, engine):
    construct_stack(provider, engine, DEV)
    """As the program logs them (components/wiring.py): warnings in full, the routine notes
    as one summary line naming the command that lists them."""
    notes = load_project(DEV).resolution.notes
    expected = summarize(notes, hint="`kubeports rules --stack dev -v` lists them")
    shown = [(severity, message) for severity, message in engine.logs if severity != "DEBUG"]
    assert len(expected) < len(notes) and any("-v` lists them" in line for line in expected)
    assert shown == [("INFO", f"kubeports: {line}") for line in expected]


def test_pools_and_a_load_balancer_without_counts_build_what_their_stack_file_would(provider, engine, tmp_path):
    """Role counts left out, as the schema allows: worker pools (count per pool) and the
    load-balancer role (no VMs), on the Octavia example stack."""
    _doc, config = load_stack_doc(os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.octavia.yaml"))
    roles = config["kubeports:cluster"]["roles"]
    assert "load-balancer" in roles and "count" not in roles["load-balancer"]
    roles["worker"] = {"flavor": "m1.large", "labels": {"tier": "general"},
                       "pools": {"general": {"count": 2}, "gpu": {"count": 1, "flavor": "g1.xlarge",
                                                                   "labels": {"gpu": "true"}}}}
    stack_file = tmp_path / "Pulumi.pools.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    plan = run_plan(str(stack_file))
    monitor, response = construct_stack(provider, engine, str(stack_file))
    assert not isinstance(response, grpc.RpcError), response.details()
    assert sorted(monitor.records, key=lambda r: r.urn) == plan.resources
    nodes = rpc.deserialize_properties(response.state)["nodes"]["worker"]
    assert [(n["pool"], n["labels"]) for n in nodes] == [("general", {"tier": "general"})] * 2 + [
        ("gpu", {"gpu": "true", "tier": "general"})]
    assert rpc.deserialize_properties(response.state) == expected_outputs(plan.outputs)


SITE_SPEC = """\
source: https://wiki.example/monitoring
title: Site monitoring
cidr-sets:
  monitoring: {purpose: Prometheus servers of the site}
flows:
  - {name: node-exporter, purpose: Prometheus node exporter, protocol: tcp, ports: 9100, to: [worker], from: [monitoring]}
"""


def test_extra_flows_and_a_catalog_layer_build_what_their_stack_file_would(provider, engine, tmp_path):
    """A stack's own flow and a spec directory on top of the catalog, as Construct inputs.
    A layer is relative to the stack file; inputs have none, so a relative layer is
    relative to the provider's working directory: here it is given absolute."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "monitoring.yaml").write_text(SITE_SPEC)
    _doc, config = load_stack_doc(DEV)
    cluster = config["kubeports:cluster"]
    cluster["extraFlows"] = [{"name": "backup-agent", "purpose": "Backup agent, from the backup servers",
                              "protocol": "tcp", "ports": 7000, "to": ["worker"], "from": ["admin"]}]
    cluster["cidrs"]["monitoring"] = ["198.51.100.64/26"]
    cluster["catalogs"] = ["site"]
    stack_file = tmp_path / "Pulumi.site.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    plan = run_plan(str(stack_file))
    ports = {r.inputs.get("portRangeMin") for r in plan.resources if r.type == "openstack:networking/secGroupRule:SecGroupRule"}
    assert {7000, 9100} <= ports
    inputs = {k.removeprefix("kubeports:"): v for k, v in config.items()}
    inputs["cluster"]["catalogs"] = [str(tmp_path / "site")]
    monitor, response = construct(provider, engine, "site", inputs, {}, PlanMocks(), "dev")
    assert not isinstance(response, grpc.RpcError), response.details()
    assert sorted(monitor.records, key=lambda r: r.urn) == plan.resources


def test_the_yaml_example_of_the_docs_builds_what_its_stack_file_would(provider, engine, tmp_path):
    """docs/reuse.md's YAML program, its Cluster's properties through Construct, against the
    plan of a stack file holding the same values as `kubeports:*` keys."""
    with open(os.path.join(ROOT, "docs", "reuse.md"), encoding="utf-8") as handle:
        block = re.search(r"```yaml\n(# Pulumi.yaml of a YAML program.*?)```", handle.read(), re.S)
    resource = yaml.safe_load(block.group(1))["resources"]["dev"]
    assert resource["type"] == "kubeports:Cluster"
    stack_file = tmp_path / "Pulumi.docs.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"kubeports:{k}": v for k, v in resource["properties"].items()}}))
    plan = run_plan(str(stack_file))
    monitor, response = construct(provider, engine, "docs", resource["properties"], {}, PlanMocks(), "dev")
    assert not isinstance(response, grpc.RpcError), response.details()
    assert len(plan.resources) > 20 and sorted(monitor.records, key=lambda r: r.urn) == plan.resources


# --- bad input: refused on its input's path, before any resource ---------------------------------

def test_bad_input_is_refused_per_input_and_nothing_is_registered(provider, engine):
    inputs, config = split_config(DEV)
    inputs["cluster"]["roles"]["worker"]["count"] = -1
    inputs["cluster"]["rolez"] = {}
    monitor, exc = construct(provider, engine, "dev", inputs, config, PlanMocks(), "dev")
    assert isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert input_errors(exc) == [("cluster.roles.worker.count", "Input should be greater than or equal to 0"),
                                 ("cluster.rolez", "unknown key; did you mean 'roles'?")]
    assert exc.details() == (f"{TOKEN} dev:1: config.kubeports:cluster.roles.worker.count: Input should be greater "
                             f"than or equal to 0\n{TOKEN} dev:1: config.kubeports:cluster.rolez: unknown key; "
                             "did you mean 'roles'?")
    assert monitor.records == []


def test_a_refusal_after_resolving_is_the_one_a_stack_file_gets(provider, engine):
    inputs, config = split_config(DEV)
    inputs["cluster"]["quota"] = {"neutronRules": 20}  # the quota preflight, after the rules are resolved
    monitor, exc = construct(provider, engine, "dev", inputs, config, PlanMocks(), "dev")
    with pytest.raises(KubeportsError) as in_python:  # the same config, as the Python program loads it
        load_project(f"{TOKEN} dev", config={f"kubeports:{k}": v for k, v in inputs.items()})
    (problem,) = in_python.value.problems
    assert problem.field == "config.kubeports:cluster.quota" and problem.message.startswith("Neutron quota: ")
    assert isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert input_errors(exc) == [("cluster.quota", problem.message)]
    assert exc.details() == str(problem)
    assert monitor.records == []


SECRET = {rpc._special_sig_key: rpc._special_secret_sig, "value": "ops"}
WHERE = {"peerStack": ("peerStack",), "openstack.keyPair": ("openstack", "keyPair"),
         "cluster.cidrs.admin[0]": ("cluster", "cidrs", "admin", 0)}


@pytest.mark.parametrize("path", sorted(WHERE))
@pytest.mark.parametrize("value", [SECRET, rpc.UNKNOWN], ids=["secret", "unknown"])
def test_a_secret_or_unknown_input_is_refused(provider, engine, path, value):
    """An unknown is refused where it is; a secret anywhere in an input makes the SDK hand
    the provider that whole input as one Output, so the refusal names the input."""
    inputs, config = split_config(DEV)
    parent = inputs
    for key in WHERE[path][:-1]:
        parent = parent[key]
    parent[WHERE[path][-1]] = value
    monitor, exc = construct(provider, engine, "dev", inputs, config, PlanMocks(), "dev")
    assert isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    named = WHERE[path][0] if value is SECRET else path
    assert input_errors(exc) == [(named, "must be a plain value, known before any resource exists (no Output or secret)")]
    assert monitor.records == []


def test_another_resource_type_is_refused(provider, engine):
    inputs, config = split_config(DEV)
    monitor = engine.deployment("dev", "kubeports", PlanMocks())
    request = provider_pb2.ConstructRequest(project="kubeports", stack="dev", monitorEndpoint=engine.address,
                                            type="kubeports:index:Worker", name="w", parent=engine.root)
    with pytest.raises(grpc.RpcError) as caught:
        provider.Construct(request, timeout=60)
    assert caught.value.details() == ("Unexpected <class 'pulumi.errors.RunError'>: unknown resource type "
                                      f"kubeports:index:Worker; this package has {TOKEN}")
    assert monitor.records == []


# --- the schema -----------------------------------------------------------------------------------

def test_get_schema_serves_the_checked_in_schema(provider):
    served = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        assert served == json.load(handle)
    from google.protobuf import empty_pb2
    assert provider.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == VERSION == served["version"]


def test_plugin_folder_is_what_pulumi_package_add_reads():
    with open(os.path.join(PLUGIN, "PulumiPlugin.yaml"), encoding="utf-8") as handle:
        assert [line for line in handle.read().splitlines() if line and not line.startswith("#")] == ["runtime: python"]
    with open(os.path.join(PLUGIN, "requirements.txt"), encoding="utf-8") as handle:
        assert [line for line in handle.read().splitlines() if line and not line.startswith("#")] == [".."]
    tree = ast.parse(open(os.path.join(PLUGIN, "__main__.py"), encoding="utf-8").read())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert [type(n).__name__ for n in body] == ["ImportFrom", "Expr"]
    assert body[0].module == "kubeports.provider.provider" and body[1].value.func.id == "serve"


# --- as `pulumi package add` installs it: kubeports from a wheel, the plugin folder elsewhere ------

@pytest.fixture(scope="module")
def installed_provider(engine, installed, tmp_path_factory):
    """provider/ copied out of the checkout and run with kubeports installed from its wheel
    only (what the plugin's venv holds after `pip install -r requirements.txt`)."""
    folder = tmp_path_factory.mktemp("plugin") / "provider"
    shutil.copytree(PLUGIN, folder, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    proc = subprocess.Popen([sys.executable, str(folder), engine.address], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=installed["cwd"], env=env)
    try:
        yield provider_pb2_grpc.ResourceProviderStub(grpc.insecure_channel(f"127.0.0.1:{int(proc.stdout.readline())}"))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_installed_package_serves_the_same_schema_and_resources(installed_provider, engine):
    served = json.loads(installed_provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        assert served == json.load(handle)
    plan = run_plan(DEV)
    monitor, response = construct_stack(installed_provider, engine, DEV)
    assert not isinstance(response, grpc.RpcError), response.details()
    assert sorted(monitor.records, key=lambda r: r.urn) == plan.resources
