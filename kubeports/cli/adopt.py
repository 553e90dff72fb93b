"""`adopt`: a `pulumi import --file` document for the groups and rules that already match
(kubeports.plan.adopt), and what the next `pulumi up` does after the import. Needs pulumi
(the offline plan): commands.py imports this module only when the command runs."""
from __future__ import annotations

import argparse
import json
import sys

from kubeports.core.audit import map_roles
from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.live import load_dumps
from kubeports.core.settings import LOAD_BALANCER
from kubeports.plan.adopt import adopt
from kubeports.plan.offline import PROGRAM, run_plan

from .audit import live_state, role_map
from .common import catalog_of, open_project, stack_file_of
from .stacks import project_program

NEXT = ("next: pulumi import --file {file} --protect=false --generate-code=false, then `pulumi preview` shows "
        "the creates and deletes above, and `pulumi up` applies them (creates first, deletes last)")


def _plain(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def review(result) -> str:
    lines = [f"adopt: {len(result.adopted)} resources adopted as they are; after the import the next `pulumi up` "
             f"creates {len(result.creates)}, deletes {len(result.deletes)}, changes {len(result.updates)}", ""]
    for title, items in (("create (missing, or not adopted: instances and ports)", result.creates),
                         ("delete (not in the documents)", result.deletes), ("change", result.updates),
                         ("kept as it is (the program ignores changes there)", result.kept)):
        if items:
            lines.append(f"{title}:")
            lines += [f"  {_plain(item)}" for item in items]
    return "\n".join(lines).rstrip() + "\n"


def cmd_adopt(args: argparse.Namespace) -> int:
    project = open_project(args)
    stack = project.stack
    if bool(args.dump) == bool(args.live):
        raise KubeportsError([Problem("kubeports adopt", 1, "--dump/--live", "give --dump FILE (repeatable) or --live")])
    state = load_dumps(args.dump) if args.dump else \
        live_state(stack.cloud, getattr(stack.aws, "vpc_id", None) if stack.aws else None)
    roles = [r for r in stack.cluster.roles if not (r == LOAD_BALANCER and stack.cloud == "openstack")]
    mapping = map_roles(state, roles, role_map(args.map), stack.cluster.name)
    replace, layers = catalog_of(args)
    plan = run_plan(stack_file_of(args), replace, program=project_program() or PROGRAM, layers=layers).to_json()
    result = adopt(plan, state, mapping, stack.cluster.name)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(result.import_file(), handle, indent=2)
        handle.write("\n")
    sys.stdout.write(review(result))
    print(NEXT.format(file=args.output), file=sys.stderr)
    return 0
