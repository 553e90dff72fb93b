"""CIDR sets as one peer and subnet peers (issue 19 items 1-2): kubeports/core/rendered.py
`cloud_rules`, the set resolution (`resolve(..., sets=True)`), and what quota.py counts."""
from __future__ import annotations

import os

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.core.quota import aws_counts, neutron_counts, quota_headroom
from kubeports.core.rendered import NEUTRON_BUG, expand_sets, reaches_guarded, rendered_rules
from kubeports.core.safety import exposure_problems, sensitive_ports
from tests.plans import variant

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
OCTAVIA = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.octavia.yaml")
CLIENT_SETS = ("api-clients", "nodeport-clients", "admin", "ingress-clients")


def sized(k: int, **cloud):
    """Each client set as k IPv4 /32s; `cloud` goes into the cloud's settings."""
    def edit(config):
        for n, name in enumerate(CLIENT_SETS):
            config["kubeports:cluster"]["cidrs"][name] = [f"100.{64 + n}.0.{i}/32" for i in range(1, k + 1)]
        config[f"kubeports:{config['kubeports:cloud']}"].update(cloud)
    return edit


def project_of(tmp_path, base, name, edit):
    return load_project(variant(tmp_path, base, name, edit))


def keys(rules):
    return [r.key for r in rules]


@pytest.mark.parametrize("base,opt", [(DEV, {"addressGroups": True}), (PROD_AWS, {"prefixLists": True})],
                         ids=["openstack", "aws"])
def test_one_rule_per_flow_and_set_whatever_the_sets_hold(tmp_path, base, opt):
    counts = {k: len(project_of(tmp_path, base, f"k{k}", sized(k, **opt)).cloud_rules) for k in (1, 5, 10)}
    assert len(set(counts.values())) == 1, counts
    per_cidr = {k: len(project_of(tmp_path, base, f"c{k}", sized(k)).resolution.rules) for k in (1, 5)}
    assert per_cidr[5] > per_cidr[1]  # the default still grows with every entry


def test_set_rule_is_named_by_the_set_and_carries_its_entries(tmp_path):
    project = project_of(tmp_path, DEV, "ag", sized(3, addressGroups=True))
    rule = next(r for r in project.cloud_rules if r.key == "control-plane-in-tcp-6443-from-api-clients-v4")
    assert (rule.peer_kind, rule.peer, rule.members) == ("set", "api-clients",
                                                         ("100.64.0.1/32", "100.64.0.2/32", "100.64.0.3/32"))
    assert rule.to_json()["peer"] == {"set": "api-clients"}
    assert rule.to_json()["members"] == list(rule.members)
    # what the tables, exports and audits show stays one rule per CIDR
    assert "control-plane-in-tcp-6443-from-100.64.0.1-32-v4" in keys(project.resolution.rules)
    assert not [r for r in project.resolution.rules if r.peer_kind == "set"]


def test_the_rules_a_set_admits_are_the_per_cidr_rules(tmp_path):
    """Expanded, the set rules admit exactly what the per-CIDR resolution admits (no wider, no narrower)."""
    for base, opt in ((DEV, {"addressGroups": {"enabled": True, "firewall": "ovn"}}), (PROD_AWS, {"prefixLists": True})):
        project = project_of(tmp_path, base, "same", sized(4, **opt))
        expanded = {r.identity for r in expand_sets(project.cloud_rules)}
        resolved = {r.identity for r in project.resolution.rules}
        assert expanded == resolved


def test_unstated_firewall_keeps_rules_to_sensitive_ports_per_cidr(tmp_path):
    """dev routes IPv6 pod addresses natively: the pod-cidrs rule reaches etcd and kubelet. A Neutron
    that may ignore address groups would open those ports to everyone, so it stays a CIDR rule."""
    unstated = project_of(tmp_path, DEV, "unstated", sized(2, addressGroups=True))
    stated = project_of(tmp_path, DEV, "stated", sized(2, addressGroups={"enabled": True, "firewall": "ovn"}))
    pod_rule = "control-plane-in-all-from-fd00.10.244..-56-v6"
    assert pod_rule in keys(unstated.cloud_rules)
    assert "control-plane-in-all-from-pod-cidrs-v6" not in keys(unstated.cloud_rules)
    assert "control-plane-in-all-from-pod-cidrs-v6" in keys(stated.cloud_rules)
    guarded = sensitive_ports(unstated.catalog, unstated.stack.cluster)
    assert not [r.key for r in unstated.cloud_rules if r.peer_kind == "set" and reaches_guarded(r, guarded)]
    note = next(n for n in unstated.resolution.notes if n.startswith("address groups:"))
    assert note == ("address groups: 7 rules reference 4 Neutron address groups (remote_address_group_id) instead "
                    f"of one rule per CIDR. {NEUTRON_BUG}; kubeports:openstack.addressGroups.firewall is unstated, "
                    "so rules reaching sensitive ports stay one rule per CIDR (2 here)")
    note = next(n for n in stated.resolution.notes if n.startswith("address groups:"))
    assert note.endswith("the stack states the firewall is ovn, which honours them")


