"""Exit codes of `kubeports`: one table, so no two outcomes share a number.

Rules of this file:
- every code a command returns is named here; audit's equal kubeports.core.audit's EXIT_*
  (tests/cli/test_app.py), written as numbers so the parser needs no core module beyond errors;
- docs/commands.md lists the same table (tests/cli/test_app.py compares them);
- 2 is argparse's (a usage error), so nothing else returns 2.
"""
from __future__ import annotations

OK = 0
USER_ERROR = 1  # bad input, a refused step, an error in your own Pulumi program: `path:line: field: message`
USAGE = 2  # argparse: an unknown option or command, a missing argument
AUDIT_FINDINGS = 3  # kubeports.core.audit.EXIT_FINDINGS
AUDIT_CRITICAL = 4  # kubeports.core.audit.EXIT_CRITICAL
CHANGED = 5  # `diff --exit-code`: the stack changes
INTERNAL = 70  # a bug in kubeports (sysexits' EX_SOFTWARE): one line, `--debug` shows the traceback

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "success (for `diff --exit-code`: no change)"),
    (USER_ERROR, "a user error: bad input, a refused rollout step, an error in your own Pulumi program"),
    (USAGE, "a usage error (unknown command or option, missing argument)"),
    (AUDIT_FINDINGS, "`audit`: findings"),
    (AUDIT_CRITICAL, "`audit`: critical findings"),
    (CHANGED, "`diff --exit-code`: the stack changes"),
    (INTERNAL, "an internal error of kubeports"),
)
