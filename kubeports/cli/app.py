"""`kubeports` entry point: build the parser from the command table, run one command.

Rules of this file:
- exit codes come from exits.py, one outcome per number (docs/commands.md lists them);
- a user error prints `path:line: field: message` lines on stderr and exits 1; so does an
  exception in the user's own Pulumi program, naming its line;
- an unexpected exception prints one line too, never a traceback (exit 70), unless
  `--debug` or KUBEPORTS_DEBUG=1 asks for the traceback (of the user's program too);
- a command whose optional dependency is missing (pulumi for `plan`) says which
  package to install (exit 1); the other commands keep working without it;
- `main(argv)` returns its exit code (tests and `kubeports diff`'s side process call it);
  only `entry`, the console script, ends the process, and it skips interpreter teardown.
- `-v`/`--verbose` and `--debug` work before and after the command's name.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Sequence

from kubeports.core.errors import KubeportsError, Problem, ProgramError

from .commands import COMMANDS, MissingDependency
from .exits import INTERNAL, OK, TABLE, USER_ERROR

DEBUG_ENV = "KUBEPORTS_DEBUG"


def version() -> str:
    """The installed distribution's version (the wheel's or the editable install's metadata)."""
    try:
        return importlib.metadata.version("kubeports")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command takes; `default` is SUPPRESS on subcommands, so a flag given
    before the command's name is not reset by the subcommand's parser."""
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="list every note (by default one summary line)")
    parser.add_argument("--debug", action="store_true", default=default,
                        help=f"print the traceback of an error (also {DEBUG_ENV}=1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubeports", description="Kubernetes node ports as code.",
                                     epilog="Exit codes: " + "; ".join(f"{c} {t}" for c, t in TABLE) + ".")
    parser.add_argument("--version", action="version", version=f"kubeports {version()}")
    global_options(parser, False)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help)
        global_options(child, argparse.SUPPRESS)
        command.arguments(child)
    return parser


def debugging(args: argparse.Namespace) -> bool:
    return bool(args.debug) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    saved = os.environ.get(DEBUG_ENV)
    if args.debug:
        os.environ[DEBUG_ENV] = "1"  # the subprocesses of `diff` print their tracebacks too
    try:
        return _run(args)
    finally:
        if saved is None:
            os.environ.pop(DEBUG_ENV, None)
        else:
            os.environ[DEBUG_ENV] = saved


def _run(args: argparse.Namespace) -> int:
    run = {command.name: command.run for command in COMMANDS}[args.command]
    try:
        return run(args)
    except KubeportsError as exc:
        print(str(exc), file=sys.stderr)
        return USER_ERROR
    except ProgramError as exc:
        if debugging(args):
            print(exc.trace, end="", file=sys.stderr)
            print(exc.problem, file=sys.stderr)
        else:
            print(f"{exc.problem} (--debug shows the traceback)", file=sys.stderr)
        return USER_ERROR
    except MissingDependency as exc:
        print(Problem(f"kubeports {args.command}", 1, "(install)", str(exc)), file=sys.stderr)
        return USER_ERROR
    except BrokenPipeError:
        return OK
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback, unless asked for
        if debugging(args):
            traceback.print_exc(file=sys.stderr)
        print(f"kubeports: internal error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return INTERNAL


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
