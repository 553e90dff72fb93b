"""Node pools: several named pools of a role in one stack, sharing the role's security group.

Planned offline (the real program under Pulumi's mock runtime) and compared with
kubeports.plan.compare, as `kubeports diff` does: turning a role's nodes into its
`default` pool changes nothing, adding a pool only adds its nodes, each pool rolls out alone.
"""
from __future__ import annotations

import os

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.core.quota import quota_headroom
from kubeports.plan.compare import diff_plans
from kubeports.plan.offline import run_plan
from kubeports.plan.rollout import role_steps
from tests.plans import by_name, plan_of, variant

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
SERVER = "openstack:compute/instance:Instance"
GPU = {"count": 2, "flavor": "g1.xlarge", "image": "ubuntu-24.04-cuda", "volumeSize": 200,
       "labels": {"nvidia.com/gpu": "true"}}


def with_workers(workers: dict):
    def edit(config):
        config["kubeports:cluster"]["roles"]["worker"] = workers
    return edit


def plan_with(tmp_path, stack: str, workers: dict, sub: str = "a"):
    directory = tmp_path / sub
    directory.mkdir()
    name = os.path.basename(stack)[len("Pulumi."):-len(".yaml")]
    return run_plan(variant(directory, stack, name, with_workers(workers)))


def changes(old, new) -> list[tuple[str, str]]:
    return sorted((c.action, c.name) for c in diff_plans(old.to_json(), new.to_json()).changes)


def test_a_role_becomes_its_default_pool_without_a_change(tmp_path):
    pooled = plan_with(tmp_path, DEV, {"pools": {"default": {"count": 3}}})
    assert changes(plan_of(DEV), pooled) == []


def test_adding_a_pool_only_adds_its_nodes_on_the_roles_group(tmp_path):
    before = plan_with(tmp_path, DEV, {"pools": {"default": {"count": 3}}}, "a")
    after = plan_with(tmp_path, DEV, {"pools": {"default": {"count": 3}, "gpu": GPU}}, "b")
    assert changes(before, after) == [
        ("create", "dev-worker-gpu-0"), ("create", "dev-worker-gpu-0-port-e5f90a71"),
        ("create", "dev-worker-gpu-1"), ("create", "dev-worker-gpu-1-port-e5f90a71"),
        ("create", "dev-worker-gpu-servers"),
    ]
    res = by_name(after)
    gpu = res["dev-worker-gpu-0"].inputs
    assert gpu["flavorName"] == "g1.xlarge"
    assert gpu["blockDevices"][0]["volumeSize"] == 200 and gpu["blockDevices"][0]["uuid"] == "image-ubuntu-24.04-cuda-id"
    assert gpu["metadata"]["kubeports-pool"] == "gpu" and "kubeports-pool" not in res["dev-worker-0"].inputs["metadata"]
    assert gpu["schedulerHints"] == [{"group": "dev-worker-gpu-servers-id"}]
    assert res["dev-worker-gpu-servers"].inputs["name"] == "dev-worker-gpu"
    assert res["dev-worker-gpu-0-port-e5f90a71"].inputs["securityGroupIds"] == ["dev-worker-sg-id"]  # one group
    assert [g.name for g in after.by_type("openstack:networking/secGroup:SecGroup")] == ["dev-control-plane-sg",
                                                                                      "dev-worker-sg"]


def test_pools_of_a_role_share_its_rules(tmp_path):
    pooled = plan_with(tmp_path, DEV, {"pools": {"general": {"count": 3}, "gpu": GPU}})
    rule = "openstack:networking/secGroupRule:SecGroupRule"
    assert {r.name: r.inputs for r in pooled.by_type(rule)} == {r.name: r.inputs for r in plan_of(DEV).by_type(rule)}


def test_aws_pools_take_their_instance_type_and_tag(tmp_path):
    plan = plan_with(tmp_path, AWS, {"instanceType": "m6i.xlarge",
                                     "pools": {"general": {"count": 2}, "gpu": {"count": 1, "instanceType": "g5.xlarge"}}})
    instances = {i.name: i.inputs for i in plan.by_type("aws:ec2/instance:Instance") if "-worker-" in i.name}
    assert {n: (i["instanceType"], i["tags"].get("kubeports/pool"), i["vpcSecurityGroupIds"])
            for n, i in instances.items()} == {
        "prod-worker-general-0": ("m6i.xlarge", "general", ["prod-worker-sg-id"]),
        "prod-worker-general-1": ("m6i.xlarge", "general", ["prod-worker-sg-id"]),
        "prod-worker-gpu-0": ("g5.xlarge", "gpu", ["prod-worker-sg-id"]),
    }


