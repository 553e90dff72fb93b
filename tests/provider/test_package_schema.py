"""The package schema: checked in, derived from the settings models, exact where it is read.

No provider process here; tests/provider/test_provider.py serves the same schema over gRPC.
(Named apart from tests/core/test_schema.py: pytest imports test modules by base name.)
"""
from __future__ import annotations

import json
import typing

import pytest
from pydantic import BaseModel

from kubeports.core.settings import AwsSettings, ClusterSettings, StackConfig
from kubeports.provider import __main__ as schema_cli
from kubeports.provider.provider import VERSION, schema, stack_config
from kubeports.provider.schema import DECLARED, FILLED, Cluster, Declarations, _models, declaration

TOKEN = "kubeports:index:Cluster"
SPEC = schema()


def test_the_checked_in_schema_is_the_generated_one():
    with open(schema_cli.SCHEMA_FILE, encoding="utf-8") as handle:
        assert handle.read() == schema_cli.rendered()
    assert schema_cli.run(["--check"]) == 0
    assert SPEC["name"] == "kubeports" and SPEC["version"] == VERSION


def test_check_fails_and_says_how_to_fix_when_the_file_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "schema.json"
    stale.write_text(json.dumps({**SPEC, "version": "0.0.0"}))
    monkeypatch.setattr(schema_cli, "SCHEMA_FILE", str(stale))
    assert schema_cli.run(["--check"]) == 1
    assert capsys.readouterr().err.endswith("schema.json: out of date; run `python -m kubeports.provider --write`\n")
    assert schema_cli.run(["--write"]) == 0 and stale.read_text() == schema_cli.rendered()


def test_the_inputs_are_the_stack_keys():
    resource = SPEC["resources"][TOKEN]
    assert resource["isComponent"] is True
    assert sorted(resource["inputProperties"]) == ["aws", "cloud", "cluster", "openstack", "peerGroups", "peerStack"]
    assert resource["requiredInputs"] == ["cloud", "cluster"]
    assert resource["inputProperties"]["cloud"] == {"type": "string", "plain": True, "description": "one of: openstack, aws"}
    assert resource["inputProperties"]["cluster"] == {"$ref": "#/types/kubeports:index:ClusterSettings", "plain": True}


def test_nested_settings_are_typed_with_their_descriptions():
    types = SPEC["types"]
    assert types["kubeports:index:CniSettings"] == {
        "type": "object", "required": ["mode", "name"],
        "properties": {"name": {"type": "string", "plain": True}, "mode": {"type": "string", "plain": True},
                       "features": {"type": "array", "items": {"type": "string", "plain": True}, "plain": True}}}
    cluster = types["kubeports:index:ClusterSettings"]["properties"]
    assert cluster["roles"] == {
        "type": "object", "plain": True, "additionalProperties": {"$ref": "#/types/kubeports:index:RoleSettings",
                                                                  "plain": True},
        "description": "keys one of: control-plane, worker, etcd, load-balancer, rancher-server, registry, bastion"}
    assert cluster["ports"] == {"type": "object", "plain": True, "description": "named-port overrides",
                                "additionalProperties": {"$ref": "pulumi.json#/Any", "plain": True}}
    assert cluster["vip"]["type"] == "string"  # an IP address in the settings
    role = types["kubeports:index:RoleSettings"]
    assert "required" not in role  # count: the model fills it from the pools, or 0 for the load-balancer role
    assert role["properties"]["count"] == {"type": "integer", "plain": True, "description": (
        "required unless the role has pools (count per pool) or is the load-balancer role")}
    assert types["kubeports:index:PoolSettings"]["required"] == ["count"]
    assert role["properties"]["rollout"]["$ref"] == "#/types/kubeports:index:RolloutSettings"


