"""examples/worker-pool under mocks: a second Pulumi project joins the main stack's cluster.

The main stack is planned first; its outputs answer the pool's StackReference. The pool
must create only its own group and nodes, reference the main groups by id, create the
rules the pool's flows need on the main groups, and never a rule with both ends elsewhere.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import yaml

from kubeports.core.paths import ROOT
from kubeports.core.siblings import sibling_rules
from kubeports.plan.offline import Plan, PlannedResource, run_plan, stack_name_of
from tests.plans import STACK_FILES, plan_of, rules_of

EXAMPLE = os.path.join(ROOT, "examples", "worker-pool")
PROGRAM = os.path.join(EXAMPLE, "__main__.py")
POOL_FILE = os.path.join(EXAMPLE, "Pulumi.pool.yaml")
MAIN_FILE = os.path.join(ROOT, "Pulumi.dev.yaml")
MAIN = "acme/kubeports/dev"
POOL_WORKERS = "dev-pool-a-worker-sg-id"
MAIN_CONTROL_PLANE = "dev-control-plane-sg-id"
MAIN_WORKERS = "dev-worker-sg-id"

GROUP_TYPES = ("openstack:networking/secGroup:SecGroup", "aws:ec2/securityGroup:SecurityGroup")
RULE_TYPES = ("openstack:networking/secGroupRule:SecGroupRule",
              "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
              "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
INSTANCE_TYPES = ("openstack:compute/instance:Instance", "aws:ec2/instance:Instance")


def rules_in(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type in RULE_TYPES]


def group_of(rule: PlannedResource) -> str:
    return rule.inputs["securityGroupId"]


def peer_of(rule: PlannedResource) -> str | None:
    return rule.inputs.get("remoteGroupId") or rule.inputs.get("referencedSecurityGroupId")


@functools.cache
def pool_plan(pool_file: str = POOL_FILE, main_file: str = MAIN_FILE, main: str = MAIN) -> Plan:
    return run_plan(pool_file, program=PROGRAM, stack_outputs={main: plan_of(main_file).outputs})


def by_name() -> dict[str, PlannedResource]:
    return {r.name: r for r in pool_plan().resources}


def test_the_pool_creates_its_own_worker_group_and_nodes():
    plan = pool_plan()
    assert [g.name for g in plan.resources if g.type in GROUP_TYPES] == ["dev-pool-a-worker-sg"]
    assert sorted(i.name for i in plan.resources if i.type in INSTANCE_TYPES) == ["dev-pool-a-worker-0",
                                                                                  "dev-pool-a-worker-1"]
    ports = plan.by_type("openstack:networking/port:Port")
    assert len(ports) == 2 and all(p.inputs["securityGroupIds"] == [POOL_WORKERS] for p in ports)
    assert all(i.inputs["flavorName"] == "m1.xlarge" for i in plan.by_type("openstack:compute/instance:Instance"))
    assert plan.outputs["security_group_ids"] == {"worker": POOL_WORKERS}
    assert plan.outputs["worker_instance_ids"] == ["dev-pool-a-worker-0-id", "dev-pool-a-worker-1-id"]


def test_the_main_stack_is_read_through_a_stack_reference():
    [ref] = pool_plan().by_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == MAIN and ref.options == {"read": True}  # read, never created
    assert plan_of(MAIN_FILE).outputs["security_group_ids"]["control-plane"] == MAIN_CONTROL_PLANE


def test_no_group_and_no_node_for_the_external_roles():
    names = [r.name for r in pool_plan().resources if r.type in GROUP_TYPES + INSTANCE_TYPES]
    assert not [n for n in names if "control-plane" in n]
    assert not [r for r in pool_plan().resources if r.type == "openstack:networking/port:Port"
                and "control-plane" in r.name]


def test_pool_workers_accept_the_main_control_plane_by_its_group_id():
    res = by_name()
    for family in ("v4", "v6"):
        kubelet = res[f"dev-pool-a-worker-in-tcp-10250-from-control-plane-{family}"]
        assert (group_of(kubelet), peer_of(kubelet)) == (POOL_WORKERS, MAIN_CONTROL_PLANE)
        assert kubelet.inputs["direction"] == "ingress" and kubelet.inputs["portRangeMin"] == 10250
    expected = {f"dev-pool-a-{r.key}" for r in rules_of(POOL_FILE) if r.role == "worker" and r.peer == "control-plane"}
    assert {"dev-pool-a-worker-in-proto4-from-control-plane-v4", "dev-pool-a-worker-in-tcp-179-from-control-plane-v6"} \
        <= expected
    for name in expected:
        assert (group_of(res[name]), peer_of(res[name])) == (POOL_WORKERS, MAIN_CONTROL_PLANE), name


def test_the_pool_opens_the_main_control_plane_to_its_workers():
    res = by_name()
    [cluster] = [r for r in pool_plan().resources if r.type == "kubeports:index:Cluster"]
    on_main = [r for r in rules_in(pool_plan()) if group_of(r) == MAIN_CONTROL_PLANE]
    assert {r.name for r in on_main} == {f"dev-pool-a-{r.key}" for r in rules_of(POOL_FILE)
                                         if r.role == "control-plane"}
    for family in ("v4", "v6"):
        api = res[f"dev-pool-a-control-plane-in-tcp-6443-from-worker-{family}"]
        assert api.inputs["direction"] == "ingress" and api.inputs["protocol"] == "tcp"
        assert (api.inputs["portRangeMin"], api.inputs["portRangeMax"]) == (6443, 6443)
        assert peer_of(api) == POOL_WORKERS
    assert all(r.parent == cluster.urn and peer_of(r) == POOL_WORKERS for r in on_main)
    # the main stack's open egress covers the control plane's side; nothing else lands on its group
    assert all(r.inputs["direction"] == "ingress" for r in on_main)
    assert not [r for r in on_main if r.inputs.get("remoteIpPrefix")]


def test_no_rule_has_both_ends_outside_the_pool():
    rules = rules_in(pool_plan())
    assert rules
    for rule in rules:
        assert POOL_WORKERS in (group_of(rule), peer_of(rule)), rule.name


def test_pool_and_main_workers_reach_each_other():
    worker_to_worker = [r for r in rules_of(POOL_FILE) if r.role == "worker" and r.peer == "worker"]
    assert any(r.protocol == "4" for r in worker_to_worker), "Calico IP-in-IP between workers"
    res = by_name()
    for rule in worker_to_worker:
        towards_main = res[f"dev-pool-a-{replace(rule, peer='worker-sibling').key}"]  # ...-from-worker-sibling-v4
        assert (group_of(towards_main), peer_of(towards_main)) == (POOL_WORKERS, MAIN_WORKERS)
        on_main = res[f"dev-pool-a-{replace(rule, role='worker-sibling').key}"]  # worker-sibling-in-...-from-worker
        assert (group_of(on_main), peer_of(on_main)) == (MAIN_WORKERS, POOL_WORKERS)
        assert on_main.inputs["direction"] == towards_main.inputs["direction"] == rule.direction


def test_every_rule_exactly_once():
    expected = [*rules_of(POOL_FILE), *sibling_rules(rules_of(POOL_FILE), ["worker"])]
    names = [r.name for r in rules_in(pool_plan())]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(f"dev-pool-a-{r.key}" for r in expected)


# --- the same join from every example stack, on both clouds ------------------------------------------------------

def derive_pool(main_file: str, directory: str) -> tuple[str, str]:
    """A pool stack for `main_file`: the same cluster settings, 2 local workers, every
    other role external. Returns (stack file, main stack name)."""
    with open(main_file, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    main = f"acme/kubeports/{stack_name_of(main_file)}"
    cluster = doc["config"]["kubeports:cluster"]
    external = sorted(set(cluster["roles"]) - {"worker"})
    cluster.update(name=f"{cluster['name']}-pool", roles={"worker": {"count": 2}}, externalRoles=external)
    # both stacks share one project: its quota raised, as the worker-pool example says (the
    # preflight counting both is tested below)
    cluster["quota"] = {**cluster.get("quota", {}), "neutronRules": 1000}
    doc["config"]["kubeports:peerStack"] = main
    path = os.path.join(directory, "Pulumi.pool.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle, sort_keys=False)
    return path, main


def expected_name(rule, cluster: str, cloud: str) -> str:
    # AWS: a group reference has no family, so both twins are one rule named without -v4/-v6
    key = rule.key.rsplit("-", 1)[0] if cloud == "aws" and rule.peer_kind == "role" else rule.key
    return f"{cluster}-{key}"


@pytest.mark.parametrize("main_file", STACK_FILES, ids=os.path.basename)
def test_a_pool_joins_every_example_stack(main_file, tmp_path):
    pool_file, main = derive_pool(main_file, str(tmp_path))
    with open(pool_file, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    cloud, name = config["kubeports:cloud"], config["kubeports:cluster"]["name"]
    main_ids = plan_of(main_file).outputs["security_group_ids"]
    plan = run_plan(pool_file, program=PROGRAM, stack_outputs={main: plan_of(main_file).outputs})
    own = f"{name}-worker-sg-id"
    ids = {**main_ids, "worker": own, "worker-sibling": main_ids["worker"]}

    assert [g.name for g in plan.resources if g.type in GROUP_TYPES] == [f"{name}-worker-sg"]
    assert len([i for i in plan.resources if i.type in INSTANCE_TYPES]) == 2
    resolved = rules_of(pool_file)
    assert {r.role for r in resolved} - {"worker"}, "some rules land on the main stack's groups"
    expected = {}
    for rule in [*resolved, *sibling_rules(resolved, ["worker"])]:
        expected.setdefault(expected_name(rule, name, cloud), rule)
    rules = {r.name: r for r in rules_in(plan)}
    assert len(rules) == len(rules_in(plan)) and set(rules) == set(expected)
    for rule_name, rule in expected.items():
        res = rules[rule_name]
        assert group_of(res) == ids[rule.role], rule_name
        assert peer_of(res) == (ids[rule.peer] if rule.peer_kind == "role" else None), rule_name
        assert own in (group_of(res), peer_of(res)), f"{rule_name}: both ends outside the pool"


# --- config: kubeports:peerStack names the main stack; kubeports:* validated as in the main project ----------------

def pool_with(tmp_path, edit) -> str:
    with open(POOL_FILE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    edit(doc["config"])
    path = os.path.join(tmp_path, "Pulumi.pool.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle, sort_keys=False)
    return path


def plan_error(stack_file: str, stack_outputs=None) -> str:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the engine wraps program errors in several types
        run_plan(stack_file, program=PROGRAM,
                 stack_outputs={MAIN: plan_of(MAIN_FILE).outputs} if stack_outputs is None else stack_outputs)
    return str(info.value)


def test_a_misspelt_kubeports_key_fails_like_in_the_main_project(tmp_path):
    path = pool_with(tmp_path, lambda c: c["kubeports:cluster"]["roles"]["worker"].update(cuont=2))
    assert "roles.worker.cuont" in plan_error(path)


def test_the_pool_needs_its_main_stack(tmp_path):
    def edit(config):
        del config["kubeports:peerStack"]
        config["kubeports:peerGroups"] = {"control-plane": "sg-0pinned"}  # valid, but no workers to mirror
    assert "kubeports:peerStack: required" in plan_error(pool_with(tmp_path, edit))


def test_pinned_peer_groups_win_over_the_main_stack(tmp_path):
    path = pool_with(tmp_path, lambda c: c.update({"kubeports:peerGroups": {"control-plane": "sg-0pinned"}}))
    plan = run_plan(path, program=PROGRAM, stack_outputs={MAIN: plan_of(MAIN_FILE).outputs})
    groups = {group_of(r) for r in rules_in(plan)}
    assert "sg-0pinned" in groups and MAIN_CONTROL_PLANE not in groups and MAIN_WORKERS in groups


def test_the_main_program_joins_through_peer_stack_too():
    """The main project's own program wires kubeports:peerStack exactly as the example does
    (both are Cluster.from_stack_config): the same resources, inputs and options."""
    plan = run_plan(POOL_FILE, stack_outputs={MAIN: plan_of(MAIN_FILE).outputs})
    [ref] = plan.by_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == MAIN
    api = {r.name: r for r in rules_in(plan)}["dev-pool-a-control-plane-in-tcp-6443-from-worker-v4"]
    assert (group_of(api), peer_of(api)) == (MAIN_CONTROL_PLANE, POOL_WORKERS)
    assert {r.name: r.inputs for r in plan.resources} == {r.name: r.inputs for r in pool_plan().resources}


# A program that fails halfway leaves failed Pulumi outputs behind, which asyncio reports on
# stderr when they are collected; these plans run in a child process to keep that out of the
# suite's output. The child also checks that a plan after a failed one is clean.
FAIL_THEN_PLAN = """
import json, sys
from kubeports.plan.offline import run_plan
outputs, other = json.loads(sys.argv[1]), sys.argv[2]
try:
    run_plan(sys.argv[3], program=sys.argv[4], stack_outputs=outputs)
    print("no error")
