"""components.backend's helpers for the cloud modules: nodes alike share their merged
options (and each gets the protect and ignore_changes of its own slot), and a port's alias
to its earlier name is the URN the SDK's `Alias(name=...)` spec resolves to."""
from __future__ import annotations

import os
import re

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


def _fields(value):
    """An options object as comparable data: its fields, and those of what it holds (hook bindings)."""
    if hasattr(value, "__dict__") and not isinstance(value, pulumi.Resource | type):
        return {k: _fields(v) for k, v in vars(value).items() if not callable(v)}  # not the bound `merge`
    if isinstance(value, list | tuple):
        return [_fields(v) for v in value]
    return value


class _Provider(pulumi.ProviderResource):
    def __init__(self) -> None:  # only its identity matters here: never registered
        pass


_PROVIDER = _Provider()
_PROVIDER.package = "openstack"


@pytest.mark.parametrize("opts", [
    pulumi.ResourceOptions(),
    pulumi.ResourceOptions(protect=True, ignore_changes=["tags"], delete_before_replace=True),
    pulumi.ResourceOptions(aliases=["urn:pulumi:dev::p::t::old"], depends_on=[], providers={"openstack": _PROVIDER}),
    pulumi.ResourceOptions(provider=_PROVIDER, replace_on_changes=["name"], additional_secret_outputs=["x"],
                           hooks=pulumi.ResourceHookBinding(before_create=[])),
])
def test_aliased_options_are_the_merge_of_the_options_and_the_aliases(opts):
    before = _fields(opts)
    with_aliases = backend.aliased_options(opts)
    for aliases in (["urn:pulumi:dev::p::t::a"], [pulumi.Alias(name="b"), "urn:pulumi:dev::p::t::c"]):
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))
        assert _fields(with_aliases(aliases)) == _fields(merged)
    assert with_aliases(["x"]).aliases is not with_aliases(["x"]).aliases  # each resource its own list
    assert _fields(opts) == before  # what the caller passed is not changed


def _port_aliases(plan) -> dict[str, list[str]]:
    return {r.name: r.options.get("aliases", []) for r in plan.resources if r.type == "openstack:networking/port:Port"}


@pytest.mark.parametrize("stack", stacks_of("openstack"), ids=os.path.basename)
def test_a_ports_alias_is_the_urn_the_sdks_alias_spec_resolves_to(stack, monkeypatch):
    plan = run_plan(stack)
    ours = _port_aliases(plan)
    parents = {r.name: r.parent for r in plan.resources}
    stack_name, project = plan.resources[0].urn.split("::")[0].removeprefix("urn:pulumi:"), "kubeports"
    unmoved = {name: aliases for name, aliases in ours.items() if aliases}
    assert unmoved, "the example stack has no port of a node that has not moved"
    for name, aliases in unmoved.items():
        node = name.rsplit("-port-", 1)[0]
        assert aliases == [engine_urn(stack_name, project, parents[name], "openstack:networking/port:Port",
                                      f"{node}-port")]
    monkeypatch.setattr(openstack_module, "child_aliases", lambda _parent, _type: lambda name: pulumi.Alias(name=name))
    assert _port_aliases(run_plan(stack)) == ours


class _Said:
    """A parent that says whether it is known by another name (`_unaliased`), or says nothing."""

    def __init__(self, unaliased: bool | None) -> None:
        if unaliased is not None:
            self._unaliased = unaliased