@pytest.mark.parametrize("name", sorted(set(_models(StackConfig)) - {"StackConfig"}))
def test_every_settings_model_is_a_type_with_its_keys(name):
    """Drift in either direction (a key in one and not the other) fails here."""
    model = _models(StackConfig)[name]
    spec = SPEC["types"][f"kubeports:index:{name}"]
    keys = {info.alias or field: info for field, info in model.model_fields.items()}
    assert set(spec["properties"]) == set(keys)
    filled = {key for (model_name, key) in FILLED if model_name == name}
    assert spec.get("required", []) == sorted(k for k, info in keys.items() if info.is_required() and k not in filled)


def test_the_outputs_are_declared():
    resource = SPEC["resources"][TOKEN]
    assert sorted(resource["properties"]) == ["apiEndpoint", "instanceIds", "loadBalancerAddress", "nodes", "privateIps",
                                              "publicIps", "securityGroupIds"]
    assert resource["required"] == ["apiEndpoint", "instanceIds", "nodes", "privateIps", "publicIps", "securityGroupIds"]
    assert resource["properties"]["nodes"]["additionalProperties"]["items"]["$ref"] == "#/types/kubeports:index:Node"
    node = SPEC["types"]["kubeports:index:Node"]
    assert sorted(node["properties"]) == ["labels", "name", "pool", "privateIp", "publicIp"]
    assert node["required"] == ["labels", "name", "privateIp"]
    assert resource["properties"]["privateIps"]["additionalProperties"]["items"]["type"] == "string"


def test_only_the_pinned_keys_are_typed_any():
    """A key of several shapes has no one schema type: `Any`, checked by the settings model.
    A new one shows here, to be looked at (map it in schema.py, or add it)."""
    assert DECLARED.loose == ["ClusterSettings.ports", "Flow.ports"]


def test_several_shapes_are_any_and_a_repeated_tuple_is_a_list():
    class Shapes(BaseModel):
        port: int | str
        pair: tuple[int, int]
        mixed: typing.Literal["a", 1]
        many: tuple[int, ...] = ()

    declared = Declarations()
    hints = typing.get_type_hints(declared.of(Shapes))
    assert hints == {"port": typing.Any, "pair": typing.Any, "mixed": typing.Any, "many": list[int]}
    assert declared.loose == ["Shapes.port", "Shapes.pair", "Shapes.mixed"]


def test_a_settings_type_with_no_schema_type_stops_generation():
    class Odd(BaseModel):
        tags: set[str]

    with pytest.raises(TypeError) as caught:
        declaration(Odd)
    assert str(caught.value) == ("Odd.tags: no schema type for set[str]; map it in kubeports/provider/schema.py")


def test_declarations_follow_the_models_requiredness():
    aws = declaration(AwsSettings)
    assert aws.__required_keys__ == {"ami", "instanceType", "vpcId", "subnetIds"}
    assert typing.get_type_hints(declaration(ClusterSettings))["kubernetesVersion"] is str


def test_the_declaration_is_no_component_to_build():
    with pytest.raises(TypeError) as caught:
        Cluster("dev", {})  # type: ignore[arg-type]
    assert str(caught.value) == ("kubeports.provider.schema.Cluster only declares the schema; in Python use "
                                 "kubeports.components.Cluster, from another language the kubeports package")


def test_inputs_become_a_stack_config_with_whole_numbers_as_ints():
    inputs = {"cloud": "aws", "cluster": {"roles": {"worker": {"count": 3.0}}, "ports": {"ssh": 22.0}},
              "aws": {"volumeSize": 8.5, "subnetIds": ["a"]}}
    assert stack_config(inputs) == {"kubeports:cloud": "aws",
                                    "kubeports:cluster": {"roles": {"worker": {"count": 3}}, "ports": {"ssh": 22}},
                                    "kubeports:aws": {"volumeSize": 8.5, "subnetIds": ["a"]}}
    assert type(stack_config(inputs)["kubeports:cluster"]["roles"]["worker"]["count"]) is int
