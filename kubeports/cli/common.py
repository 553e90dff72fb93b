"""Arguments and helpers that several commands share (a stack to open, notes on stderr: one
summary line, every note with -v, kubeports.core.notes)."""
from __future__ import annotations

import argparse
import os
import sys

from kubeports.core.notes import summarize
from kubeports.core.project import Project, load_project
from kubeports.core.quota import quota_headroom

from .stacks import stack_file_for


def catalog_of(args: argparse.Namespace) -> tuple[str | None, list[str] | None]:
    """(the catalog replacing the shipped one, the directories added on top) the command line gives;
    None: the environment's (KUBEPORTS_PORTSPECS, KUBEPORTS_CATALOGS) or the shipped catalog alone."""
    return getattr(args, "replace_catalog", None), (list(args.portspecs) or None)


def stack_file_of(args: argparse.Namespace) -> str:
    """The command line wins: `--stack NAME` is Pulumi.NAME.yaml of the project found from the current
    directory (kubeports/cli/stacks.py), whatever KUBEPORTS_STACK_FILE says (that variable points the
    program, not the CLI, elsewhere). No `--stack`: the selected stack, which names `args.stack` after."""
    if args.stack_file:
        return args.stack_file
    given = args.stack
    args.stack, path = stack_file_for(args.stack)
    env = os.environ.get("KUBEPORTS_STACK_FILE")
    if env and os.path.abspath(env) != os.path.abspath(path) and given is not None:
        print(f"note: --stack {given} wins over KUBEPORTS_STACK_FILE={env}", file=sys.stderr)
    return path


def open_project(args: argparse.Namespace) -> Project:
    """Load, validate and resolve the stack; notes go to stderr so stdout stays machine-readable."""
    replace, layers = catalog_of(args)
    project = load_project(stack_file_of(args), replace, layers=layers)
    for note in summarize(project.resolution.notes, verbose=getattr(args, "verbose", False)):
        print(f"note: {note}", file=sys.stderr)
    for line in quota_headroom(project.stack.cloud, project.cloud_rules, project.stack.cluster,
                               project.stack.groups_per_role):
        print(f"quota: {line}", file=sys.stderr)
    return project