@pytest.mark.parametrize(("opts", "expected"), [
    (None, True),
    (pulumi.ResourceOptions(), True),
    (pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")]), False),
    (pulumi.ResourceOptions(parent=_Said(True)), True),
    (pulumi.ResourceOptions(parent=_Said(False)), False),
    (pulumi.ResourceOptions(parent=_Said(None)), False),  # a consumer's own component: it may have aliases
])
def test_a_component_is_unaliased_only_with_no_aliases_of_its_own_or_its_parents(opts, expected):
    assert backend.unaliased(opts) is expected


def _aliases_given(program: str | None, monkeypatch) -> list:
    given: list = []
    real = openstack_module.child_aliases

    def spy(parent, type_):
        made = real(parent, type_)
        return lambda name: given.append(made(name)) or given[-1]

    monkeypatch.setattr(openstack_module, "child_aliases", spy)
    dev = stacks_of("openstack")[0]
    run_plan(dev, program=program) if program else run_plan(dev)
    return given


def test_under_a_cluster_known_by_another_name_a_port_keeps_the_alias_spec(tmp_path, monkeypatch):
    """The engine combines an alias spec with the parents' aliases, not an alias URN: a stack
    from before generations that also renames its Cluster still finds its old ports."""
    program = tmp_path / "__main__.py"
    program.write_text("import pulumi\nfrom kubeports.components import Cluster\n"
                       "Cluster.from_stack_config(opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name='old')]))"
                       ".export()\n")
    renamed = _aliases_given(str(program), monkeypatch)
    assert renamed and all(isinstance(alias, pulumi.Alias) for alias in renamed)
    plain = _aliases_given(None, monkeypatch)
    assert plain and not any(isinstance(alias, pulumi.Alias) for alias in plain)


_URNS_PROGRAM = """import pulumi
from kubeports.components import Cluster
{setup}
cluster = Cluster.from_stack_config(opts={opts})
parts = {{"cluster": cluster, **cluster.roles}}
pulumi.export("urns", {{name: [part.urn, str(part._urn_text)] for name, part in parts.items()}})
"""


@pytest.mark.parametrize("cloud", ["openstack", "aws"])
def test_a_components_urn_as_text_is_the_urn_the_engine_gives_it(cloud, tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(_URNS_PROGRAM.format(setup="", opts="None"))
    urns = run_plan(stacks_of(cloud)[0], program=str(program)).outputs["urns"]
    assert len(urns) >= 3  # the cluster and its roles
    for engine, text in urns.values():
        assert text == engine and engine.count("$") == (0 if engine.split("::")[2] == "kubeports:index:Cluster" else 1)


def test_under_a_consumers_own_component_a_urn_is_not_guessed(tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(_URNS_PROGRAM.format(
        setup="owner = pulumi.ComponentResource('acme:index:Platform', 'platform')",
        opts="pulumi.ResourceOptions(parent=owner)"))
    urns = run_plan(stacks_of("openstack")[0], program=str(program)).outputs["urns"]
    assert urns and all(text == "None" and "acme:index:Platform$" in engine for engine, text in urns.values())


_LOOKUPS = {"aws": "aws:ec2/getAmi:getAmi", "openstack": "openstack:images/getImage:getImage"}


@pytest.mark.parametrize("stack", [*stacks_of("openstack"), *stacks_of("aws")], ids=os.path.basename)
def test_an_image_name_is_looked_up_once_per_stack_for_every_role_that_boots_it(stack, monkeypatch, tmp_path):
    from kubeports.plan import offline

    text = open(stack, encoding="utf-8").read()
    if re.search(r"\bami: ami-", text):  # the AWS examples pin AMI ids (no lookup): boot them from a name
        stack = str(tmp_path / os.path.basename(stack))
        open(stack, "w", encoding="utf-8").write(re.sub(r"\bami: ami-[0-9a-f]+", "ami: ubuntu-noble-24.04", text))

    asked: list[tuple[str, str]] = []
    answer = offline.PlanMocks.call

    def counting(self, args):
        if args.token in _LOOKUPS.values():
            filters = args.args.get("filters")
            asked.append((args.token, filters[0]["values"][0] if filters else args.args["name"]))
        return answer(self, args)

    monkeypatch.setattr(offline.PlanMocks, "call", counting)
    plan = run_plan(stack)
    names = {ref["image"] for refs in plan.outputs["images"].values() for ref in refs
             if not ref["image"].startswith("ami-")}  # an AMI id is its own answer: no lookup
    roles = [role for role, refs in plan.outputs["images"].items() if refs]
    assert len(roles) >= 2 and names, "the example stack boots its roles from named images"
    assert sorted(asked) == sorted({(token, name) for token, name in asked}) and {n for _, n in asked} == names


class _Parent:
    """A parent as an invoke sees it: only the provider it gives a token."""

    def __init__(self, provider: object) -> None:
        self.provider = provider

    def get_provider(self, _token: str) -> object:
        return self.provider


def test_roles_under_different_providers_look_an_image_up_each_with_its_own():
    class Backend(backend.CloudBackend):  # only the shared lookup is exercised
        security_group = rules = nodes = None  # type: ignore[assignment]

    made: list[str] = []
    ours = Backend(None)  # type: ignore[arg-type]
    east, west = _Parent("east"), _Parent("west")
    for parent in (east, east, west, _Parent("east"), None, None):
        ours.image_id("t", "ubuntu", parent, lambda p=parent: made.append(getattr(p, "provider", None)) or "x")
    ours.image_id("t", "debian", east, lambda: made.append("east, debian") or "x")
    assert made == ["east", "west", None, "east, debian"]
