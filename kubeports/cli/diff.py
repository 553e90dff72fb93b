"""`diff`: what a change does to a stack, from two offline plans (kubeports.plan.refs).
Each side runs in ONE subprocess with its own code, for every stack asked (`--stack` or
`--all-stacks`), so this module needs no pulumi.
SECURITY: that means `kubeports diff` executes the code of both sides; diffing an
untrusted branch runs it (the pull-request workflow does so without credentials).

`--all-stacks` prints, stack after stack (by name, every stack file of either side), what
`--stack NAME` prints for it; JSON is one object by stack name; the exit code is the worst:
1 when a step is refused anywhere, else 2 under `--exit-code` when anything changed."""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from kubeports.core.errors import KubeportsError, Problem
from kubeports.plan.compare import diff_plans, diff_rules, to_json, to_markdown, to_text
from kubeports.plan.refs import checkout, contexts, quota_usage, resolve_ref, sides
from kubeports.plan.rollout import image_notes, role_steps
from kubeports.plan.rollout import to_markdown as steps_markdown
from kubeports.plan.rollout import to_text as steps_text
from kubeports.render.review import Side

from .exits import CHANGED, OK, USER_ERROR


@dataclass(frozen=True)
class StackDiff:
    """One stack's diff, rendered: the text to print (or JSON to embed), its refusals."""
    text: str
    data: dict[str, Any] | None
    refused: tuple[str, ...]
    changed: bool


def _label(repo: str, ref: str | None, directory: str | None, flag: str) -> str:
    """A side by name: the ref as given with its short commit id, a directory's name, or
    "working tree"; never a temporary path."""
    if directory:
        return os.path.basename(os.path.abspath(directory)) or directory
    if ref is None:
        return "working tree"
    return f"{ref} ({resolve_ref(repo, ref, flag)[:12]})"


def _stacks_of(*directories: str) -> list[str]:
    """Every stack either side has a file for, by name."""
    found = {os.path.basename(p)[len("Pulumi."):-len(".yaml")] for d in directories
             for p in glob.glob(os.path.join(glob.escape(d), "Pulumi.*.yaml"))}
    return sorted(found)


def cmd_diff(args: argparse.Namespace) -> int:
    if not (args.base or args.base_dir):
        raise KubeportsError([Problem("kubeports diff", 1, "--base", "give --base REF or --base-dir DIR")])
    if bool(args.stack) == bool(args.all_stacks):
        raise KubeportsError([Problem("kubeports diff", 1, "--stack", "give --stack NAME or --all-stacks")])
    for flag, directory in (("--base-dir", args.base_dir), ("--head-dir", args.head_dir)):
        if directory is not None and not os.path.isdir(directory):
            raise KubeportsError([Problem(directory, 1, flag, "no such directory: a checkout of this project")])
    base_name = args.base_name or _label(args.repo, args.base, args.base_dir, "--base")
    head_name = args.head_name or _label(args.repo, args.head, args.head_dir, "--head")
    with checkout(args.repo, args.base, args.base_dir, "--base") as old_dir, \
            checkout(args.repo, args.head, args.head_dir, "--head") as new_dir:
        stacks = _stacks_of(old_dir, new_dir) if args.all_stacks else [args.stack]
        stack = f"Pulumi.{args.stack}.yaml"
        if not args.all_stacks and not any(os.path.exists(os.path.join(d, stack)) for d in (old_dir, new_dir)):
            raise KubeportsError([Problem(stack, 1, "--stack", f"no {stack} on either side "
                                          f"({args.base or args.base_dir} or {args.head or args.head_dir or 'the work tree'})")])
        old_sides, new_sides = sides(old_dir, stacks), sides(new_dir, stacks)
        old_ctxs, new_ctxs = contexts(old_dir, stacks), contexts(new_dir, stacks)
    results = {stack: stack_diff(args, stack, old_sides[stack], new_sides[stack], old_ctxs[stack], new_ctxs[stack],
                                 base_name, head_name) for stack in stacks}
    if args.format == "json":
        data = results[args.stack].data if not args.all_stacks else {s: r.data for s, r in results.items()}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(r.text for r in results.values()))
    refused = [p for r in results.values() for p in r.refused]
    for problem in refused:  # a step over the rollout limits: say so where a script sees it
        print(f"kubeports diff: {problem}", file=sys.stderr)
    if refused:
        return USER_ERROR
    return CHANGED if args.exit_code and any(r.changed for r in results.values()) else OK


def stack_diff(args: argparse.Namespace, stack: str, old: tuple[dict, dict], new: tuple[dict, dict],
               old_ctx: dict[str, Any], new_ctx: dict[str, Any], base_name: str, head_name: str) -> StackDiff:
    """One stack: what `--stack NAME` prints (text, markdown, or the JSON object)."""
    (old_rules, old_plan), (new_rules, new_plan) = old, new
    plan_diff = diff_plans(old_plan, new_plan)
    rule_diff = diff_rules(old_rules, new_rules)
    unchanged = plan_diff.is_empty and rule_diff.is_empty
    steps = role_steps(plan_diff, old_plan, new_plan)
    refused = tuple(p for s in steps for p in s.problems)
    if args.format == "json":
        data = {**to_json(plan_diff, rule_diff), "nodes": [
            {"role": s.role, "step": s.step, "replaced": s.replaced, "maxUnavailable": s.max_unavailable,
             "quorumLimit": s.quorum_limit, "nodes": [n.__dict__ for n in s.nodes]} for s in steps],
            "refused": list(refused), "images": image_notes(new_plan.get("outputs") or {})}
        return StackDiff("", data, refused, not unchanged)
    if unchanged and args.format == "text":
        return StackDiff(f"Stack {stack}: no changes\n" if args.all_stacks else "no changes\n", None, refused, False)
    base = Side(tuple(old_rules["rules"]), old_ctx, quota_usage(old_ctx.get("cloud"), old_rules["rules"]))
    head = Side(tuple(new_rules["rules"]), new_ctx, quota_usage(new_ctx.get("cloud"), new_rules["rules"]))
    title = f"Stack {stack}: {base_name} → {head_name}"
    render = to_text if args.format == "text" else to_markdown
    text = render(plan_diff, rule_diff, title=title, base=base, head=head)
    section = (steps_text if args.format == "text" else steps_markdown)(steps, image_notes(new_plan.get("outputs") or {}))
    return StackDiff(text + (("\n" + section) if section else ""), None, refused, not unchanged)
