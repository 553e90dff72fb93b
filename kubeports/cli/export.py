"""`export`: a stack's rules as nftables or a firewall change request (kubeports.render.export)."""
from __future__ import annotations

import argparse
import sys

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import display_path
from kubeports.core.settings import LOAD_BALANCER
from kubeports.render.export import FORMATS, load_addresses

from .common import open_project, stack_file_of


def cmd_export(args: argparse.Namespace) -> int:
    project = open_project(args)
    stack_file = display_path(stack_file_of(args))
    roles = list(project.resolution.local_roles)
    if args.format == "nftables":
        # The load-balancer role is the cloud's load balancer: there is no host to load a ruleset on.
        if args.role == LOAD_BALANCER:
            raise KubeportsError([Problem(stack_file, 1, "--role", "the load-balancer role is the cloud's load "
                                          "balancer: no host to firewall (use --format csv or markdown)")])
        roles = [r for r in roles if r != LOAD_BALANCER]
    if args.role is not None:
        if args.role not in roles:
            raise KubeportsError([Problem(stack_file, 1, "--role",
                                          f"{args.role!r} is not a role of this stack; roles: {', '.join(roles)}")])
        roles = [args.role]
    addresses = load_addresses(args.addresses) if args.addresses else {}
    if args.format == "nftables":
        peers = {r.peer for r in project.resolution.rules if r.role in roles and r.peer_kind == "role"}
        for peer in sorted(peers - set(addresses)):
            print(f"note: no addresses for role {peer}: its sets are empty placeholders (fail closed)",
                  file=sys.stderr)
    title = f"stack {args.stack or stack_file} (cluster {project.stack.cluster.name})"
    sys.stdout.write(FORMATS[args.format](project, roles, addresses, title))
    return 0
