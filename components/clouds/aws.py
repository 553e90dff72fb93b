"""AWS (EC2 + VPC) rendering of groups, rules and nodes.

AWS quirks kept here:
- rules are `vpc.SecurityGroupIngressRule`/`EgressRule`, one source each
  (`referenced_security_group_id`, `cidr_ipv4` or `cidr_ipv6`); never inline rules,
  never `ec2.SecurityGroupRule` beside them;
- the provider deletes AWS's default allow-all egress, so egress is exactly the
  resolved egress rules (open egress resolves to explicit allow-all rules);
- a group's description cannot change (ForceNew: a new group, every rule and node
  moved): `ignore_changes` on it, so a hand-made group brought in by `pulumi import`
  keeps its own and is not replaced (creation still sends ours; docs/brownfield.md);
- a group reference has no address family: the IPv4 and IPv6 twins of one
  role-peer rule are a single AWS rule, named by the key without its family suffix;
- `ip_protocol` "-1" means all; for a raw protocol number AWS ignores ports, so none
  are sent; ICMP type/code ride in from_port/to_port (-1 = any);
- natively routed pod IPs need `source_dest_check` off, since AWS drops packets whose
  source is not the instance's own address;
- a `set` peer (kubeports:aws.prefixLists) is `prefix_list_id`: one customer-managed
  prefix list per set and family (`ec2.ManagedPrefixList`, entries a set the provider
  changes in place with ModifyManagedPrefixList, `max_entries` raised before entries are
  added and lowered after they are removed). `max_entries` is the entries held, no
  headroom: every referencing rule counts it against its group's quota (core/quota.py);
  with several groups per role every set is split over them (`<list>-part-<n>`,
  core/shards.py), with one rule per part (`<rule>-part-<n>`), so 200 entries fit 5 groups;
- `kubeports:aws.groupsPerRole` > 1: each role gets that many groups (`<name>-sg`, then
  `<name>-sg-2`...), every node of the role carries all of them, and each rule goes to
  the group kubeports.core.shards places it in (the quota preflight counts the same
  placement). Peers reference the first group only; the load balancer keeps one group.
  The number of groups comes from the stack, never from the rules, so a port change
  never touches an instance; a rule that moves group is replaced in place of its name
  (created in the new group, then deleted).

NLB quirks kept here (the `load-balancer` role):
- an NLB's security groups can only be set when it is created, so its group is made
  first (the role's group, `<name>-sg`) and rules naming `load-balancer` reference it;
  AWS documents that a target rule referencing the NLB's group admits its traffic;
- the API target group turns client IP preservation off: with it on, a control-plane
  node calling the API through the NLB may be sent to itself, and that (hairpin)
  connection fails; targets then see the NLB's own addresses, which its group covers;
- target group and NLB names are at most 32 characters, too few for a cluster name and
  Pulumi's random suffix: they get `name_prefix` and their meaningful name as a tag;
- the bastion's public address is an Elastic IP with its own association, so a replaced
  instance keeps the address; its subnet must route to an internet gateway.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from kubeports.components.backend import (
    CloudBackend,
    CloudLoadBalancer,
    ImageRef,
    LoadBalancerSpec,
    Node,
    NodeSpec,
    node_options,
    user_data_input,
)
from kubeports.core.rules import Rule
from kubeports.core.settings import StackConfig
from kubeports.core.shards import aws_key, aws_placement, groups_of, part_key, prefix_list_max_entries, set_parts

# Target health: a TCP connect to the traffic port (the kubeadm HA page's check), every 10 s.
HEALTH_CHECK = {"enabled": True, "protocol": "TCP", "port": "traffic-port", "interval": 10,
                "healthy_threshold": 3, "unhealthy_threshold": 3}
AMI_ID = re.compile(r"ami-[0-9a-f]{8,17}")  # an id, not a name to look up
GET_AMI = "aws:ec2/getAmi:getAmi"  # get_ami_output's invoke token
NAME_PREFIX = "kp-"  # AWS LB and target group names: 32 characters at most (see header)


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
    elif rule.peer_kind == "set":
        args["prefix_list_id"] = peer_group_id  # the set's prefix list
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

    def __init__(self, stack: StackConfig):
        super().__init__(stack)
        self.more_groups: dict[str, list[pulumi.Output[str]]] = {}  # role -> its groups after the first

    def rule_name(self, rule: Rule) -> str:
        return aws_rule_name(self.cluster.name, rule)

    def security_group(self, name: str, role: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        """The role's first group, which peers reference; its others (groupsPerRole) beside it."""
        first = self._group(f"{name}-sg", name, role, None, opts)
        self.more_groups[role] = [self._group(f"{name}-sg-{n}", f"{name}-{n}", role, n, opts).id
                                  for n in range(2, groups_of(role, self.stack.groups_per_role) + 1)]
        return first

    def _group(self, resource: str, name: str, role: str, number: int | None,
               opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        assert self.stack.aws is not None
        nth = {} if number is None else {"kubeports/group": str(number)}
        return aws.ec2.SecurityGroup(
            resource,
            description=f"kubeports {self.cluster.name} {role} nodes" + ("" if number is None else f", group {number}"),
            vpc_id=self.stack.aws.vpc_id,
            revoke_rules_on_delete=True,
            tags={"Name": name, f"kubernetes.io/cluster/{self.cluster.name}": "owned", "kubeports/role": role, **nth},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["description"])),
        )

    def role_group_ids(self, role: str, first: pulumi.Input[str]) -> list[pulumi.Input[str]]:
        """Every group a node of `role` carries: the first, then the others in order."""
        return [first, *self.more_groups.get(role, [])]

    def rules(self, rules: Sequence[Rule], group_ids: Mapping[str, pulumi.Input[str]],
              opts_for: Callable[[Rule], pulumi.ResourceOptions]) -> dict[str, pulumi.CustomResource]:
        out: dict[str, pulumi.CustomResource] = {}
        placement = aws_placement(rules, self.stack.groups_per_role, self.cluster.quota.aws_rules_per_group,
                                  local=self.more_groups)  # a role of another stack: its one group here
        for rule in rules:
            kind = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
            groups = self.role_group_ids(rule.role, group_ids[rule.role])
            if rule.peer_kind == "set":  # one rule per prefix list of the set (one unless split)
                lists = self.cidr_sets([rule], opts_for(rule))
                for part in self.set_parts(rule.members):
                    peer = lists[(rule.peer, rule.ethertype, part)]
                    name = part_key(self.rule_name(rule), part)
                    out[name] = kind(name, **rule_args(rule, groups[placement[part_key(aws_key(rule), part)]], peer),
                                     opts=opts_for(rule))
                continue
            name = self.rule_name(rule)
            if name in out:
                continue  # the other family's twin of a group reference
            peer = group_ids.get(rule.peer) if rule.peer_kind == "role" else None
            out[name] = kind(name, **rule_args(rule, groups[placement[aws_key(rule)]], peer), opts=opts_for(rule))
        return out

    def set_parts(self, members: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
        """Several groups per role: one prefix list per group for every set (core/shards.py)."""
        return set_parts(members, self.stack.groups_per_role)

    def cidr_set(self, name: str, family: str, members: Sequence[str], opts: pulumi.ResourceOptions,
                 part: int = 0) -> pulumi.Output[str]:
        resource = self.cidr_set_name(name, family, part)
        split = {"kubeports/cidr-set-part": str(part)} if part else {}
        return aws.ec2.ManagedPrefixList(
            resource, name=resource, address_family=family, max_entries=prefix_list_max_entries(tuple(members)),
            entries=[{"cidr": cidr} for cidr in sorted(members)],
            tags={"Name": resource, f"kubernetes.io/cluster/{self.cluster.name}": "owned", "kubeports/cidr-set": name,
                  **split},
            opts=opts).id

    def nodes(self, spec: NodeSpec, group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[Node]:
        """Replacement order (docs/lifecycle.md): an instance has no autonamed `name`, so a
        replaced one is created first and the old one deleted after (create-first); only
        the nodes of the current rollout step move. Stateful roles keep the root volume
        of a replaced instance (delete_on_termination off: an in-place update)."""
        settings = self.stack.aws
        assert settings is not None
        refs = self.image_refs.setdefault(spec.role, [])

        def image_of(name: str, pin: str | None, rollout: bool) -> pulumi.Input[str]:
            """An `ami-...` id is its own pin; a name is looked up in amiOwners' images. A
            pin goes to the instance as the plain id it is (no Output per node)."""
            looked_up: pulumi.Input[str]
            if AMI_ID.fullmatch(name):
                pin = pin or name
                looked_up = name
            else:
                looked_up = self.image_id(GET_AMI, name, opts.parent, lambda: aws.ec2.get_ami_output(
                    most_recent=True, owners=settings.ami_owners, filters=[{"name": "name", "values": [name]}],
                    opts=pulumi.InvokeOutputOptions(parent=opts.parent)).id)
            if all(r.image != name or r.pinned != pin for r in refs):
                refs.append(ImageRef(name, looked_up, pin, rollout))
            return pin if pin is not None else looked_up

        keep = node_options(opts)
        nodes = []
        for slot in spec.slots:
            node = slot.settings
            name = f"{spec.prefix}-{slot.index}"
            subnet = settings.subnet_ids[slot.index % len(settings.subnet_ids)]
            instance = aws.ec2.Instance(
                name,
                ami=image_of(node.image or settings.ami, node.image_id, slot.moved),
                instance_type=node.instance_type or settings.instance_type,
                subnet_id=(settings.bastion_subnet_id or subnet) if spec.public else subnet,
                vpc_security_group_ids=self.role_group_ids(spec.role, group_id),
                key_name=settings.key_name,
                source_dest_check=not spec.routes_pod_ips,
                metadata_options={"http_tokens": "required", "http_endpoint": "enabled",
                                  "http_put_response_hop_limit": 2},
                root_block_device={"encrypted": True, "volume_type": "gp3",
                                   "volume_size": node.volume_size or settings.volume_size,
                                   "delete_on_termination": not spec.keep_volumes},
                user_data=user_data_input(settings.user_data, spec.user_data),
                tags={"Name": name, f"kubernetes.io/cluster/{spec.cluster}": "owned", "kubeports/role": spec.role,
                      "kubeports/generation": slot.generation,
                      **({"kubeports/pool": spec.pool_tag} if spec.pool_tag else {})},
                opts=keep(spec.settings.protect and not slot.replacing, ["ami"] if spec.hold_image(slot) else None),
            )
            public_ip = None
            if spec.public:
                eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", opts=opts,
                                  tags={"Name": name, f"kubernetes.io/cluster/{spec.cluster}": "owned",
                                        "kubeports/role": spec.role})
                aws.ec2.EipAssociation(f"{name}-eip-association", allocation_id=eip.id, instance_id=instance.id,
                                       opts=opts)
                public_ip = eip.public_ip
            nodes.append(Node(instance.id, instance.private_ip, name, public_ip))
        return nodes

    def load_balancer(self, name: str, spec: LoadBalancerSpec, opts: pulumi.ResourceOptions) -> CloudLoadBalancer:
        settings = self.stack.aws
        assert settings is not None
        group = self.security_group(name, spec.role, opts)  # before the NLB: set at creation only
        keep = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.protect))
        tags = {f"kubernetes.io/cluster/{spec.cluster}": "owned", "kubeports/role": spec.role}
        nlb = aws.lb.LoadBalancer(
            f"{name}-nlb", name_prefix=NAME_PREFIX, load_balancer_type="network", internal=settings.lb_internal,
            subnets=settings.lb_subnet_ids or settings.subnet_ids,
            security_groups=self.role_group_ids(spec.role, group.id),
            enable_cross_zone_load_balancing=True, enable_deletion_protection=spec.protect,
            tags={"Name": name, **tags}, opts=keep)
        for lis in spec.listeners:
            base = f"{name}-{lis.name}"
            targets = aws.lb.TargetGroup(
                f"{base}-targets", name_prefix=NAME_PREFIX, port=lis.target_port, protocol="TCP",
                target_type="instance", vpc_id=settings.vpc_id, preserve_client_ip="false",
                health_check=HEALTH_CHECK, tags={"Name": base, **tags}, opts=opts)
            aws.lb.Listener(f"{base}-listener", load_balancer_arn=nlb.arn, port=lis.port, protocol="TCP",
                            default_actions=[{"type": "forward", "target_group_arn": targets.arn}],
                            tags={"Name": base, **tags}, opts=opts)
            for node in spec.members[lis.target_role]:
                aws.lb.TargetGroupAttachment(f"{base}-{node.name}", target_group_arn=targets.arn, target_id=node.id,
                                             port=lis.target_port, opts=opts)
        return CloudLoadBalancer(group.id, nlb.dns_name)