def test_each_pool_rolls_out_alone(tmp_path):
    """Two pools each replacing one node in one `pulumi up` is within each pool's maxUnavailable;
    the role as a whole would have counted 2 > 1."""
    pools = {"general": {"count": 2}, "gpu": {**GPU, "imageId": "img-cuda-1"}}
    old = plan_with(tmp_path, DEV, {"pools": pools}, "a").to_json()
    moving = {"general": {"count": 2, "rollout": {"step": 1, "flavor": "m1.xlarge"}},
              "gpu": {**pools["gpu"], "rollout": {"step": 1, "image": "ubuntu-24.04-cuda", "imageId": "img-cuda-2"}}}
    new = plan_with(tmp_path, DEV, {"pools": moving}, "b").to_json()
    steps = {s.role: s for s in role_steps(diff_plans(old, new), old, new)}
    assert {role: ([n.name for n in s.nodes], s.max_unavailable, s.step, s.problems) for role, s in steps.items()
            if role.startswith("worker")} == {
        "worker/general": (["dev-worker-general-0"], 1, 1, []),
        "worker/gpu": (["dev-worker-gpu-0"], 1, 1, []),
    }


def test_a_pool_changed_in_place_is_refused_per_pool(tmp_path):
    old = plan_with(tmp_path, DEV, {"pools": {"general": {"count": 2}, "gpu": GPU}}, "a").to_json()
    new = plan_with(tmp_path, DEV, {"pools": {"general": {"count": 2}, "gpu": {**GPU, "flavor": "g2.xlarge"}}},
                    "b").to_json()
    problems = [p for s in role_steps(diff_plans(old, new), old, new) for p in s.problems]
    assert problems == ["worker/gpu: this step replaces 2 nodes, more than maxUnavailable 1; change node settings "
                        "through `rollout`"]


def test_the_stack_exports_each_pools_nodes_and_rollout(tmp_path):
    plan = plan_with(tmp_path, DEV, {"maxUnavailable": 2, "labels": {"tier": "apps"},
                                     "pools": {"default": {"count": 1}, "gpu": {**GPU, "count": 1}}})
    assert plan.outputs["nodes"]["worker"] == [
        {"name": "dev-worker-0", "pool": "default", "private_ip": plan.outputs["worker_private_ips"][0],
         "labels": {"tier": "apps"}},
        {"name": "dev-worker-gpu-0", "pool": "gpu", "private_ip": plan.outputs["worker_private_ips"][1],
         "labels": {"nvidia.com/gpu": "true", "tier": "apps"}},
    ]
    assert plan.outputs["pool_private_ips"] == {"worker": {"default": [plan.outputs["worker_private_ips"][0]],
                                                           "gpu": [plan.outputs["worker_private_ips"][1]]}}
    assert plan.outputs["lifecycle"]["worker"] == {
        "count": 2, "maxUnavailable": 4, "stepsToFinish": 1,
        "pools": {"default": {"count": 1, "maxUnavailable": 2, "stepsToFinish": 1, "nodes": "dev-worker"},
                  "gpu": {"count": 1, "maxUnavailable": 2, "stepsToFinish": 1, "nodes": "dev-worker-gpu"}}}
    assert "pool_private_ips" not in plan_of(DEV).outputs


def test_nova_server_groups_are_per_pool(tmp_path):
    """Ten members per server group: pools let a role hold more servers than one group."""
    path = variant(tmp_path, DEV, "dev", with_workers({"pools": {"a": {"count": 10}, "b": {"count": 10}}}))
    project = load_project(path)
    assert quota_headroom("openstack", project.resolution.rules, project.stack.cluster)[2] == (
        "Nova quota: 3 of 10 server groups, 7 left; fullest is worker/a with 10 of 10 members")
    path = variant(tmp_path, DEV, "dev", with_workers({"pools": {"a": {"count": 11}}}))
    with pytest.raises(KubeportsError) as raised:
        load_project(path)
    assert str(raised.value).endswith(
        "config.kubeports:cluster.quota: Nova quota: pool worker/a has 11 servers in its server group; the project "
        "allows 10 per group (kubeports:cluster.quota.novaServerGroupMembers): raise the project's Nova quota "
        "(`openstack quota set --server-groups N --server-group-members N`) and set it in kubeports:cluster.quota")


