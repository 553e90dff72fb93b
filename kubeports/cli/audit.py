"""`audit`: a cluster's live security groups against the stack's resolved rules
(kubeports.core.audit); from saved dumps, or read-only from the cloud (kubeports.live)."""
from __future__ import annotations

import argparse
import json
import sys

from kubeports.core.audit import audit, headroom, map_roles
from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.live import load_dumps, parse_text
from kubeports.core.settings import LOAD_BALANCER
from kubeports.render import audit as report

from .common import open_project


def role_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        role, _, group = item.partition("=")
        if not role or not group:
            raise KubeportsError([Problem(item, 1, "--map", "expected ROLE=GROUP (a group name or id)")])
        out[role] = group
    return out


def live_state(cloud: str, vpc_id: str | None):
    try:
        if cloud == "aws":
            from kubeports.live.aws import read_groups

            doc = read_groups(vpc_id)
        else:
            from kubeports.live.openstack import read_groups as read_os

            doc = read_os()
    except ModuleNotFoundError as exc:
        raise KubeportsError([Problem("--live", 1, "(install)", f"needs the Python package {exc.name!r} "
                                      "(pip install openstacksdk or boto3)")]) from None
    except Exception as exc:  # noqa: BLE001 - an SDK's error is the user's (credentials, endpoint): one line
        raise KubeportsError([Problem("--live", 1, cloud, f"{type(exc).__name__}: {exc}".splitlines()[0])]) from None
    return parse_text(json.dumps(doc), f"live {cloud}")


def cmd_audit(args: argparse.Namespace) -> int:
    project = open_project(args)
    stack = project.stack
    if bool(args.dump) == bool(args.live):
        raise KubeportsError([Problem("kubeports audit", 1, "--dump/--live", "give --dump FILE (repeatable) or --live")])
    state = load_dumps(args.dump) if args.dump else \
        live_state(stack.cloud, getattr(stack.aws, "vpc_id", None) if stack.aws else None)
    if state.cloud != stack.cloud:
        raise KubeportsError([Problem(args.dump[0] if args.dump else "--live", 1, "(audit)",
                                      f"a {state.cloud} dump for a {stack.cloud} stack")])
    roles = [r for r in stack.cluster.roles if not (r == LOAD_BALANCER and stack.cloud == "openstack")]
    mapping = map_roles(state, roles, role_map(args.map), stack.cluster.name)
    result = audit(stack, project.catalog, project.resolution.rules, state, mapping, project.cloud_rules)
    room = headroom(state, mapping, stack, project.cloud_rules)
    if args.format == "json":
        sys.stdout.write(report.as_json(result, room))
    elif args.format == "markdown":
        sys.stdout.write(report.as_markdown(result, room, f"kubeports audit: {args.stack or args.stack_file}"))
    else:
        sys.stdout.write(report.as_text(result, room))
    return result.exit_code
