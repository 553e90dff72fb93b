"""The one table of `kubeports` commands: name, help, arguments, and the function that runs it.

Rules of this file:
- every command is listed here, in the order `kubeports --help` shows them;
- argument definitions need nothing beyond the core, so `--help` and the pure
  commands never import pulumi;
- a command that needs an optional dependency imports its module inside its runner,
  and a missing package becomes a MissingDependency naming what to install.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from kubeports.core.paths import ROOT
from kubeports.render.export import FORMATS as EXPORT_FORMATS

from .audit import cmd_audit
from .catalog import cmd_lint, cmd_rules, cmd_schema, lint_arguments, rules_arguments, schema_arguments
from .common import add_stack_args
from .diff import cmd_diff
from .export import cmd_export
from .inventory import inventory_arguments


class MissingDependency(Exception):
    """An optional package a command needs is not installed."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def plan_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--program", default=None,
                        help="the Pulumi program to run (default: the project's __main__.py), e.g. an example's")
    parser.add_argument("--stack-outputs", action="append", default=[], metavar="STACK=FILE",
                        help="answer StackReference(STACK) with FILE: that stack's `kubeports plan --format json` "
                             "or its outputs as a JSON object; repeatable")
    parser.add_argument("--image", action="append", default=[], metavar="NAME=ID",
                        help="the image lookup answers ID for NAME (offline it answers the stack's pin): "
                             "models an image re-uploaded under its name; repeatable")


PULUMI_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_openstack")


def missing_pulumi(exc: ModuleNotFoundError) -> MissingDependency | None:
    """A command module failed to import because a Pulumi package is absent: say which."""
    top = (exc.name or "").split(".")[0]
    if top in PULUMI_PACKAGES:
        return MissingDependency(f"needs the Python package {top!r} (pip install kubeports installs it)")
    return None


def run_plan_command(args: argparse.Namespace) -> int:
    try:
        from .plan import cmd_plan  # needs pulumi and the provider SDKs
    except ModuleNotFoundError as exc:
        raise (missing_pulumi(exc) or exc) from None
    return cmd_plan(args)


def diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", help="stack name (Pulumi.NAME.yaml on each side)")
    parser.add_argument("--all-stacks", action="store_true",
                        help="every stack either side has, one after the other (one process per side)")
    parser.add_argument("--base", help="git ref of the old side")
    parser.add_argument("--head", help="git ref of the new side (default: the working tree)")
    parser.add_argument("--base-dir", help="a checkout holding the old side")
    parser.add_argument("--head-dir", help="a checkout holding the new side")
    parser.add_argument("--repo", default=ROOT, help="the git repository (default: this project)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--base-name", help="how the comment names the old side (default: the ref and its commit)")
    parser.add_argument("--head-name", help="how the comment names the new side (default: the ref and its commit)")
    parser.add_argument("--exit-code", action="store_true", help="exit 5 when something changed (0 when nothing did)")
    parser.epilog = ("Each side runs its own code (its kubeports and Pulumi program, in a subprocess): "
                     "diffing an untrusted branch executes it. Run it without credentials, as the pull-request "
                     "workflow does.")


def export_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--format", choices=tuple(EXPORT_FORMATS), default="nftables")
    parser.add_argument("--role", help="only this role (default: every role of the stack)")
    parser.add_argument("--addresses", metavar="FILE",
                        help="YAML/JSON mapping role -> list of node addresses, to fill the role sets")


def audit_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--dump", action="append", default=[], metavar="FILE",
                        help="a saved dump: `openstack security group rule list --long -f json`, Neutron API JSON, "
                             "`aws ec2 describe-security-groups` or `describe-security-group-rules` (repeatable)")
    parser.add_argument("--live", action="store_true",
                        help="read the groups from the cloud, read-only (openstacksdk / boto3 credential chains)")
    parser.add_argument("--map", action="append", default=[], metavar="ROLE=GROUP",
                        help="the group (name or id) of a role, where kubeports' tags are absent (repeatable)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def adopt_arguments(parser: argparse.ArgumentParser) -> None:
    audit_arguments(parser)
    parser.set_defaults(format="text")
    parser.add_argument("--output", required=True, metavar="FILE", help="where to write the `pulumi import --file` JSON")


def run_adopt_command(args: argparse.Namespace) -> int:
    try:
        from .adopt import cmd_adopt  # needs pulumi: the offline plan names what kubeports would create
    except ModuleNotFoundError as exc:
        raise (missing_pulumi(exc) or exc) from None
    return cmd_adopt(args)


def run_inventory_command(args: argparse.Namespace) -> int:
    from .inventory import cmd_inventory

    try:
        return cmd_inventory(args)
    except ModuleNotFoundError as exc:  # the offline plan needs pulumi; --outputs and --pulumi do not
        raise (missing_pulumi(exc) or exc) from None


COMMANDS: tuple[Command, ...] = (
    Command("lint", "validate port specs and stack files", lint_arguments, cmd_lint),
    Command("rules", "print the resolved rules of a stack", rules_arguments, cmd_rules),
    Command("schema", "print (or --check) the JSON Schema of spec files", schema_arguments, cmd_schema),
    Command("plan", "print every resource the stack would create (offline, mocks)", plan_arguments, run_plan_command),
    Command("diff", "compare a stack's rules and offline plan of two refs (runs each side's code)", diff_arguments, cmd_diff),
    Command("audit", "compare live security groups with the stack's rules (exit 0 clean, 3 findings, 4 critical)",
            audit_arguments, cmd_audit),
    Command("adopt", "write a `pulumi import` file for live groups and rules that already match", adopt_arguments,
            run_adopt_command),
    Command("export", "export a stack's rules as nftables or a firewall change request", export_arguments, cmd_export),
    Command("inventory", "print an Ansible inventory (kubespray's groups) of a stack's nodes, for the bootstrapper",
            inventory_arguments, run_inventory_command),
)
