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

from kubeports.core.errors import KubeportsError, Problem

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
