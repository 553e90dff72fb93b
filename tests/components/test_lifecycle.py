"""Node lifecycle under mocks: pinned images, rolling replacement, quorum, replacement order.

A rollout is a sequence of `pulumi up`s; each is modelled as one offline plan, and the
plan before is the state it applies to. Each step is compared with the one before it
(kubeports.plan.compare + kubeports.plan.rollout), for both clouds."""
from __future__ import annotations

import os

import pytest
import yaml
from plans import STACK_FILES, by_name, plan_of, variant

from kubeports.core.errors import KubeportsError
from kubeports.core.lifecycle import NodeSettings, RoleSettings, generation, node_slots, steps_to_finish
from kubeports.core.quorum import replaceable_at_once
from kubeports.plan.compare import diff_plans
from kubeports.plan.offline import run_plan
from kubeports.plan.rollout import SERVER_TYPES, image_notes, role_steps

DEV = next(s for s in STACK_FILES if s.endswith("Pulumi.dev.yaml"))  # OpenStack, boot from volume, stacked etcd
AWS = next(s for s in STACK_FILES if s.endswith("Pulumi.prod-aws.yaml"))  # AWS, etcd role, 2 control-plane
OLD, NEW = "img-0000aaaa", "img-1111bbbb"  # Glance ids; AMI ids below
IDS = {DEV: (OLD, NEW), AWS: ("ami-0000aaaa0000aaaa0", "ami-1111bbbb1111bbbb1")}
IMAGE = {DEV: "ubuntu-24.04", AWS: "ubuntu-noble"}  # the name looked up


def roles_of(config: dict) -> dict:
    return config["kubeports:cluster"]["roles"]


def pinned(stack: str, max_unavailable: dict | None = None):
    """Every node role pinned to the old image id under one name."""
    def edit(config: dict) -> None:
        for role, settings in roles_of(config).items():
            if role != "load-balancer":
                settings.update(image=IMAGE[stack], imageId=IDS[stack][0])
                settings.pop("instanceType", None)
                if max_unavailable and role in max_unavailable:
                    settings["maxUnavailable"] = max_unavailable[role]
    return edit


def at_step(stack: str, step: int | None, max_unavailable: dict | None = None, promote: bool = False):
    """The pinned stack with every node role rolling to the new id, at `step` (None: no rollout)."""
    def edit(config: dict) -> None:
        pinned(stack, max_unavailable)(config)
        for role, settings in roles_of(config).items():
            if role == "load-balancer":
                continue
            if promote:
                settings["imageId"] = IDS[stack][1]
            elif step is not None:
                settings["rollout"] = {"imageId": IDS[stack][1], "step": step}
    return edit


def server_names(plan) -> list[str]:
    return sorted(r.name for r in plan.resources if r.type in SERVER_TYPES)


