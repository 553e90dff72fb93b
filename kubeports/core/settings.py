"""Stack settings: the `kubeports:*` keys of a `Pulumi.<stack>.yaml`.

Rules of this file:
- a stack file is all a cluster needs; every key has a default or is required here;
- keys are camelCase, as Pulumi config keys conventionally are;
- checks that need the catalog (is this CNI known? this port named?) live in
  `resolver.check_settings`, and those of `extraFlows` in `catalog.with_extra_flows`, so
  this file stays independent of `portspecs/`;
- a secret (`{secure: ...}`) reaches this file only where stackvalues.SECRET_KEYS allows
  one, as a `Secret` (SecretText fields).
"""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .catalog import pydantic_problems
from .errors import At, KubeportsError
from .quorum import STATEFUL_ROLES, replaceable_at_once
from .spec import DISTRIBUTIONS, ROLES, Cidr, Flow, Name, parse_port_range
from .stackvalues import Secret
from .yamlsrc import Located

Role = Literal[ROLES]  # type: ignore[valid-type]
Family = Literal["IPv4", "IPv6"]
CLOUDS = ("openstack", "aws")
LOAD_BALANCER = "load-balancer"  # the one role with no VMs: the cloud's own load balancer
CLUSTER_NAME_MAX = 43  # see ClusterSettings._name_fits_every_cloud
POD_CIDR_WIDEST = {4: 8, 6: 32}  # a prefix shorter than this is no plausible pod range


def _port_override(value: Any) -> tuple[int, int]:
    parsed = parse_port_range(value)
    if isinstance(parsed, str):
        raise ValueError(f"{value!r} must be a port number or a range")
    return parsed


PortOverride = Annotated[tuple[int, int], BeforeValidator(_port_override)]


def _secret(value: Any) -> Secret:
    if not isinstance(value, Secret):
        raise ValueError("is not a secret")
    return value


# A value `pulumi config set --secret` may hold (stackvalues.SECRET_KEYS): plain text or a Secret.
SecretText = Annotated[Secret, PlainValidator(_secret)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic reads `count: true` (or YAML 1.1's `count: yes`) as 1 node: refuse it."""
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation in (int, int | None):
            raise ValueError(f"{value!r} is a boolean; a number is needed here")
        return value


class NodeSettings(_Model):
    """What a node is made of; changing any of it replaces (or rebuilds/resizes) the node,
    so it only moves through a `rollout` (kubeports/core/lifecycle.py)."""

    flavor: str | None = Field(None, description="OpenStack flavor; default kubeports:openstack.flavor")
    instance_type: str | None = Field(None, alias="instanceType", description="AWS type; default kubeports:aws")
    image: str | None = Field(None, description="image name (looked up) or id: Glance image or AMI")
    image_id: str | None = Field(None, alias="imageId", min_length=1, description=(
        "the id `image` resolved to, pinned: nodes run it even after the name points elsewhere"))
    volume_size: int | None = Field(None, alias="volumeSize", ge=8)


class RolloutSettings(NodeSettings):
    """A role's nodes moving to new node settings, `maxUnavailable` nodes per `pulumi up`."""

    step: int = Field(ge=0, le=10_000, description=(
        "nodes 0 .. step*maxUnavailable-1 run the new settings; raise it by one per `pulumi up`"))


LABEL_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_PREFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _labels(value: Any) -> Any:
    """Kubernetes label syntax (apimachinery validation.IsQualifiedName / IsValidLabelValue):
    the bootstrapper hands them to the kubelet, which refuses a bad one at join time."""
    if not isinstance(value, dict):
        return value
    for key, text in value.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise At((key,), f"{text!r}: a label value is a string (quote numbers and booleans)")
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not LABEL_PREFIX_RE.match(prefix))) or not LABEL_NAME_RE.match(name):
            raise At((key,), "is not a label key: [prefix/]name, name at most 63 of A-Z a-z 0-9 - _ . "
                     "beginning and ending alphanumeric, prefix a DNS subdomain")
        if text and not LABEL_NAME_RE.match(text):
            raise At((key,), f"{text!r} is not a label value: at most 63 of A-Z a-z 0-9 - _ . beginning and "
                     "ending alphanumeric, or empty")
    return value


