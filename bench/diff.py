"""Diff economy: for small, typical edits, what `pulumi up` would touch, measured from two
offline plans (kubeports.plan.offline.run_plan under mocks) compared with kubeports.plan.compare.

Usage:
    .venv/bin/python bench/diff.py                        # every Pulumi.*.yaml at the project root
    .venv/bin/python bench/diff.py --stacks dev,prod-aws  # fewer stacks: faster
    .venv/bin/python bench/diff.py --edits add-port,reorder
    .venv/bin/python bench/diff.py --details              # also each edit's plandiff markdown

Edits (each on a copy, in a temp dir; the stack name stays, so URNs compare):
- add-port: a new spec file with one flow, tcp 9100 control-plane -> worker;
- change-port: the stack overrides the named port nodeport-range to 30000-31999;
- reorder: every spec file rewritten with its flows, list items and mapping keys shuffled;
- image: the stack's image (OpenStack) or AMI (AWS) changes;
- reupload: the image name now resolves to another id (an image re-uploaded under its name);
- roll: every node role pinned, then rolled to a new image id by `rollout`, one
  `pulumi up` per step (row per step; "Servers touched" = nodes replaced in that step);
- add-worker: one more worker;
- api-port: the stack overrides the named port kube-apiserver to 443.

"Minimum?" compares what changes with the least any tool could do: the rule resources
of the rules that were added, removed or re-described (`kubeports rules` before and
after, named as the backend names them), plus, for `image`, every server whose image is
not held by ignoreChanges (an unpinned image is held on every existing node; an AMI id
is its own pin, so those instances are replaced), for `roll`, the step's nodes with their
ports (OpenStack), and for `add-worker`, the new server and its port. A reorder must touch nothing. Resources whose
only change ignoreChanges holds back are counted as "held", not as changes.
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import yaml
from _util import csv_arg, example_stacks, load_doc, md_table, stack_name, write_stack

from kubeports.components import backend_for
from kubeports.core.lifecycle import steps_to_finish
from kubeports.core.paths import PORTSPECS
from kubeports.core.project import Project, load_project
from kubeports.core.settings import RoleSettings
from kubeports.plan.compare import PlanDiff, diff_plans, diff_rules, to_markdown
from kubeports.plan.offline import run_plan
from kubeports.plan.rollout import role_steps

INSTANCE_TYPES = ("openstack:compute/instance:Instance", "aws:ec2/instance:Instance")
PORT_TYPE = "openstack:networking/port:Port"


def stack_cloud(doc: dict) -> str:
    return doc["config"]["kubeports:cloud"]
EXTRA_SPEC = {
    "source": "https://prometheus.io/docs/guides/node-exporter/",
    "title": "bench: one added port",
    "flows": [{"name": "bench-node-exporter", "purpose": "node exporter metrics (bench)", "protocol": "tcp",
               "ports": 9100, "to": ["worker"], "from": ["control-plane"]}],
}


class Edit:
    """`apply(stack_doc, portspecs_dir, tmp_dir)` edits the copies in place; it may return a
    note when it had to deviate (e.g. the stack already has the value)."""

    def __init__(self, name: str, what: str, apply: Callable[[dict, str, str], str | None], touches: str):
        self.name, self.what, self.apply, self.touches = name, what, apply, touches


def _cluster(doc: dict) -> dict:
    return doc["config"]["kubeports:cluster"]


def _add_port(doc: dict, specs: str, _tmp: str) -> str | None:
    with open(os.path.join(specs, "zz-bench-extra.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(EXTRA_SPEC, fh, sort_keys=False)


def _override(name: str, value: str | int, otherwise: str | int) -> Callable[[dict, str, str], str | None]:
    """Override a named port; a stack that already overrides it to `value` gets `otherwise`."""
    def apply(doc: dict, _specs: str, _tmp: str) -> str | None:
        ports = _cluster(doc).setdefault("ports", {})
        if str(ports.get(name)) == str(value):
            ports[name] = otherwise
            return f"{name} already {value}: set {otherwise}"
        ports[name] = value
        return None
    return apply


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        items = [_shuffled(v, rng) for v in value]
        rng.shuffle(items)
        return items
    return value


def _reorder(_doc: dict, specs: str, _tmp: str) -> str | None:
    rng = random.Random(7)
    for name in sorted(os.listdir(specs)):
        if not name.endswith(".yaml"):
            continue
        path = os.path.join(specs, name)
        data = yaml.safe_load(open(path, encoding="utf-8"))
        if isinstance(data, dict) and "notes" in data:
            notes = data.pop("notes")  # prose: its order is the author's, keep it
            data = _shuffled(data, rng)
            data["notes"] = notes
        else:
            data = _shuffled(data, rng)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n\n# shuffled by bench/diff.py\n")  # moves every line: sources change, keys must not
            yaml.safe_dump(data, fh, sort_keys=False)


def _image(doc: dict, _specs: str, _tmp: str) -> str | None:
    config = doc["config"]
    if "kubeports:aws" in config:
        config["kubeports:aws"]["ami"] = "ami-0fffffffffffffff0"
    else:
        config["kubeports:openstack"]["image"] = "bench-image-next"
    for role in _cluster(doc)["roles"].values():  # a role pinned to its own image would not move
        role.pop("image", None)


def _add_worker(doc: dict, _specs: str, _tmp: str) -> str | None:
    _cluster(doc)["roles"]["worker"]["count"] += 1


ROLL_FROM, ROLL_TO = "img-bench-old", "img-bench-new"


def _pin(doc: dict, step: int | None) -> None:
    """Every node role pinned to ROLL_FROM, rolling to ROLL_TO at `step` (None: no rollout)."""
    for role, settings in _cluster(doc)["roles"].items():
        if role == "load-balancer":
            continue
        settings.update(image="bench-image", imageId=ROLL_FROM)
        settings.pop("instanceType", None)
        if step is not None:
            settings["rollout"] = {"imageId": ROLL_TO, "step": step}


EDITS = [
    Edit("add-port", "new flow: tcp 9100 control-plane -> worker", _add_port, "rules"),
    Edit("change-port", "override nodeport-range: 30000-31999",
         _override("nodeport-range", "30000-31999", "30000-32000"), "rules"),
    Edit("reorder", "every spec file: flows, items and keys shuffled", _reorder, "nothing"),
    Edit("image", "image / AMI changed", _image, "new nodes only"),
    Edit("reupload", "image name resolves to a new id", lambda _d, _s, _t: None, "nothing"),
    Edit("roll", "pinned image rolled by `rollout`, one step per `pulumi up`", lambda _d, _s, _t: None,
         "the step's nodes"),
    Edit("add-worker", "worker count + 1", _add_worker, "new server"),
    Edit("api-port", "override kube-apiserver: 443", _override("kube-apiserver", 443, 6443), "rules"),
]


def rule_resource_names(project: Project, keys: set[str]) -> set[str]:
    backend = backend_for(project.stack)
    return {backend.rule_name(r) for r in project.resolution.rules if r.key in keys}


def expected_touch(edit: Edit, before: Project, after: Project, plan_diff: PlanDiff, base_plan: Any) -> set[str]:
    rule_diff = diff_rules(before.resolution.rules, after.resolution.rules)
    names = rule_resource_names(before, {r["key"] for r in rule_diff.removed})
    names |= rule_resource_names(after, {r["key"] for r in rule_diff.added} | {n["key"] for _o, n in rule_diff.changed})
    cluster = after.stack.cluster
    if edit.name == "image":  # held: ignoreChanges on an unpinned image; an AMI id is its own pin
        names |= {r.name for r in base_plan.resources if r.type in INSTANCE_TYPES
                  and not {"imageId", "ami"} & set(r.options.get("ignoreChanges") or ())}
    if edit.name == "add-worker":
        new = f"{cluster.name}-worker-{before.stack.cluster.roles['worker'].count}"
        names |= {new, f"{new}-port"} if after.stack.cloud == "openstack" else {new}
    return names


def plan_doc(stack_file: str, doc: dict, images: dict | None = None) -> Any:
    with tempfile.TemporaryDirectory(prefix="kubeports-bench-") as tmp:
        return run_plan(write_stack(doc, tmp, stack_name(stack_file)), images=images)


def run_roll(stack_file: str, edit: Edit) -> list[dict]:
    """One row per `pulumi up` of a rollout: pinned -> step 0 -> step 1 ... -> done."""
    doc = load_doc(stack_file)
    roles = {r: s for r, s in _cluster(doc)["roles"].items() if r != "load-balancer"}
    limits = {r: RoleSettings.model_validate(s).max_unavailable for r, s in roles.items()}
    steps = max(steps_to_finish(RoleSettings.model_validate(s)) for s in roles.values())
    docs = []
    for step in [None, *range(steps + 1)]:
        d = copy.deepcopy(doc)
        _pin(d, step)
        docs.append(d)
    started = time.perf_counter()
    plans = [plan_doc(stack_file, d) for d in docs]
    seconds = (time.perf_counter() - started) / len(plans)
    rows = []
    for k in range(2, len(plans)):
        old, new = plans[k - 1].to_json(), plans[k].to_json()
        plan_diff = diff_plans(old, new)
        per_role = role_steps(plan_diff, old, new)
        touched = {c.name for c in plan_diff.changes if c.action != "options"}
        want = {n.name for s in per_role for n in s.nodes}
        if stack_cloud(doc) == "openstack":  # the step's nodes' ports, old and new
            want |= {c.name for c in plan_diff.changes if c.type == PORT_TYPE
                     and any(c.name.startswith(f"{n}-port-") for n in want)}
        by_role = ", ".join(f"{s.role} {s.replaced}/{limits[s.role]}" for s in per_role if s.replaced)
        problems = [p for s in per_role for p in s.problems]
        rows.append({"stack": stack_name(stack_file), "edit": edit, "diff": plan_diff,
                     "note": f"step {k - 1}/{steps}: {by_role or 'none'}" + (f"; REFUSED {problems}" if problems
                                                                              else ""),
                     "rules": diff_rules([], []), "servers": sum(s.replaced for s in per_role),
                     "extra": sorted(touched - want), "missing": sorted(want - touched), "seconds": seconds})
    return rows


def run_reupload(stack_file: str, edit: Edit, base_plan: Any) -> dict:
    """The stack as it is, planned again with its image names resolving to new ids."""
    images = {}
    for refs in (base_plan.outputs.get("images") or {}).values():
        images.update({ref["image"]: f"{ref['resolved']}-reuploaded" for ref in refs})
    started = time.perf_counter()
    after = plan_doc(stack_file, load_doc(stack_file), images)
    plan_diff = diff_plans(base_plan.to_json(), after.to_json())
    touched = sorted(c.name for c in plan_diff.changes)
    return {"stack": stack_name(stack_file), "edit": edit, "note": None, "diff": plan_diff,
            "rules": diff_rules([], []), "servers": sum(1 for c in plan_diff.changes if c.type in INSTANCE_TYPES),
            "extra": touched, "missing": [], "seconds": time.perf_counter() - started}


def run_edit(stack_file: str, edit: Edit, base_plan: Any, base_project: Project) -> dict:
    name = stack_name(stack_file)
    with tempfile.TemporaryDirectory(prefix="kubeports-bench-") as tmp:
        specs = os.path.join(tmp, "portspecs")
        shutil.copytree(PORTSPECS, specs)
        doc = copy.deepcopy(load_doc(stack_file))
        note = edit.apply(doc, specs, tmp)
        edited = write_stack(doc, tmp, name)
        after_project = load_project(edited, specs)
        started = time.perf_counter()
        after_plan = run_plan(edited, portspecs=specs)
        seconds = time.perf_counter() - started
    plan_diff = diff_plans(base_plan.to_json(), after_plan.to_json())
    rule_diff = diff_rules(base_project.resolution.rules, after_project.resolution.rules)
    touched = {c.name for c in plan_diff.changes}
    expected = expected_touch(edit, base_project, after_project, plan_diff, base_plan)
    servers = sum(1 for c in plan_diff.changes if c.type in INSTANCE_TYPES)
    return {"stack": name, "edit": edit, "note": note, "diff": plan_diff, "rules": rule_diff, "servers": servers,
            "extra": sorted(touched - expected), "missing": sorted(expected - touched), "seconds": seconds}


def render(results: list[dict], details: bool) -> str:
    rows = []
    for r in results:
        d: PlanDiff = r["diff"]
        n = d.counts()
        ok = not r["extra"] and not r["missing"]
        verdict = "yes" if ok else "no: " + "; ".join(
            part for part in (f"{len(r['extra'])} extra ({', '.join(r['extra'][:3])})" if r["extra"] else "",
                              f"{len(r['missing'])} missing ({', '.join(r['missing'][:3])})" if r["missing"] else "")
            if part)
        edit = r["edit"].name + (f" ({r['note']})" if r["note"] else "")
        rules = f"+{len(r['rules'].added)} -{len(r['rules'].removed)}" + (
            f" ~{len(r['rules'].changed)}" if r["rules"].changed else "")
        rows.append((r["stack"], edit, rules,
                     n["create"], n["delete"], n["update"], n["replace"], n["ignored"], r["servers"],
                     r["edit"].touches, verdict))
    out = ["## Diff economy: what each edit touches (two offline plans, kubeports.plan.compare)\n\n", md_table(
        ["Stack", "Edit", "Rules", "Created", "Deleted", "Updated", "Replaced", "Held", "Servers touched",
         "Should touch", "Minimum?"], rows, right=(3, 4, 5, 6, 7, 8))]
    out.append("\nEdits: " + "; ".join(f"**{e.name}** = {e.what}" for e in EDITS) + ".\n")
    out.append("Held = resources whose only changes ignoreChanges holds back (no action). Servers touched = "
               "instances created, deleted, updated or replaced.\n")
    if details:
        for r in results:
            out.append("\n" + to_markdown(r["diff"], r["rules"], title=f"{r['stack']}: {r['edit'].name}"))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=csv_arg, default=None, help="stack names, comma-separated (default: all)")
    parser.add_argument("--edits", type=csv_arg, default=None,
                        help=f"edits, comma-separated (default: all of {', '.join(e.name for e in EDITS)})")
    parser.add_argument("--details", action="store_true", help="print each edit's plandiff markdown too")
    args = parser.parse_args(argv)
    edits = [e for e in EDITS if not args.edits or e.name in args.edits]
    unknown = set(args.edits or ()) - {e.name for e in EDITS}
    if unknown:
        parser.error(f"unknown edits {sorted(unknown)}")
    results = []
    for stack_file in example_stacks(args.stacks):
        base_project = load_project(stack_file)
        base_plan = run_plan(stack_file)
        for edit in edits:
            if edit.name == "roll":
                results += run_roll(stack_file, edit)
            elif edit.name == "reupload":
                results.append(run_reupload(stack_file, edit, base_plan))
            else:
                results.append(run_edit(stack_file, edit, base_plan, base_project))
    sys.stdout.write(render(results, args.details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
