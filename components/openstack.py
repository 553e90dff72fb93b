"""OpenStack (Neutron + Nova) rendering of groups, rules and nodes.

Neutron quirks kept here:
- a new group comes with allow-all egress for IPv4 and IPv6; `delete_default_rules`
  removes them, and egress is then exactly the resolved egress rules;
- a rule names one peer: `remote_group_id` for a role, `remote_ip_prefix` for a CIDR;
  its ethertype must match the peer's family; ICMPv6 is `ipv6-icmp`; "all protocols"
  is an omitted protocol; ICMP type/code ride in port_range_min/max;
- rules are immutable (every field forces a new rule) and a re-created rule that still
  exists gives 409, hence `delete_before_replace`;
- with port security on, natively routed pod IPs need the pod CIDR as an allowed
  address pair, or Neutron drops the node's pod traffic.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_openstack as openstack

from kubeports.rules import Rule

from .backend import CloudBackend, Node, NodeSpec


def rule_args(rule: Rule, group_id: pulumi.Input[str], peer_group_id: pulumi.Input[str] | None) -> dict:
    args: dict = {
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "security_group_id": group_id,
        "description": rule.description,
    }
    if rule.protocol != "all":
        args["protocol"] = "ipv6-icmp" if rule.protocol == "icmpv6" else rule.protocol
    if rule.from_port is not None:
        args["port_range_min"] = rule.from_port
    if rule.to_port is not None:
        args["port_range_max"] = rule.to_port
    if rule.peer_kind == "role":
        args["remote_group_id"] = peer_group_id
    else:
        args["remote_ip_prefix"] = rule.peer
    return args


class OpenStackBackend(CloudBackend):
    cloud = "openstack"

    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        return openstack.networking.SecGroup(
            f"{name}-sg",
            name=name,
            description=f"kubeports {self.cluster.name} {role} nodes",
            delete_default_rules=True,
            tags=[f"kubeports:cluster={self.cluster.name}", f"kubeports:role={role}"],
            opts=opts,
        )

    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        out = {}
        for rule in rules:
            peer = group_ids.get(rule.peer) if rule.peer_kind == "role" else None
            opts = pulumi.ResourceOptions.merge(opts_for(rule), pulumi.ResourceOptions(delete_before_replace=True))
            name = self.rule_name(rule)
            out[name] = openstack.networking.SecGroupRule(name, **rule_args(rule, group_ids[rule.role], peer),
                                                          opts=opts)
        return out

    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        settings = self.stack.openstack
        assert settings is not None  # StackConfig guarantees it for cloud openstack
        prefix = f"{spec.cluster}-{spec.role}"
        server_group = openstack.compute.ServerGroup(f"{prefix}-servers", name=prefix,
                                                     policies="soft-anti-affinity", opts=opts)  # a str in pulumi-openstack 5.x
        image = openstack.images.get_image_output(name=spec.settings.image or settings.image, most_recent=True,
                                                  opts=pulumi.InvokeOutputOptions(parent=opts.parent))
        pairs = [{"ip_address": cidr} for cidr in spec.pod_cidrs] if spec.routes_pod_ips else None
        keep = pulumi.ResourceOptions(protect=spec.settings.protect,
                                      ignore_changes=["imageId", "blockDevices"] if spec.hold_image else None)
        nodes = []
        for index in range(spec.settings.count):
            name = f"{prefix}-{index}"
            port = openstack.networking.Port(
                f"{name}-port", name=name, network_id=settings.network_id,
                fixed_ips=[{"subnet_id": settings.subnet_id}] if settings.subnet_id else None,
                security_group_ids=[group_id], allowed_address_pairs=pairs, admin_state_up=True, opts=opts)
            server = openstack.compute.Instance(
                name, name=name,
                flavor_name=spec.settings.flavor or settings.flavor,
                image_id=None if settings.boot_from_volume else image.id,
                block_devices=[{
                    "uuid": image.id, "source_type": "image", "destination_type": "volume", "boot_index": 0,
                    "volume_size": spec.settings.volume_size or settings.volume_size, "delete_on_termination": True,
                }] if settings.boot_from_volume else None,
                key_pair=settings.key_pair,
                availability_zone=settings.availability_zone,
                networks=[{"port": port.id}],
                scheduler_hints=[{"group": server_group.id}],
                user_data=settings.user_data or spec.user_data,
                metadata={"kubeports-cluster": spec.cluster, "kubeports-role": spec.role},
                opts=pulumi.ResourceOptions.merge(opts, keep),
            )
            nodes.append(Node(server.id, port.all_fixed_ips.apply(lambda ips: ips[0] if ips else "")))
        return nodes
