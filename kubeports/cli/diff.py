"""`diff`: what a change does to a stack, from two offline plans (kubeports.plan.refs).
Each side runs in a subprocess with its own code, so this module needs no pulumi.
SECURITY: that means `kubeports diff` executes the code of both sides; diffing an
untrusted branch runs it (the pull-request workflow does so without credentials)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from kubeports.core.errors import KubeportsError, Problem
from kubeports.plan.compare import diff_plans, diff_rules, to_json, to_markdown, to_text
from kubeports.plan.refs import checkout, context, quota_usage, resolve_ref, side
from kubeports.plan.rollout import image_notes, role_steps
from kubeports.plan.rollout import to_markdown as steps_markdown
from kubeports.render.review import Side


def _label(repo: str, ref: str | None, directory: str | None, flag: str) -> str:
    """A side by name: the ref as given with its short commit id, a directory's name, or
    "working tree"; never a temporary path."""
    if directory:
        return os.path.basename(os.path.abspath(directory)) or directory
    if ref is None:
        return "working tree"
    return f"{ref} ({resolve_ref(repo, ref, flag)[:12]})"


def cmd_diff(args: argparse.Namespace) -> int:
    if not (args.base or args.base_dir):
        raise KubeportsError([Problem("kubeports diff", 1, "--base", "give --base REF or --base-dir DIR")])
    for flag, directory in (("--base-dir", args.base_dir), ("--head-dir", args.head_dir)):
        if directory is not None and not os.path.isdir(directory):
            raise KubeportsError([Problem(directory, 1, flag, "no such directory: a checkout of this project")])
    base_name = args.base_name or _label(args.repo, args.base, args.base_dir, "--base")
    head_name = args.head_name or _label(args.repo, args.head, args.head_dir, "--head")
    with checkout(args.repo, args.base, args.base_dir, "--base") as old_dir, \
            checkout(args.repo, args.head, args.head_dir, "--head") as new_dir:
        stack = f"Pulumi.{args.stack}.yaml"
        if not any(os.path.exists(os.path.join(d, stack)) for d in (old_dir, new_dir)):
            raise KubeportsError([Problem(stack, 1, "--stack", f"no {stack} on either side "
                                          f"({args.base or args.base_dir} or {args.head or args.head_dir or 'the work tree'})")])
        old_rules, old_plan = side(old_dir, args.stack)
        new_rules, new_plan = side(new_dir, args.stack)
        old_ctx, new_ctx = context(old_dir, args.stack), context(new_dir, args.stack)
    plan_diff = diff_plans(old_plan, new_plan)
    rule_diff = diff_rules(old_rules, new_rules)
    unchanged = plan_diff.is_empty and rule_diff.is_empty
    steps = role_steps(plan_diff, old_plan, new_plan)
    refused = [p for s in steps for p in s.problems]
    if args.format == "json":
        out = {**to_json(plan_diff, rule_diff), "nodes": [
            {"role": s.role, "step": s.step, "replaced": s.replaced, "maxUnavailable": s.max_unavailable,
             "quorumLimit": s.quorum_limit, "nodes": [n.__dict__ for n in s.nodes]} for s in steps],
            "refused": refused, "images": image_notes(new_plan.get("outputs") or {})}
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    elif unchanged and args.format == "text":
        print("no changes")
    else:
        base = Side(tuple(old_rules["rules"]), old_ctx, quota_usage(old_ctx.get("cloud"), old_rules["rules"]))
        head = Side(tuple(new_rules["rules"]), new_ctx, quota_usage(new_ctx.get("cloud"), new_rules["rules"]))
        title = f"Stack {args.stack}: {base_name} → {head_name}"
        render = to_text if args.format == "text" else to_markdown
        sys.stdout.write(render(plan_diff, rule_diff, title=title, base=base, head=head))
        section = steps_markdown(steps, image_notes(new_plan.get("outputs") or {}))
        sys.stdout.write(("\n" + section) if section else "")
    for problem in refused:  # a step over the rollout limits: say so where a script sees it
        print(f"kubeports diff: {problem}", file=sys.stderr)
    if refused:
        return 1
    return 2 if args.exit_code and not unchanged else 0
