"""OpenStack (Neutron + Nova) rendering of groups, rules and nodes.

Neutron quirks kept here:
- a new group comes with allow-all egress for IPv4 and IPv6; `delete_default_rules`
  removes them, and egress is then exactly the resolved egress rules;
- a rule names one peer: `remote_group_id` for a role, `remote_ip_prefix` for a CIDR;
  its ethertype must match the peer's family; the anywhere CIDR is sent as no prefix
  (any address of the ethertype): Neutron's own default egress rules hold none, its
  duplicate check takes the two spellings as one rule (409), and the provider compares
  the text (ForceNew), so only this spelling lets `pulumi import` adopt a group's default
  rules; the field is Optional+Computed, so rules sent with `0.0.0.0/0` see no diff; ICMPv6 is `ipv6-icmp`; "all protocols"
  is an omitted protocol; ICMP type/code ride in port_range_min/max;
- rules are immutable (every field forces a new rule) and a re-created rule that still
  exists gives 409, hence `delete_before_replace`; a replacement is therefore a gap in
  traffic, and a rule is never replaced for its text: `ignore_changes` on `description`
  (a new text arrives with a new rule; an adopted hand-made rule keeps its own, so
  `pulumi import` + `up` does not delete and re-create every rule: docs/brownfield.md);
- `delete_default_rules` is used at create only, ForceNew, and the provider's Read never
  sets it, so a group brought in by `pulumi import` would be replaced for it on the next
  up: `ignore_changes` on it (creation still uses it);
- Neutron's duplicate check (`securitygroups_db._rule_to_key`) ignores the description,
  and Pulumi creates a new name before it deletes an old one: a rule's resource name is
  therefore the key of what is sent (`neutron_key`), so two Pulumi names never carry
  one Neutron rule and a rename of the same rule cannot 409;
- a tcp/udp range 1-65535 is stored by Neutron as no range and reads back as 0/0, which
  would replace the rule on every run: it is sent as no range;
- gophercloud drops a 0 port (`omitempty`) and the provider needs `port_range_max` with
  `port_range_min`: an ICMP code 0 is sent as 0 and arrives as "any code", which is the
  same rule for echo request/reply only; `kubeports.core.cloudcheck` refuses every other
  case (type 0, a type without a code, code 0 of another type) before anything is
  registered;
- a network whose default is `port_security_enabled=false` refuses ports with groups
  or address pairs: our ports set it explicitly;
- with port security on, natively routed pod IPs need the pod CIDR as an allowed
  address pair, or Neutron drops the node's pod traffic;
- a `set` peer (kubeports:openstack.addressGroups) is `remote_address_group_id`: one
  address group per set and family (`AddressGroupV2`; its `addresses` are a set the
  provider updates in place with add_addresses/remove_addresses, so an entry added never
  touches a rule). Neutron's iptables drivers ignored the field before bug 2058138 was
  fixed; which rules may use it is the core's decision (`rendered.per_cidr`);
- subnet peers (kubeports:openstack.nodePeers) are CIDR rules by the time they get here
  (`rendered.cloud_rules`): nothing of it is decided in this module.

Octavia quirks kept here (the `load-balancer` role; kubeports:openstack.lbProvider):
- Octavia owns the security groups of its VIP and amphora ports, so the balancer has no
  Neutron group of ours: the load-balancer role's own rules are not Neutron rules. Who
  may reach a listener is its `allowed_cidrs` (CIDR peers as they are; role peers as
  `subnetCidr`, where every VM sits), in the VIP's family (Octavia refuses others).
  The OVN provider does not implement `allowed_cidrs`, so there the members' groups are
  the only filter (next point);
- a rule whose peer is `load-balancer` cannot name a group; it becomes one rule per
  address the traffic really has, named by what is sent (the key of the same rule with
  that CIDR as its peer, e.g. `...-from-10.0.0.0-24-v4`; `<rule>-via-floating-ip` for the
  floating IP, known only at apply time), with an alias to its earlier `<rule>-via-<what>`:
  - amphora: the amphorae reach members (traffic and health checks) from their own port
    in the member subnet: `subnetCidr`;
  - ovn: members see the client's own address (clients of a listener forwarding to that
    role and port) and health checks from an `ovn-lb-hm-*` port in the member subnet:
    the listener's clients plus `subnetCidr`;
  - egress towards the balancer (strict egress): its VIP lives in `subnetCidr`; with
    `lbFloatingIp`, also its floating IP /32;
  the family of the other twin (e.g. IPv6 with an IPv4 subnet) gets no rule, and an
  expansion that repeats a CIDR rule already there is left out (Neutron would 409);
- `allowed_cidrs` is a list the provider compares in order, and Octavia returns it in
  its primary-key order (the CIDR as a string): sent sorted as strings;
- OVN balances with SOURCE_IP_PORT only; amphora uses ROUND_ROBIN. Health monitors are
  TCP (both providers implement it).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from kubeports.components.backend import (
    CloudBackend,
    CloudLoadBalancer,
    ImageRef,
    Listener,
    LoadBalancerSpec,
    Node,
    NodeSpec,
    aliased_options,
    child_aliases,
    node_options,
    user_data_input,
)
from kubeports.core.cloudcheck import openstack_icmp_problems
from kubeports.core.rendered import listener_sources, octavia_cidrs
from kubeports.core.rules import Rule, rule_key
from kubeports.core.settings import LOAD_BALANCER

LB_METHOD = {"amphora": "ROUND_ROBIN", "ovn": "SOURCE_IP_PORT"}  # OVN implements only SOURCE_IP_PORT
HEALTH_CHECK = {"delay": 10, "timeout": 5, "max_retries": 3, "max_retries_down": 3}  # seconds, probes
DESCRIPTION_MAX = 255
FULL_RANGE = (1, 65535)  # Neutron's PORT_RANGE_MIN/MAX: stored as no range
PORT_TYPE = "openstack:networking/port:Port"  # pulumi_openstack.networking.Port's type token, for its aliases
GET_IMAGE = "openstack:images/getImage:getImage"  # get_image_output's invoke token


def rule_args(rule: Rule, group_id: pulumi.Input[str], peer_group_id: pulumi.Input[str] | None) -> dict:
    args: dict = {
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "security_group_id": group_id,
        "description": rule.description,
    }
    if rule.protocol != "all":
        args["protocol"] = "ipv6-icmp" if rule.protocol == "icmpv6" else rule.protocol
    if rule.protocol in ("tcp", "udp") and (rule.from_port, rule.to_port) == FULL_RANGE:
        return _peer(args, rule, peer_group_id)  # Neutron stores every port as no range
    refused = openstack_icmp_problems((rule,))
    if refused:  # load_project refuses these first; a caller that skipped it must not send them
        raise ValueError(refused[0])
    if rule.from_port is not None:
        args["port_range_min"] = rule.from_port
    if rule.to_port is not None:
        args["port_range_max"] = rule.to_port
    return _peer(args, rule, peer_group_id)


ANYWHERE = ("0.0.0.0/0", "::/0")


def _peer(args: dict, rule: Rule, peer_group_id: pulumi.Input[str] | None) -> dict:
    """`peer_group_id`: the peer role's group, or a set peer's address group."""
    if rule.peer_kind == "role":
        args["remote_group_id"] = peer_group_id
    elif rule.peer_kind == "set":
        args["remote_address_group_id"] = peer_group_id
    elif rule.peer not in ANYWHERE:  # anywhere: no prefix, as Neutron's own default rules (see header)
        args["remote_ip_prefix"] = rule.peer
    return args


@dataclass(frozen=True)
class Octavia:
    """What `rules()` needs to know of this stack's Octavia load balancer."""

    provider: str
    subnet_cidr: str
    listeners: tuple[Listener, ...]
    clients: Mapping[str, tuple[str, ...]]  # listener name -> listener_sources
    floating_ip: pulumi.Output[str] | None = None


