"""`plan`: every resource the stack would create, from the real program under Pulumi's
mock runtime (kubeports.plan.offline). Needs pulumi: commands.py imports this module
only when the command runs."""
from __future__ import annotations

import argparse
import json
import sys

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import display_path
from kubeports.plan.offline import NOTICE, PROGRAM, as_text, run_plan, stack_outputs_of

from .common import open_project, stack_file_of


def images_of(items: list[str]) -> dict[str, str]:
    """`--image NAME=ID`: what the image lookup answers for NAME (e.g. after a re-upload)."""
    out = {}
    for item in items:
        name, _, image_id = item.partition("=")
        if not name or not image_id:
            raise KubeportsError([Problem(item, 1, "--image", "expected NAME=ID")])
        out[name] = image_id
    return out


def cmd_plan(args: argparse.Namespace) -> int:
    stack_file = stack_file_of(args)
    open_project(args)  # validate first: errors and notes print before Pulumi starts
    plan = run_plan(stack_file, args.portspecs, program=args.program or PROGRAM,
                    stack_outputs=stack_outputs_of(args.stack_outputs), images=images_of(args.image))
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(as_text(plan))
    print(f"{NOTICE} ({display_path(stack_file)}).", file=sys.stderr)
    return 0
