"""The small interface every cloud module implements, and how a stack picks one.

Rules of this file:
- a backend only renders: it receives resolved Rules and settings and creates
  resources; it decides nothing about which ports are open;
- provider quirks (Neutron ethertypes, AWS one-source-per-rule) stay in the cloud's
  module; callers never branch on the cloud;
- nothing here changes when port specs change, so instances never depend on rules.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi

from kubeports.core.lifecycle import NodeSlot
from kubeports.core.rendered import Listener  # the core's: safety.py expands peers with the same listeners
from kubeports.core.rules import Rule
from kubeports.core.settings import DEFAULT_POOL, STATEFUL_ROLES, ClusterSettings, RoleSettings, StackConfig, pool_prefix
from kubeports.core.shards import set_object_name
from kubeports.core.stackvalues import Secret

SetKey = tuple[str, str, int]  # a CIDR set's cloud object: (set, family, part; 0 when not split)

__all__ = ["STATEFUL_ROLES"]  # re-exported: bench and tests read it here


@dataclass(frozen=True)
class NodeSpec:
    """Everything a backend needs to create one role's VMs (cloud-neutral)."""

    cluster: str
    role: str
    settings: RoleSettings
    routes_pod_ips: bool  # the CNI mode routes pod IPs natively (no encapsulation)
    pod_cidrs: tuple[str, ...]
    slots: tuple[NodeSlot, ...]  # one per node: its settings in this rollout step (core/lifecycle.py)
    user_data: str
    public: bool = False  # each VM also gets a public address (the bastion)
    pool: str | None = None  # the pool of the role these VMs are (None: the role has no pools)

    @property
    def prefix(self) -> str:
        """Node names are `<prefix>-<index>`; the role's own and its default pool's are `<cluster>-<role>`."""
        return pool_prefix(self.cluster, self.role, self.pool)

    @property
    def pool_tag(self) -> str | None:
        """The pool a cloud tag names; none for the role's own nodes and its default pool,
        so making a role's nodes its default pool changes no tag of theirs."""
        return None if self.pool in (None, DEFAULT_POOL) else self.pool

    @property
    def keep_volumes(self) -> bool:
        """A replaced node's boot volume survives it: the default for stateful roles."""
        if self.settings.delete_volume_on_replace is not None:
            return not self.settings.delete_volume_on_replace
        return self.role in STATEFUL_ROLES

    def hold_image(self, slot: NodeSlot) -> bool:
        """An unpinned image name is looked up on every `pulumi up`; a node not moving in
        this step keeps the image it was created with (ignoreChanges), so a re-upload
        behind the same name never rebuilds it by surprise."""
        return not slot.pinned and not slot.replacing


@dataclass(frozen=True)
class Node:
    """One VM as a backend created it."""

    id: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    name: str = ""  # the VM's resource name (names what refers to it, e.g. a load balancer member)
    public_ip: pulumi.Output[str] | None = None  # NodeSpec.public: its floating IP / Elastic IP


