"""`kubeports` entry point: build the parser from the command table, run one command.

Rules of this file:
- a user error prints `path:line: field: message` lines on stderr and exits 1;
- an unexpected exception prints one line too, never a traceback (exit 70);
- a command whose optional dependency is missing (pulumi for `plan`) says which
  package to install (exit 1); the other commands keep working without it;
- `main(argv)` returns its exit code (tests and `kubeports diff`'s side process call it);
  only `entry`, the console script, ends the process, and it skips interpreter teardown.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import os
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


def entry() -> None:
    """The console script and `python -m kubeports`: run `main` with the cyclic collector
    off, then end the process without the interpreter's teardown. A command's heap only
    grows until it ends (a plan keeps every resource, Output and future it made), so the
    collector would only re-walk it, and tearing it down object by object frees nothing
    the OS would not: together 19% of `kubeports rules`, 32% of a small plan and 44% of a
    1,000-node plan (bench/preview.py). What teardown does that matters is done first:
    the atexit handlers run (logging's flush, the OpenTelemetry exporter the Pulumi SDK
    registers under TRACEPARENT) and both streams are flushed. Temporary directories and
    files are closed by then: commands use them in `with` blocks."""
    gc.disable()
    code = main()
    atexit._run_exitfuncs()  # noqa: SLF001 - what Py_Finalize would run first, in its order
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head`): as main says, not an error
        pass
    try:
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
