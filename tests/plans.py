"""Shared helpers for tests that run the Pulumi program under mocks (kubeports.plan.offline)."""
from __future__ import annotations

import functools
import glob
import os
import random
import shutil

import yaml

from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.project import load_project
from kubeports.core.rules import Rule
from kubeports.plan.offline import Plan, PlannedResource, run_plan

STACK_FILES = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
# The example stacks and every consumer example's (examples/*/Pulumi.*.yaml).
ALL_STACK_FILES = STACK_FILES + sorted(glob.glob(os.path.join(ROOT, "examples", "*", "Pulumi.*.yaml")))
POOL_PROGRAM = os.path.join(ROOT, "examples", "worker-pool", "__main__.py")


def example_plan_json(stack_file: str) -> dict:
    """The plan of one of ALL_STACK_FILES as its program makes it: the worker-pool example
    runs its own program and reads the dev stack's outputs (its kubeports:peerStack)."""
    if not os.path.dirname(stack_file).endswith("worker-pool"):
        return run_plan(stack_file).to_json()
    dev = run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))
    return run_plan(stack_file, program=POOL_PROGRAM, stack_outputs={"acme/kubeports/dev": dev.outputs}).to_json()


def stack_cloud(stack_file: str) -> str:
    with open(stack_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["config"]["kubeports:cloud"]


def stacks_of(cloud: str) -> list[str]:
    return [s for s in STACK_FILES if stack_cloud(s) == cloud]


@functools.cache
def plan_of(stack_file: str, portspecs: str | None = None) -> Plan:
    return run_plan(stack_file, portspecs)


def rules_of(stack_file: str, portspecs: str | None = None) -> tuple[Rule, ...]:
    return load_project(stack_file, portspecs).resolution.rules


def by_name(plan: Plan) -> dict[str, PlannedResource]:
    names = [r.name for r in plan.resources]
    assert len(names) == len(set(names)), "resource names must be unique in a plan"
    return {r.name: r for r in plan.resources}


def copy_catalog(dest: str) -> str:
    target = os.path.join(dest, "portspecs")
    shutil.copytree(PORTSPECS, target)
    return target


def reorder_catalog(directory: str, seed: int) -> None:
    """Shuffle every list of entries and every mapping's keys in every spec file."""
    rng = random.Random(seed)

    def shuffle(value):
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            items = [shuffle(v) for v in value]
            rng.shuffle(items)
            return items
        return value

    for path in glob.glob(os.path.join(directory, "*.yaml")):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(shuffle(data), handle, allow_unicode=True, sort_keys=False)


def append_flow(directory: str, filename: str, flow: dict) -> None:
    path = os.path.join(directory, filename)
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data.setdefault("flows", []).append(flow)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=False)


def fingerprint(plan: Plan) -> dict[str, tuple]:
    return {r.urn: (r.type, r.parent, r.inputs, r.options) for r in plan.resources}


def variant(tmp_path, base: str, name: str, edit) -> str:
    """A copy of stack file `base` with `edit(config)` applied, as tmp_path/Pulumi.<name>.yaml."""
    with open(base, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    edit(data["config"])
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)
