"""`kubeports` command line. Thin: parse arguments, call the core, print, set the exit code.

Rules of this file:
- a user error prints `path:line: field: message` lines on stderr and exits 1;
- an unexpected exception prints one line too, never a traceback (exit 70);
- notes (flows dropped for an absent role, an empty CIDR set) go to stderr, so
  stdout stays machine-readable.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections.abc import Callable, Sequence

from .catalog import load_paths
from .errors import KubeportsError, Problem
from .paths import PORTSPECS, ROOT, display_path
from .project import Project, load_project, stack_path
from .render import as_json, as_markdown, as_table
from .spec import json_schema

SCHEMA_PATH = os.path.join(ROOT, "schema", "portspec.schema.json")
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[func.__name__.removeprefix("cmd_")] = func
    return func


def add_stack_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name: reads Pulumi.NAME.yaml in the project")
    group.add_argument("--stack-file", help="path of a Pulumi.<stack>.yaml")
    parser.add_argument("--portspecs", default=None, help="catalog directory (default: portspecs/)")


def stack_file_of(args: argparse.Namespace) -> str:
    return args.stack_file or stack_path(args.stack)


def open_project(args: argparse.Namespace) -> Project:
    project = load_project(stack_file_of(args), args.portspecs)
    for note in project.resolution.notes:
        print(f"note: {note}", file=sys.stderr)
    return project


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubeports", description="Kubernetes node ports as code.")
    sub = parser.add_subparsers(dest="command", required=True)
    lint = sub.add_parser("lint", help="validate port specs and stack files")
    lint.add_argument("paths", nargs="*", help="spec directories/files and Pulumi.<stack>.yaml files")
    rules = sub.add_parser("rules", help="print the resolved rules of a stack")
    add_stack_args(rules)
    rules.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    schema = sub.add_parser("schema", help="print (or --check) the JSON Schema of spec files")
    schema.add_argument("--check", action="store_true", help="fail when schema/ is stale")
    for extend in EXTENSIONS:
        extend(sub)
    return parser


# Later commands (plan, diff, export) register themselves here; see their modules.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


@command
def cmd_lint(args: argparse.Namespace) -> int:
    paths = args.paths or [PORTSPECS, *sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))]
    stacks = [p for p in paths if os.path.basename(p).startswith("Pulumi.") and p.endswith(".yaml")]
    specs: list[str] = []
    problems: list = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(path, "*.yaml")))
            if not found:
                problems.append(Problem(path, 1, "(catalog)", "no spec files (*.yaml) here"))
            specs += found
        elif path not in stacks:
            specs.append(path)
    try:
        load_paths(specs or sorted(glob.glob(os.path.join(PORTSPECS, "*.yaml"))))
    except KubeportsError as exc:
        problems += exc.problems
    catalog_dir = os.path.dirname(specs[0]) if specs else PORTSPECS
    for stack in [] if problems else stacks:
        try:
            load_project(stack, catalog_dir)
        except KubeportsError as exc:
            problems += exc.problems
    if problems:
        raise KubeportsError(problems)
    print(f"ok: {len(specs)} spec files, {len(stacks)} stack files", file=sys.stderr)
    return 0


@command
def cmd_rules(args: argparse.Namespace) -> int:
    project = open_project(args)
    rules = project.resolution.rules
    if args.format == "json":
        sys.stdout.write(as_json(rules))
    elif args.format == "markdown":
        title = f"Stack {args.stack or display_path(args.stack_file)}: {project.stack.cluster.name}"
        sys.stdout.write(as_markdown(rules, title))
    else:
        sys.stdout.write(as_table(rules))
    return 0


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


@command
def cmd_schema(args: argparse.Namespace) -> int:
    if not args.check:
        sys.stdout.write(schema_text())
        return 0
    current = open(SCHEMA_PATH, encoding="utf-8").read() if os.path.exists(SCHEMA_PATH) else ""
    if current != schema_text():
        print(f"{display_path(SCHEMA_PATH)}:1: (schema): stale; run `kubeports schema > "
              f"{display_path(SCHEMA_PATH)}`", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KubeportsError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        print(f"kubeports: internal error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 70


def _load_extensions() -> None:
    """Import command modules that register into EXTENSIONS/COMMANDS (kept optional so
    the pure core works without pulumi installed)."""
    import importlib

    for name in ("kubeports.plan", "kubeports.diff", "kubeports.export"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise

