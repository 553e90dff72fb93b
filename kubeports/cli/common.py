"""Arguments and helpers that several commands share (a stack to open, notes on stderr)."""
from __future__ import annotations

import argparse
import sys

from kubeports.core.project import Project, load_project, stack_path
from kubeports.core.quota import quota_headroom


def add_stack_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name: reads Pulumi.NAME.yaml in the project")
    group.add_argument("--stack-file", help="path of a Pulumi.<stack>.yaml")
    parser.add_argument("--portspecs", default=None, help="catalog directory (default: portspecs/)")


def stack_file_of(args: argparse.Namespace) -> str:
    return args.stack_file or stack_path(args.stack)


def open_project(args: argparse.Namespace) -> Project:
    """Load, validate and resolve the stack; notes go to stderr so stdout stays machine-readable."""
    project = load_project(stack_file_of(args), args.portspecs)
    for note in project.resolution.notes:
        print(f"note: {note}", file=sys.stderr)
    for line in quota_headroom(project.stack.cloud, project.resolution.rules, project.stack.cluster):
        print(f"quota: {line}", file=sys.stderr)
    return project