def test_octavia_listener_sources_stay_cidrs(tmp_path):
    """Octavia's allowed_cidrs take CIDRs only: the load balancer's own rules are never set rules."""
    project = project_of(tmp_path, OCTAVIA, "octavia-ag", lambda c: c["kubeports:openstack"].update(
        addressGroups=True))
    lb = [r for r in project.cloud_rules if r.role == "load-balancer"]
    assert lb and all(r.peer_kind != "set" for r in lb)


def test_default_stacks_render_as_resolved():
    for path in (DEV, PROD_AWS):
        project = load_project(path)
        assert project.cloud_rules == project.resolution.rules
        assert not [n for n in project.resolution.notes if n.startswith(("address groups", "prefix lists", "subnet"))]


def subnet(config):
    config["kubeports:openstack"].update(nodePeers="subnet", subnetCidr="10.0.0.0/24")


def test_subnet_peers_name_the_subnet_except_on_sensitive_ports(tmp_path):
    project = project_of(tmp_path, DEV, "subnet", subnet)
    rules = keys(project.cloud_rules)
    assert "worker-in-tcp-179-from-10.0.0.0-24-v4" in rules  # BGP between nodes: the subnet
    assert "worker-in-tcp-179-from-worker-v4" not in rules
    assert "worker-in-tcp-10250-from-control-plane-v4" in rules  # kubelet: sensitive, keeps its group
    assert "control-plane-in-tcp-2379-2380-from-control-plane-v4" in rules  # etcd: sensitive
    assert "worker-in-tcp-179-from-worker-v6" in rules  # no IPv6 subnet CIDR: the IPv6 twin keeps its group
    listeners = ()
    assert exposure_problems(project.catalog, project.stack.cluster,
                             rendered_rules(project.stack, project.cloud_rules, listeners)) == []
    # one Neutron rule where the worker and control-plane peers became the same subnet rule
    assert len(rules) == len(set(rules)) < len(project.resolution.rules)
    note = next(n for n in project.resolution.notes if n.startswith("subnet peers:"))
    assert note == ("subnet peers: 17 node-to-node rules name 10.0.0.0/24 instead of the peer role's group, so any VM "
                    "in that subnet, in this cluster or not, is a peer on their ports; 6 rules reaching sensitive "
                    "ports keep their groups; IPv6 rules keep theirs (subnetCidr is IPv4)")


def test_merged_subnet_rule_keeps_every_purpose(tmp_path):
    project = project_of(tmp_path, DEV, "subnet-merge", subnet)
    rule = next(r for r in project.cloud_rules if r.key == "worker-in-tcp-179-from-10.0.0.0-24-v4")
    merged = [r for r in project.resolution.rules if r.role == "worker" and r.protocol == "tcp" and r.from_port == 179
              and r.ethertype == "IPv4" and r.peer_kind == "role"]
    assert {r.peer for r in merged} == {"control-plane", "worker"}
    assert set(rule.sources) == {s for r in merged for s in r.sources}


def test_subnet_peers_need_the_subnet_cidr(tmp_path):
    path = variant(tmp_path, DEV, "no-cidr", lambda c: (c["kubeports:openstack"].pop("subnetCidr", None),
                                                         c["kubeports:openstack"].update(nodePeers="subnet")))
    with pytest.raises(KubeportsError) as refused:
        load_project(path)
    assert [p.message for p in refused.value.problems] == [
        "subnet peers need kubeports:openstack.subnetCidr, the nodes' subnet"]


def test_neutron_counts_a_set_rule_once(tmp_path):
    grouped = project_of(tmp_path, DEV, "q-ag", sized(50, addressGroups=True))
    ours, _groups = neutron_counts(grouped.cloud_rules, grouped.stack.cluster)
    assert ours == len(grouped.cloud_rules)
    assert quota_headroom("openstack", grouped.cloud_rules, grouped.stack.cluster)[-1] == (
        "Neutron address groups: 4 groups (200 addresses), referenced by 7 rules; each reference is one rule, "
        "and Neutron has no quota on address groups")


def test_aws_counts_a_prefix_list_as_its_entries(tmp_path):
    """The same sets as prefix lists and as CIDR rules: AWS counts the same per group."""
    grouped = project_of(tmp_path, PROD_AWS, "q-pl", sized(10, prefixLists=True))
    plain = project_of(tmp_path, PROD_AWS, "q-cidr", sized(10))
    assert aws_counts(grouped.cloud_rules) == aws_counts(plain.resolution.rules)
    assert len(grouped.cloud_rules) < len(plain.resolution.rules)
    assert quota_headroom("aws", grouped.cloud_rules, grouped.stack.cluster)[-1] == (
        "AWS prefix lists: 8 lists (44 entries, max entries = entries), referenced by 27 rules; each reference counts "
        "its list's max entries in the group's quota; the Region: 8 of 100 lists (8 of this stack, 0 besides), 92 left")


def test_address_groups_shorthand_and_refused_firewall(tmp_path):
    project = project_of(tmp_path, DEV, "short", lambda c: c["kubeports:openstack"].update(addressGroups=True))
    assert project.stack.openstack.address_groups.enabled
    path = variant(tmp_path, DEV, "bad-fw", lambda c: c["kubeports:openstack"].update(
        addressGroups={"enabled": True, "firewall": "iptables"}))
    with pytest.raises(KubeportsError, match="addressGroups.firewall"):
        load_project(path)
