"""CIDR sets as address groups / prefix lists in the offline plan (issue 19 item 1): what each
cloud module registers, and that an entry added to a set updates the set's object in place
and touches no rule (kubeports/plan/compare.py, the diff `kubeports diff` shows)."""
from __future__ import annotations

import os

import pytest

from kubeports.core.paths import ROOT
from kubeports.plan.compare import diff_plans
from tests.plans import by_name, plan_of, variant

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
AG = "openstack:networking/addressGroupV2:AddressGroupV2"
PL = "aws:ec2/managedPrefixList:ManagedPrefixList"
ADMIN = ["203.0.113.0/24", "198.51.100.0/24"]  # unsorted on purpose: the cloud object holds them sorted


def _stack(tmp_path, base: str, folder: str, extra: list[str]):
    def edit(config):
        config["kubeports:cluster"]["cidrs"]["admin"] = ADMIN + extra
        if config["kubeports:cloud"] == "openstack":
            config["kubeports:openstack"]["addressGroups"] = True
        else:
            config["kubeports:aws"]["prefixLists"] = True
    (tmp_path / folder).mkdir(exist_ok=True)
    return variant(tmp_path / folder, base, "sets", edit)


def test_openstack_rule_references_the_address_group(tmp_path):
    plan = by_name(plan_of(_stack(tmp_path, DEV, "a", [])))
    group = plan["dev-set-admin-v4"]
    assert group.type == AG
    assert group.inputs == {"name": "dev-set-admin-v4", "description": "kubeports dev CIDR set admin (IPv4)",
                            "addresses": ["198.51.100.0/24", "203.0.113.0/24"]}
    assert group.parent is not None and "kubeports:index:Cluster" in group.parent  # the Cluster's, not a role's
    rule = plan["dev-worker-in-tcp-22-from-admin-v4"].inputs
    assert rule["remoteAddressGroupId"] == group.id
    assert "remoteIpPrefix" not in rule and "remoteGroupId" not in rule
    assert rule["portRangeMin"] == rule["portRangeMax"] == 22


def test_aws_rule_references_the_prefix_list(tmp_path):
    plan = by_name(plan_of(_stack(tmp_path, PROD_AWS, "a", [])))
    plist = plan["prod-set-admin-v4"]
    assert plist.type == PL
    assert plist.inputs["addressFamily"] == "IPv4"
    assert plist.inputs["maxEntries"] == 2  # the entries it holds, no headroom (core/quota.py)
    assert plist.inputs["entries"] == [{"cidr": "198.51.100.0/24"}, {"cidr": "203.0.113.0/24"}]
    rule = plan["prod-worker-in-tcp-22-from-admin-v4"].inputs
    assert rule["prefixListId"] == plist.id
    assert "cidrIpv4" not in rule and "referencedSecurityGroupId" not in rule


@pytest.mark.parametrize("base,name,field", [(DEV, "dev-set-admin-v4", "addresses"),
                                             (PROD_AWS, "prod-set-admin-v4", "entries")], ids=["openstack", "aws"])
def test_an_entry_added_updates_the_set_in_place_and_no_rule(tmp_path, base, name, field):
    before = plan_of(_stack(tmp_path, base, "before", []))
    after = plan_of(_stack(tmp_path, base, "after", ["192.0.2.0/24"]))
    diff = diff_plans(before.to_json(), after.to_json())
    assert [(c.name, c.action) for c in diff.changes] == [(name, "update")]
    change = diff.updated[0]
    assert not any(p.replaces for p in change.changes)
    assert {p.path.split("[")[0] for p in change.changes} <= {field, "maxEntries"}
