"""AWS (EC2 + VPC) rendering of groups, rules and nodes.

AWS quirks kept here:
- rules are `vpc.SecurityGroupIngressRule`/`EgressRule`, one source each
  (`referenced_security_group_id`, `cidr_ipv4` or `cidr_ipv6`); never inline rules,
  never `ec2.SecurityGroupRule` beside them;
- the provider deletes AWS's default allow-all egress, so egress is exactly the
  resolved egress rules (open egress resolves to explicit allow-all rules);
- a group reference has no address family: the IPv4 and IPv6 twins of one
  role-peer rule are a single AWS rule, named by the key without its family suffix;
- `ip_protocol` "-1" means all; for a raw protocol number AWS ignores ports, so none
  are sent; ICMP type/code ride in from_port/to_port (-1 = any);
- natively routed pod IPs need `source_dest_check` off, since AWS drops packets whose
  source is not the instance's own address.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from kubeports.rules import Rule

from .backend import CloudBackend, Node, NodeSpec


def rule_args(rule: Rule, group_id: pulumi.Input[str], peer_group_id: pulumi.Input[str] | None) -> dict:
    args: dict = {"security_group_id": group_id, "description": rule.description,
                  "ip_protocol": "-1" if rule.protocol == "all" else rule.protocol}
    if rule.protocol in ("tcp", "udp") and rule.from_port is not None:
        args.update(from_port=rule.from_port, to_port=rule.to_port)
    elif rule.is_icmp:
        args.update(from_port=-1 if rule.from_port is None else rule.from_port,
                    to_port=-1 if rule.to_port is None else rule.to_port)
    if rule.peer_kind == "role":
        args["referenced_security_group_id"] = peer_group_id
    elif rule.ethertype == "IPv4":
        args["cidr_ipv4"] = rule.peer
    else:
        args["cidr_ipv6"] = rule.peer
    return args


def aws_rule_name(cluster: str, rule: Rule) -> str:
    key = rule.key
    return f"{cluster}-{key[:-3] if rule.peer_kind == 'role' else key}"


class AwsBackend(CloudBackend):
    cloud = "aws"

    def rule_name(self, rule: Rule) -> str:
        return aws_rule_name(self.cluster.name, rule)

    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        assert self.stack.aws is not None
        return aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"kubeports {self.cluster.name} {role} nodes",
            vpc_id=self.stack.aws.vpc_id,
            revoke_rules_on_delete=True,
            tags={"Name": name, f"kubernetes.io/cluster/{self.cluster.name}": "owned", "kubeports/role": role},
            opts=opts,
        )

    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        out: dict[str, pulumi.CustomResource] = {}
        for rule in rules:
            name = self.rule_name(rule)
            if name in out:
                continue  # the other family's twin of a group reference
            kind = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
            peer = group_ids.get(rule.peer) if rule.peer_kind == "role" else None
            out[name] = kind(name, **rule_args(rule, group_ids[rule.role], peer), opts=opts_for(rule))
        return out

    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        settings = self.stack.aws
        assert settings is not None
        keep = pulumi.ResourceOptions(protect=spec.settings.protect, ignore_changes=["ami"] if spec.hold_image else None)
        nodes = []
        for index in range(spec.settings.count):
            name = f"{spec.cluster}-{spec.role}-{index}"
            instance = aws.ec2.Instance(
                name,
                ami=spec.settings.image or settings.ami,
                instance_type=spec.settings.instance_type or settings.instance_type,
                subnet_id=settings.subnet_ids[index % len(settings.subnet_ids)],
                vpc_security_group_ids=[group_id],
                key_name=settings.key_name,
                source_dest_check=not spec.routes_pod_ips,
                metadata_options={"http_tokens": "required", "http_endpoint": "enabled",
                                  "http_put_response_hop_limit": 2},
                root_block_device={"encrypted": True, "volume_type": "gp3",
                                   "volume_size": spec.settings.volume_size or settings.volume_size},
                user_data=settings.user_data or spec.user_data,
                tags={"Name": name, f"kubernetes.io/cluster/{spec.cluster}": "owned", "kubeports/role": spec.role},
                opts=pulumi.ResourceOptions.merge(opts, keep),
            )
            nodes.append(Node(instance.id, instance.private_ip))
        return nodes
