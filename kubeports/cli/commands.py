"""The one table of `kubeports` commands: name, help, arguments, and the function that runs it.

Rules of this file:
- every command is listed here, in the order `kubeports --help` shows them;
- the table and the parser need arguments.py only; each command's module is imported
  by its runner here, when that command runs (so `--help` and the pure commands never
  import pulumi, and no command pays for the modules of the others: `kubeports diff`'s
  process and each of its sides load what they run and nothing else);
- a command that needs an optional dependency says so in the table (`needs_pulumi`),
  and its missing package becomes a MissingDependency naming what to install.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from .arguments import (
    adopt_arguments,
    audit_arguments,
    diff_arguments,
    export_arguments,
    inventory_arguments,
    lint_arguments,
    plan_arguments,
    rules_arguments,
    schema_arguments,
)


class MissingDependency(Exception):
    """An optional package a command needs is not installed."""


PULUMI_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_openstack")


def missing_pulumi(exc: ModuleNotFoundError) -> MissingDependency | None:
    """A command module failed to import because a Pulumi package is absent: say which."""
    top = (exc.name or "").split(".")[0]
    if top in PULUMI_PACKAGES:
        return MissingDependency(f"needs the Python package {top!r} (pip install kubeports installs it)")
    return None


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    runner: Callable[[argparse.Namespace], int]  # imports the command's module, then runs it
    needs_pulumi: bool = False

    def run(self, args: argparse.Namespace) -> int:
        if not self.needs_pulumi:
            return self.runner(args)
        try:
            return self.runner(args)
        except ModuleNotFoundError as exc:  # the offline plan needs pulumi; say which package is missing
            raise (missing_pulumi(exc) or exc) from None


# One runner per command: the import inside is what makes the command's module load only
# when it runs (and the import-graph checks still see it).
def _lint(args: argparse.Namespace) -> int:
    from .catalog import cmd_lint
    return cmd_lint(args)


def _rules(args: argparse.Namespace) -> int:
    from .catalog import cmd_rules
    return cmd_rules(args)


def _schema(args: argparse.Namespace) -> int:
    from .catalog import cmd_schema
    return cmd_schema(args)


def _plan(args: argparse.Namespace) -> int:
    from .plan import cmd_plan
    return cmd_plan(args)


def _diff(args: argparse.Namespace) -> int:
    from .diff import cmd_diff
    return cmd_diff(args)


def _audit(args: argparse.Namespace) -> int:
    from .audit import cmd_audit
    return cmd_audit(args)


def _adopt(args: argparse.Namespace) -> int:
    from .adopt import cmd_adopt
    return cmd_adopt(args)


def _export(args: argparse.Namespace) -> int:
    from .export import cmd_export
    return cmd_export(args)


def _inventory(args: argparse.Namespace) -> int:
    from .inventory import cmd_inventory  # --outputs and --pulumi need no pulumi; the offline plan does
    return cmd_inventory(args)


COMMANDS: tuple[Command, ...] = (
    Command("lint", "validate port specs and stack files", lint_arguments, _lint),
    Command("rules", "print the resolved rules of a stack", rules_arguments, _rules),
    Command("schema", "print (or --check) the JSON Schema of spec files", schema_arguments, _schema),
    Command("plan", "print every resource the stack would create (offline, mocks)", plan_arguments, _plan,
            needs_pulumi=True),
    Command("diff", "compare a stack's rules and offline plan of two refs (runs each side's code)", diff_arguments,
            _diff),
    Command("audit", "compare live security groups with the stack's rules (exit 0 clean, 3 findings, 4 critical)",
            audit_arguments, _audit),
    Command("adopt", "write a `pulumi import` file for live groups and rules that already match", adopt_arguments,
            _adopt, needs_pulumi=True),
    Command("export", "export a stack's rules as nftables or a firewall change request", export_arguments, _export),
    Command("inventory", "print an Ansible inventory (kubespray's groups) of a stack's nodes, for the bootstrapper",
            inventory_arguments, _inventory, needs_pulumi=True),
)
