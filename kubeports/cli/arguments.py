"""Every command's arguments, and nothing else: what `kubeports --help` and the parser need.

Rules of this file:
- it imports the standard library and kubeports.core.paths only, so building the parser
  costs no catalog, pydantic, render or plan module: a command imports what it runs
  when it runs (commands.py), and `kubeports diff`'s process loads no module of the
  commands it does not run;
- format choices are listed here by name; the render modules that implement them keep
  the same names (tests/cli/test_commands.py compares them).
"""
from __future__ import annotations

import argparse

from kubeports.core.paths import ROOT

PLAN_RULES_OUT = "--rules-out"  # `kubeports diff`'s side asks for it where this module has it (kubeports.plan.refs)
EXPORT_FORMATS = ("nftables", "csv", "markdown")  # kubeports.render.export.FORMATS
INVENTORY_FORMATS = ("yaml", "ini")  # kubeports.render.inventory.FORMATS


def add_stack_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stack", help="stack name: Pulumi.NAME.yaml of the project found from the current directory "
                       "(default: the stack `pulumi stack select` chose)")
    group.add_argument("--stack-file", help="path of a Pulumi.<stack>.yaml")
    parser.add_argument("--portspecs", action="append", default=[], metavar="DIR",
                        help="a spec directory added on top of the shipped catalog (repeatable)")
    parser.add_argument("--replace-catalog", metavar="DIR", help="use DIR's spec files instead of the shipped catalog")


def lint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="spec directories/files and Pulumi.<stack>.yaml files")


def rules_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")


def schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail when schema/ is stale")


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
    parser.add_argument(PLAN_RULES_OUT, metavar="FILE",
                        help="also write the stack's resolved rules to FILE, as `kubeports rules --format json` prints "
                             "them (written once the stack validates, before the program runs): one load for both")


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


def export_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="nftables")
    parser.add_argument("--role", help="only this role (default: every role of the stack)")
    parser.add_argument("--addresses", metavar="FILE",
                        help="YAML/JSON mapping role -> list of node addresses, to fill the role sets")


def inventory_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_args(parser)
    parser.add_argument("--format", choices=INVENTORY_FORMATS, default="yaml")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--outputs", metavar="FILE",
                        help="the stack's outputs: `pulumi stack output --json > FILE` (default: an offline plan, "
                             "mock addresses)")
    source.add_argument("--pulumi", action="store_true",
                        help="read the outputs with `pulumi stack output --json --stack NAME` (Pulumi CLI)")
    parser.add_argument("--program", default=None, help="offline plan only: the Pulumi program (as for `plan`)")
    parser.add_argument("--stack-outputs", action="append", default=[], metavar="STACK=FILE",
                        help="offline plan only: answer StackReference(STACK) with FILE (as for `plan`)")
