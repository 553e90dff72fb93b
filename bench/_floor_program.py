"""Pulumi programs for bench/scale.py's baselines, run through the same kubeports.plan.offline.run_plan
(same mocks, same monitor) as the real program. Picked by environment:

- BENCH_FLOOR_COUNT=N: the bare floor: N bare custom resources, one plain input each;
- BENCH_REPLAY_FILE=plan.json: the generic replay: the resources of a recorded plan (same
  types, names, parents, options and inputs), registered as generic resources with plain
  values, so no kubeports code, no Output between resources and no invoke runs;
- BENCH_TYPED_FILE=plan.json: the typed-SDK floor: the same resources through their typed
  provider SDK classes (pulumi_openstack.networking.SecGroupRule, pulumi_aws.ec2.Instance,
  ...) with plain inputs: what any program creating these resources pays at least. Input
  names go back to the classes' snake_case arguments (nested object types too, never the
  keys of a map such as tags) and the plan's options (parent, protect, ignoreChanges,
  deleteBeforeReplace, aliases); bench/scale.py checks the monitor recorded the plan's
  inputs and options. What the floor does for itself (a class's signature, a name's
  snake_case) is done once per class and name, so the floor's figure is the SDK's.
"""
import functools
import importlib
import inspect
import json
import os
import re

import pulumi


def _records(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        records = json.load(fh)
    return sorted(records, key=lambda r: r["urn"].split("::")[2].count("$"))  # parents first


def _options(rec: dict, made: dict) -> pulumi.ResourceOptions:
    """The options the plan registered (kubeports.plan.offline.RecordingMonitor records them),
    aliases as the URNs the engine resolves them to: the cheapest form the SDK takes."""
    options = rec["options"]
    return pulumi.ResourceOptions(parent=made.get(rec["parent"] or ""), protect=options.get("protect"),
                                  ignore_changes=options.get("ignoreChanges"),
                                  delete_before_replace=options.get("deleteBeforeReplace"),
                                  aliases=options.get("aliases"))


@functools.cache  # the floor's own bookkeeping, once per name: not what the SDK pays per resource
def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@functools.cache  # once per type, as above
def _typed_class(token: str) -> type:
    """`openstack:networking/secGroupRule:SecGroupRule` -> pulumi_openstack.networking.SecGroupRule."""
    package, module, name = token.split(":")
    return getattr(importlib.import_module(f"pulumi_{package}.{module.split('/')[0]}"), name)


def _object_keys(value, is_object: bool):
    """An object type's keys in snake_case (its Args/ArgsDict form); a map's keys as they are."""
    if isinstance(value, list):
        return [_object_keys(v, is_object) for v in value]
    if isinstance(value, dict) and is_object:
        return {_snake(k): v for k, v in value.items()}
    return value


@functools.cache  # once per class, as above
def _object_arguments(cls: type) -> dict[str, bool]:
    """Each argument of the class: whether it takes an object type (keys in snake_case)."""
    params = inspect.signature(cls._internal_init).parameters
    return {name: "Args" in str(param.annotation) for name, param in params.items()}


def _typed_kwargs(cls: type, inputs: dict) -> dict:
    arguments = _object_arguments(cls)
    out = {}
    for key, value in inputs.items():
        name = _snake(key)
        if name not in arguments:
            raise SystemExit(f"{cls.__name__}: no argument {name} (input {key})")
        out[name] = _object_keys(value, arguments[name])
    return out


def _referenced(value, ids: dict):
    """`value` with each mock id of a resource made before (`<name>-id`) as that resource's
    `id` Output: the plan's dependencies, as a program that wires resources passes them."""
    if isinstance(value, list):
        return [_referenced(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _referenced(v, ids) for k, v in value.items()}
    return ids.get(value, value) if isinstance(value, str) else value


if os.environ.get("BENCH_REPLAY_FILE") or os.environ.get("BENCH_TYPED_FILE"):
    typed = bool(os.environ.get("BENCH_TYPED_FILE"))
    wired = bool(os.environ.get("BENCH_TYPED_DEPENDENCIES"))
    made: dict[str, pulumi.Resource] = {}
    ids: dict[str, pulumi.Output] = {}
    for rec in _records(os.environ.get("BENCH_TYPED_FILE") or os.environ["BENCH_REPLAY_FILE"]):
        opts = _options(rec, made)
        if rec["type"].startswith("kubeports:index:"):
            made[rec["urn"]] = pulumi.ComponentResource(rec["type"], rec["name"], None, opts)
        elif typed:
            cls = _typed_class(rec["type"])
            inputs = _referenced(rec["inputs"], ids) if wired else rec["inputs"]
            made[rec["urn"]] = cls(rec["name"], opts, **_typed_kwargs(cls, inputs))
            if wired:
                ids[f"{rec['name']}-id"] = made[rec["urn"]].id
        else:
            made[rec["urn"]] = pulumi.CustomResource(rec["type"], rec["name"], rec["inputs"], opts)
else:
    for i in range(int(os.environ["BENCH_FLOOR_COUNT"])):
        pulumi.CustomResource("bench:index:Bare", f"bare-{i}", {"index": i})
