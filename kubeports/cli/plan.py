"""`plan`: every resource the stack would create, from the real program under Pulumi's
mock runtime (kubeports.plan.offline). Needs pulumi: commands.py imports this module
only when the command runs."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import display_path
from kubeports.core.project import Project
from kubeports.plan.offline import NOTICE, PROGRAM, as_text, run_plan, stack_outputs_of
from kubeports.render.tables import as_json

from .common import catalog_of, open_project, stack_file_of
from .stacks import project_program


def images_of(items: list[str]) -> dict[str, str]:
    """`--image NAME=ID`: what the image lookup answers for NAME (e.g. after a re-upload)."""
    out = {}
    for item in items:
        name, _, image_id = item.partition("=")
        if not name or not image_id:
            raise KubeportsError([Problem(item, 1, "--image", "expected NAME=ID")])
        out[name] = image_id
    return out


def check_program(program: str) -> None:
    if not os.path.isfile(program):
        raise KubeportsError([Problem(display_path(program), 1, "--program", "no such file: the Pulumi program "
                                      "to run, e.g. examples/worker-pool/__main__.py")])


def check_stack_outputs(project: Project, given: dict[str, Any], items: list[str]) -> None:
    """The outputs the program will read (the peer stack's `security_group_ids`) have the
    shape it needs: a user error here, not a KeyError inside the program."""
    peer = project.stack.peer_stack
    if peer is None or peer not in given:
        return
    path = next((item.partition("=")[2] for item in items if item.partition("=")[0] == peer), peer)
    ids = given[peer].get("security_group_ids")
    if not isinstance(ids, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ids.items()):
        raise KubeportsError([Problem(display_path(path), 1, "--stack-outputs", f"{peer}: security_group_ids must "
                                      "map role names to group ids (a JSON object of strings)")])
    missing = [r for r in project.stack.cluster.external_roles if r not in project.stack.peer_groups and r not in ids]
    if missing:
        raise KubeportsError([Problem(display_path(path), 1, "--stack-outputs", f"{peer}: security_group_ids has "
                                      f"no group for {', '.join(missing)} (it has {', '.join(sorted(ids)) or 'none'})")])


def cmd_plan(args: argparse.Namespace) -> int:
    stack_file = stack_file_of(args)
    project = open_project(args)  # validate first: errors and notes print before Pulumi starts
    if getattr(args, "rules_out", None):
        with open(args.rules_out, "w", encoding="utf-8") as handle:
            handle.write(as_json(project.resolution.rules))
    program = args.program or project_program() or PROGRAM  # the project found from here, as pulumi runs it
    check_program(program)
    outputs = stack_outputs_of(args.stack_outputs)
    check_stack_outputs(project, outputs, args.stack_outputs)
    replace, layers = catalog_of(args)
    plan = run_plan(stack_file, replace, program=program, stack_outputs=outputs, images=images_of(args.image),
                    layers=layers)
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(as_text(plan))
    print(f"{NOTICE} ({display_path(stack_file)}).", file=sys.stderr)
    return 0