except Exception as exc:
    print("error:", exc)
print("next plan:", len(run_plan(other).resources))
"""


def fail_then_plan(stack_outputs: dict, other: str) -> str:
    result = subprocess.run([sys.executable, "-c", FAIL_THEN_PLAN, json.dumps(stack_outputs), other, POOL_FILE, PROGRAM],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"next plan: {len(plan_of(other).resources)}" in result.stdout, "a failed plan leaked into the next"
    return result.stdout


def test_a_main_stack_that_lacks_a_role_fails():
    outputs = {**plan_of(MAIN_FILE).outputs, "security_group_ids": {"worker": MAIN_WORKERS}}
    out = fail_then_plan({MAIN: outputs}, MAIN_FILE)
    assert "error:" in out and "exports no security group for role control-plane" in out


def test_an_unknown_main_stack_fails_and_the_next_plan_is_clean():
    out = fail_then_plan({}, os.path.join(ROOT, "Pulumi.aws-cilium.yaml"))
    assert "error:" in out and "no outputs given" in out


def test_the_example_stack_file_lints():
    result = subprocess.run([sys.executable, "-m", "kubeports", "lint", os.path.join(ROOT, "portspecs"), POOL_FILE],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr


def kubeports(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubeports", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_the_pool_plans_from_the_command_line(tmp_path):
    main_plan = tmp_path / "dev.json"
    main_plan.write_text(json.dumps(plan_of(MAIN_FILE).to_json()), encoding="utf-8")  # `kubeports plan --format json`
    result = kubeports("plan", "--stack-file", POOL_FILE, "--program", PROGRAM, "--format", "json",
                       "--stack-outputs", f"{MAIN}={main_plan}")
    assert result.returncode == 0, result.stderr
    resources = {r["name"]: r for r in json.loads(result.stdout)["resources"]}
    assert resources["dev-pool-a-peer-stack"]["type"] == "pulumi:pulumi:StackReference"
    api = resources["dev-pool-a-control-plane-in-tcp-6443-from-worker-v4"]["inputs"]
    assert (api["securityGroupId"], api["remoteGroupId"]) == (MAIN_CONTROL_PLANE, POOL_WORKERS)


def test_the_command_line_says_how_to_answer_a_stack_reference():
    result = kubeports("plan", "--stack-file", POOL_FILE, "--program", PROGRAM)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert any(line.startswith(f"{os.path.relpath(POOL_FILE, ROOT)}:1: StackReference {MAIN}: ")
               and f"--stack-outputs {MAIN}=FILE" in line for line in result.stderr.splitlines())


# --------------------------------------------------------------------------- shared project quota

def quota_variant(tmp_path, neutron_rules: int | None) -> str:
    with open(POOL_FILE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    cluster = data["config"]["kubeports:cluster"]
    cluster.pop("quota")
    if neutron_rules is not None:
        cluster["quota"] = {"neutronRules": neutron_rules}
    path = tmp_path / "Pulumi.pool.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def line_of(path: str, key: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return next(n for n, text in enumerate(handle, 1) if text.strip().startswith(key))


def test_the_pool_counts_the_main_stacks_quota_usage():
    main, pool = plan_of(MAIN_FILE), pool_plan()
    ours = len(rules_in(pool))
    assert pool.outputs["quota_usage"] == {
        "neutronRules": main.outputs["quota_usage"]["neutronRules"] + ours, "neutronGroups": 4, "novaServerGroups": 3}
    assert main.outputs["quota_usage"] == {"neutronRules": len(rules_in(main)) + 4, "neutronGroups": 3,
                                           "novaServerGroups": 2}


def test_a_pool_the_shared_project_cannot_hold_is_refused_before_anything_is_registered(tmp_path):
    from kubeports.core.errors import KubeportsError
    path = quota_variant(tmp_path, None)
    main = plan_of(MAIN_FILE).outputs["quota_usage"]["neutronRules"]
    ours = len(rules_in(pool_plan()))
    with pytest.raises(KubeportsError) as refused:
        run_plan(path, program=PROGRAM, stack_outputs={MAIN: plan_of(MAIN_FILE).outputs})
    assert str(refused.value) == (
        f"{path}:{line_of(path, 'kubeports:cluster:')}: config.kubeports:cluster.quota: Neutron quota: this stack's "
        f"{ours} security group rules, the {main} that stack {MAIN} holds in the project (its quota_usage output) "
        f"make {main + ours}; the project allows 100 (kubeports:cluster.quota.neutronRules)")
    assert run_plan(quota_variant(tmp_path, main + ours), program=PROGRAM,
                    stack_outputs={MAIN: plan_of(MAIN_FILE).outputs}).outputs["quota_usage"]["neutronRules"] == main + ours


def test_a_main_stack_without_quota_usage_is_not_counted_and_a_bad_one_is_refused(tmp_path):
    from kubeports.core.errors import KubeportsError
    outputs = {k: v for k, v in plan_of(MAIN_FILE).outputs.items() if k != "quota_usage"}
    plan = run_plan(POOL_FILE, program=PROGRAM, stack_outputs={MAIN: outputs})  # deployed before it was exported
    # without the main stack's count, the pool counts the default group's 4 rules, as any stack does
    assert plan.outputs["quota_usage"]["neutronRules"] == len(rules_in(plan)) + 4
    with pytest.raises(KubeportsError) as refused:
        run_plan(POOL_FILE, program=PROGRAM, stack_outputs={MAIN: {**outputs, "quota_usage": {"neutronRules": "x"}}})
    assert str(refused.value) == (
        f"examples/worker-pool/Pulumi.pool.yaml:{line_of(POOL_FILE, 'kubeports:peerStack:')}: kubeports:peerStack: "
        f"stack {MAIN}: its quota_usage output must map neutronRules, neutronGroups, novaServerGroups to counts "
        "(got {'neutronRules': 'x'})")