Labels = Annotated[dict[str, str], BeforeValidator(_labels)]
DEFAULT_POOL = "default"  # the pool whose nodes keep the role's own names (see pool_prefix)


class PoolSettings(NodeSettings):
    """One named pool of a role's nodes: its fields win over the role's, which are the defaults."""

    count: int = Field(ge=0, le=10_000)
    max_unavailable: int | None = Field(None, alias="maxUnavailable", ge=1, le=10_000,
                                        description="nodes a rollout step of this pool replaces at most; default the role's")
    rollout: RolloutSettings | None = Field(None, description="move this pool's nodes to new settings, step by step")
    labels: Labels = Field(default_factory=dict, description="node labels, over the role's (handed to the bootstrapper)")


class RoleSettings(NodeSettings):
    count: int = Field(ge=0, le=10_000)  # hostile input: a plan (or `pulumi up`) would loop for ever
    protect: bool = Field(False, description="Pulumi protect: the instances cannot be deleted by `pulumi up`")
    max_unavailable: int = Field(1, alias="maxUnavailable", ge=1, le=10_000,
                                 description="nodes a rollout step replaces at most")
    rollout: RolloutSettings | None = Field(None, description="move the nodes to new settings, step by step")
    delete_volume_on_replace: bool | None = Field(None, alias="deleteVolumeOnReplace", description=(
        "a replaced node's boot volume is deleted with it; default: kept for etcd and control-plane"))
    labels: Labels = Field(default_factory=dict, description="node labels (handed to the bootstrapper)")
    pools: dict[Name, PoolSettings] | None = Field(None, min_length=1, description=(
        "named pools of this role's nodes, sharing its security group; count is then per pool"))

    @model_validator(mode="before")
    @classmethod
    def _count_of_pools(cls, value: Any) -> Any:
        """With pools, the role's count is theirs together: written only per pool."""
        if isinstance(value, dict) and isinstance(value.get("pools"), dict):
            if "count" in value:
                raise At(("count",), "with pools, count is per pool (pools.<name>.count)")
            counts = [p.get("count") for p in value["pools"].values() if isinstance(p, dict)]
            if all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
                value = {**value, "count": sum(counts)}
            else:
                value = {**value, "count": 0}  # the pool's own count reports what is wrong
        return value

    @model_validator(mode="after")
    def _pools_roll_out_alone(self) -> RoleSettings:
        if self.pools is not None and self.rollout is not None:
            raise At(("rollout",), "with pools, a rollout is per pool (pools.<name>.rollout)")
        return self

    def node_pools(self) -> tuple[tuple[str | None, RoleSettings], ...]:
        """(pool name, its settings as a role of its own), by name; without pools one
        unnamed pool: the role itself. A pool's fields win over the role's; a pool naming
        a new image without its id drops the role's pin (as a rollout does)."""
        if self.pools is None:
            return ((None, self),)
        out = []
        for name, pool in sorted(self.pools.items()):
            values = {f: getattr(self, f) for f in type(self).model_fields if f not in ("pools", "rollout", "labels")}
            values.update({f: getattr(pool, f) for f in NodeSettings.model_fields if getattr(pool, f) is not None})
            if pool.image is not None and pool.image_id is None:
                values["image_id"] = None
            values.update(count=pool.count, rollout=pool.rollout, labels={**self.labels, **pool.labels},
                          max_unavailable=pool.max_unavailable or self.max_unavailable, pools=None)
            out.append((name, RoleSettings.model_construct(**values)))  # every value was validated where it was read
        return tuple(out)


def pool_prefix(cluster: str, role: str, pool: str | None) -> str:
    """What a pool's node names start with: `<cluster>-<role>-<pool>`; the role's own nodes
    and the `default` pool keep `<cluster>-<role>`, so a role's nodes become its default
    pool, and a pool is added beside them, without renaming a node."""
    return f"{cluster}-{role}" if pool in (None, DEFAULT_POOL) else f"{cluster}-{role}-{pool}"


