"""`plan`: every resource the stack would create, from the real program under Pulumi's
mock runtime (kubeports.plan.offline). Needs pulumi: commands.py imports this module
only when the command runs."""
from __future__ import annotations

import argparse
import json
import sys

from kubeports.core.paths import display_path
from kubeports.plan.offline import NOTICE, PROGRAM, as_text, run_plan, stack_outputs_of

from .common import open_project, stack_file_of


def cmd_plan(args: argparse.Namespace) -> int:
    stack_file = stack_file_of(args)
    open_project(args)  # validate first: errors and notes print before Pulumi starts
    plan = run_plan(stack_file, args.portspecs, program=args.program or PROGRAM,
                    stack_outputs=stack_outputs_of(args.stack_outputs))
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(as_text(plan))
    print(f"{NOTICE} ({display_path(stack_file)}).", file=sys.stderr)
    return 0
