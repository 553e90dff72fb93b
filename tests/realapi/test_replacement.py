"""A rollout step on the real Neutron (issue 14): the dev stack's nodes pinned to one image,
then step 1 of a rollout to another (maxUnavailable 1: one node per role), applied in
Pulumi's step order with the servers sent to apply.EmulatedNova (Nova's port handling,
emulated; the ports and their bindings are the real Neutron's).

kubeports makes the step create-first with a new port named by the node's generation:
the new port and the new server come first, then the old server (its port unbound), then
the old port. Zero API errors, no `PortInUse`, and the read-back (rules, groups, ports, and
which port each server holds) equals the new plan. The same step with the port kept
(what ports named `<node>-port` did) shows why: create-first then needs a port the old
server still holds, and Nova refuses it; delete-first with the port kept works, with the
node down between the two steps.
"""
from __future__ import annotations

import os

import pytest
import yaml

from kubeports.core.paths import ROOT
from kubeports.plan.compare import diff_plans
from kubeports.plan.rollout import role_steps
from tests.plans import variant
from tests.realapi import render as r
from tests.realapi.conftest import openstack_applier
from tests.realapi.stacks import plan_json

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")  # OpenStack, boot from volume, 3 control-plane + 3 workers
OLD, NEW = "img-0000aaaa", "img-1111bbbb"


def at_step(step: int | None):
    """Every node role pinned to OLD under one name; with `step`, rolling to NEW."""
    def edit(config: dict) -> None:
        for role, settings in config["kubeports:cluster"]["roles"].items():
            if role != "load-balancer":
                settings.update(image="ubuntu-24.04", imageId=OLD)
                if step is not None:
                    settings["rollout"] = {"imageId": NEW, "step": step}
    return edit


def plans(tmp_path) -> tuple[dict, dict]:
    (tmp_path / "base").mkdir()
    (tmp_path / "step").mkdir()
    return (plan_json(variant(tmp_path / "base", DEV, "dev", at_step(0))),
            plan_json(variant(tmp_path / "step", DEV, "dev", at_step(1))))


def replaced_ports(base: dict, step: dict) -> dict[str, str]:
    """New port name -> the old one it replaces (same node, another generation)."""
    def ports(plan):
        return {res["name"]: res["name"].rsplit("-", 1)[0] for res in plan["resources"] if res["type"] == r.OS_PORT}
    old, new = ports(base), ports(step)
    return {name: next(o for o, node in old.items() if node == new[name])
            for name in sorted(set(new) - set(old))}


def port_kept(base: dict, step: dict, delete_first: bool = False) -> dict:
    """The step as it would be if a node's port kept its name: the new port is the old one."""
    renames = replaced_ports(base, step)
    text = _rename(step, renames)
    if delete_first:
        for res in text["resources"]:
            if res["type"] == r.OS_INSTANCE:
                text["options"][res["urn"]] = {**text["options"].get(res["urn"], {}), "deleteBeforeReplace": True}
    return text


def _rename(value, renames: dict[str, str]):
    if isinstance(value, dict):
        return {_rename(k, renames): _rename(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, renames) for v in value]
    if isinstance(value, str):
        for new, old in renames.items():
            value = value.replace(new, old)
    return value


def node_steps(steps: list[str], *plans: dict) -> list[str]:
    """The steps on servers and ports (of any of `plans`), in the order they ran."""
    names = {res["name"] for plan in plans for res in plan["resources"] if res["type"] in (r.OS_INSTANCE, r.OS_PORT)}
    return [s for s in steps if s.split(" ", 1)[1] in names]


def test_a_rollout_step_is_create_first_on_a_new_port_with_no_port_in_use(neutron, tmp_path):
    base, step = plans(tmp_path)
    applier = openstack_applier(neutron, [_doc(DEV)], servers=True)
    first = applier.apply(base)
    assert [str(e) for e in first.errors] == [] and first.skipped == []
    assert applier.read_back([base]) == []
    moved = replaced_ports(base, step)
    assert sorted(moved) == sorted(n for n in moved if n.startswith(("dev-control-plane-0-port-", "dev-worker-0-port-")))
    assert len(moved) == 2  # one node per role (maxUnavailable 1)

    change = applier.apply(step)
    assert [str(e) for e in change.errors] == [] and change.skipped == []
    old_of = {new.rsplit("-", 1)[0]: old for new, old in moved.items()}
    new_of = {new.rsplit("-", 1)[0]: new for new in moved}
    assert node_steps(change.steps, base, step) == [
        f"create {new_of['dev-control-plane-0-port']}", f"create {new_of['dev-worker-0-port']}",
        "create-replacement(blockDevices) dev-control-plane-0", "create-replacement(blockDevices) dev-worker-0",
        "delete dev-control-plane-0", "delete dev-worker-0",
        f"delete {old_of['dev-control-plane-0-port']}", f"delete {old_of['dev-worker-0-port']}"]
    assert applier.read_back([step]) == []  # each server holds exactly its planned port
    # what `kubeports diff` says of this step is what was applied
    said = {(n.name, n.order) for s in role_steps(diff_plans(base, step), base, step) for n in s.nodes}
    assert said == {("dev-control-plane-0", "create-first"), ("dev-worker-0", "create-first")}


@pytest.mark.parametrize(("delete_first", "refused"), [(False, True), (True, False)],
                         ids=["create-first-port-kept", "delete-first-port-kept"])
def test_with_the_port_kept_only_delete_first_works(neutron, tmp_path, delete_first, refused):
    """The emulation bites: a port the old server holds is refused to the new one."""
    base, step = plans(tmp_path)
    applier = openstack_applier(neutron, [_doc(DEV)], servers=True)
    assert applier.apply(base).errors == []
    change = applier.apply(port_kept(base, step, delete_first))
    want = [("create-replacement(blockDevices)", name, "409 PortInUse") for name in ("dev-control-plane-0",
                                                                                    "dev-worker-0")]
    assert [(e.step, e.name, e.code) for e in change.errors] == (want if refused else [])
    if not refused:
        assert applier.read_back([port_kept(base, step, delete_first)]) == []
        assert "delete-replaced(blockDevices) dev-worker-0" in change.steps


def _doc(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