POOLLESS_ROLES = ("control-plane", "etcd", LOAD_BALANCER)  # quorum and rollout order span the role; no VMs


class CniSettings(_Model):
    name: Name
    mode: Name
    features: list[Name] = Field(default_factory=list)


class QuotaSettings(_Model):
    neutron_rules: int = Field(100, alias="neutronRules", ge=1, description="security group rules per project")
    neutron_groups: int = Field(10, alias="neutronGroups", ge=1)
    neutron_used_rules: int = Field(4, alias="neutronUsedRules", ge=0, description=(
        "rules the project holds outside this stack: the default group's 4 unless other groups are there"))
    neutron_used_groups: int = Field(1, alias="neutronUsedGroups", ge=0, description=(
        "groups the project holds outside this stack: its default group"))
    nova_server_groups: int = Field(10, alias="novaServerGroups", ge=1, description="server groups per project")
    nova_server_group_members: int = Field(10, alias="novaServerGroupMembers", ge=1,
                                           description="servers per server group (one group per role)")
    aws_rules_per_group: int = Field(60, alias="awsRulesPerGroup", ge=1, description="per direction and family")
    aws_groups_per_interface: int = Field(5, alias="awsGroupsPerInterface", ge=1, le=16, description=(
        "security groups a network interface may carry (kubeports:aws.groupsPerRole at most this)"))
    aws_prefix_lists_per_region: int = Field(100, alias="awsPrefixListsPerRegion", ge=1, description=(
        "customer-managed prefix lists the account may hold in the Region (EC2's 'Prefix lists per Region')"))
    aws_used_prefix_lists: int = Field(0, alias="awsUsedPrefixLists", ge=0, description=(
        "customer-managed prefix lists the Region holds outside this stack (`kubeports audit --live` counts them)"))


