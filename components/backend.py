"""The small interface every cloud module implements, and how a stack picks one.

Rules of this file:
- a backend only renders: it receives resolved Rules and settings and creates
  resources; it decides nothing about which ports are open;
- provider quirks (Neutron ethertypes, AWS one-source-per-rule) stay in the cloud's
  module; callers never branch on the cloud;
- nothing here changes when port specs change, so instances never depend on rules.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi

from kubeports.rules import Rule
from kubeports.settings import ClusterSettings, RoleSettings, StackConfig

# Roles whose nodes hold state: a new image does not replace them until `roll` names them.
STATEFUL_ROLES = ("control-plane", "etcd")


@dataclass(frozen=True)
class NodeSpec:
    """Everything a backend needs to create one role's VMs (cloud-neutral)."""

    cluster: str
    role: str
    settings: RoleSettings
    routes_pod_ips: bool  # the CNI mode routes pod IPs natively (no encapsulation)
    pod_cidrs: tuple[str, ...]
    hold_image: bool  # stateful role not named in `roll`: ignore image changes
    user_data: str


@dataclass(frozen=True)
class Node:
    id: pulumi.Output[str]
    private_ip: pulumi.Output[str]


class CloudBackend(ABC):
    cloud: str

    def __init__(self, stack: StackConfig):
        self.stack = stack

    @property
    def cluster(self) -> ClusterSettings:
        return self.stack.cluster

    @abstractmethod
    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        """A group with no inline rules and no provider default rules left in it."""

    @abstractmethod
    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        """One standalone resource per rule (name -> resource); names come from rule keys."""

    @abstractmethod
    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        """The role's VMs, with the group attached."""

    def rule_name(self, rule: Rule) -> str:
        return f"{self.cluster.name}-{rule.key}"


def default_user_data(cluster: str, role: str) -> str:
    """Stable by design: it depends on neither port specs nor node count, because a
    changed user data replaces an OpenStack server."""
    return "\n".join([
        "#cloud-config",
        "write_files:",
        "  - path: /etc/kubeports/role",
        f"    content: \"cluster={cluster} role={role}\\n\"",
        "package_update: true",
        "",
    ])


def backend_for(stack: StackConfig) -> CloudBackend:
    # Imported lazily: each provider SDK is large, and a stack needs only one.
    if stack.cloud == "aws":
        from .aws import AwsBackend

        return AwsBackend(stack)
    from .openstack import OpenStackBackend

    return OpenStackBackend(stack)
