"""Load a stack end to end: catalog + stack file -> checked settings -> resolution.

This is the one entry point the CLI, `__main__.py` and the tests share, so that every
path validates the same way and reports the same `path:line:` errors. Order: the stack's
values as Pulumi stores them (JSON strings, secrets: stackvalues.py), the catalog with its
layers (the stack's `catalogs` are read first, since validating the settings needs the
catalog), the settings, the stack's extraFlows on top of the catalog, then resolution and
the refusals (exposure, overrides, cloud, quota), which see extra flows like any other.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from .catalog import Catalog, load_catalog, with_extra_flows
from .cloudcheck import cloud_problems
from .errors import KubeportsError, Problem
from .paths import PORTSPECS, ROOT, display_path
from .quota import peer_quota_problems, peer_usage_of, quota_problems
from .rendered import api_listeners, cloud_rules, mode_notes
from .resolver import Resolution, check_settings, override_problems, resolve
from .rules import Rule
from .safety import exposure_problems, rendered_problems, sensitive_ports
from .settings import StackConfig, parse_stack_config
from .stackvalues import decode_json_strings, secure_paths, with_secrets
from .yamlsrc import Located, dotted, load_file

EXTRA_FLOWS = ("config", "kubeports:cluster", "extraFlows")


@dataclass(frozen=True)
class Project:
    catalog: Catalog
    stack: StackConfig
    resolution: Resolution
    # What the Cluster renders: `resolution.rules`, unless the stack opts into CIDR sets as address
    # groups / prefix lists or subnet peers (rendered.cloud_rules); empty means `resolution.rules`.
    rendered: tuple[Rule, ...] = field(default=())

    @property
    def cloud_rules(self) -> tuple[Rule, ...]:
        return self.rendered or self.resolution.rules

    def port(self, name: str) -> tuple[int, int]:
        """A named port as this stack resolves it (its override, else the catalog's)."""
        return self.stack.cluster.ports.get(name) or self.catalog.ports[name]

    @property
    def routes_pod_ips(self) -> bool:
        """Some family of this stack's pod addresses leaves the node unencapsulated."""
        cni = self.stack.cluster.cni
        return bool(self.catalog.cnis[cni.name].modes[cni.mode].routed_families(self.stack.cluster.ip_families))


def default_portspecs() -> str:
    """The base catalog: the shipped one, unless replaced (`--replace-catalog`, which `kubeports plan` hands
    the program as KUBEPORTS_PORTSPECS)."""
    return os.environ.get("KUBEPORTS_PORTSPECS", PORTSPECS)


def default_layers() -> list[str]:
    """Spec directories added on top (`--portspecs DIR`, handed to the program as KUBEPORTS_CATALOGS)."""
    return [p for p in os.environ.get("KUBEPORTS_CATALOGS", "").split(os.pathsep) if p]


def stack_layers(config: dict[str, Any], doc: Located, stack_file: str) -> tuple[list[str], list[Problem]]:
    """`kubeports:cluster.catalogs`, relative to the stack file. Read before the settings are validated,
    since validating them needs the catalog; a malformed value is left to that validation."""
    cluster = config.get("kubeports:cluster")
    dirs = cluster.get("catalogs") if isinstance(cluster, dict) else None
    if not isinstance(dirs, list):
        return [], []
    out, problems = [], []
    for i, entry in enumerate(dirs):
        if not isinstance(entry, str) or not entry:
            continue
        full = os.path.join(os.path.dirname(os.path.abspath(stack_file)), entry)
        if not os.path.isdir(full):
            loc = ("config", "kubeports:cluster", "catalogs", i)
            problems.append(Problem(doc.path, doc.line_of(loc), dotted(loc),
                                    f"no such directory: {display_path(full)} (relative to the stack file)"))
        out.append(full)
    return out, problems


def stack_path(stack: str, root: str = ROOT) -> str:
    """The stack's file; `kubeports plan --stack-file` points the program elsewhere."""
    return os.environ.get("KUBEPORTS_STACK_FILE") or os.path.join(root, f"Pulumi.{stack}.yaml")


def load_stack_doc(path: str) -> tuple[Located, dict[str, Any]]:
    """The stack file and its `config:`, JSON-string values decoded as the runtime decodes them."""
    doc, problems = load_file(path)
    if doc is None:
        raise KubeportsError(problems)
    config = doc.data.get("config") if isinstance(doc.data, dict) else None
    if not isinstance(config, dict):
        raise KubeportsError([Problem(path, 1, "config", "a stack file needs a config: mapping")])
    config, problems = decode_json_strings(config, doc)
    if problems:
        raise KubeportsError(problems)
    return doc, config


def load_project(stack_file: str, portspecs: str | None = None, config: dict[str, Any] | None = None,
                 layers: list[str] | None = None) -> Project:
    """`config` replaces the file's `config:` (Pulumi hands the program its own copy, decrypted);
    the file is still read, when it exists, for line numbers and for which values are secret.
    `portspecs` replaces the shipped catalog; `layers` are added on top of it (default: the
    environment's, see default_layers), then the stack's own `kubeports:cluster.catalogs`."""
    if os.path.exists(stack_file) or config is None:
        doc, file_config = load_stack_doc(stack_file)
    else:
        doc, file_config = Located(display_path(stack_file), {}), {}
    given, problems = decode_json_strings(config if config is not None else file_config, doc)
    given, secret_problems = with_secrets(given, doc, secure_paths(file_config) if config is not None else ())
    problems += secret_problems
    own, missing = stack_layers(given, doc, stack_file)
    if problems or missing:
        raise KubeportsError(problems + missing)
    catalog = load_catalog(portspecs or default_portspecs(), [*(default_layers() if layers is None else layers), *own])
    stack = parse_stack_config(given, doc)
    problems = check_settings(catalog, stack.cluster, display_path(stack_file), doc.line_of)
    try:
        catalog = with_extra_flows(catalog, stack.cluster.extra_flows, doc, EXTRA_FLOWS)
    except KubeportsError as exc:
        problems += exc.problems
    if problems:
        raise KubeportsError(problems)
    resolution = resolve(catalog, stack.cluster, check_overrides=False)
    sets = resolve(catalog, stack.cluster, check_overrides=False, sets=True).rules if stack.set_peers else None
    guarded = sensitive_ports(catalog, stack.cluster)
    rendered = cloud_rules(stack, resolution.rules, sets, guarded)
    resolution = replace(resolution, notes=resolution.notes + tuple(mode_notes(stack, resolution.rules, sets, guarded)))
    ports = {**catalog.ports, **stack.cluster.ports}
    exposed = exposure_problems(catalog, stack.cluster, resolution.rules) + rendered_problems(
        catalog, stack, rendered, api_listeners(stack, ports))
    if exposed:
        line = doc.line_of(("config", "kubeports:cluster"))
        raise KubeportsError([Problem(display_path(stack_file), line, "kubeports:cluster", m) for m in exposed])
    problems = override_problems(catalog, stack.cluster, display_path(stack_file), doc.line_of)
    if problems:
        raise KubeportsError(problems)
    refused = cloud_problems(stack.cloud, resolution.rules)
    if refused:
        line = doc.line_of(("config", "kubeports:cloud"))
        raise KubeportsError([Problem(display_path(stack_file), line, "kubeports:cloud", m) for m in refused])
    over = quota_problems(stack.cloud, rendered, stack.cluster, stack.groups_per_role)
    if over:
        line = doc.line_of(("config", "kubeports:cluster", "quota"))
        raise KubeportsError([Problem(display_path(stack_file), line, "config.kubeports:cluster.quota", m)
                              for m in over])
    return Project(catalog, stack, resolution, () if rendered == resolution.rules else rendered)


def check_peer_quota(project: Project, stack_file: str, usage: Any,
                     siblings: tuple[str, ...] = ()) -> tuple[dict[str, int] | None, list[str]]:
    """The quota preflight of a stack with `kubeports:peerStack` on OpenStack, once its peer's
    `quota_usage` output is read (the program reads it before registering anything): raises
    KubeportsError when the project cannot hold both; returns the peer's counts and notes.
    `siblings`: the roles the program also joins to the peer's group of that role."""
    stack = project.stack
    if stack.cloud != "openstack" or stack.peer_stack is None:
        return None, []
    if usage is None:
        return None, [f"stack {stack.peer_stack} exports no quota_usage (deployed before kubeports counted it): its "
                "rules and groups are not counted in this stack's quota preflight; `pulumi up` it once, or set "
                "kubeports:cluster.quota.neutronUsedRules / neutronUsedGroups to what it holds"]
    doc = load_stack_doc(stack_file)[0] if os.path.exists(stack_file) else Located(display_path(stack_file), {})
    line = doc.line_of(("config", "kubeports:peerStack"))
    counts, bad = peer_usage_of(stack.peer_stack, usage)
    if counts is None:
        raise KubeportsError([Problem(display_path(stack_file), line, "kubeports:peerStack", bad or "")])
    over = peer_quota_problems(project.cloud_rules, stack.cluster, stack.peer_stack, counts, siblings)
    if over:
        line = doc.line_of(("config", "kubeports:cluster", "quota"))
        raise KubeportsError([Problem(display_path(stack_file), line, "config.kubeports:cluster.quota", m)
                              for m in over])
    return counts, []