class ClusterSettings(_Model):
    name: Name
    distribution: Literal[DISTRIBUTIONS]  # type: ignore[valid-type]
    kubernetes_version: str = Field(alias="kubernetesVersion")
    cni: CniSettings
    addons: list[Name] = Field(default_factory=list)
    ip_families: list[Family] = Field(default_factory=lambda: ["IPv4"], alias="ipFamilies", min_length=1)
    egress: Literal["open", "strict"] = "open"
    ports: dict[Name, PortOverride] = Field(default_factory=dict, description="named-port overrides")
    cidrs: dict[Name, list[Cidr]] = Field(default_factory=dict, description="CIDR set values")
    roles: dict[Role, RoleSettings] = Field(min_length=1)
    external_roles: list[Role] = Field(default_factory=list, alias="externalRoles",
                                       description="roles whose groups another stack manages")
    pod_cidrs: list[Cidr] = Field(default_factory=list, alias="podCidrs", description=(
        "pod CIDRs: allowed address pairs, and the peer of pod traffic in modes that route pod IPs natively"))
    vip: IPvAnyAddress | None = Field(None, description=(
        "kube-vip's API address: on OpenStack an allowed address pair of the control-plane ports"))
    quota: QuotaSettings = QuotaSettings()
    extra_flows: list[Flow] = Field(default_factory=list, alias="extraFlows", description=(
        "this stack's own flows, the schema of a spec file's flows; sourced at their stack-file line"))
    catalogs: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, description=(
        "spec directories added on top of the shipped catalog, relative to the stack file"))

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str:
        if not isinstance(value, str):  # YAML reads 1.30 as the number 1.3
            raise ValueError(f"{value!r} is a number; quote the version, e.g. \"1.30\" (YAML reads 1.30 as 1.3)")
        try:
            Version(str(value))
        except InvalidVersion:
            raise ValueError(f"{value!r} is not a version like '1.31'") from None
        return str(value)

    @field_validator("name")
    @classmethod
    def _name_fits_every_cloud(cls, value: str) -> str:
        """The strictest bound of every name built from it: VM names `<cluster>-<role>-<index>`
        become host names, a DNS label of at most 63 characters (the longest role,
        rancher-server, and index 9999 leave 43); AWS tag keys `kubernetes.io/cluster/<name>`
        (128) and resource names (255) are looser."""
        if len(value) > CLUSTER_NAME_MAX:
            raise ValueError(f"is {len(value)} characters; at most {CLUSTER_NAME_MAX} (VM names "
                             "<cluster>-<role>-<index> are host names of at most 63)")
        return value

    @field_validator("pod_cidrs")
    @classmethod
    def _plausible_pod_cidrs(cls, value: list[str]) -> list[str]:
        """Pod CIDRs are accepted from everywhere on the host firewall and become allowed
        address pairs on every Neutron port: /0 or a huge prefix would open everything."""
        for i, cidr in enumerate(value):
            net = ipaddress.ip_network(cidr)
            widest = POD_CIDR_WIDEST[net.version]
            if net.prefixlen < widest:
                raise At((i,), f"{cidr} is wider than /{widest}; pod CIDRs are the cluster's own pod "
                         "address ranges (e.g. 10.244.0.0/16), never the world")
        return value

    @field_validator("ip_families")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a family twice")
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def _load_balancer_count(cls, value: Any) -> Any:
        """The load-balancer role is the cloud's load balancer: no VMs, so `count` may be omitted."""
        if isinstance(value, dict) and isinstance(value.get(LOAD_BALANCER), dict) and "pools" not in value[LOAD_BALANCER]:
            value = {**value, LOAD_BALANCER: {"count": 0, **value[LOAD_BALANCER]}}
        return value

    @model_validator(mode="after")
    def _roles(self) -> ClusterSettings:
        for role, settings in sorted(self.roles.items()):
            _pools_fit(self.name, role, settings)
        cp = self.roles.get("control-plane")
        if cp is not None and cp.count == 0:
            raise At(("roles", "control-plane", "count"), "a control plane needs at least 1 node")
        lb = self.roles.get(LOAD_BALANCER)
        if lb is not None:
            if lb.count != 0:
                raise At(("roles", LOAD_BALANCER, "count"),
                         "the load-balancer role is the cloud's load balancer and has no VMs; omit count or set 0")
            for field in ("flavor", "instance_type", "image", "image_id", "volume_size", "rollout"):
                if getattr(lb, field) is not None:
                    raise At(("roles", LOAD_BALANCER, RoleSettings.model_fields[field].alias or field),
                             "the cloud's load balancer has no VMs; only protect applies")
            if cp is None:
                raise At(("roles", LOAD_BALANCER), "the load balancer fronts the API servers; add a control-plane role")
        for role, settings in self.roles.items():
            _rollout_keeps_quorum(role, settings, self.roles)
        for name, cidrs in sorted(self.cidrs.items()):
            for j, client in enumerate(cidrs):
                net = ipaddress.ip_network(client)
                for i, pod in enumerate(self.pod_cidrs):
                    if net.prefixlen and net.overlaps(ipaddress.ip_network(pod)):
                        raise At(("podCidrs", i), f"{pod} overlaps {client} of CIDR set {name} (cidrs.{name}[{j}]): "
                                 "the host firewall accepts pod CIDRs on every port")
        both = sorted(set(self.roles) & set(self.external_roles))
        if both:
            raise At(("externalRoles", self.external_roles.index(both[0])), f"roles {both} are both local and external")
        return self

    @property
    def version(self) -> Version:
        return Version(self.kubernetes_version)

    @property
    def present_roles(self) -> frozenset[str]:
        return frozenset(self.roles) | frozenset(self.external_roles)


def _pools_fit(cluster: str, role: str, settings: RoleSettings) -> None:
    """Pools only where nodes are interchangeable, and every node name a host name."""
    if settings.pools is None:
        return
    if role in POOLLESS_ROLES:
        raise At(("roles", role, "pools"), f"the {role} role has no pools: "
                 + ("the load balancer has no VMs" if role == LOAD_BALANCER else
                    "its nodes are one quorum with one rollout order"))
    for name in settings.pools:
        longest = f"{pool_prefix(cluster, role, name)}-9999"
        if len(longest) > 63:
            raise At(("roles", role, "pools", name), f"node names {pool_prefix(cluster, role, name)}-<index> would "
                     f"be {len(longest)} characters; host names have at most 63: shorten the pool name")


