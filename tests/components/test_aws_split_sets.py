"""AWS, a 200-entry CIDR set as prefix lists within EC2's default quota (issue 19): with
several groups per role every set is split over them (kubeports.core.shards `set_parts`),
one list and one rule per part. Checked on what the AWS module registers:
aws-cilium with 200 IPv4 and 200 IPv6 entries in `api-clients` and five groups per role
plans, every group EC2 receives counts at most 60 per direction and family (a reference as
its registered list's max entries), the parts of each set hold its entries exactly once,
and an entry added changes one list and no rule."""
from __future__ import annotations

import ipaddress
import os

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.plan.offline import run_plan
from tests.components.test_aws_groups import ec2_counts
from tests.plans import by_name, variant

AWS_CILIUM = os.path.join(ROOT, "Pulumi.aws-cilium.yaml")
LISTED = ("api-clients",)  # one flow per role, family and direction: 200 < 5 x 60 (docs/clouds.md)
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"


def entries(index: int, k: int) -> list[str]:
    return ([f"100.{64 + index}.{i // 256}.{i % 256}/32" for i in range(k)]
            + [f"2001:db8:{index:x}{i:03x}::/48" for i in range(k)])


def sized(k: int, groups: int | None = 5, more: str | None = None):
    def edit(config):
        for index, name in enumerate(LISTED):
            config["kubeports:cluster"]["cidrs"][name] = entries(index, k) + ([more] if more and index == 0 else [])
        config["kubeports:aws"]["prefixLists"] = True
        if groups is not None:
            config["kubeports:aws"]["groupsPerRole"] = groups
    return edit


@pytest.fixture(scope="module")
def k200(tmp_path_factory):
    return by_name(run_plan(variant(tmp_path_factory.mktemp("split"), AWS_CILIUM, "k200", sized(200))))


def test_one_group_per_role_refuses_200_entries_and_names_the_groups_that_fit(tmp_path):
    with pytest.raises(KubeportsError) as refused:
        load_project(variant(tmp_path, AWS_CILIUM, "k200-g1", sized(200, None)))
    assert any("set kubeports:aws.groupsPerRole to " in p.message for p in refused.value.problems)


def test_every_group_ec2_receives_is_within_the_default_quota(k200):
    counts, _ = ec2_counts(k200)
    assert max(counts.values()) <= 60
    cp = sum(n for (group, _, _), n in counts.items() if group.startswith("edge-control-plane"))
    assert cp > 2 * 200  # 200 per family from the set alone: no group could hold one list


def test_the_parts_of_each_set_hold_its_entries_once(k200):
    lists = [r for r in k200.values() if r.type == PREFIX_LIST]
    for index, name in enumerate(LISTED):
        for family, version in (("IPv4", 4), ("IPv6", 6)):
            parts = [r for r in lists if r.inputs["tags"]["kubeports/cidr-set"] == name
                     and r.inputs["addressFamily"] == family]
            assert len(parts) > 1 and all(r.name.startswith(f"edge-set-{name}-v{version}-part-") for r in parts)
            held = [e["cidr"] for r in parts for e in r.inputs["entries"]]
            wanted = [str(net) for net in map(ipaddress.ip_network, entries(index, 200)) if net.version == version]
            assert sorted(held) == sorted(wanted)  # each entry in exactly one part
            assert all(r.inputs["maxEntries"] == len(r.inputs["entries"]) <= 54 for r in parts)


def test_each_part_has_its_own_rule_in_a_group_of_the_role(k200):
    """Every part of every split list is referenced, each rule names the part it carries
    (`<rule>-part-<n>` -> `<list>-part-<n>`), and sits in a group of its own role."""
    lists = {f"{r.name}-id": r.name for r in k200.values() if r.type == PREFIX_LIST}
    groups = {f"{r.name}-id": r.inputs["tags"]["kubeports/role"] for r in k200.values()
              if r.type == "aws:ec2/securityGroup:SecurityGroup"}
    split = [r for r in k200.values() if "prefixListId" in r.inputs and "-part-" in lists[r.inputs["prefixListId"]]]
    assert {lists[r.inputs["prefixListId"]] for r in split} == {n for n in lists.values() if "-part-" in n}
    for r in split:
        part = lists[r.inputs["prefixListId"]].rsplit("-part-", 1)[1]
        assert r.name.endswith(f"-part-{part}"), r.name
        assert r.name.startswith(f"edge-{groups[r.inputs['securityGroupId']]}-in-"), r.name


def test_an_entry_added_changes_one_list_and_no_rule(tmp_path, k200):
    grown = by_name(run_plan(variant(tmp_path, AWS_CILIUM, "k200", sized(200, more="198.51.100.7/32"))))
    assert set(grown) == set(k200)
    changed = sorted(n for n in k200 if k200[n].inputs != grown[n].inputs)
    assert len(changed) == 1 and k200[changed[0]].type == PREFIX_LIST
    assert "198.51.100.7/32" in [e["cidr"] for e in grown[changed[0]].inputs["entries"]]


PARTNERS = os.path.join(ROOT, "examples", "partner-api-clients")


def test_the_partner_example_plans_within_ec2s_defaults_and_its_note_counts_what_is_registered():
    """examples/partner-api-clients/Pulumi.partners-aws.yaml: 200 API clients over 5 groups per role;
    the note `rules` and `plan` print counts the lists and rules the AWS module registers."""
    path = os.path.join(PARTNERS, "Pulumi.partners-aws.yaml")
    project = load_project(path)  # the preflight passes at EC2's default quotas
    resources = by_name(run_plan(path))
    counts, _ = ec2_counts(resources)
    assert max(counts.values()) <= 60
    lists = [r for r in resources.values() if r.type == PREFIX_LIST]
    referencing = [r for r in resources.values() if "prefixListId" in r.inputs]
    note = next(n for n in project.resolution.notes if n.startswith("prefix lists: "))
    assert f"split over the 5 groups per role into {len(lists)} lists and {len(referencing)} rules" in note
    api = [r for r in lists if r.inputs["tags"]["kubeports/cidr-set"] == "api-clients"]
    assert len(api) == 5 and sum(len(r.inputs["entries"]) for r in api) == 200


def test_the_partner_example_on_openstack_is_one_address_group_within_neutrons_default():
    from kubeports.core.quota import neutron_counts
    project = load_project(os.path.join(PARTNERS, "Pulumi.partners.yaml"))
    rules, _ = neutron_counts(project.cloud_rules, project.stack.cluster)
    assert rules + project.stack.cluster.quota.neutron_used_rules <= 100  # the default project quota
    groups = [r for r in run_plan(os.path.join(PARTNERS, "Pulumi.partners.yaml")).resources
              if r.type == "openstack:networking/addressGroupV2:AddressGroupV2"]
    api = next(r for r in groups if r.name == "partners-set-api-clients-v4")
    assert len(api.inputs["addresses"]) == 200