def load_balancer_peers(rule: Rule, octavia: Octavia) -> list[tuple[str, pulumi.Input[str], str]]:
    """The addresses standing in for the `load-balancer` peer of `rule`: (label, prefix, why).
    The CIDRs come from the core (`kubeports.core.rendered.octavia_cidrs`, which the safety
    check also reads); only the floating IP, known at `pulumi up`, is added here."""
    out: dict[str, tuple[pulumi.Input[str], str]] = {
        label: (cidr, why) for label, cidr, why in
        octavia_cidrs(rule, octavia.provider, octavia.subnet_cidr, octavia.listeners, octavia.clients)}
    if rule.direction == "egress" and octavia.floating_ip is not None and rule.ethertype == "IPv4":
        out["floating-ip"] = (octavia.floating_ip.apply(lambda a: f"{a}/32"), "the load balancer's floating IP")
    return [(label, prefix, why) for label, (prefix, why) in sorted(out.items())]


def _described(description: str, why: str) -> str:
    text = f"{description} (load balancer: {why})"
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 3] + "..."


class OpenStackBackend(CloudBackend):
    cloud = "openstack"
    octavia: Octavia | None = None  # set by load_balancer(), read by rules()

    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        return openstack.networking.SecGroup(
            f"{name}-sg",
            name=name,
            description=f"kubeports {self.cluster.name} {role} nodes",
            delete_default_rules=True,
            tags=[f"kubeports:cluster={self.cluster.name}", f"kubeports:role={role}"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["deleteDefaultRules"])),
        )

    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        out = {}
        # CIDR rules already in this batch: a load-balancer expansion repeating one would 409
        taken = {(r.role, r.direction, r.protocol, r.from_port, r.to_port, r.ethertype, r.peer)
                 for r in rules if r.peer_kind == "cidr"}
        for rule in rules:
            if rule.role == LOAD_BALANCER:
                continue  # Octavia's own ports: rendered as the listeners' allowed_cidrs
            opts = pulumi.ResourceOptions.merge(opts_for(rule), pulumi.ResourceOptions(
                delete_before_replace=True, ignore_changes=["description"]))
            name = self.rule_name(rule)
            if rule.peer_kind == "role" and rule.peer == LOAD_BALANCER:
                for label, prefix, why in load_balancer_peers(rule, self._octavia_for(rule)):
                    key = (rule.role, rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.ethertype, prefix)
                    if isinstance(prefix, str) and key in taken:
                        continue
                    taken.add(key)
                    args = {**rule_args(rule, group_ids[rule.role], None), "remote_ip_prefix": prefix,
                            "description": _described(rule.description, why)}
                    sent = self.sent_name(rule, prefix, f"{name}-via-{label}")
                    # `-via-<label>` was its name before it followed what is sent: keep its state
                    moved = [pulumi.Alias(name=f"{name}-via-{label}")] if sent != f"{name}-via-{label}" else None
                    out[sent] = openstack.networking.SecGroupRule(
                        sent, **args, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=moved)))
                continue
            peer = group_ids.get(rule.peer) if rule.peer_kind == "role" else None
            if rule.peer_kind == "set":
                peer = self.cidr_sets([rule], opts_for(rule))[(rule.peer, rule.ethertype, 0)]
            out[name] = openstack.networking.SecGroupRule(name, **rule_args(rule, group_ids[rule.role], peer),
                                                          opts=opts)
        return out

    def cidr_set(self, name: str, family: str, members: Sequence[str], opts: pulumi.ResourceOptions,
                 part: int = 0) -> pulumi.Output[str]:
        resource = self.cidr_set_name(name, family)  # one address group per set: Neutron never splits
        return openstack.networking.AddressGroupV2(
            resource, name=resource, description=f"kubeports {self.cluster.name} CIDR set {name} ({family})",
            addresses=sorted(members), opts=opts).id

    def sent_name(self, rule: Rule, prefix: pulumi.Input[str], fallback: str) -> str:
        """The name of a rule sent with `prefix` as its peer: the key of that content, which
        is also the name of a CIDR rule with that peer, so the two stay one resource when
        a stack's CIDRs start or stop covering the address (Neutron would 409 on a second
        name). An address known only at apply time (a floating IP) keeps `fallback`."""
        if not isinstance(prefix, str):
            return fallback
        return f"{self.cluster.name}-" + rule_key(rule.role, rule.direction, rule.protocol, rule.from_port,
                                                  rule.to_port, "cidr", prefix, rule.ethertype)

    def _octavia_for(self, rule: Rule) -> Octavia:
        """The local balancer; for one another stack manages, what the config says of it."""
        settings = self.stack.openstack
        assert settings is not None and settings.subnet_cidr is not None  # StackConfig checks both
        if self.octavia is not None:
            return self.octavia
        if settings.lb_provider == "ovn" and rule.direction == "ingress":
            raise ValueError(f"{rule.key}: with the OVN provider, members see the clients of a load balancer "
                             "another stack manages; kubeports cannot know them here")
        return Octavia(settings.lb_provider, settings.subnet_cidr, (), {})

    def load_balancer(self, name: str, spec: LoadBalancerSpec, opts: pulumi.ResourceOptions) -> CloudLoadBalancer:
        settings = self.stack.openstack
        assert settings is not None and settings.subnet_cidr is not None  # StackConfig checks it
        provider, tags = settings.lb_provider, [f"kubeports:cluster={spec.cluster}", f"kubeports:role={spec.role}"]
        keep = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.protect))
        octavia = openstack.loadbalancer.LoadBalancer(
            f"{name}-octavia", name=name, description=f"kubeports {spec.cluster} {spec.role}",
            vip_subnet_id=settings.subnet_id, loadbalancer_provider=provider, tags=tags, opts=keep)
        clients: dict[str, tuple[str, ...]] = {}
        for lis in spec.listeners:
            sources = listener_sources(lis, spec.rules, settings.subnet_cidr)
            if not sources:  # an empty allowed_cidrs means everyone
                raise ValueError(f"no rule lets anyone reach the load balancer's {lis.name} port {lis.port}")
            clients[lis.name] = sources
            base = f"{name}-{lis.name}"
            listener = openstack.loadbalancer.Listener(
                f"{base}-listener", name=base, loadbalancer_id=octavia.id, protocol="TCP", protocol_port=lis.port,
                allowed_cidrs=list(sources) if provider == "amphora" else None,
                description=f"{lis.name}: {lis.port} -> {lis.target_role}:{lis.target_port}", tags=tags, opts=opts)
            pool = openstack.loadbalancer.Pool(f"{base}-pool", name=base, listener_id=listener.id, protocol="TCP",
                                               lb_method=LB_METHOD[provider], tags=tags, opts=opts)
            openstack.loadbalancer.Monitor(f"{base}-monitor", name=base, pool_id=pool.id, type="TCP",
                                           **HEALTH_CHECK, opts=opts)
            for node in spec.members[lis.target_role]:
                openstack.loadbalancer.Member(f"{base}-{node.name}", name=node.name, pool_id=pool.id,
                                              address=node.private_ip, protocol_port=lis.target_port,
                                              subnet_id=settings.subnet_id, tags=tags, opts=opts)
        address: pulumi.Output[str] = octavia.vip_address
        floating_ip = None
        if settings.lb_floating_ip:
            fip = openstack.networking.FloatingIp(f"{name}-fip", pool=settings.floating_ip_pool,
                                                  description=f"kubeports {spec.cluster} {spec.role}", tags=tags,
                                                  opts=keep)
            openstack.networking.FloatingIpAssociate(f"{name}-fip-association", floating_ip=fip.address,
                                                     port_id=octavia.vip_port_id, opts=opts)
            address = floating_ip = fip.address
        self.octavia = Octavia(provider, settings.subnet_cidr, spec.listeners, clients, floating_ip)
        return CloudLoadBalancer(None, address)

    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        """Replacement order (docs/lifecycle.md): every server and port is auto-named (no
        `name`: the bridge would make each replacement delete-before-replace), and a port
        is named by its node's generation, so a node whose settings move gets a new port
        and a new server on it, created first; the old pair goes after. The server group
        keeps its name (Nova's anti-affinity needs one group for all generations) and says
        deleteBeforeReplace out loud; nothing in it ever changes."""
        settings = self.stack.openstack
        assert settings is not None  # StackConfig guarantees it for cloud openstack
        prefix = spec.prefix  # one server group per pool: anti-affinity among alike nodes
        server_group = openstack.compute.ServerGroup(
            f"{prefix}-servers", name=prefix, policies="soft-anti-affinity",  # a str in pulumi-openstack 5.x
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)))
        pairs = [{"ip_address": cidr} for cidr in spec.pod_cidrs] if spec.routes_pod_ips else []
        cluster = self.stack.cluster
        if spec.role == "control-plane" and "kube-vip" in cluster.addons and cluster.vip is not None:
            # kube-vip moves its VIP between control-plane nodes with gratuitous ARP; Neutron's anti-spoofing
            # drops an address that is not the port's unless it is an allowed address pair of that port.
            pairs.append({"ip_address": str(cluster.vip)})
        pairs = pairs or None
        refs = self.image_refs.setdefault(spec.role, [])
        earlier_port = child_aliases(opts.parent, PORT_TYPE)
        with_aliases = aliased_options(opts)
        keep = node_options(opts)

        def image_of(name: str, pin: str | None, rollout: bool) -> pulumi.Input[str]:
            """Look a name up once per stack (CloudBackend.image_id); the pin, when set, is
            what nodes run (the plain id it is: no Output per node)."""
            now = self.image_id(GET_IMAGE, name, opts.parent, lambda: openstack.images.get_image_output(
                name=name, most_recent=True, opts=pulumi.InvokeOutputOptions(parent=opts.parent)).id)
            if all(r.image != name or r.pinned != pin for r in refs):
                refs.append(ImageRef(name, now, pin, rollout))
            return pin if pin is not None else now

        nodes = []
        for slot in spec.slots:
            node = slot.settings
            name = f"{prefix}-{slot.index}"
            image = image_of(node.image or settings.image, node.image_id, slot.moved)
            held = ["imageId", "blockDevices"] if spec.hold_image(slot) else None
            port = openstack.networking.Port(
                f"{name}-port-{slot.generation}", network_id=settings.network_id,
                fixed_ips=[{"subnet_id": settings.subnet_id}] if settings.subnet_id else None,
                security_group_ids=[group_id], allowed_address_pairs=pairs, admin_state_up=True,
                port_security_enabled=True,
                # a port from before generations (`<node>-port`) is this one while its node has not moved
                opts=opts if slot.moved else with_aliases([earlier_port(f"{name}-port")]))
            server = openstack.compute.Instance(
                name,
                flavor_name=node.flavor or settings.flavor,
                image_id=None if settings.boot_from_volume else image,
                block_devices=[{
                    "uuid": image, "source_type": "image", "destination_type": "volume", "boot_index": 0,
                    "volume_size": node.volume_size or settings.volume_size,
                    "delete_on_termination": not spec.keep_volumes,
                }] if settings.boot_from_volume else None,
                key_pair=settings.key_pair,
                availability_zone=settings.availability_zone,
                networks=[{"port": port.id}],
                scheduler_hints=[{"group": server_group.id}],
                user_data=user_data_input(settings.user_data, spec.user_data),
                metadata={"kubeports-cluster": spec.cluster, "kubeports-role": spec.role,
                          "kubeports-node": name, "kubeports-generation": slot.generation,
                          **({"kubeports-pool": spec.pool_tag} if spec.pool_tag else {})},
                opts=keep(spec.settings.protect and not slot.replacing, held),
            )
            public_ip = None
            if spec.public:  # the association, not the IP, follows a re-created port
                fip = openstack.networking.FloatingIp(f"{name}-fip", pool=settings.floating_ip_pool,
                                                      description=f"kubeports {spec.cluster} {name}",
                                                      tags=[f"kubeports:cluster={spec.cluster}",
                                                            f"kubeports:role={spec.role}"], opts=opts)
                openstack.networking.FloatingIpAssociate(f"{name}-fip-association", floating_ip=fip.address,
                                                         port_id=port.id, opts=opts)
                public_ip = fip.address
            nodes.append(Node(server.id, port.all_fixed_ips.apply(lambda ips: ips[0] if ips else ""), name,
                              public_ip))
        return nodes