def dev_with(tmp_path, worker_lines: list[str]) -> tuple[str, int]:
    """Pulumi.dev.yaml with its worker line replaced by `worker_lines`; the line of the first."""
    with open(DEV, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    at = lines.index("      worker: {count: 3}")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("\n".join(lines[:at] + worker_lines + lines[at + 1:]) + "\n")
    return str(path), at + 1


REFUSED = [
    (["      worker:", "        count: 3", "        pools: {a: {count: 1}}"], 2,
     "roles.worker.count: with pools, count is per pool (pools.<name>.count)"),
    (["      worker:", "        rollout: {step: 1, flavor: x}", "        pools: {a: {count: 1}}"], 2,
     "roles.worker.rollout: with pools, a rollout is per pool (pools.<name>.rollout)"),
    (["      worker: {count: 3}", "      etcd:", "        pools: {a: {count: 3}}"], 3,
     "roles.etcd.pools: the etcd role has no pools: its nodes are one quorum with one rollout order"),
    (["      worker:", "        pools:", "          Gpu: {count: 1}"], 3,
     "roles.worker.pools.Gpu: 'Gpu' is not a lowercase-kebab name"),
    (["      worker:", "        pools:", "          gpu-nodes-with-a-very-long-pool-name-for-sure-xy: {count: 1}"], 3,
     "roles.worker.pools.gpu-nodes-with-a-very-long-pool-name-for-sure-xy: node names "
     "dev-worker-gpu-nodes-with-a-very-long-pool-name-for-sure-xy-<index> would be 64 characters; host names have "
     "at most 63: shorten the pool name"),
    (["      worker:", "        pools:", "          gpu:", "            count: 1",
      "            labels: {'nvidia.com/gpu': yes}"], 5,
     "roles.worker.pools.gpu.labels.nvidia.com/gpu: True: a label value is a string (quote numbers and booleans)"),
    (["      worker:", "        count: 1", "        labels: {'-bad': x}"], 3,
     "roles.worker.labels.-bad: is not a label key: [prefix/]name, name at most 63 of A-Z a-z 0-9 - _ . beginning "
     "and ending alphanumeric, prefix a DNS subdomain"),
    (["      worker:", "        pools: {}"], 2, "roles.worker.pools: Dictionary should have at least 1 item after "
     "validation, not 0"),
]


@pytest.mark.parametrize(("lines", "offset", "message"), REFUSED, ids=[r[2].split(":")[0] for r in REFUSED])
def test_bad_pools_are_one_line_with_their_line(tmp_path, lines, offset, message):
    path, line = dev_with(tmp_path, lines)
    with pytest.raises(KubeportsError) as raised:
        load_project(path)
    assert str(raised.value) == f"{path}:{line + offset - 1}: config.kubeports:cluster.{message}"


def test_a_pool_pin_answers_the_offline_image_lookup(tmp_path):
    plan = plan_with(tmp_path, DEV, {"pools": {"gpu": {**GPU, "imageId": "img-cuda-1"}}})
    assert by_name(plan)["dev-worker-gpu-0"].inputs["blockDevices"][0]["uuid"] == "img-cuda-1"
    [ref] = plan.outputs["images"]["worker"]
    assert (ref["image"], ref["resolved"], ref["pinned"], ref["moved"]) == ("ubuntu-24.04-cuda", "img-cuda-1",
                                                                            "img-cuda-1", False)


def test_a_pool_stack_of_another_project_may_have_pools(tmp_path):
    """examples/worker-pool joins the main stack through kubeports:peerStack; its own pools share
    its worker group, and its rules (on both stacks' groups) are those of the pool without pools."""
    example = os.path.join(ROOT, "examples", "worker-pool")
    pool_file = os.path.join(example, "Pulumi.pool.yaml")
    program = os.path.join(example, "__main__.py")
    outputs = {"acme/kubeports/dev": plan_of(DEV).outputs}
    path = variant(tmp_path, pool_file, "pool", with_workers(
        {"flavor": "m1.xlarge", "pools": {"default": {"count": 2}, "gpu": {"count": 1, "flavor": "g1.xlarge"}}}))
    pooled = run_plan(path, program=program, stack_outputs=outputs)
    plain = run_plan(pool_file, program=program, stack_outputs=outputs)
    servers = {s.name: s.inputs["flavorName"] for s in pooled.by_type(SERVER)}
    assert servers == {"dev-pool-a-worker-0": "m1.xlarge", "dev-pool-a-worker-1": "m1.xlarge",
                       "dev-pool-a-worker-gpu-0": "g1.xlarge"}
    ports = pooled.by_type("openstack:networking/port:Port")
    assert {tuple(p.inputs["securityGroupIds"]) for p in ports} == {("dev-pool-a-worker-sg-id",)}
    rule = "openstack:networking/secGroupRule:SecGroupRule"
    assert {r.name: r.inputs for r in pooled.by_type(rule)} == {r.name: r.inputs for r in plain.by_type(rule)}
