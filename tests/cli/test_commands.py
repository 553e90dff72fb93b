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


def test_the_format_choices_are_the_renderers_formats():
    """arguments.py names the formats so that the parser needs no render module."""
    from kubeports.cli import arguments
    from kubeports.render import export, inventory

    assert arguments.EXPORT_FORMATS == tuple(export.FORMATS)
    assert arguments.INVENTORY_FORMATS == tuple(inventory.FORMATS)


LOADED = ("import sys\nfrom kubeports.cli import main\nmain(sys.argv[1:])\n"
          "sys.stderr.write(repr(sorted(m for m in sys.modules if m.startswith('kubeports'))))")


@pytest.mark.parametrize(("argv", "runs", "absent"), [
    (["rules", "--stack", "dev", "--format", "json"], "kubeports.cli.catalog", ("kubeports.core.audit", "kubeports.core.live",
                                                       "kubeports.render.export", "kubeports.cli.diff")),
    # no stack on either side: nothing to fork, only the diff's own modules
    (["diff", "--base-dir", "tests", "--head-dir", "tests", "--stack", "no-such", "--format", "json"],
     "kubeports.cli.diff", ("kubeports.core.project", "kubeports.core.catalog", "kubeports.core.settings",
                            "kubeports.cli.catalog")),
])
def test_a_command_loads_its_own_modules_only(argv, runs, absent):
    """The table imports a command's module when it runs: `diff`'s process loads no catalog or
    settings model (its sides load their own), `rules` none of audit, export or diff."""
    result = subprocess.run([sys.executable, "-c", LOADED, *argv], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    loaded = eval(result.stderr.strip().splitlines()[-1])  # noqa: S307 - our own repr of a list of names
    assert runs in loaded, loaded
    assert not set(absent) & set(loaded), sorted(set(absent) & set(loaded))


def test_plan_writes_the_rules_that_rules_prints(run_cli, tmp_path):
    """`plan --rules-out FILE`: the rules JSON `rules --format json` prints, from the same load."""
    out = tmp_path / "rules.json"
    code, plan, _ = run_cli("plan", "--stack", "dev", "--format", "json", "--rules-out", str(out))
    assert code == 0 and plan.startswith("{")
    assert out.read_text(encoding="utf-8") == run_cli("rules", "--stack", "dev", "--format", "json")[1]


def test_plan_writes_no_rules_for_a_stack_that_does_not_validate(run_cli, tmp_path):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(open(os.path.join(ROOT, "Pulumi.dev.yaml"), encoding="utf-8").read()
                     .replace("    egress: open\n", "    egress: sometimes\n"))
    out = tmp_path / "rules.json"
    code, plan, err = run_cli("plan", "--stack-file", str(stack), "--format", "json", "--rules-out", str(out))
    assert (code, plan, out.exists()) == (1, "", False)
    assert "egress" in err


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
