"""`lint`, `rules`, `schema`: the catalog and a stack's resolved rules. Pure: no pulumi."""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

from kubeports.core.catalog import load_paths
from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import PORTSPECS, ROOT, display_path
from kubeports.core.project import load_project
from kubeports.core.spec import json_schema
from kubeports.render.tables import as_json, as_markdown, as_table

from .common import open_project

SCHEMA_PATH = os.path.join(ROOT, "schema", "portspec.schema.json")


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
