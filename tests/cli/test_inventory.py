"""`kubeports inventory`: kubespray's groups from a stack's outputs, exact texts.

tests/cli/data/nlb-outputs.json stands for `pulumi stack output --json` of the NLB example
stack after a `pulumi up` (hand-written: real-looking addresses, a bastion, an etcd role,
two worker pools with labels); nlb-inventory.{yaml,ini} are what kubespray gets from it.
"""
from __future__ import annotations

import json
import os
import stat

import yaml

from kubeports.core.paths import ROOT
from tests.plans import plan_of

DATA = os.path.join(ROOT, "tests", "cli", "data")
NLB = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.nlb.yaml")
OUTPUTS = os.path.join(DATA, "nlb-outputs.json")
DEV = os.path.join(ROOT, "Pulumi.dev.yaml")


def read(name: str) -> str:
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


def test_real_outputs_become_kubesprays_yaml_inventory(run_cli):
    code, out, err = run_cli("inventory", "--stack-file", NLB, "--outputs", OUTPUTS)
    assert (code, out) == (0, read("nlb-inventory.yaml")), err
    assert "mock" not in out and "mock" not in err


def test_real_outputs_become_kubesprays_ini_inventory(run_cli):
    code, out, err = run_cli("inventory", "--stack-file", NLB, "--outputs", OUTPUTS, "--format", "ini")
    assert (code, out) == (0, read("nlb-inventory.ini")), err


def test_the_groups_are_kubesprays():
    """kubespray docs/ansible/inventory.md: kube_control_plane, etcd, kube_node, bastion; k8s_cluster
    their union (calico_rr only with Calico); an etcd role is its own etcd group, never the control plane."""
    inventory = yaml.safe_load(read("nlb-inventory.yaml"))["all"]
    groups = inventory["children"]
    assert sorted(groups["kube_control_plane"]["hosts"]) == ["nlb-control-plane-0", "nlb-control-plane-1"]
    assert sorted(groups["etcd"]["hosts"]) == ["nlb-etcd-0", "nlb-etcd-1", "nlb-etcd-2"]
    assert sorted(groups["kube_node"]["hosts"]) == ["nlb-worker-0", "nlb-worker-gpu-0"]
    assert list(groups["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]
    assert sorted(groups["kubeports_worker_gpu"]["hosts"]) == ["nlb-worker-gpu-0"]
    assert inventory["hosts"]["nlb-bastion-0"] == {"ansible_host": "198.51.100.7"}  # its public address
    assert inventory["hosts"]["nlb-worker-gpu-0"]["node_labels"] == {"nvidia.com/gpu": "true", "tier": "apps"}
    assert inventory["vars"]["loadbalancer_apiserver"] == {
        "address": "nlb-load-balancer-0123456789.elb.eu-central-1.amazonaws.com", "port": 8443}


def test_an_offline_plan_gives_mock_addresses_and_says_so(run_cli):
    code, out, err = run_cli("inventory", "--stack", "dev")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "# MOCK ADDRESSES: from an offline plan (Pulumi's mock runtime); no cloud was contacted. Bootstrap with a "
        "real stack's outputs: --outputs FILE (pulumi stack output --json) or --pulumi")
    assert err.splitlines()[-1] == "note: stack dev: mock addresses from an offline plan; no cloud was contacted"
    inventory = yaml.safe_load(out)["all"]
    assert inventory["vars"] == {"kubeports_cluster": "dev", "kubeports_addresses": "mock"}
    planned = plan_of(DEV).outputs
    assert {h: v["ip"] for h, v in inventory["hosts"].items()} == {
        n["name"]: n["private_ip"] for nodes in planned["nodes"].values() for n in nodes}
    groups = inventory["children"]
    # no etcd role: etcd is stacked on the control plane; a Calico stack lists calico_rr, empty
    assert groups["etcd"] == groups["kube_control_plane"] and groups["calico_rr"] == {"hosts": {}}
    assert list(groups["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node", "calico_rr"]


def test_a_saved_plan_is_mock_too(run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(plan_of(DEV).to_json()))
    code, out, _err = run_cli("inventory", "--stack", "dev", "--outputs", str(saved), "--format", "ini")
    assert code == 0 and out.startswith("# MOCK ADDRESSES") and "kubeports_addresses=mock\n" in out


def test_outputs_from_before_the_nodes_output_still_name_every_node(run_cli, tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"control-plane_private_ips": ["10.0.0.1"], "worker_private_ips": ["10.0.0.2"]}))
    code, out, _err = run_cli("inventory", "--stack", "dev", "--outputs", str(old), "--format", "ini")
    assert code == 0
    assert out.splitlines()[2:5] == [
        "[all]",
        "dev-control-plane-0 ansible_host=10.0.0.1 ip=10.0.0.1 access_ip=10.0.0.1 etcd_member_name=dev-control-plane-0",
        "dev-worker-0 ansible_host=10.0.0.2 ip=10.0.0.2 access_ip=10.0.0.2",
    ]


def test_bad_outputs_are_one_line(run_cli, tmp_path):
    not_object = tmp_path / "list.json"
    not_object.write_text("[]")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    bad_nodes = tmp_path / "bad.json"
    bad_nodes.write_text('{"nodes": {"worker": [{"name": "w"}]}}')
    cases = {
        str(not_object): f"{not_object}:1: --outputs: expected a JSON object of stack outputs",
        str(empty): f"{empty}:1: outputs: no `nodes` (nor `<role>_private_ips`) output: not the outputs of a "
                    "kubeports stack?",
        str(bad_nodes): f"{bad_nodes}:1: nodes.worker: expected a list of {{name, private_ip, ...}}",
    }
    for path, message in cases.items():
        code, out, err = run_cli("inventory", "--stack", "dev", "--outputs", path)
        assert (code, out, err.splitlines()[-1]) == (1, "", message)


def test_pulumi_is_asked_for_the_stacks_outputs(run_cli, tmp_path, monkeypatch):
    """--pulumi runs `pulumi stack output --json --stack NAME`; a stand-in CLI records its arguments."""
    record = tmp_path / "args"
    fake = tmp_path / "pulumi"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {record}\ncat {OUTPUTS}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    code, out, err = run_cli("inventory", "--stack-file", NLB, "--pulumi", "--format", "ini")
    assert code == 0, err
    assert record.read_text() == "stack output --json --stack nlb\n"
    assert out.splitlines()[0] == "# kubeports inventory of cluster nlb, addresses from pulumi stack output --stack nlb."
    assert out.splitlines()[1:] == read("nlb-inventory.ini").splitlines()[1:]


def test_without_a_pulumi_cli_it_says_what_to_do(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, err = run_cli("inventory", "--stack", "dev", "--pulumi")
    assert (code, out, err.splitlines()[-1]) == (1, "", (
        "pulumi stack output --stack dev:1: --pulumi: no `pulumi` on PATH; where it is installed, save "
        "`pulumi stack output --json > FILE` and pass --outputs FILE"))


def test_pools_are_groups_of_their_own_and_labels_are_node_labels(run_cli):
    """examples/node-pools planned offline: kube_node holds every pool, kubeports_worker_<pool> each one."""
    stack = os.path.join(ROOT, "examples", "node-pools", "Pulumi.pools.yaml")
    code, out, err = run_cli("inventory", "--stack-file", stack, "--format", "ini")
    assert (code, out) == (0, read("pools-inventory.ini")), err
