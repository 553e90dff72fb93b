"""`kubeports diff`: what a change does to a stack, from two offline plans. No cloud.

    kubeports diff --base origin/main --stack dev               # base ref vs the working tree
    kubeports diff --base v1 --head v2 --stack dev --format json
    kubeports diff --base-dir ../old --head-dir . --stack dev   # two checkouts

Rules of this file:
- each side runs its OWN code and catalog (a subprocess with that checkout first on
  PYTHONPATH), so a diff across a refactor compares what each version would create;
  one subprocess per side, whatever the number of stacks (`sides`); on POSIX that
  process is forked from this one once the Pulumi SDK and the side's cloud providers are
  imported (kubeports.plan.sideproc), so the sides do not import them again: what is
  shared is only the installed SDKs, which a fresh interpreter would import from the same
  files; each side still imports its own kubeports, components and catalog;
- a git ref is resolved to a commit id (`git rev-parse --verify --end-of-options
  REF^{commit}`) and that id is materialised with `git archive` into a temporary
  directory, never by switching the user's checkout; anything else is a user error;
- SECURITY: running each side's code means diffing an untrusted branch executes it.
  The pull-request workflow does that without any credential;
- a stack file missing on one side means an empty side (everything created/deleted);
- each side's kubeports finds its own catalog, as `kubeports plan` in that directory does:
  a checkout its `portspecs/`, a project that installs kubeports the installed one (plus
  the layers its stack names);
- "no changes" and exit 0 when both the rules and the plan are unchanged
  (`--exit-code` makes a change exit 5, for scripts; kubeports.cli.exits).
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
from kubeports.core.paths import PORTSPECS

from . import sideproc

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
    return sides(directory, [stack])[stack]


# Runs in the side's own interpreter (its checkout first on sys.path, and its components/
# as kubeports.components, which an installed kubeports would otherwise answer with its
# own: every side diffed against the installed components was a bug), so it calls only the
# CLI every version has: `kubeports.cli.main(argv)`, returning an exit code and writing its
# JSON to stdout. One process per side for every stack: imports (pydantic, the Pulumi SDK
# and providers) and first calls are paid once, not twice per stack. Each command's output
# is passed through as the text it printed, in one JSON document; an error stops there, as
# the subprocess per command did. A side whose `plan` has `--rules-out` (PLAN_RULES_OUT in
# kubeports.cli.arguments) gives both texts from one `plan`, which loads the stack once
# (`rules` then `plan` loaded it twice); an older side runs `rules`, then `plan`. Either
# way the texts are what `rules --format json` and `plan --format json` print, and a stack
# that fails before its rules are written reports `rules` as the failing command, as the
# two commands did (the same validation fails the same way in both). The collector stays
# off (the plans pause it anyway) but runs after a big plan (over BIG_PLAN characters of
# JSON, some 5,000 resources), so a side of many big stacks does not hold every plan's
# heap; after a small one a full pass over the SDKs' heap would cost more than the plan.
BIG_PLAN = 5_000_000
_SIDE_DRIVER = r"""
import contextlib, gc, importlib.abc, importlib.util, io, json, os, shutil, sys, tempfile
gc.disable()
HERE = os.path.join(os.getcwd(), "components")


class SideComponents(importlib.abc.MetaPathFinder):
    # kubeports.components is the tree's top-level components/ (pyproject's package-dir):
    # an installed kubeports would answer with ITS components, not this side's.
    def find_spec(self, name, path, target=None):
        if name != "kubeports.components":
            return None
        return importlib.util.spec_from_file_location(name, os.path.join(HERE, "__init__.py"),
                                                      submodule_search_locations=[HERE])


# Only in a kubeports checkout: a project that installs kubeports has its own `components`
# package (any name it likes), which must stay its own and never become kubeports'.
if os.path.isfile(os.path.join(HERE, "__init__.py")) and os.path.isfile(os.path.join(os.getcwd(), "kubeports",
                                                                                    "__init__.py")):
    sys.meta_path.insert(0, SideComponents())
