"""kubeports.plan.adopt on CIDR sets (issue 19): planned address groups are matched to live
ones by their entries (name as tie-break), imported, and the rules naming them then match
live rules naming the live ids; from the real offline plan of a stack with address groups."""
from __future__ import annotations

import json

import pytest

from kubeports.core.audit import map_roles
from kubeports.core.live import parse_text
from kubeports.core.project import load_project
from tests.core.test_audit_sets import _dev, address_group, neutron_doc
from tests.plans import variant

pytest.importorskip("pulumi")

ADDRESS_GROUP = "openstack:networking/addressGroupV2:AddressGroupV2"  # pulumi_openstack's type token


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from kubeports.plan.offline import run_plan

    path = variant(tmp_path_factory.mktemp("adopt-sets"), "Pulumi.dev.yaml", "dev", _dev)
    return load_project(path), run_plan(path).to_json()


def adoption(project, plan, doc):
    from kubeports.plan.adopt import adopt

    state = parse_text(json.dumps(doc), "dump.json")
    mapping = map_roles(state, ["control-plane", "worker"], {}, project.stack.cluster.name)
    return adopt(plan, state, mapping, project.stack.cluster.name)


def planned(plan, kind: str) -> list[str]:
    return sorted(r["name"] for r in plan["resources"] if r["type"].endswith(kind))


def nodes(plan) -> list[str]:
    return [r["name"] for r in plan["resources"] if not r["type"].startswith("kubeports:")
            and not r["type"].endswith(("SecGroup", "SecGroupRule", "AddressGroupV2"))]


def test_live_address_groups_with_the_same_entries_are_adopted_with_their_rules(stack):
    project, plan = stack
    result = adoption(project, plan, neutron_doc(project))
    sets = planned(plan, "AddressGroupV2")
    assert sets == ["dev-set-admin-v4", "dev-set-api-clients-v4", "dev-set-api-clients-v6",
                    "dev-set-nodeport-clients-v4", "dev-set-pod-cidrs-v6"]
    assert result.creates == sorted(nodes(plan)) and result.deletes == []
    assert sorted(result.adopted) == sorted([*sets, *planned(plan, "SecGroupRule"), "dev-control-plane-sg",
                                             "dev-worker-sg"])
    imported = {e["name"]: (e["type"], e["id"]) for e in result.import_file()["resources"] if e["name"] in sets}
    assert imported["dev-set-admin-v4"] == (ADDRESS_GROUP, "ag-admin-4")
    assert imported["dev-set-pod-cidrs-v6"] == (ADDRESS_GROUP, "ag-pod-cidrs-6")
    # the live names (`dev-set-admin`) differ from the program's: renamed in place
    assert "dev-set-admin-v4: name 'dev-set-admin' -> 'dev-set-admin-v4'" in result.updates


def test_other_entries_are_not_adopted_and_the_rules_naming_it_move(stack):
    project, plan = stack
    doc = neutron_doc(project)
    address_group(doc, "ag-admin-4")["addresses"].remove("203.0.113.7/32")
    result = adoption(project, plan, doc)
    via_admin = sorted(r["name"] for r in plan["resources"] if r["type"].endswith("SecGroupRule")
                       and r["inputs"].get("remoteAddressGroupId") == "dev-set-admin-v4-id")
    assert len(via_admin) == 2  # ssh to control-plane and workers
    assert result.creates == sorted(["dev-set-admin-v4", *via_admin, *nodes(plan)])
    assert result.deletes == sorted(f"dev-adopted-{row['id']}: ingress tcp 22 from address-group ag-admin-4 (IPv4)"
                                    for group in doc["security_groups"] for row in group["security_group_rules"]
                                    if row.get("remote_address_group_id") == "ag-admin-4")


def test_equal_entries_prefer_the_planned_name(stack):
    project, plan = stack
    doc = neutron_doc(project)
    twin = dict(address_group(doc, "ag-admin-4"), id="ag-0-twin", name="dev-set-admin-v4")
    doc["address_groups"].append(twin)
    result = adoption(project, plan, doc)
    imported = {e["name"]: e.get("id") for e in result.import_file()["resources"]}
    assert imported["dev-set-admin-v4"] == "ag-0-twin"  # by name, though ag-admin-4 holds the same entries
    # the rules naming ag-admin-4 do not match the adopted ag-0-twin: created, and the old ones go
    assert sum(1 for d in result.deletes if "address-group ag-admin-4" in d) == 2


PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"  # pulumi_aws's type token


def ec2_rules_doc(project) -> dict:
    """`describe-security-group-rules` (rules with ids), the groups and the prefix lists, from
    aws_doc's permissions: one rule per peer, as EC2 lists them."""
    from tests.core.test_audit_sets import aws_doc

    doc = aws_doc(project)
    rules = []
    for group in doc["SecurityGroups"]:
        for key, egress in (("IpPermissions", False), ("IpPermissionsEgress", True)):
            for perm in group.pop(key):
                row = {"SecurityGroupRuleId": f"sgr-{len(rules)}", "GroupId": group["GroupId"], "IsEgress": egress,
                       "IpProtocol": perm["IpProtocol"], "FromPort": perm["FromPort"], "ToPort": perm["ToPort"]}
                for r in perm.get("IpRanges", []):
                    row["CidrIpv4"] = r["CidrIp"]
                for r in perm.get("Ipv6Ranges", []):
                    row["CidrIpv6"] = r["CidrIpv6"]
                for r in perm.get("UserIdGroupPairs", []):
                    row["ReferencedGroupInfo"] = {"GroupId": r["GroupId"]}
                for r in perm.get("PrefixListIds", []):
                    row["PrefixListId"] = r["PrefixListId"]
                rules.append(row)
    return {**doc, "SecurityGroupRules": rules}


def test_aws_prefix_lists_with_the_same_entries_are_adopted_with_their_rules(tmp_path):
    from kubeports.plan.adopt import adopt
    from kubeports.plan.offline import run_plan
    from tests.core.test_audit_sets import _aws

    path = variant(tmp_path, "Pulumi.prod-aws.yaml", "prod-aws", _aws)
    project, plan = load_project(path), run_plan(path).to_json()
    state = parse_text(json.dumps(ec2_rules_doc(project)), "dump.json")
    mapping = map_roles(state, list(project.stack.cluster.roles), {}, project.stack.cluster.name)
    result = adopt(plan, state, mapping, project.stack.cluster.name)
    lists = planned(plan, "ManagedPrefixList")
    assert "prod-set-admin-v4" in lists and len(lists) == len(state.sets)
    imported = {e["name"]: (e["type"], e.get("id")) for e in result.import_file()["resources"]}
    assert imported["prod-set-admin-v4"] == (PREFIX_LIST, "pl-admin-4")
    assert all(imported[name][0] == PREFIX_LIST for name in lists)
    naming = [r["name"] for r in plan["resources"] if r["inputs"].get("prefixListId")]
    assert naming and all(name in result.adopted for name in naming)
    assert not [d for d in result.deletes if "prefix-list" in d]


def test_a_roles_other_aws_groups_are_created_not_adopted_onto_its_live_group(tmp_path):
    """groupsPerRole 2: a brownfield role has one group, adopted as the role's first; its
    second group is created, never imported onto the same live group."""
    from kubeports.plan.adopt import adopt
    from kubeports.plan.offline import run_plan
    from tests.core.test_audit_sets import _aws

    def two(config):
        _aws(config)
        config["kubeports:aws"]["groupsPerRole"] = 2
    path = variant(tmp_path, "Pulumi.prod-aws.yaml", "prod-aws", two)
    project, plan = load_project(path), run_plan(path).to_json()
    state = parse_text(json.dumps(ec2_rules_doc(project)), "dump.json")
    mapping = map_roles(state, list(project.stack.cluster.roles), {}, project.stack.cluster.name)
    result = adopt(plan, state, mapping, project.stack.cluster.name)
    imported = {e["name"]: e.get("id") for e in result.import_file()["resources"]}
    for role in ("control-plane", "etcd", "worker"):
        assert imported[f"prod-{role}-sg"] == mapping[role]
        assert f"prod-{role}-sg-2" not in imported and f"prod-{role}-sg-2" in result.creates
