"""`kubeports diff`: what a change does to a stack, from two offline plans. No cloud.

    kubeports diff --base origin/main --stack dev               # base ref vs the working tree
    kubeports diff --base v1 --head v2 --stack dev --format json
    kubeports diff --base-dir ../old --head-dir . --stack dev   # two checkouts

Rules of this file:
- each side runs its OWN code and catalog (a subprocess with that checkout first on
  PYTHONPATH), so a diff across a refactor compares what each version would create;
- a git ref is resolved to a commit id (`git rev-parse --verify --end-of-options
  REF^{commit}`) and that id is materialised with `git archive` into a temporary
  directory, never by switching the user's checkout; anything else is a user error;
- SECURITY: running each side's code means diffing an untrusted branch executes it.
  The pull-request workflow does that without any credential;
- a stack file missing on one side means an empty side (everything created/deleted);
- "no changes" and exit 0 when both the rules and the plan are unchanged
  (`--exit-code` makes a change exit 2, for scripts).
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubeports.core.errors import KubeportsError, Problem

EMPTY_PLAN: dict[str, Any] = {"resources": [], "outputs": {}}


def resolve_ref(repo: str, ref: str, flag: str = "--base/--head") -> str:
    """The commit object id `ref` names, or a one-line user error. `--end-of-options`
    keeps a ref such as `--output=FILE` from being read as an option (git would truncate
    FILE), and only the resolved id, never the user's text, reaches `git archive`."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise KubeportsError([Problem("kubeports diff", 1, flag, f"not a git ref: {ref!r}")])
    result = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", "--end-of-options",
                             f"{ref}^{{commit}}"], capture_output=True, text=True, timeout=60)
    oid = result.stdout.strip()
    if result.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", oid):
        raise KubeportsError([Problem(repo, 1, flag, f"git cannot read {ref!r}: not a commit in this repository")])
    return oid


@contextmanager
def checkout(repo: str, ref: str | None, directory: str | None, flag: str = "--base/--head") -> Iterator[str]:
    """A directory holding one side: `directory` as is, the work tree (ref None), or `ref`."""
    if directory:
        yield os.path.abspath(directory)
        return
    if ref is None:
        yield repo
        return
    oid = resolve_ref(repo, ref, flag)
    archive = subprocess.run(["git", "-C", repo, "archive", "--format=tar", oid], capture_output=True, timeout=120)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise KubeportsError([Problem(repo, 1, flag, f"git cannot read {ref!r}: "
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


def _port_range(value: Any) -> list[int] | None:
    text = str(value).strip()
    match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
    if not match:
        return None
    low = int(match.group(1))
    return [low, int(match.group(2) or low)]


def _yaml(path: str) -> Any:
    import yaml  # data only: the YAML of that side, read safely, never its code

    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None


def context(directory: str, stack: str) -> dict[str, Any]:
    """What the review needs beyond rules and plan, read as data from that side's files:
    the stack's cloud, egress, quota and named-port overrides, and the catalog's named
    ports (name -> [low, high], every file) and which of them sensitive flows use."""
    doc = _yaml(os.path.join(directory, f"Pulumi.{stack}.yaml"))
    config = (doc or {}).get("config") or {} if isinstance(doc, dict) else {}
    cluster = config.get("kubeports:cluster") if isinstance(config.get("kubeports:cluster"), dict) else {}
    overrides = {str(k): r for k, v in (cluster.get("ports") or {}).items() if (r := _port_range(v))} \
        if isinstance(cluster.get("ports"), dict) else {}
    named: dict[str, list[list[int]]] = {}
    sensitive_names: set[str] = set()
    spec_dir = os.path.join(directory, "portspecs")
    for name in sorted(os.listdir(spec_dir)) if os.path.isdir(spec_dir) else ():
        spec = _yaml(os.path.join(spec_dir, name)) if name.endswith((".yaml", ".yml")) else None
        if not isinstance(spec, dict):
            continue
        for port, entry in (spec.get("ports") or {}).items():
            value = _port_range(entry.get("port") if isinstance(entry, dict) else entry)
            if value and value not in named.setdefault(str(port), []):
                named[str(port)].append(value)
        for flow in spec.get("flows") or ():
            if isinstance(flow, dict) and flow.get("sensitive"):
                ports = flow.get("ports")
                sensitive_names |= {str(p) for p in (ports if isinstance(ports, list) else [ports])}
    sensitive = {tuple(v) for p in sensitive_names for v in ([overrides[p]] if p in overrides else named.get(p, []))}
    quota = cluster.get("quota") if isinstance(cluster.get("quota"), dict) else {}
    return {"present": doc is not None, "cloud": config.get("kubeports:cloud"),
            "egress": cluster.get("egress", "open") if doc is not None else None,
            "quota": {"neutronRules": quota.get("neutronRules", 100), "awsRulesPerGroup": quota.get("awsRulesPerGroup", 60)},
            "overrides": overrides, "named": {k: v for k, v in sorted(named.items())},
            "sensitive": [list(v) for v in sorted(sensitive)]}


def quota_usage(cloud: Any, rules: list[dict[str, Any]]) -> dict[str, int]:
    """Counted like kubeports.core.quota: Neutron per project; AWS per group, direction and
    family, a group reference counted once in each family it serves."""
    if cloud != "aws":
        return {"project": len(rules)}
    seen: set[tuple] = set()
    counts: dict[str, int] = {}
    for rule in rules:
        peer = rule.get("peer") or {}
        families = ("IPv4", "IPv6") if "role" in peer else (rule.get("ethertype"),)
        ident = (rule.get("role"), rule.get("direction"), rule.get("protocol"), rule.get("from_port"),
                 rule.get("to_port"), json.dumps(peer, sort_keys=True), None if "role" in peer else rule.get("ethertype"))
        if ident in seen:
            continue
        seen.add(ident)
        for family in families:
            key = f"{rule.get('role')} {rule.get('direction')} {family}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
