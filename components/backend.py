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

from kubeports.core.rules import Rule
from kubeports.core.settings import ClusterSettings, RoleSettings, StackConfig

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
    public: bool = False  # each VM also gets a public address (the bastion)


@dataclass(frozen=True)
class Node:
    """One VM as a backend created it."""

    id: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    name: str = ""  # the VM's resource name (names what refers to it, e.g. a load balancer member)
    public_ip: pulumi.Output[str] | None = None  # NodeSpec.public: its floating IP / Elastic IP


@dataclass(frozen=True)
class Listener:
    """One port of a load balancer: clients connect to `port`, members of `target_role` get `target_port`.

    `name` names its resources (e.g. `kube-apiserver`): content, never a position."""

    name: str
    port: int
    target_role: str
    target_port: int


@dataclass(frozen=True)
class LoadBalancerSpec:
    """Everything a backend needs to create the cloud's load balancer (cloud-neutral).

    `rules` are the resolved rules of the load-balancer role itself (who may reach it,
    where it may send); a cloud that filters at the listener (Octavia) reads them there,
    one with a group (AWS) gets them from `rules()` like any role."""

    cluster: str
    role: str
    listeners: tuple[Listener, ...]
    members: Mapping[str, Sequence[Node]]  # target role -> its VMs
    rules: tuple[Rule, ...]
    protect: bool = False


@dataclass(frozen=True)
class CloudLoadBalancer:
    """What a load balancer gives back: the group other rules reference (None where the
    cloud's balancer has none, as Octavia), and the address clients use."""

    group_id: pulumi.Output[str] | None
    address: pulumi.Output[str]


class CloudBackend(ABC):
    """How one cloud renders groups, rules and VMs; a stack picks one with `components.backend_for(stack)`."""

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

    def load_balancer(self, name: str, spec: LoadBalancerSpec, opts: pulumi.ResourceOptions) -> CloudLoadBalancer:
        """The cloud's load balancer: listeners, member pools with TCP health checks, an address.
        Called before `rules()`, which may need to know it (Octavia's members see its subnet)."""
        raise NotImplementedError(f"{self.cloud}: no load balancer")

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
