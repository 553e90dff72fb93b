"""`kubeports` entry point: build the parser from the command table, run one command.

Rules of this file:
- a user error prints `path:line: field: message` lines on stderr and exits 1;
- an unexpected exception prints one line too, never a traceback (exit 70);
- a command whose optional dependency is missing (pulumi for `plan`) says which
  package to install (exit 1); the other commands keep working without it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kubeports.core.errors import KubeportsError, Problem

from .commands import COMMANDS, MissingDependency


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubeports", description="Kubernetes node ports as code.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = {command.name: command.run for command in COMMANDS}[args.command]
    try:
        return run(args)
    except KubeportsError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except MissingDependency as exc:
        print(Problem(f"kubeports {args.command}", 1, "(install)", str(exc)), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        print(f"kubeports: internal error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 70
