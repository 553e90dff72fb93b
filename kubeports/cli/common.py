"""Arguments and helpers that several commands share (a stack to open, notes on stderr)."""
from __future__ import annotations

import argparse
import os
import sys

from kubeports.core.paths import ROOT
from kubeports.core.project import Project, load_project
from kubeports.core.quota import quota_headroom


def add_stack_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name: reads Pulumi.NAME.yaml in the project")
    group.add_argument("--stack-file", help="path of a Pulumi.<stack>.yaml")
    parser.add_argument("--portspecs", default=None, help="catalog directory (default: portspecs/)")


def stack_file_of(args: argparse.Namespace) -> str:
    """The command line wins: `--stack NAME` is Pulumi.NAME.yaml here, whatever
    KUBEPORTS_STACK_FILE says (that variable points the program, not the CLI, elsewhere)."""
    if args.stack_file:
        return args.stack_file
    env = os.environ.get("KUBEPORTS_STACK_FILE")
    path = os.path.join(ROOT, f"Pulumi.{args.stack}.yaml")
    if env and os.path.abspath(env) != os.path.abspath(path):
        print(f"note: --stack {args.stack} wins over KUBEPORTS_STACK_FILE={env}", file=sys.stderr)
    return path


def open_project(args: argparse.Namespace) -> Project:
    """Load, validate and resolve the stack; notes go to stderr so stdout stays machine-readable."""
    project = load_project(stack_file_of(args), args.portspecs)
    for note in project.resolution.notes:
        print(f"note: {note}", file=sys.stderr)
    for line in quota_headroom(project.stack.cloud, project.resolution.rules, project.stack.cluster):
        print(f"quota: {line}", file=sys.stderr)
    return project
