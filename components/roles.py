"""One ComponentResource per node role: its security group, its rules, its VMs.

Rules of this file:
- every role is a thin subclass of NodeRole that only fixes its type token;
- a role alone (e.g. an extra worker pool in another stack) is given its rules and
  peer group ids and creates them itself; inside a Cluster, the Cluster creates every
  group first and then calls `add_rules`, which breaks control-plane <-> worker cycles;
- VMs never depend on rules, so a port-spec change cannot replace a VM;
- a role with pools (`roles.<role>.pools`) has one group and, per pool, its own VMs
  (names `<cluster>-<role>-<pool>-<index>`, one rollout each); the role's own nodes and
  its `default` pool are named `<cluster>-<role>-<index>`, so adding pools renames nothing;
- `load-balancer` is no NodeRole: it has no VMs (components/loadbalancer.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from kubeports.core.lifecycle import node_slots, role_lifecycle
from kubeports.core.rules import Rule
from kubeports.core.settings import RoleSettings

from .backend import CloudBackend, Node, NodeSpec, default_user_data, known_urn, unaliased


class NodeRoleArgs:
    """Inputs of one role.

    :param backend: the stack's cloud backend (see components.backend.backend_for).
    :param settings: the role's settings (count, image, flavor/instance type, protect).
    :param routes_pod_ips: the CNI mode routes pod IPs natively.
    :param rules: rules to create now; leave None when a Cluster adds them later.
    :param peer_group_ids: group ids of peer roles managed elsewhere (e.g. a StackReference).
    """

    def __init__(self, backend: CloudBackend, settings: RoleSettings, routes_pod_ips: bool = False,
                 rules: Sequence[Rule] | None = None,
                 peer_group_ids: Mapping[str, pulumi.Input[str]] | None = None):
        self.backend = backend
        self.settings = settings
        self.routes_pod_ips = routes_pod_ips
        self.rules = rules
        self.peer_group_ids = dict(peer_group_ids or {})


class NodeRole(pulumi.ComponentResource):
    """One role's security group (no inline rules) and VMs, with the group attached.

    Use a subclass (Worker, ControlPlane, ...): it fixes `role` and the type token
    `kubeports:index:<Class>`. Outputs: `security_group_id`, `instance_ids`, `private_ips`,
    `images` (each image name, what it resolves to now, the pinned id), `lifecycle`
    (the rollout step: kubeports.core.lifecycle.role_lifecycle) and `node_records` (one
    per VM: name, pool, private_ip, labels; public_ip for a public role).
    Standalone (rules given in args) it creates its own rules; in a Cluster the Cluster
    calls `add_rules` once every group exists.
    """

    role: str = ""
    public: bool = False  # each VM also gets a public address (see Bastion)
    security_group_id: pulumi.Output[str]
    instance_ids: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"kubeports:index:{type(self).__name__}", name, None, opts)
        self._unaliased = unaliased(opts)  # its nodes' ports may name earlier names by URN (backend.child_aliases)
        self._urn_text = known_urn(f"kubeports:index:{type(self).__name__}", name, opts)  # its URN as text, when known
        self._backend = args.backend
        child = pulumi.ResourceOptions(parent=self)
        group = args.backend.security_group(name, self.role, child)
        self.security_group_id = group.id
        cluster = args.backend.cluster
        self.pools: dict[str | None, tuple[Node, ...]] = {}
        rows: list[tuple[Node, str | None, dict[str, str]]] = []  # each VM's record, but its addresses
        for pool, settings in args.settings.node_pools():
            spec = NodeSpec(
                cluster=cluster.name, role=self.role, settings=settings, routes_pod_ips=args.routes_pod_ips,
                pod_cidrs=tuple(cluster.pod_cidrs),
                slots=node_slots(settings),
                user_data=default_user_data(cluster.name, self.role), public=self.public, pool=pool,
            )
            self.pools[pool] = tuple(args.backend.nodes(spec, group.id, child))
            rows += [(node, pool, dict(sorted(settings.labels.items()))) for node in self.pools[pool]]
        nodes = [node for pool_nodes in self.pools.values() for node in pool_nodes]
        self.nodes: tuple[Node, ...] = tuple(nodes)  # e.g. the members of a load balancer
        self.instance_ids = output_list([n.id for n in nodes])
        self.private_ips = output_list([n.private_ip for n in nodes])
        self.public_ips = output_list([n.public_ip for n in nodes if n.public_ip is not None])
        self.node_records = node_records(rows, self.private_ips, self.public_ips)
        # which image ids the nodes run or would run, and where this rollout step is
        refs = sorted(args.backend.image_refs.get(self.role, []), key=lambda r: (r.image, r.pinned or ""))
        self.images = pulumi.Output.all(*[ref.to_output() for ref in refs])
        self.lifecycle = role_lifecycle(cluster.name, self.role, args.settings)
        if args.rules is not None:
            rules = [r for r in args.rules if r.role == self.role]
            group_ids = {**args.peer_group_ids, self.role: self.security_group_id}
            missing = sorted({r.peer for r in rules if r.peer_kind == "role"} - set(group_ids))
            if missing:  # a rule without its peer's group would open the port to everyone
                raise ValueError(f"{self.role} rules name peers with no group id: {missing}; pass peer_group_ids")
            self.add_rules(rules, group_ids)
        outputs = {"security_group_id": self.security_group_id, "instance_ids": self.instance_ids,
                   "private_ips": self.private_ips, "images": self.images, "lifecycle": self.lifecycle,
                   "nodes": self.node_records}
        if self.public:
            outputs["public_ips"] = self.public_ips
        self.register_outputs(outputs)

    def add_rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]]) -> None:
        """Create `rules` (all on this role) as children; `group_ids` maps every role they name to its group."""
        self._backend.rules(rules, group_ids, lambda _rule: pulumi.ResourceOptions(parent=self))


FAN_IN = 64


def output_list(items: Sequence[pulumi.Input[Any]]) -> pulumi.Output[list[Any]]:
    """`Output.all(*items)`: the same list, dependencies, known and secret flags, joined in a
    tree of at most FAN_IN items per `Output.all`. One `Output.all` joins its items'
    dependencies one set union at a time, each a new set (`acc | d.resources`), so n items
    cost n*n/2 element copies: 12.5 million for the ids of a 5,000-node role, the one part
    of a plan that grew with the square of the nodes (bench/scale.py). Each joined part is
    an opaque _Part, so the next level's `Output.all` does not unwrap its values again."""
    if len(items) <= FAN_IN:
        return pulumi.Output.all(*items)
    parts = [pulumi.Output.all(*items[i:i + FAN_IN]).apply(_Part) for i in range(0, len(items), FAN_IN)]
    return output_list(parts).apply(lambda joined: [item for part in joined for item in part.items])


