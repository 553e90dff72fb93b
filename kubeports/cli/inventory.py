"""`inventory`: a stack's nodes as an Ansible inventory for kubespray (kubeports.render.inventory).

Where the addresses come from, one of:
- `--outputs FILE`: a real stack's `pulumi stack output --json` (or a saved
  `kubeports plan --format json`, whose addresses are mock);
- `--pulumi`: runs `pulumi stack output --json --stack NAME` (needs the Pulumi CLI and
  the stack's backend login; read-only);
- neither: an offline plan of the stack (needs pulumi, imported only then): mock
  addresses, said so in the inventory and on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Any

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import display_path
from kubeports.render.inventory import FORMATS, build

from .common import catalog_of, open_project, stack_file_of
from .stacks import project_program

PULUMI_TIMEOUT = 120  # seconds; a backend that hangs must not hang the command


def outputs_file(path: str) -> tuple[dict[str, Any], bool]:
    """(outputs, mock) of a `pulumi stack output --json` file or a saved offline plan."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise KubeportsError([Problem(display_path(path), 1, "--outputs", str(exc))]) from None
    if not isinstance(data, dict):
        raise KubeportsError([Problem(display_path(path), 1, "--outputs", "expected a JSON object of stack outputs")])
    if "resources" in data and isinstance(data.get("outputs"), dict):  # `kubeports plan --format json`
        return data["outputs"], True
    return data, False


def pulumi_outputs(stack: str) -> dict[str, Any]:
    where = f"pulumi stack output --stack {stack}"
    if shutil.which("pulumi") is None:
        raise KubeportsError([Problem(where, 1, "--pulumi", "no `pulumi` on PATH; where it is installed, save "
                                      "`pulumi stack output --json > FILE` and pass --outputs FILE")])
    try:
        done = subprocess.run(["pulumi", "stack", "output", "--json", "--stack", stack], capture_output=True,
                              text=True, timeout=PULUMI_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise KubeportsError([Problem(where, 1, "--pulumi", f"no answer within {PULUMI_TIMEOUT} s")]) from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise KubeportsError([Problem(where, 1, "--pulumi", message)])
    try:
        data = json.loads(done.stdout)
    except ValueError as exc:
        raise KubeportsError([Problem(where, 1, "--pulumi", f"not JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise KubeportsError([Problem(where, 1, "--pulumi", "expected a JSON object of stack outputs")])
    return data


def planned_outputs(args: argparse.Namespace) -> dict[str, Any]:
    from kubeports.plan.offline import PROGRAM, run_plan, stack_outputs_of  # needs pulumi (commands.py says so)

    from .plan import check_program

    program = args.program or project_program() or PROGRAM  # the project found from here, as pulumi runs it
    check_program(program)
    replace, layers = catalog_of(args)
    plan = run_plan(stack_file_of(args), replace, program=program, layers=layers,
                    stack_outputs=stack_outputs_of(args.stack_outputs))
    return plan.outputs


def stack_name(stack_file: str) -> str:
    """`Pulumi.dev.yaml` -> `dev`, as Pulumi names a stack by its file."""
    base = os.path.basename(stack_file)
    return base[len("Pulumi."):-len(".yaml")] if base.startswith("Pulumi.") and base.endswith(".yaml") else base


def cmd_inventory(args: argparse.Namespace) -> int:
    project = open_project(args)  # validate first: a bad stack file is its own error
    stack_file = display_path(stack_file_of(args))
    stack = args.stack or stack_file
    if args.outputs:
        outputs, mock = outputs_file(args.outputs)
        source, where = display_path(args.outputs), display_path(args.outputs)
    elif args.pulumi:
        name = args.stack or stack_name(stack_file)
        outputs, mock = pulumi_outputs(name), False
        source = where = f"pulumi stack output --stack {name}"
    else:
        outputs, mock = planned_outputs(args), True
        source, where = f"an offline plan of {stack_file}", stack_file
    inventory = build(outputs, project.stack.cluster, source=source, mock=mock, where=where)
    sys.stdout.write(FORMATS[args.format](inventory))
    if mock:
        print(f"note: stack {stack}: mock addresses from an offline plan; no cloud was contacted", file=sys.stderr)
    return 0
