"""components.backend's helpers for the cloud modules: nodes alike share their merged
options (and each gets the protect and ignore_changes of its own slot), and a port's alias
to its earlier name is the URN the SDK's `Alias(name=...)` spec resolves to."""
from __future__ import annotations

import os

import pulumi
import pytest

from kubeports.components import backend
from kubeports.components.clouds import openstack as openstack_module
from kubeports.plan.offline import engine_urn, run_plan
from tests.plans import stacks_of


def test_nodes_alike_share_one_merged_options_and_each_keeps_its_own_settings():
    parent = pulumi.ResourceOptions(protect=False, ignore_changes=["tags"])
    options = backend.node_options(parent)
    held = options(True, ["ami"])
    assert options(True, ("ami",)) is held  # one merge for every node alike
    assert options(False, None) is not held and options(True, None) is not held
    assert (held.protect, held.ignore_changes) == (True, ["tags", "ami"])  # the merge's own rule for lists
    plain = options(False, None)
    assert (plain.protect, plain.ignore_changes) == (False, ["tags"])
    assert parent.ignore_changes == ["tags"]  # what the caller passed is not changed


def _port_aliases(stack: str) -> dict[str, list[str]]:
    return {r.name: r.options.get("aliases", []) for r in run_plan(stack).resources
            if r.type == "openstack:networking/port:Port"}


@pytest.mark.parametrize("stack", stacks_of("openstack"), ids=os.path.basename)
def test_a_ports_alias_is_the_urn_the_sdks_alias_spec_resolves_to(stack, monkeypatch):
    ours = _port_aliases(stack)
    plan = run_plan(stack)
    parents = {r.name: r.parent for r in plan.resources}
    stack_name, project = plan.resources[0].urn.split("::")[0].removeprefix("urn:pulumi:"), "kubeports"
    unmoved = {name: aliases for name, aliases in ours.items() if aliases}
    assert unmoved, "the example stack has no port of a node that has not moved"
    for name, aliases in unmoved.items():
        node = name.rsplit("-port-", 1)[0]
        assert aliases == [engine_urn(stack_name, project, parents[name], "openstack:networking/port:Port",
                                      f"{node}-port")]
    monkeypatch.setattr(openstack_module, "child_aliases", lambda _parent, _type: lambda name: pulumi.Alias(name=name))
    assert _port_aliases(stack) == ours