@dataclass(frozen=True)
class ImageRef:
    """A role's image as a backend resolved it: the name, what the cloud says it is now
    (`resolved`), and the id the stack pinned (None: not pinned). The stack exports it."""

    image: str
    resolved: pulumi.Input[str]
    pinned: str | None
    rollout: bool = False  # what a rollout moves nodes to (its pin is meant to differ)

    def to_output(self) -> pulumi.Output[dict]:
        return pulumi.Output.from_input(self.resolved).apply(lambda now: {
            "image": self.image, "resolved": now, "pinned": self.pinned,
            "moved": self.pinned is not None and now != self.pinned, "rollout": self.rollout})


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
        self.image_refs: dict[str, list[ImageRef]] = {}  # role -> what nodes() resolved, one per image used
        self.set_ids: dict[SetKey, pulumi.Output[str]] = {}  # (CIDR set, family, part) -> its cloud object
        self._image_ids: dict[tuple[str, str, pulumi.ProviderResource | None], pulumi.Output[str]] = {}

    @property
    def cluster(self) -> ClusterSettings:
        return self.stack.cluster

    def image_id(self, token: str, name: str, parent: pulumi.Resource | None,
                 lookup: Callable[[], pulumi.Output[str]]) -> pulumi.Output[str]:
        """What an image name is now, looked up once per stack and provider, for every role and
        pool that boots it: one image API call per name on each `pulumi up`, not one per role.
        `lookup` makes the invoke (token `token`) under `parent`; an invoke's parent gives it
        only its provider, so the provider `parent` would give is the key."""
        key = (token, name, parent.get_provider(token) if parent is not None else None)
        if key not in self._image_ids:
            self._image_ids[key] = lookup()
        return self._image_ids[key]

    @abstractmethod
    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        """A group with no inline rules and no provider default rules left in it."""

    @abstractmethod
    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        """One standalone resource per rule (name -> resource); names come from rule keys."""

    @abstractmethod
    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        """The role's VMs, with the group attached, one per `spec.slots` entry: each runs its
        slot's settings; a replaced one is created before the old one is deleted, or is
        marked deleteBeforeReplace (visible in the plan)."""

    def load_balancer(self, name: str, spec: LoadBalancerSpec, opts: pulumi.ResourceOptions) -> CloudLoadBalancer:
        """The cloud's load balancer: listeners, member pools with TCP health checks, an address.
        Called before `rules()`, which may need to know it (Octavia's members see its subnet)."""
        raise NotImplementedError(f"{self.cloud}: no load balancer")

    def rule_name(self, rule: Rule) -> str:
        return f"{self.cluster.name}-{rule.key}"

    def cidr_sets(self, rules: Sequence[Rule], opts: pulumi.ResourceOptions) -> Mapping[SetKey, pulumi.Output[str]]:
        """The cloud objects of every `set` peer in `rules` (one per set, family and part), created
        on first sight: a Cluster calls this before any rule, so they are its children whichever
        role uses them first; a role alone gets them as its own children from `rules()`."""
        for rule in rules:
            if rule.peer_kind != "set":
                continue
            for part, members in self.set_parts(rule.members).items():
                if (rule.peer, rule.ethertype, part) not in self.set_ids:
                    self.set_ids[(rule.peer, rule.ethertype, part)] = self.cidr_set(
                        rule.peer, rule.ethertype, members, opts, part)
        return self.set_ids

    def set_parts(self, members: tuple[str, ...]) -> Mapping[int, tuple[str, ...]]:
        """A set's cloud objects: part -> entries; one, part 0, unless a cloud splits long sets."""
        return {0: members}

    def cidr_set(self, name: str, family: str, members: Sequence[str], opts: pulumi.ResourceOptions,
                 part: int = 0) -> pulumi.Output[str]:
        """One CIDR set's entries of one family (or one part of them) as a cloud object a rule
        can reference; its id."""
        raise NotImplementedError(f"{self.cloud}: CIDR sets cannot be one peer here")

    def cidr_set_name(self, name: str, family: str, part: int = 0) -> str:
        """From content (kubeports.core.shards.set_object_name): `dev-set-api-clients-v4`."""
        return set_object_name(self.cluster.name, name, family, part)


def node_options(opts: pulumi.ResourceOptions) -> Callable[[bool, Sequence[str] | None], pulumi.ResourceOptions]:
    """`opts` with a node's `protect` and `ignore_changes`, merged once per distinct pair.
    Nodes alike share the merged options: the SDK copies the options each resource is
    given (Resource.__init__) and changes only its copy, where a merge per node copied
    and merged every field again."""
    merged: dict[tuple[bool, tuple[str, ...] | None], pulumi.ResourceOptions] = {}

    def options(protect: bool, ignore_changes: Sequence[str] | None) -> pulumi.ResourceOptions:
        key = (protect, tuple(ignore_changes) if ignore_changes else None)
        if key not in merged:
            merged[key] = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                protect=protect, ignore_changes=list(key[1]) if key[1] else None))
        return merged[key]

    return options


