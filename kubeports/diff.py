"""`kubeports diff`: what a change does to a stack, from two offline plans. No cloud.

    kubeports diff --base origin/main --stack dev               # base ref vs the working tree
    kubeports diff --base v1 --head v2 --stack dev --format json
    kubeports diff --base-dir ../old --head-dir . --stack dev   # two checkouts

Rules of this file:
- each side runs its OWN code and catalog (a subprocess with that checkout first on
  PYTHONPATH), so a diff across a refactor compares what each version would create;
- a git ref is materialised with `git archive` into a temporary directory, never by
  switching the user's checkout;
- a stack file missing on one side means an empty side (everything created/deleted);
- "no changes" and exit 0 when both the rules and the plan are unchanged
  (`--exit-code` makes a change exit 2, for scripts).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import cli
from .errors import KubeportsError, Problem
from .paths import ROOT
from .plandiff import diff_plans, diff_rules, to_json, to_markdown

EMPTY_PLAN: dict[str, Any] = {"resources": [], "outputs": {}}


@contextmanager
def checkout(repo: str, ref: str | None, directory: str | None) -> Iterator[str]:
    """A directory holding one side: `directory` as is, the work tree (ref None), or `ref`."""
    if directory:
        yield os.path.abspath(directory)
        return
    if ref is None:
        yield repo
        return
    archive = subprocess.run(["git", "-C", repo, "archive", "--format=tar", ref], capture_output=True, timeout=120)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise KubeportsError([Problem(repo, 1, "--base/--head", f"git cannot read {ref!r}: "
                                      f"{message[-1] if message else 'unknown error'}")])
    with tempfile.TemporaryDirectory(prefix="kubeports-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield tmp


def side(directory: str, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(rules json, plan json) of `stack` as the code in `directory` resolves and plans it."""
    stack_file = os.path.join(directory, f"Pulumi.{stack}.yaml")
    if not os.path.exists(stack_file):
        return {"rules": []}, EMPTY_PLAN
    common = ["--stack-file", stack_file, "--portspecs", os.path.join(directory, "portspecs")]
    rules = _run(directory, ["rules", *common, "--format", "json"])
    plan = _run(directory, ["plan", *common, "--format", "json"])
    return rules, plan


def _run(directory: str, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": directory + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("KUBEPORTS_PORTSPECS", None)
    env.pop("KUBEPORTS_STACK_FILE", None)
    result = subprocess.run([sys.executable, "-m", "kubeports", *args], cwd=directory, env=env,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        raise KubeportsError([Problem(directory, 1, f"kubeports {args[0]}", line) for line in lines[-20:]]
                             or [Problem(directory, 1, f"kubeports {args[0]}", f"exit {result.returncode}")])
    return json.loads(result.stdout)


def _register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diff", help="compare a stack's rules and offline plan between two refs or checkouts")
    parser.add_argument("--stack", required=True, help="stack name (Pulumi.NAME.yaml on each side)")
    parser.add_argument("--base", help="git ref of the old side")
    parser.add_argument("--head", help="git ref of the new side (default: the working tree)")
    parser.add_argument("--base-dir", help="a checkout holding the old side")
    parser.add_argument("--head-dir", help="a checkout holding the new side")
    parser.add_argument("--repo", default=ROOT, help="the git repository (default: this project)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--exit-code", action="store_true", help="exit 2 when something changed")


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


cli.EXTENSIONS.append(_register)
cli.COMMANDS["diff"] = cmd_diff
