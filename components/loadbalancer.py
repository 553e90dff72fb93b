"""The `load-balancer` role: the cloud's own load balancer in front of node roles.

Rules of this file:
- unlike every other role it has no VMs: the backend's `load_balancer()` creates the
  balancer (Octavia on OpenStack, an NLB on AWS) with one listener, pool (target
  group), TCP health check and members per `Listener`; `count` means nothing;
- it keeps the shape a Cluster expects of a role (`security_group_id`, `add_rules`), so
  port specs can name `load-balancer` like any role; where the cloud's balancer has no
  group of its own (Octavia) `security_group_id` is None and the cloud module renders
  rules naming it from the balancer's subnet or clients (see components/clouds/openstack.py);
- the listeners come from named ports (`kube-apiserver-lb` -> `kube-apiserver`), never
  from numbers written here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from kubeports.core.rules import Rule
from kubeports.core.settings import LOAD_BALANCER, RoleSettings

from .backend import CloudBackend, Listener, LoadBalancerSpec, Node


class LoadBalancerArgs:
    """Inputs of the load balancer.

    :param backend: the stack's cloud backend.
    :param settings: the role's settings (only `protect` applies).
    :param listeners: one per port the balancer serves (see components.backend.Listener).
    :param members: target role -> its nodes (e.g. `{"control-plane": ControlPlane(...).nodes}`).
    :param rules: the resolved rules; the balancer reads those of its own role to know who
        may reach each listener. Its rules are created by `add_rules` (a Cluster calls it).
    """

    def __init__(self, backend: CloudBackend, settings: RoleSettings, listeners: Sequence[Listener],
                 members: Mapping[str, Sequence[Node]], rules: Sequence[Rule] = ()):
        self.backend = backend
        self.settings = settings
        self.listeners = tuple(listeners)
        self.members = {role: tuple(nodes) for role, nodes in members.items()}
        self.rules = tuple(rules)


class LoadBalancer(pulumi.ComponentResource):
    """The cloud's load balancer for the `load-balancer` role. Type token `kubeports:index:LoadBalancer`.

    Outputs: `address` (VIP, floating IP or DNS name), `security_group_id` (None where the
    cloud's balancer has no group), `endpoints` (listener name -> `host:port`)."""

    role = LOAD_BALANCER
    security_group_id: pulumi.Output[str] | None
    address: pulumi.Output[str]
    endpoints: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kubeports:index:LoadBalancer", name, None, opts)
        self._backend = args.backend
        missing = sorted({lis.target_role for lis in args.listeners} - set(args.members))
        if missing:
            raise ValueError(f"load balancer listeners target roles with no members given: {missing}")
        spec = LoadBalancerSpec(
            cluster=args.backend.cluster.name, role=self.role, listeners=args.listeners, members=args.members,
            rules=tuple(r for r in args.rules if r.role == self.role), protect=args.settings.protect,
        )
        made = args.backend.load_balancer(name, spec, pulumi.ResourceOptions(parent=self))
        self.security_group_id = made.group_id
        self.address = made.address
        self.endpoints = {lis.name: made.address.apply(lambda host, port=lis.port: f"{_host(host)}:{port}")
                          for lis in args.listeners}
        outputs: dict[str, object] = {"address": self.address, "endpoints": self.endpoints}
        if self.security_group_id is not None:
            outputs["security_group_id"] = self.security_group_id
        self.register_outputs(outputs)

    def add_rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]]) -> None:
        """Create `rules` (all on this role) as children, as NodeRole.add_rules does."""
        self._backend.rules(rules, group_ids, lambda _rule: pulumi.ResourceOptions(parent=self))


def _host(address: str) -> str:
    """An address as the host part of a URL: IPv6 literals go in brackets."""
    return f"[{address}]" if ":" in address else address
