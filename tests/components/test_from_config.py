"""Cluster.from_config / from_stack_config: one line wires a stack as __main__.py used to by hand.

The program under test is written to tmp_path and planned offline (kubeports.plan.offline),
so it runs exactly as `pulumi up` would run it, under Pulumi's mock runtime.
"""
from __future__ import annotations

import json
import os

import pulumi
import pytest
import yaml

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.plan.offline import run_plan
from tests.plans import plan_of

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
POOL = os.path.join(ROOT, "examples", "worker-pool", "Pulumi.pool.yaml")
MAIN = "acme/kubeports/dev"

FROM_CONFIG = """
import json
from kubeports.components import Cluster
Cluster.from_config({name!r}, json.load(open({path!r}))).export()
"""


def config_of(stack_file: str, namespace: bool) -> dict:
    with open(stack_file, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    return config if namespace else {k.removeprefix("kubeports:"): v for k, v in config.items()}


def from_config_program(tmp_path, config: dict, name: str | None = None) -> str:
    data = tmp_path / "config.json"
    data.write_text(json.dumps(config))
    program = tmp_path / "__main__.py"
    program.write_text(FROM_CONFIG.format(name=name, path=str(data)))
    return str(program)


def shape(plan) -> tuple:
    return ({r.urn.split("::", 2)[2]: (r.inputs, r.options) for r in plan.resources}, plan.outputs)


@pytest.mark.parametrize("namespace", [True, False], ids=["kubeports:keys", "plain-keys"])
def test_from_config_plans_what_the_main_program_plans(tmp_path, namespace):
    program = from_config_program(tmp_path, config_of(DEV, namespace))
    assert shape(run_plan(DEV, program=program)) == shape(plan_of(DEV))


def test_keys_of_other_namespaces_are_not_ours(tmp_path):
    config = {**config_of(DEV, True), "openstack:region": "RegionOne"}
    assert shape(run_plan(DEV, program=from_config_program(tmp_path, config))) == shape(plan_of(DEV))


def test_peer_stack_is_wired_and_the_advice_is_never_peer_groups(tmp_path):
    """The snippet of old ignored kubeports:peerStack and ended in exit 70 'set kubeports:peerGroups'."""
    program = from_config_program(tmp_path, config_of(POOL, False))
    plan = run_plan(POOL, program=program, stack_outputs={MAIN: plan_of(DEV).outputs})
    [ref] = plan.by_type("pulumi:pulumi:StackReference")
    assert (ref.name, ref.inputs["name"]) == ("dev-pool-a-peer-stack", MAIN)
    groups = {r.inputs.get("remoteGroupId") for r in plan.by_type("openstack:networking/secGroupRule:SecGroupRule")}
    assert {"dev-control-plane-sg-id", "dev-worker-sg-id", "dev-pool-a-worker-sg-id"} <= groups


def test_the_name_defaults_to_the_cluster_name_and_can_be_given(tmp_path):
    plan = run_plan(DEV, program=from_config_program(tmp_path, config_of(DEV, True), name="edge"))
    [cluster] = plan.by_type("kubeports:index:Cluster")
    assert cluster.name == "edge"
    assert sorted(r.name for r in plan.by_type("kubeports:index:Worker")) == ["edge-worker"]
    [default] = plan_of(DEV).by_type("kubeports:index:Cluster")
    assert default.name == "dev"


class Counting(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[str] = []

    def new_resource(self, args):
        self.registered.append(args.name)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, []


def test_bad_config_is_one_line_per_problem_before_any_resource():
    from kubeports.components import Cluster

    mocks = Counting()
    pulumi.runtime.set_mocks(mocks, project="kubeports", stack="t", preview=False)
    config = config_of(DEV, False)
    config["cluster"] = {**config["cluster"], "roles": {"worker": {"count": -1}}}
    with pytest.raises(pulumi.RunError) as raised:
        Cluster.from_config(None, config)
    assert str(raised.value) == ("(config):1: config.kubeports:cluster.roles.worker.count: Input should be greater than "
                                 "or equal to 0")
    assert isinstance(raised.value.__context__, KubeportsError)  # what `kubeports plan` reports
    assert mocks.registered == []


def test_a_stack_file_gives_errors_their_lines(tmp_path):
    from kubeports.components import Cluster

    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  kubeports:cloud: openstack\n  kubeports:cluster:\n    name: x\n")
    with pytest.raises(pulumi.RunError) as raised:
        Cluster.from_config(None, yaml.safe_load(stack.read_text())["config"], stack_file=str(stack))
    assert str(raised.value).splitlines()[0] == f"{stack}:3: config.kubeports:cluster.cni: required"