def cluster_of(stack: str) -> dict:
    with open(stack, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["config"]["kubeports:cluster"]


def cluster_name(stack: str) -> str:
    return cluster_of(stack)["name"]


def node_counts(stack: str) -> dict[str, int]:
    return {role: s["count"] for role, s in cluster_of(stack)["roles"].items() if role != "load-balancer"}


CASES = [(DEV, None), (DEV, {"worker": 2}), (AWS, None), (AWS, {"worker": 3, "control-plane": 1})]


@pytest.mark.parametrize(("stack", "max_unavailable"), CASES,
                         ids=lambda v: os.path.basename(v) if isinstance(v, str) else str(v))
def test_a_rollout_replaces_at_most_max_unavailable_nodes_per_step_and_keeps_quorum(tmp_path, stack, max_unavailable):
    name = os.path.basename(stack)[len("Pulumi."):-len(".yaml")]
    cluster = cluster_name(stack)
    counts = node_counts(stack)
    limits = {role: (max_unavailable or {}).get(role, 1) for role in counts}
    steps = max(-(-counts[r] // limits[r]) for r in counts)
    edits = [at_step(stack, None, max_unavailable)] + [at_step(stack, k, max_unavailable) for k in range(steps + 1)]
    edits.append(at_step(stack, None, max_unavailable, promote=True))  # the rollout's settings move into the role
    plans = []
    for i, edit in enumerate(edits):
        directory = tmp_path / str(i)
        directory.mkdir()
        plans.append(run_plan(variant(directory, stack, name, edit)))
    moved: dict[str, set[str]] = {role: set() for role in counts}
    for k in range(1, len(plans)):
        old, new = plans[k - 1].to_json(), plans[k].to_json()
        plan_diff = diff_plans(old, new)
        for step in role_steps(plan_diff, old, new):
            assert step.problems == [], (k, step)
            assert step.replaced <= limits[step.role]
            assert step.replaced <= replaceable_at_once(step.role, counts[step.role], counts)
            assert all(n.action == "replace" and n.order == "create-first" for n in step.nodes), step
            # fixed order: step j replaces nodes (j-1)*m .. j*m-1 of the role
            j = k - 1  # plans[1] is step 0
            want = [f"{cluster}-{step.role}-{i}" for i in range(counts[step.role])][
                max(0, (j - 1) * limits[step.role]):j * limits[step.role]] if 1 <= j <= steps else []
            assert [n.name for n in step.nodes] == want, (k, step.role)
            moved[step.role] |= {n.name for n in step.nodes}
        # Pulumi refuses a replacement only when old *and* new are protected (step_generator.go:
        # "we do allow unprotecting and replacing to happen in a single update"): the step's
        # nodes are unprotected in that very step, the others keep the role's protect
        options = {r.urn: r.options for r in plans[k].resources}
        assert [c.name for c in plan_diff.replaced if options[c.urn].get("protect")] == [], k
    assert all(len(moved[role]) == counts[role] for role in counts), moved  # every node moved once
    last = diff_plans(plans[-2].to_json(), plans[-1].to_json())
    # promoting changes no node; the last step's nodes only get the role's protect back
    assert [c.name for c in last.changes if c.type in SERVER_TYPES and c.action != "options"] == []
    assert {p.path for c in last.options for p in c.changes} <= {"[protect]"}


@pytest.mark.parametrize("stack", [DEV, AWS], ids=os.path.basename)
def test_an_image_reuploaded_under_its_name_replaces_no_node(tmp_path, stack):
    name = os.path.basename(stack)[len("Pulumi."):-len(".yaml")]
    for label, edit in (("pinned", pinned(stack)), ("unpinned", lambda config: None)):
        directory = tmp_path / label
        directory.mkdir()
        path = variant(directory, stack, name, edit)
        image = IMAGE[stack] if label == "pinned" else ("ubuntu-24.04" if stack == DEV else None)
        before = run_plan(path)
        after = run_plan(path, images={image: "img-reuploaded"} if image else None)
        plan_diff = diff_plans(before.to_json(), after.to_json())
        assert [c.name for c in plan_diff.changes if c.type in SERVER_TYPES] == [], label
        if label == "pinned":
            assert f"image {IMAGE[stack]!r} now points to img-reuploaded, not the pinned {IDS[stack][0]}; nodes " \
                   f"stay on {IDS[stack][0]} until a rollout moves them" in "\n".join(image_notes(after.outputs))
            assert image_notes(before.outputs) == []  # offline, a name points at its pin unless told
        elif image:  # the unpinned servers see the new id, and ignoreChanges holds it back
            held = [c.name for c in plan_diff.ignored if c.type in SERVER_TYPES]
            assert held == server_names(before)
            assert "worker: image 'ubuntu-24.04' is not pinned; it resolves to img-reuploaded now" in \
                "\n".join(image_notes(after.outputs))


def test_a_direct_edit_of_the_pin_is_refused_by_the_diff(tmp_path):
    """Changing imageId itself (not through rollout) would replace every node at once."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = run_plan(variant(tmp_path / "a", DEV, "dev", pinned(DEV))).to_json()
    new = run_plan(variant(tmp_path / "b", DEV, "dev", at_step(DEV, None, promote=True))).to_json()
    problems = [p for s in role_steps(diff_plans(old, new), old, new) for p in s.problems]
    assert problems == [
        "control-plane: this step replaces 3 nodes, more than maxUnavailable 1; change node settings through `rollout`",
        "control-plane: replacing 3 of 3 nodes at once breaks quorum (at most 1)",
        "worker: this step replaces 3 nodes, more than maxUnavailable 1; change node settings through `rollout`",
    ]


QUORUM = [
    # (stack, role, maxUnavailable, count, message or None)
    (DEV, "control-plane", 2, 3, "a step replacing 2 of 3 control-plane nodes breaks etcd quorum; "
                                 "set maxUnavailable <= 1"),
    (DEV, "control-plane", 1, 1, "a step replacing 1 of 1 control-plane nodes breaks etcd quorum; "
                                 "add nodes first (3 voters survive one replacement)"),
    (DEV, "control-plane", 2, 5, None),
    (AWS, "etcd", 2, 3, "a step replacing 2 of 3 etcd nodes breaks etcd quorum; set maxUnavailable <= 1"),
    (AWS, "control-plane", 2, 2, "a step replacing 2 of 2 control-plane nodes breaks one API server; "
                                 "set maxUnavailable <= 1"),
    (AWS, "control-plane", 1, 2, None),  # beside an etcd role the control plane holds no votes
    (AWS, "worker", 3, 3, None),
]


@pytest.mark.parametrize(("stack", "role", "max_unavailable", "count", "message"), QUORUM)
def test_a_rollout_that_would_break_quorum_is_refused_before_anything_is_registered(
        tmp_path, stack, role, max_unavailable, count, message):
    def edit(config):
        roles_of(config)[role].update(count=count, maxUnavailable=max_unavailable,
                                      rollout={"image": "next", "step": 1})
    path = variant(tmp_path, stack, "q", edit)
    if message is None:
        run_plan(path)
        return
    with pytest.raises(KubeportsError) as info:
        run_plan(path)
    (problem,) = info.value.problems
    assert problem.field == f"config.kubeports:cluster.roles.{role}.maxUnavailable"
    assert problem.message == message


def test_no_openstack_node_resource_is_named_unless_it_says_delete_first():
    """The bridge makes every replacement of a resource with an explicit `name` delete-first
    (nameRequiresDeleteBeforeReplace): servers and ports are auto-named; the server group
    keeps its name and is marked."""
    node_types = ("openstack:compute/instance:Instance", "openstack:networking/port:Port",
                  "openstack:compute/serverGroup:ServerGroup", "openstack:networking/floatingIp:FloatingIp",
                  "openstack:networking/floatingIpAssociate:FloatingIpAssociate")
    for stack in STACK_FILES:
        for res in plan_of(stack).resources:
            if res.type in node_types and "name" in res.inputs:
                assert res.options.get("deleteBeforeReplace") is True, res.name
    groups = [r for r in plan_of(DEV).resources if r.type == "openstack:compute/serverGroup:ServerGroup"]
    assert groups and all(g.options.get("deleteBeforeReplace") for g in groups)


def test_a_replaced_openstack_server_gets_a_new_port(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = run_plan(variant(tmp_path / "a", DEV, "dev", at_step(DEV, 0)))
    new = run_plan(variant(tmp_path / "b", DEV, "dev", at_step(DEV, 1)))
    plan_diff = diff_plans(old.to_json(), new.to_json())
    ports = sorted((c.action, c.name.rsplit("-", 1)[0]) for c in plan_diff.changes
                   if c.type == "openstack:networking/port:Port")
    assert ports == [("create", "dev-control-plane-0-port"), ("create", "dev-worker-0-port"),
                     ("delete", "dev-control-plane-0-port"), ("delete", "dev-worker-0-port")]
    server = by_name(new)["dev-worker-0"]
    (port,) = [r for r in new.resources if r.name.startswith("dev-worker-0-port-")]
    assert server.inputs["networks"] == [{"port": f"{port.name}-id"}]
    assert server.inputs["metadata"]["kubeports-generation"] == port.name.rsplit("-", 1)[1]


@pytest.mark.parametrize(("stack", "setting", "want"), [
    (DEV, None, {"control-plane": False, "worker": True}),
    (DEV, {"control-plane": True}, {"control-plane": True, "worker": True}),
    (AWS, None, {"etcd": False, "control-plane": False, "worker": True}),
    (AWS, {"worker": False}, {"etcd": False, "control-plane": False, "worker": False}),
])
def test_boot_volumes_of_stateful_roles_survive_a_replacement(tmp_path, stack, setting, want):
    def edit(config):
        for role, value in (setting or {}).items():
            roles_of(config)[role]["deleteVolumeOnReplace"] = value
    plan = run_plan(variant(tmp_path, stack, "v", edit))
    got = {}
    for res in plan.resources:
        if res.type == "openstack:compute/instance:Instance":
            value = res.inputs["blockDevices"][0]["deleteOnTermination"]
        elif res.type == "aws:ec2/instance:Instance":
            value = res.inputs["rootBlockDevice"]["deleteOnTermination"]
        else:
            continue
        role = res.name.split("-", 1)[1].rsplit("-", 1)[0]
        assert got.setdefault(role, value) == value
    assert got == want


@pytest.mark.parametrize(("count", "m", "step", "moving", "moved"), [
    (3, 1, 0, [], 0), (3, 1, 1, [0], 1), (3, 1, 3, [2], 3), (3, 1, 4, [], 3),
    (5, 2, 1, [0, 1], 2), (5, 2, 3, [4], 5), (0, 1, 1, [], 0),
])
def test_node_slots_move_in_a_fixed_order(count, m, step, moving, moved):
    role = RoleSettings.model_validate({"count": count, "maxUnavailable": m, "image": "old",
                                        "rollout": {"image": "new", "step": step}})
    slots = node_slots(role)
    assert [s.index for s in slots if s.replacing] == moving
    assert [s.settings.image for s in slots] == ["new"] * moved + ["old"] * (count - moved)
    assert len({s.generation for s in slots if s.moved} | {s.generation for s in slots if not s.moved}) == \
        (moved > 0) + (moved < count)
    assert all(s.generation == generation(s.settings) for s in slots)  # each slot's own settings' digest
    assert steps_to_finish(role) == -(-count // m)


def test_a_rollout_to_a_new_name_drops_the_old_pin():
    role = RoleSettings.model_validate({"count": 1, "image": "old", "imageId": "id-old",
                                        "rollout": {"image": "new", "step": 1}})
    assert node_slots(role)[0].settings == NodeSettings.model_construct(
        flavor=None, instance_type=None, image="new", image_id=None, volume_size=None)


def test_the_stack_exports_each_roles_image_and_rollout_step(tmp_path):
    plan = run_plan(variant(tmp_path, DEV, "dev", at_step(DEV, 2)))
    assert plan.outputs["images"]["worker"] == [
        {"image": "ubuntu-24.04", "resolved": OLD, "pinned": OLD, "moved": False, "rollout": False},
        {"image": "ubuntu-24.04", "resolved": OLD, "pinned": NEW, "moved": True, "rollout": True},
    ]
    assert image_notes(plan.outputs) == [
        f"control-plane: rollout moves nodes to {NEW}; image 'ubuntu-24.04' resolves to {OLD} now",
        f"worker: rollout moves nodes to {NEW}; image 'ubuntu-24.04' resolves to {OLD} now"]
    assert plan.outputs["lifecycle"]["worker"] == {"count": 3, "maxUnavailable": 1, "stepsToFinish": 3, "step": 2,
                                                   "replacing": [1], "moved": 2, "done": False}