def _rollout_keeps_quorum(role: str, settings: RoleSettings, roles: Any) -> None:
    if settings.rollout is None or role not in STATEFUL_ROLES:
        return
    limit = replaceable_at_once(role, settings.count, roles)
    if settings.max_unavailable > limit:
        what = "one API server" if role == "control-plane" and "etcd" in roles else "etcd quorum"
        hint = "add nodes first (3 voters survive one replacement)" if limit == 0 else f"set maxUnavailable <= {limit}"
        raise At(("roles", role, "maxUnavailable"), (
            f"a step replacing {settings.max_unavailable} of {settings.count} {role} nodes breaks {what}; {hint}"))


def _on_off(value: Any) -> Any:
    """`addressGroups: true` is short for `addressGroups: {enabled: true}`."""
    return {"enabled": value} if isinstance(value, bool) else value


class AddressGroupSettings(_Model):
    """CIDR sets as Neutron address groups (issue 19; docs/clouds.md, "CIDR sets as address groups")."""

    enabled: bool = Field(False, description=(
        "one rule per flow and CIDR set, the set's entries in one address group per family"))
    firewall: Literal["unstated", "ovn", "openvswitch", "iptables-fixed"] = Field("unstated", description=(
        "what enforces groups on this cloud; iptables drivers without the fix of Neutron bug 2058138 ignore "
        "remote_address_group_id (the rule admits everyone): until stated, rules reaching sensitive ports "
        "keep one rule per CIDR"))


class OpenStackSettings(_Model):
    image: str
    flavor: str
    key_pair: str | None = Field(None, alias="keyPair")
    network_id: str = Field(alias="networkId")
    subnet_id: str | None = Field(None, alias="subnetId")
    boot_from_volume: bool = Field(False, alias="bootFromVolume")
    volume_size: int = Field(50, alias="volumeSize", ge=8)
    availability_zone: str | None = Field(None, alias="availabilityZone")
    user_data: str | SecretText | None = Field(None, alias="userData", description=(
        "cloud-init; a default is generated; may be a secret"))
    subnet_cidr: Cidr | None = Field(None, alias="subnetCidr", description=(
        "CIDR of subnetId; needed with a load-balancer role: Octavia's VIP, amphorae and OVN health checks sit there"))
    floating_ip_pool: str | None = Field(None, alias="floatingIpPool",
                                         description="external network floating IPs come from (bastion, load balancer)")
    lb_provider: Literal["amphora", "ovn"] = Field("amphora", alias="lbProvider", description=(
        "Octavia provider driver: amphora (members see the amphora's subnet address) or ovn (they see the client)"))
    lb_floating_ip: bool = Field(False, alias="lbFloatingIp",
                                 description="give the API load balancer a floating IP from floatingIpPool")
    address_groups: Annotated[AddressGroupSettings, BeforeValidator(_on_off)] = Field(
        AddressGroupSettings(), alias="addressGroups", description="CIDR sets as Neutron address groups (opt-in)")
    node_peers: Literal["groups", "subnet"] = Field("groups", alias="nodePeers", description=(
        "node-to-node rules name the peer role's group (groups) or subnetCidr (subnet: any VM of the subnet "
        "is then a peer; rules reaching sensitive ports keep the group)"))


class PrefixListSettings(_Model):
    """CIDR sets as customer-managed prefix lists (issue 19; docs/clouds.md)."""

    enabled: bool = Field(False, description=(
        "one rule per flow and CIDR set, the set's entries in one managed prefix list per family"))


