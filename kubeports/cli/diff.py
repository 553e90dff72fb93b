"""`diff`: what a change does to a stack, from two offline plans (kubeports.plan.refs).
Each side runs in a subprocess with its own code, so this module needs no pulumi."""
from __future__ import annotations

import argparse
import json
import sys

from kubeports.core.errors import KubeportsError, Problem
from kubeports.plan.compare import diff_plans, diff_rules, to_json, to_markdown
from kubeports.plan.refs import checkout, side


def cmd_diff(args: argparse.Namespace) -> int:
    if not (args.base or args.base_dir):
        raise KubeportsError([Problem("kubeports diff", 1, "--base", "give --base REF or --base-dir DIR")])
    with checkout(args.repo, args.base, args.base_dir) as old_dir, \
            checkout(args.repo, args.head, args.head_dir) as new_dir:
        old_rules, old_plan = side(old_dir, args.stack)
        new_rules, new_plan = side(new_dir, args.stack)
    plan_diff = diff_plans(old_plan, new_plan)
    rule_diff = diff_rules(old_rules, new_rules)
    unchanged = plan_diff.is_empty and rule_diff.is_empty
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(plan_diff, rule_diff), indent=2, ensure_ascii=False) + "\n")
    elif unchanged and args.format == "text":
        print("no changes")
    else:
        title = f"Stack `{args.stack}`: {args.base or args.base_dir} → {args.head or args.head_dir or 'working tree'}"
        sys.stdout.write(to_markdown(plan_diff, rule_diff, title=title))
    return 2 if args.exit_code and not unchanged else 0
