"""The Cluster component: every role of a stack, wired to one resolved rule list.

Order matters and is the point of this file: first every role (its group and VMs),
then every rule as its own resource. A rule on the control plane may reference the
worker group and vice versa; with groups first there is no cycle.
Rules on a role another stack manages (externalRoles) attach to that stack's group,
whose id comes from `peer_group_ids` (e.g. a StackReference output).
A stack that adds nodes of a role another stack also has (a second worker pool) names
that stack's group in `sibling_group_ids`: every rule between two nodes of the role is
then made between the two groups too, both ways, so the pools reach each other.
The `load-balancer` role has no VMs: after the node roles (it needs the control plane's
nodes as members) comes the cloud's load balancer (components/loadbalancer.py), then
the rules; `api_endpoint` then points at the load balancer.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from kubeports.core.project import Project
from kubeports.core.rules import Rule
from kubeports.core.settings import LOAD_BALANCER
from kubeports.core.siblings import SIBLING_SUFFIX, sibling_rules

from .backend import CloudBackend, Listener, known_urn, unaliased
from .loadbalancer import LoadBalancer, LoadBalancerArgs
from .roles import ROLE_CLASSES, NodeRole, NodeRoleArgs, output_list
from .wiring import cluster_inputs, load, log_notes, running_stack_file


class ClusterArgs:
    """Inputs of a Cluster.

    :param backend: the stack's cloud backend (`components.backend_for(project.stack)`).
    :param rules: the rules to render for this stack (`project.cloud_rules`: the resolved
        rules, or what the stack's address-group / prefix-list / subnet-peer opt-ins make of them).
    :param routes_pod_ips: the CNI mode routes pod IPs natively (`project.routes_pod_ips`).
    :param peer_group_ids: group ids of the stack's externalRoles, role -> id; plain
        strings (`kubeports:peerGroups`) or Outputs (a StackReference). Rules on an
        external role attach to its id; rules of local roles reference it.
    :param api_port: the API server port as resolved (`project.port("kube-apiserver")[0]`);
        required, because port numbers live only in portspecs/ and stack overrides.
    :param sibling_group_ids: role -> group id of another stack's nodes of a role this
        stack also has (e.g. the main stack's workers, for a second worker pool).
    :param api_lb_port: the port the `load-balancer` role listens on for the API
        (`project.port("kube-apiserver-lb")[0]`); needed only with that role.
    :param quota_usage: what the cloud project holds once this stack is up, as the quota
        preflight counted it (`kubeports.core.quota.project_usage`); exported as the
        `quota_usage` output, which a stack joining this one's project counts.
    """

    def __init__(self, backend: CloudBackend, rules: Sequence[Rule], *, api_port: int, routes_pod_ips: bool = False,
                 peer_group_ids: Mapping[str, pulumi.Input[str]] | None = None,
                 sibling_group_ids: Mapping[str, pulumi.Input[str]] | None = None, api_lb_port: int | None = None,
                 quota_usage: Mapping[str, int] | None = None):
        self.backend = backend
        self.rules = tuple(rules)
        self.routes_pod_ips = routes_pod_ips
        self.peer_group_ids: dict[str, pulumi.Input[str]] = dict(peer_group_ids or {})
        self.api_port = api_port
        self.sibling_group_ids: dict[str, pulumi.Input[str]] = dict(sibling_group_ids or {})
        self.api_lb_port = api_lb_port
        self.quota_usage = dict(quota_usage) if quota_usage is not None else None


class Cluster(pulumi.ComponentResource):
    """Every local role of a stack (a NodeRole each: group and VMs), then every rule.

    Type token `kubeports:index:Cluster`. Outputs: `security_group_ids` (role -> id, local
    roles only), `api_endpoint` (`https://<first control-plane IP>:<port>`, "" without a
    local control plane) and `roles` (role -> NodeRole, for instance ids and IPs).
    With a `load-balancer` role: `load_balancer` (a LoadBalancer, not in `roles`), and
    `api_endpoint` is `https://<its address>:<kube-apiserver-lb port>`.
    """

    roles: dict[str, NodeRole]
    load_balancer: LoadBalancer | None
    security_group_ids: dict[str, pulumi.Output[str]]
    api_endpoint: pulumi.Output[str]
    rule_count: int
    quota_usage: dict[str, int] | None

    @classmethod
    def from_stack_config(cls, name: str | None = None, opts: pulumi.ResourceOptions | None = None, *,
                          stack_file: str | None = None) -> Cluster:
        """The running stack's cluster in one line: `Cluster.from_stack_config().export()`.

        Reads the stack's `kubeports:*` config as the engine hands it over (so `pulumi config
        set` values count) and its stack file for line numbers (`stack_file`, default
        `Pulumi.<stack>.yaml` in the directory Pulumi runs the program in), then does what
        `from_config` does. `name` defaults to `kubeports:cluster.name`."""
        from .runtime_config import kubeports_config  # the engine's config map: only a running program has one

        path = stack_file or running_stack_file()
        return cls._from_project(name, load(kubeports_config(), path), opts, path)

    @classmethod
    def from_config(cls, name: str | None, config: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None, *,
                    stack_file: str | None = None) -> Cluster:
        """A cluster from the stack-config shape as plain data, with all the wiring done.

        :param name: the component's name; None: `kubeports:cluster.name`.
        :param config: `{"kubeports:cloud": "openstack", "kubeports:cluster": {...}, ...}`, as in
            a stack file's `config:`; the keys may also come without the `kubeports:` namespace
            (`{"cloud": ..., "cluster": ...}`, a component package's inputs).
        :param opts: the component's resource options.
        :param stack_file: a file the config came from, for the line numbers of errors.

        Validates and resolves the config as `kubeports lint`/`rules`/`plan` do (bad input
        raises pulumi.RunError, one `path:line: field: message` per problem, before any
        resource is registered), logs the resolver's notes (pulumi.log), and wires backend,
        rules, routes_pod_ips, the API and load-balancer ports, `kubeports:peerGroups` and,
        with `kubeports:peerStack`, that stack's group ids for external roles and as the
        sibling groups of every local role (one StackReference, `<name>-peer-stack`)."""
        return cls._from_project(name, load(config, stack_file), opts, stack_file)

    @classmethod
    def _from_project(cls, name: str | None, project: Project, opts: pulumi.ResourceOptions | None,
                      stack_file: str | None) -> Cluster:
        name = name or project.stack.cluster.name
        log_notes(project)
        return cls(name, ClusterArgs(**cluster_inputs(project, name, opts, stack_file)), opts)

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kubeports:index:Cluster", name, None, opts)
        self._unaliased = unaliased(opts)  # its children may name earlier names by URN (backend.child_aliases)
        self._urn_text = known_urn("kubeports:index:Cluster", name, opts)  # its URN as text, when known
        cluster = args.backend.cluster
        self.roles = {
            role: ROLE_CLASSES[role](f"{name}-{role}", NodeRoleArgs(args.backend, settings, args.routes_pod_ips),
                                     pulumi.ResourceOptions(parent=self))
            for role, settings in sorted(cluster.roles.items()) if role != LOAD_BALANCER
        }
        self.load_balancer = self._load_balancer(name, args)  # needs the control plane's nodes
        parts: dict[str, NodeRole | LoadBalancer] = {**self.roles}
        if self.load_balancer is not None:
            parts[LOAD_BALANCER] = self.load_balancer
        group_ids: dict[str, pulumi.Input[str]] = {**args.peer_group_ids}
        group_ids.update({role: comp.security_group_id for role, comp in parts.items()
                          if comp.security_group_id is not None})
        unknown = sorted(set(args.sibling_group_ids) - set(self.roles))
        if unknown:
            raise ValueError(f"sibling_group_ids name roles this stack has no nodes of: {unknown}")
        group_ids.update({role + SIBLING_SUFFIX: gid for role, gid in args.sibling_group_ids.items()})
        rules = [*args.rules, *sibling_rules(args.rules, list(args.sibling_group_ids))]
        named = {r.role for r in rules} | {r.peer for r in rules if r.peer_kind == "role"}
        missing = sorted(named - set(group_ids) - set(parts))  # a local group-less LB: its cloud module renders it
        if missing:  # a rule without its peer's group would open the port to everyone
            raise ValueError(f"rules name roles with no group id: {missing}; pass their ids in "
                             "ClusterArgs.peer_group_ids (Cluster.from_stack_config reads them from "
                             "kubeports:peerGroups and kubeports:peerStack)")
        args.backend.cidr_sets(rules, pulumi.ResourceOptions(parent=self))  # address groups / prefix lists first
        for role, comp in parts.items():
            comp.add_rules([r for r in rules if r.role == role], group_ids)
        external = [r for r in rules if r.role not in parts]
        args.backend.rules(external, group_ids, lambda _rule: pulumi.ResourceOptions(parent=self))
        self.security_group_ids = {role: comp.security_group_id for role, comp in parts.items()
                                   if comp.security_group_id is not None}
        self.api_endpoint = self._api_endpoint(args)
        self.rule_count = len(args.rules)
        self.quota_usage = args.quota_usage
        self.register_outputs({"security_group_ids": self.security_group_ids, "api_endpoint": self.api_endpoint})

    def outputs(self) -> dict[str, Any]:
        """What `export()` exports: stack output name -> value (README "Stack outputs")."""
        out: dict[str, Any] = {"security_group_ids": self.security_group_ids, "api_endpoint": self.api_endpoint}
        for role, component in self.roles.items():
            out[f"{role}_instance_ids"] = component.instance_ids
            out[f"{role}_private_ips"] = component.private_ips
            if component.public:
                out[f"{role}_public_ips"] = component.public_ips
        # image pins and rollout steps: `kubeports plan`/`diff` read them (docs/lifecycle.md)
        out["images"] = {role: c.images for role, c in self.roles.items()}
        out["lifecycle"] = {role: c.lifecycle for role, c in self.roles.items()}
        # what a bootstrapper needs (`kubeports inventory`): every VM with its role, pool and addresses
        out["nodes"] = {role: c.node_records for role, c in self.roles.items()}
        pooled = {role: c for role, c in self.roles.items() if None not in c.pools}
        if pooled:
            out["pool_private_ips"] = {role: {pool: output_list([n.private_ip for n in nodes])
                                              for pool, nodes in c.pools.items()} for role, c in pooled.items()}
        if self.load_balancer is not None:
            out["load_balancer_address"] = self.load_balancer.address
        out["rule_count"] = self.rule_count
        if self.quota_usage is not None:  # what a stack joining this project counts (docs/configuration.md)
            out["quota_usage"] = self.quota_usage
        return out

    def export(self) -> Cluster:
        """Export `outputs()` as the stack's outputs; returns the cluster."""
        for key, value in self.outputs().items():
            pulumi.export(key, value)
        return self

    def _load_balancer(self, name: str, args: ClusterArgs) -> LoadBalancer | None:
        """The cloud's load balancer: one listener, api_lb_port -> the control plane's API port."""
        settings = args.backend.cluster.roles.get(LOAD_BALANCER)
        if settings is None:
            return None
        if args.api_lb_port is None:
            raise ValueError("a load-balancer role needs ClusterArgs.api_lb_port (project.port('kube-apiserver-lb'))")
        api = Listener("kube-apiserver", args.api_lb_port, "control-plane", args.api_port)
        members = {"control-plane": self.roles["control-plane"].nodes}  # settings require a control plane
        return LoadBalancer(f"{name}-{LOAD_BALANCER}", LoadBalancerArgs(args.backend, settings, [api], members,
                                                                       args.rules), pulumi.ResourceOptions(parent=self))

    def _api_endpoint(self, args: ClusterArgs) -> pulumi.Output[str]:
        if self.load_balancer is not None:
            return pulumi.Output.concat("https://", self.load_balancer.endpoints["kube-apiserver"])
        control_plane = self.roles.get("control-plane")
        if control_plane is None:
            return pulumi.Output.from_input("")
        return control_plane.private_ips.apply(lambda ips: f"https://{ips[0]}:{args.api_port}" if ips else "")