from kubeports.cli import main
try:  # a side whose `plan` also writes the rules: one load of the stack for both texts
    from kubeports.cli.arguments import PLAN_RULES_OUT
except ImportError:
    PLAN_RULES_OUT = None
scratch = tempfile.mkdtemp(prefix="kubeports-side-")


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            code = 70
            print(f"kubeports: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return code, out.getvalue(), err.getvalue()


parts = []
for index, (stack, stack_file, portspecs) in enumerate(json.loads(sys.argv[1])):
    common = ["--stack-file", stack_file, *(["--portspecs", portspecs] if portspecs else []), "--format", "json"]
    texts, error = {}, None
    if PLAN_RULES_OUT:
        rules_file = os.path.join(scratch, f"{index}.json")
        code, texts["plan"], stderr = run(["plan", *common, PLAN_RULES_OUT, rules_file])
        if os.path.exists(rules_file):
            with open(rules_file, encoding="utf-8") as handle:
                texts["rules"] = handle.read()
        if code:  # before the rules were written it failed where `kubeports rules` would have, alike
            error = {"command": "plan" if "rules" in texts else "rules", "code": code, "stderr": stderr}
    else:
        for command in ("rules", "plan"):
            code, texts[command], stderr = run([command, *common])
            if code:
                error = {"command": command, "code": code, "stderr": stderr}
                break
    if error:
        parts.append(json.dumps(stack) + ": " + json.dumps({"error": error}))
        continue
    if len(texts["plan"]) > int(sys.argv[2]):
        gc.collect()
    parts.append(json.dumps(stack) + ': {"rules": ' + texts["rules"] + ', "plan": ' + texts["plan"] + "}")
shutil.rmtree(scratch, ignore_errors=True)
sys.stdout.write("{" + ", ".join(parts) + "}")
sys.stdout.flush()
os._exit(0)
"""


def sides(directory: str, stacks: list[str]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """stack -> (rules json, plan json) for every stack, as the code in `directory` resolves
    and plans them, in ONE subprocess; a stack without its file there is an empty side."""
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    present = []
    for stack in stacks:
        stack_file = os.path.join(directory, f"Pulumi.{stack}.yaml")
        if os.path.exists(stack_file):
            present.append([stack, stack_file, own_catalog(directory)])
        else:
            out[stack] = ({"rules": []}, EMPTY_PLAN)
    if present:
        results = _run_side(directory, present)
        for stack, _file, _specs in present:
            result = results[stack]
            if "error" in result:
                raise _side_error(directory, result["error"])
            out[stack] = (result["rules"], result["plan"])
    return {stack: out[stack] for stack in stacks}


def is_checkout(directory: str) -> bool:
    """A kubeports checkout (its own `kubeports/` and `components/`), not a project that installs kubeports."""
    return all(os.path.isfile(os.path.join(directory, package, "__init__.py")) for package in ("kubeports", "components"))


def own_catalog(directory: str) -> str | None:
    """The side's own catalog when it is a kubeports checkout, else None: the installed one
    applies (a project's own `portspecs/`, if any, is a layer only where its stack says so)."""
    path = os.path.join(directory, "portspecs")
    return path if is_checkout(directory) and os.path.isdir(path) else None


SIDE_ENV_DROPPED = ("KUBEPORTS_PORTSPECS", "KUBEPORTS_STACK_FILE", "KUBEPORTS_CATALOGS")  # each side has its own
FORK_ENV = "KUBEPORTS_DIFF_FORK"  # 0: a fresh interpreter per side (the portable way)


def _run_side(directory: str, stacks: list[list[str | None]]) -> dict[str, Any]:
    timeout = 600 * len(stacks)
    if hasattr(os, "fork") and os.environ.get(FORK_ENV, "1") != "0":
        code, stdout, stderr = sideproc.forked(directory, _SIDE_DRIVER, [json.dumps(stacks), str(BIG_PLAN)],
                                               SIDE_ENV_DROPPED, timeout, _clouds(stacks))
    else:
        env = {**os.environ, "PYTHONPATH": directory + os.pathsep + os.environ.get("PYTHONPATH", "")}
        for name in SIDE_ENV_DROPPED:
            env.pop(name, None)
        result = subprocess.run([sys.executable, "-c", _SIDE_DRIVER, json.dumps(stacks), str(BIG_PLAN)], cwd=directory,
                                env=env, capture_output=True, text=True, timeout=timeout)
        code, stdout, stderr = result.returncode, result.stdout, result.stderr
    if code != 0:  # the driver itself failed: that side's kubeports cannot be imported
        raise _side_error(directory, {"command": "(import)", "code": code, "stderr": stderr})
    return json.loads(stdout)


def _clouds(stacks: list[list[str | None]]) -> set[str]:
    """The clouds the side's stacks name (read as text: the side's own code parses them)."""
    clouds = set()
    for _stack, stack_file, _specs in stacks:
        try:
            with open(str(stack_file), encoding="utf-8") as handle:
                clouds |= set(re.findall(r"kubeports:cloud['\"]?\s*:\s*['\"]?(\w+)", handle.read()))
        except (OSError, UnicodeDecodeError):
            continue
    return clouds


def _side_error(directory: str, error: dict[str, Any]) -> KubeportsError:
    """The failing command's stderr, as `kubeports diff` always reported it: its last 20
    lines (notes left out), each a problem naming the side and the command."""
    where = f"kubeports {error['command']}"
    lines = [line for line in error["stderr"].splitlines() if not line.startswith(("note: ", "quota: "))]
    if os.environ.get("KUBEPORTS_DEBUG", "") not in ("", "0"):
        sys.stderr.write(error["stderr"])  # that side's traceback, as it printed it; its error line last
        lines = lines[-1:]
    return KubeportsError([Problem(directory, 1, where, line) for line in lines[-20:]]
                          or [Problem(directory, 1, where, f"exit {error['code']}")])


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
            return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: same data
    except (OSError, yaml.YAMLError):
        return None


def context(directory: str, stack: str) -> dict[str, Any]:
    """What the review needs beyond rules and plan, read as data from that side's files:
    the stack's cloud, egress, quota and named-port overrides, and the catalog's named
    ports (name -> [low, high], every file) and which of them sensitive flows use."""
    return contexts(directory, [stack])[stack]


def contexts(directory: str, stacks: list[str]) -> dict[str, dict[str, Any]]:
    """context() of every stack, the side's catalog read once."""
    named, sensitive_names = _catalog_ports(directory)
    return {stack: _stack_context(directory, stack, named, sensitive_names) for stack in stacks}


def _catalog_ports(directory: str) -> tuple[dict[str, list[list[int]]], set[str]]:
    named: dict[str, list[list[int]]] = {}
    sensitive_names: set[str] = set()
    spec_dir = own_catalog(directory) or PORTSPECS
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
    return named, sensitive_names


def _stack_context(directory: str, stack: str, named: dict[str, list[list[int]]],
                   sensitive_names: set[str]) -> dict[str, Any]:
    doc = _yaml(os.path.join(directory, f"Pulumi.{stack}.yaml"))
    config = (doc or {}).get("config") or {} if isinstance(doc, dict) else {}
    cluster = config.get("kubeports:cluster") if isinstance(config.get("kubeports:cluster"), dict) else {}
    overrides = {str(k): r for k, v in (cluster.get("ports") or {}).items() if (r := _port_range(v))} \
        if isinstance(cluster.get("ports"), dict) else {}
    sensitive = {tuple(v) for p in sensitive_names for v in ([overrides[p]] if p in overrides else named.get(p, []))}
    quota = cluster.get("quota") if isinstance(cluster.get("quota"), dict) else {}
    aws = config.get("kubeports:aws") if isinstance(config.get("kubeports:aws"), dict) else {}
    return {"present": doc is not None, "cloud": config.get("kubeports:cloud"),
            "egress": cluster.get("egress", "open") if doc is not None else None,
            "quota": {"neutronRules": quota.get("neutronRules", 100), "awsRulesPerGroup": quota.get("awsRulesPerGroup", 60),
                      "awsGroupsPerRole": aws.get("groupsPerRole", 1)},
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