class _Part:
    """A joined slice of values: not a list, so `Output.from_input` leaves it whole."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = items


def node_records(rows: Sequence[tuple[Node, str | None, Mapping[str, str]]], private_ips: pulumi.Output[list[str]],
                 public_ips: pulumi.Output[list[str]]) -> pulumi.Output[list[dict]]:
    """Every VM as the `nodes` stack output lists it (what a bootstrapper's inventory needs):
    name, pool, private_ip, labels, and public_ip for a VM that has one. Built in one apply
    over the role's address lists, not as an Output per VM: `Output.all` deep-unwraps every
    element it is given (an Output per key and value of each record), which made the
    records most of the Outputs a large plan creates (docs/decisions.md)."""
    def build(private_list: list[str], public_list: list[str]) -> list[dict]:
        private, public = iter(private_list), iter(public_list)
        out = []
        for node, pool, labels in rows:
            record = {"name": node.name, "pool": pool, "private_ip": next(private), "labels": dict(labels)}
            if node.public_ip is not None:
                record["public_ip"] = next(public)
            out.append(record)
        return out

    # nested applies, not Output.all(private_ips, public_ips), which would unwrap each address again
    return private_ips.apply(lambda private: public_ips.apply(lambda public: build(private, public)))


class ControlPlane(NodeRole):
    """API server, etcd when stacked, scheduler and controller manager nodes."""

    role = "control-plane"


class Worker(NodeRole):
    """Nodes that run workloads."""

    role = "worker"


class Etcd(NodeRole):
    """External etcd nodes."""

    role = "etcd"


class RancherServer(NodeRole):
    """Rancher management server nodes."""

    role = "rancher-server"


class Registry(NodeRole):
    """Container registry nodes (e.g. for offline installs)."""

    role = "registry"


class Bastion(NodeRole):
    """SSH jump host: a small VM with a public address (floating IP / Elastic IP). The
    port specs (ssh.yaml) let only `admin` reach it, and every other role only from it."""

    role = "bastion"
    public = True


ROLE_CLASSES: dict[str, type[NodeRole]] = {cls.role: cls for cls in
                                           (ControlPlane, Worker, Etcd, RancherServer, Registry, Bastion)}