class AwsSettings(_Model):
    ami: str
    instance_type: str = Field(alias="instanceType")
    key_name: str | None = Field(None, alias="keyName")
    vpc_id: str = Field(alias="vpcId")
    subnet_ids: list[str] = Field(alias="subnetIds", min_length=1)
    volume_size: int = Field(50, alias="volumeSize", ge=8)
    user_data: str | SecretText | None = Field(None, alias="userData", description="may be a secret")
    ami_owners: list[str] = Field(["self"], alias="amiOwners", min_length=1, description=(
        "accounts an AMI *name* is looked up in (an `ami-...` id is used as it is)"))
    lb_internal: bool = Field(True, alias="lbInternal", description="the API NLB gets private addresses only")
    lb_subnet_ids: list[str] | None = Field(None, alias="lbSubnetIds", min_length=1,
                                            description="subnets of the API NLB; default subnetIds")
    bastion_subnet_id: str | None = Field(None, alias="bastionSubnetId", description=(
        "a subnet routed to an internet gateway, for the bastion's Elastic IP; default: spread over subnetIds"))
    prefix_lists: Annotated[PrefixListSettings, BeforeValidator(_on_off)] = Field(
        PrefixListSettings(), alias="prefixLists", description="CIDR sets as managed prefix lists (opt-in)")
    groups_per_role: int = Field(1, alias="groupsPerRole", ge=1, le=16, description=(
        "security groups each role's nodes carry, its rules spread over them (kubeports.core.shards): "
        "room for CIDR sets of dozens of entries within the default 60 rules per group"))


class StackConfig(_Model):
    cloud: Literal[CLOUDS]  # type: ignore[valid-type]
    cluster: ClusterSettings
    openstack: OpenStackSettings | None = None
    aws: AwsSettings | None = None
    peer_groups: dict[Role, str] = Field(default_factory=dict, alias="peerGroups",
                                         description="group ids of externalRoles, for stacks that join a cluster")
    peer_stack: str | None = Field(None, alias="peerStack", min_length=1, description=(
        "the stack that manages externalRoles (org/project/stack): the program reads their group ids from its "
        "`security_group_ids` output with a StackReference; peerGroups entries win"))

    @model_validator(mode="after")
    def _cloud_settings(self) -> StackConfig:
        if getattr(self, self.cloud) is None:
            raise ValueError(f"kubeports:{self.cloud} is required when kubeports:cloud is {self.cloud}")
        if self.openstack is not None and self.cloud == "openstack":
            _openstack_needs(self.openstack, self.cluster)
        if "kube-vip" in self.cluster.addons:
            _kube_vip_needs(self.cloud, self.cluster)
        if self.aws is not None and self.cloud == "aws":
            _aws_groups_fit(self.aws, self.cluster.quota)
        return self

    @property
    def groups_per_role(self) -> int:
        """Security groups each role's nodes carry (kubeports:aws.groupsPerRole; OpenStack: one)."""
        return self.aws.groups_per_role if self.cloud == "aws" and self.aws is not None else 1

    @property
    def set_peers(self) -> bool:
        """CIDR sets become one rule per flow and set: Neutron address groups, AWS prefix lists."""
        if self.cloud == "openstack":
            return self.openstack is not None and self.openstack.address_groups.enabled
        return self.aws is not None and self.aws.prefix_lists.enabled

    @property
    def sets_reach_sensitive(self) -> bool:
        """May a set rule reach a sensitive port (pod CIDRs in native routing)? Only where the cloud
        honours it: AWS, or a Neutron the stack states enforces remote_address_group_id."""
        return self.cloud == "aws" or (self.openstack is not None
                                       and self.openstack.address_groups.firewall != "unstated")

    @property
    def subnet_peers(self) -> str | None:
        """The subnet CIDR node-to-node rules name instead of groups (kubeports:openstack.nodePeers)."""
        settings = self.openstack
        if self.cloud != "openstack" or settings is None or settings.node_peers != "subnet":
            return None
        return settings.subnet_cidr

    @model_validator(mode="after")
    def _external_groups(self) -> StackConfig:
        """Rules on a role another stack manages attach to that stack's group: its id is needed."""
        for i, role in enumerate(self.cluster.external_roles):
            if role not in self.peer_groups and self.peer_stack is None:
                raise At(("cluster", "externalRoles", i), f"role {role!r} is managed by another stack; set "
                         f"kubeports:peerGroups.{role} to its security group id")
        return self