def aliased_options(opts: pulumi.ResourceOptions) -> Callable[[Sequence[pulumi.Input[str] | pulumi.Alias]],
                                                                 pulumi.ResourceOptions]:
    """`opts` with a resource's own aliases added: what `ResourceOptions.merge(opts,
    ResourceOptions(aliases=...))` gives, field for field. `opts` is merged once (the
    merge's normal form: providers as a list, depends_on as a list, fresh hook bindings),
    then each resource gets a copy of that with its aliases appended. Why: a merge copies
    and merges every field twice, and a port per node carries such an alias."""
    base = pulumi.ResourceOptions.merge(opts, None)

    def options(aliases: Sequence[pulumi.Input[str] | pulumi.Alias]) -> pulumi.ResourceOptions:
        out = copy.copy(base)
        out.aliases = [*(base.aliases or []), *aliases]
        return out

    return options


def unaliased(opts: pulumi.ResourceOptions | None) -> bool:
    """Whether a component made with `opts` is known by no other name: no aliases of its
    own and none through its parent (a component that says so, `_unaliased`). The
    engine combines a child's alias spec with its parents' aliases, but not an alias
    URN, so child_aliases gives URNs only under such a component."""
    if opts is None:
        return True
    if opts.aliases:
        return False
    return opts.parent is None or getattr(opts.parent, "_unaliased", False)


def known_urn(type_: str, name: str, opts: pulumi.ResourceOptions | None) -> str | None:
    """The URN the engine gives a component known by no other name (`unaliased`), as text,
    when its parent's is known the same way: a top-level one's is
    `urn:pulumi:<stack>::<project>::<type>::<name>` (the root stack is no parent type:
    kubeports.plan.offline.engine_urn), a child's is its parent's up to the name, `$`, its
    type, `::`, its name (the SDK's `create_urn`). None otherwise, e.g. under a consumer's
    own component: its URN is then only the Output the engine answers."""
    if not unaliased(opts):
        return None
    parent = opts.parent if opts is not None else None
    if parent is None:
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"
    text = getattr(parent, "_urn_text", None)
    return None if text is None else f"{text[:text.rfind('::')]}${type_}::{name}"


def child_aliases(parent: pulumi.Resource | None, type_: str) -> Callable[[str], pulumi.Input[str] | pulumi.Alias]:
    """An alias per child of `parent` of type `type_`, by the child's earlier name.

    It is the URN `pulumi.Alias(name=...)` resolves to for such a child (the SDK's
    `create_urn`: the parent's URN up to its name, `$`, the type, `::`, the name), with
    the parent's part computed once for every child: from the parent's URN as text
    (`known_urn`, no Output at all) or else from its URN Output. Why: an `Alias` spec
    costs the SDK about seven Outputs per resource (Resource.__init__'s
    collapse_alias_to_urn and create_urn, Output.all chains), an Output URN one, a text
    none; a port per node carries such an alias. Only under a parent known by no other
    name (`unaliased`: the engine would combine a spec with the parents' aliases, not a
    URN); otherwise, and with no parent, the spec."""
    if parent is None or not getattr(parent, "_unaliased", False):
        return lambda name: pulumi.Alias(name=name)
    text = getattr(parent, "_urn_text", None)
    if text is not None:
        start = f"{text[:text.rfind('::')]}${type_}::"
        return lambda name: start + name
    prefix = parent.urn.apply(lambda urn: f"{urn[:urn.rfind('::')]}${type_}::")
    return lambda name: prefix.apply(lambda start: start + name)


def user_data_input(value: str | Secret | None, default: str) -> pulumi.Input[str]:
    """The stack's user data as an instance gets it: a secret one (`pulumi config set --secret`,
    kubeports/core/stackvalues.py) reaches Pulumi as a secret, so the engine encrypts it in the
    state and never shows it. Offline only the ciphertext is known: the plan shows [secret]."""
    if isinstance(value, Secret):
        return pulumi.Output.secret(value.value if value.value is not None else "")
    return value or default


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
