"""kubeports.cli: one explicit command table; pure commands never import pulumi; a
missing optional dependency is one user-error line naming the package."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubeports.core.paths import ROOT
from tests.test_architecture import GRAPH


def test_no_command_registers_itself():
    """The command table is the only place that lists commands; nothing else touches it."""
    from kubeports.cli import app, commands

    assert [c.name for c in commands.COMMANDS] == ["lint", "rules", "schema", "plan", "diff", "audit", "adopt", "export",
                                                  "inventory"]
    users = sorted(m for m, targets in GRAPH.items() if "kubeports.cli.commands.COMMANDS" in targets)
    assert users == ["kubeports.cli.app"]
    choices = app.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert list(choices) == [c.name for c in commands.COMMANDS]


@pytest.mark.parametrize("argv", [["--help"], ["rules", "--stack", "dev", "--format", "json"], ["lint"]])
def test_pure_commands_never_import_pulumi(argv):
    code = ("import sys\nfrom kubeports.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr(sorted(m for m in sys.modules if m.startswith('pulumi'))))")
    result = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stderr.rstrip().endswith("[]"), result.stderr[-400:]


def test_plan_says_what_to_install_when_pulumi_is_missing(run_cli, monkeypatch):
    """Optional dependencies are handled in the command table: a one-line user error, exit 1."""
    import builtins

    real_import = builtins.__import__

    def no_pulumi(name, *args, **kwargs):
        if name.split(".")[0] == "pulumi" or (name == "plan" and args and args[2] and "cmd_plan" in args[2]):
            raise ModuleNotFoundError(f"No module named {name!r}", name="pulumi")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "kubeports.cli.plan", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pulumi)
    code, out, err = run_cli("plan", "--stack", "dev")
    assert (code, out) == (1, "")
    assert err == ("kubeports plan:1: (install): needs the Python package 'pulumi' "
                   "(pip install kubeports installs it)\n")


# --- the console script ends without teardown (kubeports.cli.entry) -------------------------
ENTRY = ("import atexit, sys\nfrom kubeports.cli import entry\n"
         "atexit.register(lambda: sys.stderr.write('atexit ran\\n'))\n"
         "sys.argv = ['kubeports', *sys.argv[1:]]\nentry()\nsys.stderr.write('entry returned\\n')\n")


def test_the_console_script_exits_with_mains_code_after_atexit_and_a_flush():
    ok = subprocess.run([sys.executable, "-c", ENTRY, "rules", "--stack", "dev", "--format", "json"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("{") and ok.stdout.endswith("}\n")  # all of it, flushed
    assert ok.stderr.endswith("atexit ran\n") and "entry returned" not in ok.stderr
    bad = subprocess.run([sys.executable, "-c", ENTRY, "rules", "--stack-file", "no-such.yaml"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.endswith("atexit ran\n")


def test_the_console_script_runs_without_the_collector_and_a_reader_may_leave():
    code = ENTRY.replace("entry()", "import gc\natexit.register(lambda: sys.stderr.write(f'gc {gc.isenabled()}\\n'))\n"
                                    "entry()")
    closed = subprocess.run(f"{sys.executable} -c \"$CODE\" rules --stack dev --format json | head -c 1", shell=True,
                            cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ,
                                                                                       "CODE": code})
    assert closed.stdout == "{"
    assert "gc False" in closed.stderr and "Traceback" not in closed.stderr and "BrokenPipe" not in closed.stderr
