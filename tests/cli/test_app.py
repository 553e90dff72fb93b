"""kubeports.cli.app and exits: `--version`, one exit code per outcome (documented),
`-v`/`--debug` on either side of the command, an error in the user's own program named
by its line, internal errors in one line unless --debug asks for the traceback."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest

from kubeports.cli import app, exits
from kubeports.core.audit import EXIT_CLEAN, EXIT_CRITICAL, EXIT_FINDINGS
from kubeports.core.paths import ROOT

VERSION = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["project"]["version"]


def test_version_is_the_installed_distributions():
    result = subprocess.run([sys.executable, "-m", "kubeports", "--version"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"kubeports {VERSION}\n", "")


def test_exit_codes_are_distinct_and_each_documented():
    codes = [code for code, _text in exits.TABLE]
    assert len(set(codes)) == len(codes) == 7
    assert (exits.USAGE, exits.CHANGED, exits.AUDIT_FINDINGS, exits.AUDIT_CRITICAL, exits.INTERNAL) == (2, 5, 3, 4, 70)
    assert (exits.OK, exits.AUDIT_FINDINGS, exits.AUDIT_CRITICAL) == (EXIT_CLEAN, EXIT_FINDINGS, EXIT_CRITICAL)
    doc = open(os.path.join(ROOT, "docs", "commands.md"), encoding="utf-8").read()
    table = doc.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, re.M)
    assert [(int(c), t) for c, t in rows] == list(exits.TABLE)


def test_a_usage_error_is_argparses_2(run_cli):
    with pytest.raises(SystemExit) as stop:
        run_cli("rules", "--stack", "dev", "--no-such-flag")
    assert stop.value.code == exits.USAGE


@pytest.mark.parametrize("argv", [["-v", "rules", "--stack", "dev"], ["rules", "-v", "--stack", "dev"],
                                  ["rules", "--stack", "dev", "--verbose"]])
def test_verbose_and_debug_go_before_or_after_the_command(argv):
    args = app.build_parser().parse_args(argv)
    assert (args.verbose, args.debug) == (True, False)
    assert app.build_parser().parse_args(["--debug", *argv]).debug is True
    assert app.build_parser().parse_args(["rules", "--stack", "dev"]).verbose is False


PROGRAM = """import pulumi


def bucket(name):
    return {}[name]


bucket("nope")
"""


@pytest.fixture
def broken_program(tmp_path):
    path = tmp_path / "__main__.py"
    path.write_text(PROGRAM)
    return str(path)


def last_line(err: str) -> str:
    return err.rstrip("\n").splitlines()[-1]


def test_an_error_in_the_users_program_names_its_line(run_cli, broken_program, monkeypatch):
    monkeypatch.delenv("KUBEPORTS_DEBUG", raising=False)
    code, out, err = run_cli("plan", "--stack", "dev", "--program", broken_program)
    assert (code, out) == (exits.USER_ERROR, "")
    assert last_line(err) == f"{broken_program}:5: (program): KeyError: 'nope' (--debug shows the traceback)"
    assert "Traceback" not in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback_of_the_users_program(run_cli, broken_program, monkeypatch, how):
    monkeypatch.delenv("KUBEPORTS_DEBUG", raising=False)
    if how == "env":
        monkeypatch.setenv("KUBEPORTS_DEBUG", "1")
    code, _out, err = run_cli(*(["--debug"] if how == "flag" else []), "plan", "--stack", "dev",
                              "--program", broken_program)
    assert code == exits.USER_ERROR
    trace = err[err.index("Traceback (most recent call last):"):].splitlines()
    assert f'  File "{broken_program}", line 8, in <module>' in trace
    assert f'  File "{broken_program}", line 5, in bucket' in trace
    assert trace[-2:] == ["KeyError: 'nope'", f"{broken_program}:5: (program): KeyError: 'nope'"]


def test_an_internal_error_is_one_line_and_debug_adds_the_traceback(run_cli, monkeypatch):
    monkeypatch.delenv("KUBEPORTS_DEBUG", raising=False)

    def broken(_args):
        raise RuntimeError("a bug\nsecond line")

    table = tuple(c if c.name != "schema" else type(c)(c.name, c.help, c.arguments, broken) for c in app.COMMANDS)
    monkeypatch.setattr(app, "COMMANDS", table)
    assert run_cli("schema") == (exits.INTERNAL, "", "kubeports: internal error: RuntimeError: a bug\n")
    code, out, err = run_cli("schema", "--debug")
    assert (code, out) == (exits.INTERNAL, "")
    assert err.startswith("Traceback (most recent call last):\n") and 'in broken\n    raise RuntimeError("a bug' in err
    assert err.endswith("RuntimeError: a bug\nsecond line\nkubeports: internal error: RuntimeError: a bug\n")


@pytest.mark.parametrize("body, code, last", [
    # the last frame of the user's or kubeports' code decides; json's own frames decide nothing
    ('import json\n\njson.loads("{")\n', exits.USER_ERROR,
     "PROGRAM:3: (program): JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 "
     "(char 1) (--debug shows the traceback)"),
    ("from kubeports.plan.summary import summary_lines\n\nsummary_lines([1])\n", exits.INTERNAL,
     "kubeports: internal error: TypeError: cannot unpack non-iterable int object"),
    ("from kubeports.plan.summary import summary_lines\n\nsummary_lines(1, 2)\n", exits.USER_ERROR,
     "PROGRAM:3: (program): TypeError: summary_lines() takes 1 positional argument but 2 were given "
     "(--debug shows the traceback)"),
])
def test_whose_bug_the_last_frame_decides(run_cli, tmp_path, monkeypatch, body, code, last):
    monkeypatch.delenv("KUBEPORTS_DEBUG", raising=False)
    program = tmp_path / "__main__.py"
    program.write_text(body)
    result, out, err = run_cli("plan", "--stack", "dev", "--program", str(program))
    assert (result, out, last_line(err)) == (code, "", last.replace("PROGRAM", str(program)))