def _openstack_needs(settings: OpenStackSettings, cluster: ClusterSettings) -> None:
    """What the Octavia load balancer and the bastion's floating IP need from kubeports:openstack."""
    if LOAD_BALANCER in cluster.roles and settings.subnet_id is None:
        raise At(("openstack", "subnetId"), "a load-balancer role needs the nodes' subnet: Octavia's VIP and members")
    if LOAD_BALANCER in cluster.present_roles and settings.subnet_cidr is None:
        raise At(("openstack", "subnetCidr"), "a load-balancer role needs the CIDR of subnetId: rules from the load "
                 "balancer come from it")
    if LOAD_BALANCER in cluster.roles and settings.subnet_cidr is not None:
        vip = "IPv4" if ipaddress.ip_network(settings.subnet_cidr).version == 4 else "IPv6"
        if vip not in cluster.ip_families:
            raise At(("openstack", "subnetCidr"), f"an {vip} subnet, but the cluster's ipFamilies are "
                     f"{', '.join(cluster.ip_families)}: Octavia's VIP takes the subnet's family and no rule of "
                     "that family would let anyone reach it")
    if settings.node_peers == "subnet" and settings.subnet_cidr is None:
        raise At(("openstack", "nodePeers"), "subnet peers need kubeports:openstack.subnetCidr, the nodes' subnet")
    if settings.lb_floating_ip and settings.floating_ip_pool is None:
        raise At(("openstack", "floatingIpPool"), "lbFloatingIp needs the external network to take the address from")
    if "bastion" in cluster.roles and settings.floating_ip_pool is None:
        raise At(("openstack", "floatingIpPool"), "a bastion needs a public address: name the external network to "
                 "take its floating IP from")


AWS_RULES_PER_INTERFACE = 1000  # EC2: rules per group x groups per interface may not exceed 1,000


def _aws_groups_fit(settings: AwsSettings, quota: QuotaSettings) -> None:
    """An interface carries every group of its role: within EC2's two linked quotas."""
    groups = settings.groups_per_role
    if groups > quota.aws_groups_per_interface:
        raise At(("aws", "groupsPerRole"), f"{groups} groups per role, but a network interface carries at most "
                 f"{quota.aws_groups_per_interface} (kubeports:cluster.quota.awsGroupsPerInterface, EC2's default 5; "
                 "raise it in Service Quotas first)")
    if groups > 1 and groups * quota.aws_rules_per_group > AWS_RULES_PER_INTERFACE:
        raise At(("aws", "groupsPerRole"), f"{groups} groups of {quota.aws_rules_per_group} rules "
                 f"(kubeports:cluster.quota.awsRulesPerGroup) make {groups * quota.aws_rules_per_group} rules per "
                 f"interface; EC2 allows {AWS_RULES_PER_INTERFACE:,} (rules per group x groups per interface)")


def _kube_vip_needs(cloud: str, cluster: ClusterSettings) -> None:
    """kube-vip's ARP mode moves the VIP with gratuitous ARP: it needs a layer-2 segment that carries it."""
    index = ("cluster", "addons", cluster.addons.index("kube-vip"))
    if cloud == "aws":
        # A VPC is a layer-3 overlay: gratuitous ARP and broadcast do not move an address between ENIs.
        raise At(index, "kube-vip's ARP mode cannot move its VIP in an AWS VPC (no layer 2, gratuitous ARP is "
                 "ignored); use a load-balancer role (an NLB) or kube-vip-bgp")
    if cluster.vip is None:
        raise At(("cluster", "vip"), "kube-vip needs its VIP here: on OpenStack the address must be an allowed "
                 "address pair of the control-plane ports")


NAMESPACE = "kubeports:"


def parse_stack_config(config: dict[str, Any], doc: Located) -> StackConfig:
    """Validate the `config:` mapping of a stack file (or what Pulumi hands the program)."""
    ours = {k[len(NAMESPACE):]: v for k, v in config.items() if isinstance(k, str) and k.startswith(NAMESPACE)}
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as exc:
        def where(loc: tuple) -> tuple:
            return ("config", f"{NAMESPACE}{loc[0]}", *loc[1:]) if loc else ("config",)
        raise KubeportsError(pydantic_problems(doc, exc, where, StackConfig, NAMESPACE)) from None

