"""CIDR sets as one peer (issue 19 item 1) against the real APIs: Neutron address groups and
moto's managed prefix lists. A stack whose four client sets list 200 addresses each is
planned, checked by the quota preflight and applied; an entry added to a set changes the
set's object in place and no rule. moto's gaps are probed and named here (`moto-gap-8`, `-9`, `-10`)."""
from __future__ import annotations

import json
import os
import re

import pytest

from kubeports.core.audit import EXIT_CLEAN, EXIT_CRITICAL, EXIT_FINDINGS, audit, map_roles
from kubeports.core.errors import KubeportsError
from kubeports.core.live import parse_text
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from tests.plans import variant
from tests.realapi import render as r
from tests.realapi.apply import MOTO_GAP_7, MOTO_GAP_9, MOTO_GAP_10
from tests.realapi.conftest import aws_applier, count_rules, openstack_applier
from tests.realapi.stacks import plan_json
from tests.realapi.test_audit_live import aws_chain, os_chain, run_audit  # noqa: F401, F811 - fixtures

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
CLIENT_SETS = ("api-clients", "nodeport-clients", "admin", "ingress-clients")
MOTO_GAP_8 = ("moto-gap-8: moto counts a rule referencing a prefix list as one rule against the group's 60 "
              "(real EC2 counts the list's max entries), so the preflight's prefix-list arithmetic cannot be proven "
              "on moto")


def _sized(k: int, cloud: str, grouped: bool = True):
    """Each client set as k /32s of its own /24 (none /0, so every set can be one peer)."""
    def edit(config):
        cidrs = config["kubeports:cluster"]["cidrs"]
        for n, name in enumerate(CLIENT_SETS):
            cidrs[name] = [f"100.{64 + n}.0.{i}/32" for i in range(1, k + 1)]
        if cloud == "openstack":
            config["kubeports:openstack"]["addressGroups"] = {"enabled": grouped, "firewall": "ovn"}
        else:
            config["kubeports:aws"]["prefixLists"] = grouped
    return edit


def _twins(tmp_path, base: str, cloud: str) -> tuple[str, str]:
    """One stack before and after an entry is added to `admin`: same stack name, two files."""
    def grown(config):
        _sized(5, cloud)(config)
        config["kubeports:cluster"]["cidrs"]["admin"].append("100.66.0.99/32")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    return (variant(tmp_path / "before", base, "sets", _sized(5, cloud)),
            variant(tmp_path / "after", base, "sets", grown))


def _doc(path):
    import yaml
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_neutron_has_the_address_group_extensions(neutron):
    aliases = {ext["alias"] for ext in neutron.call("GET", "/extensions")["extensions"]}
    assert {"address-group", "security-groups-remote-address-group"} <= aliases


def test_200_entry_sets_fit_neutron_default_quotas_and_apply(neutron, tmp_path):
    per_cidr = variant(tmp_path, DEV, "k200-cidrs", _sized(200, "openstack", grouped=False))
    with pytest.raises(KubeportsError, match="Neutron quota: "):
        load_project(per_cidr)  # the same sets as one rule per CIDR: far past 100 rules
    stack = variant(tmp_path, DEV, "k200", _sized(200, "openstack"))
    project = load_project(stack)  # the preflight accepts it
    plan = plan_json(stack)
    groups = {res["name"]: len(res["inputs"]["addresses"]) for res in plan["resources"]
              if res["type"] == r.OS_ADDRESS_GROUP}
    # firewall `ovn` is stated, so the natively routed IPv6 pod CIDR is a group too
    assert groups == {**{f"dev-set-{name}-v4": 200 for name in CLIENT_SETS}, "dev-set-pod-cidrs-v6": 1}
    assert count_rules(plan, "openstack") == len(project.cloud_rules)
    applier = openstack_applier(neutron, [_doc(stack)])
    outcome = applier.apply(plan)
    assert [str(e) for e in outcome.errors] == [] and outcome.skipped == []
    assert applier.read_back([plan]) == []
    assert neutron.quota_usage()["security_group_rule"] == count_rules(plan, "openstack") + 4  # + `default`'s 4


def test_entry_added_updates_the_address_group_alone(neutron, tmp_path):
    base, grown = _twins(tmp_path, DEV, "openstack")
    applier = openstack_applier(neutron, [_doc(base)])
    assert [str(e) for e in applier.apply(plan_json(base)).errors] == []
    change = applier.apply(plan_json(grown))
    assert [str(e) for e in change.errors] == []
    assert change.steps == ["update dev-set-admin-v4"]
    assert applier.read_back([plan_json(grown)]) == []


def test_200_entry_sets_do_not_fit_aws_default_quota(tmp_path):
    """AWS counts a prefix-list reference as its max entries: the counts are those of one rule
    per CIDR, so prefix lists save resources and API calls, never quota."""
    refusals = []
    for grouped in (True, False):
        with pytest.raises(KubeportsError) as refused:
            load_project(variant(tmp_path, PROD_AWS, "k200-aws", _sized(200, "aws", grouped)))
        refusals.append([p.message for p in refused.value.problems if not p.message.startswith("AWS API: ")])
        if grouped:  # and 200 entries are past EC2's 100 per request, at any quota
            assert len(refused.value.problems) - len(refusals[-1]) == len(CLIENT_SETS)
    counted = ("AWS quota: security group control-plane has 615 ingress IPv4 rules; the limit is 60 "
               "(kubeports:cluster.quota.awsRulesPerGroup)")
    assert refusals[1][0] == counted  # one rule per CIDR
    assert refusals[0][0] == counted + (  # the same count with prefix lists, and why
        "; 600 of them are the entries of the prefix lists it references (EC2 counts a reference as its list's max "
        "entries); raise 'Inbound or outbound rules per security group' in Service Quotas (rules per group x groups "
        "per interface at most 1,000) and set the new limit in kubeports:cluster.quota.awsRulesPerGroup, or list "
        "fewer CIDRs in the sets")
    assert len(refusals[0]) == len(refusals[1])  # every group counted alike
    assert all(grouped.startswith(per_cidr + "; ") for grouped, per_cidr in zip(*refusals, strict=True))


def test_a_group_past_what_any_aws_quota_allows_says_so(tmp_path):
    def k400(config):
        _sized(1, "aws")(config)
        for n, name in enumerate(CLIENT_SETS):
            config["kubeports:cluster"]["cidrs"][name] = [f"100.{64 + n}.{i // 200}.{i % 200 + 1}/32" for i in range(400)]
        config["kubeports:cluster"].setdefault("quota", {})["awsRulesPerGroup"] = 1000
    with pytest.raises(KubeportsError) as refused:
        load_project(variant(tmp_path, PROD_AWS, "k400-aws", k400))
    worker = [p.message for p in refused.value.problems if "group worker " in p.message]
    assert worker == ["AWS quota: security group worker has 1611 ingress IPv4 rules; the limit is 1000 "
                      "(kubeports:cluster.quota.awsRulesPerGroup); 1600 of them are the entries of the prefix lists "
                      "it references (EC2 counts a reference as its list's max entries); more than a quota increase "
                      "can give (1,000 rules per group at most, with one group per interface): list fewer CIDRs in "
                      "the sets"]


def test_prefix_lists_apply_and_an_entry_changes_the_list_alone(ec2, tmp_path):
    base, grown = _twins(tmp_path, PROD_AWS, "aws")
    load_project(base), load_project(grown)  # both within the preflight
    applier = aws_applier(ec2, [_doc(base)])
    first = applier.apply(plan_json(base))
    assert [str(e) for e in first.errors] == [] and first.skipped == []
    assert applier.read_back([plan_json(base)]) == []
    change = applier.apply(plan_json(grown))
    assert [str(e) for e in change.errors] == []
    assert change.steps == ["update prod-set-admin-v4"]
    assert applier.read_back([plan_json(grown)]) == []
    assert applier.driver.gaps <= {MOTO_GAP_7, MOTO_GAP_9, MOTO_GAP_10}


def test_moto_gap_8_prefix_list_counts_as_max_entries(ec2):
    from botocore.exceptions import ClientError
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    gid = ec2.create_security_group(GroupName="probe-pl", Description="probe", VpcId=vpc)["GroupId"]
    pl = ec2.create_managed_prefix_list(PrefixListName="probe", AddressFamily="IPv4", MaxEntries=61,
                                        Entries=[{"Cidr": "100.64.0.1/32"}])["PrefixList"]["PrefixListId"]
    try:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": pl}]}])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "RulesPerSecurityGroupLimitExceeded"
        return
    pytest.skip(MOTO_GAP_8)


MOTO_GAP_14 = ("moto-gap-14: moto creates a prefix list with more than 100 entries in one CreateManagedPrefixList "
               "request (real EC2: InvalidParameterValue, 'The number of entries per request cannot exceeds limit "
               "(100)'), so the preflight's refusal of such lists is not proven on moto")


def test_moto_gap_14_entries_per_request(ec2):
    from botocore.exceptions import ClientError
    try:
        ec2.create_managed_prefix_list(PrefixListName="probe-101", AddressFamily="IPv4", MaxEntries=101,
                                       Entries=[{"Cidr": f"100.64.0.{i}/32"} for i in range(101)])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidParameterValue"
        return
    pytest.skip(MOTO_GAP_14)


def test_moto_gap_9_prefix_list_rule_description(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    gid = ec2.create_security_group(GroupName="probe-pl-desc", Description="probe", VpcId=vpc)["GroupId"]
    pl = ec2.create_managed_prefix_list(PrefixListName="probe-desc", AddressFamily="IPv4", MaxEntries=1,
                                        Entries=[{"Cidr": "100.64.0.1/32"}])["PrefixList"]["PrefixListId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "PrefixListIds": [{"PrefixListId": pl, "Description": "SSH to nodes"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    ingress = [rule for rule in rules if not rule["IsEgress"]]
    if ingress[0].get("Description") is None:
        pytest.skip(MOTO_GAP_9)
    assert ingress[0]["Description"] == "SSH to nodes"


def test_moto_gap_10_max_entries_resize(ec2):
    pl = ec2.create_managed_prefix_list(PrefixListName="probe-resize", AddressFamily="IPv4", MaxEntries=1,
                                        Entries=[{"Cidr": "100.64.0.1/32"}])["PrefixList"]["PrefixListId"]
    ec2.modify_managed_prefix_list(PrefixListId=pl, MaxEntries=2)
    if ec2.describe_managed_prefix_lists(PrefixListIds=[pl])["PrefixLists"][0]["MaxEntries"] != 2:
        pytest.skip(MOTO_GAP_10)


def test_subnet_peers_apply_and_a_stack_switches_to_them(neutron, tmp_path):
    """Item 2 on the real Neutron: dev applied with groups, then switched to subnet peers in
    step order (new names created, old rules deleted at the end): no 409, read-back equal."""
    def subnet(config):
        config["kubeports:openstack"].update(nodePeers="subnet", subnetCidr="10.0.0.0/24")
    switched = variant(tmp_path, DEV, "dev", subnet)
    applier = openstack_applier(neutron, [_doc(switched)])
    assert [str(e) for e in applier.apply(plan_json(DEV)).errors] == []
    change = applier.apply(plan_json(switched))
    assert [str(e) for e in change.errors] == [] and change.skipped == []
    assert applier.read_back([plan_json(switched)]) == []
    prefixes = [res["inputs"].get("remoteIpPrefix") for res in plan_json(switched)["resources"] if res["type"] == r.OS_RULE]
    # the note's 17 node-to-node rules are 10 Neutron rules: the worker and control-plane peers of one port
    # become one subnet rule (two would be Neutron duplicates, 409)
    assert prefixes.count("10.0.0.0/24") == 10


# ---------------------------------------------------------------- audit on sets (issue 19 follow-up)

def _address_group_id(neutron, name: str) -> str:
    found = [g["id"] for g in neutron.call("GET", f"/address-groups?project_id={neutron.project_id}")["address_groups"]
             if g["name"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def test_audit_live_reads_address_groups_clean_then_critical_when_one_is_widened(neutron, os_chain, run_cli,  # noqa: F811
                                                                                  tmp_path):
    """Applied with address groups, audited live through openstacksdk: clean. The admin set
    widened to 0.0.0.0/0 by the API: over-open (ssh is no sensitive port). The pod set (the
    one set reaching sensitive ports, firewall `ovn`) widened to ::/0: critical. It is an
    IPv6 group on IPv6 rules, so its world is ::/0; 0.0.0.0/0 in it admits nothing there."""
    stack = variant(tmp_path, DEV, "dev", _sized(5, "openstack"))
    applier = openstack_applier(neutron, [_doc(stack)])
    assert [str(e) for e in applier.apply(plan_json(stack)).errors] == []
    mine = {g["name"]: g["id"] for g in neutron.call("GET", f"/security-groups?project_id={neutron.project_id}")
            ["security_groups"]}  # noauth reads every project's: this test's project by id
    mapping = ("--map", f"control-plane={mine['dev-control-plane']}", "--map", f"worker={mine['dev-worker']}")
    code, report = run_audit(run_cli, stack, "--live", *mapping)
    assert (code, report["findings"]) == (EXIT_CLEAN, [])

    admin = _address_group_id(neutron, "dev-set-admin-v4")
    neutron.call("PUT", f"/address-groups/{admin}/add_addresses", {"addresses": ["0.0.0.0/0"]})
    code, report = run_audit(run_cli, stack, "--live", *mapping)
    assert code == EXIT_FINDINGS
    assert sorted((f["severity"], f["role"], re.sub(r" at .*", "", f["live"])) for f in report["findings"]) == sorted(
        ("over-open", role, _rule_id(neutron, role, 22)) for role in ("control-plane", "worker"))
    assert report["findings"][0]["message"] == (
        f"ingress tcp 22 from cidr 0.0.0.0/0 via address-group {admin} (IPv4): admits 22 that no document requires "
        "from this peer; peer anywhere")

    pods = _address_group_id(neutron, "dev-set-pod-cidrs-v6")
    neutron.call("PUT", f"/address-groups/{pods}/add_addresses", {"addresses": ["0.0.0.0/0"]})
    assert run_audit(run_cli, stack, "--live", *mapping)[0] == EXIT_FINDINGS  # the other family's world: not admitted
    neutron.call("PUT", f"/address-groups/{pods}/add_addresses", {"addresses": ["::/0"]})
    code, report = run_audit(run_cli, stack, "--live", *mapping)
    assert code == EXIT_CRITICAL
    critical = sorted(f["message"] for f in report["findings"] if f["severity"] == "critical")
    assert f"Kubelet API (tcp 10250) is reachable from anywhere: only cluster roles may reach it (ingress all " \
           f"protocols from cidr ::/0 via address-group {pods} (IPv6))" in critical
    assert len(critical) == 5  # kubelet on both roles; etcd, scheduler, controller-manager on the control plane

    # the same read as dumps: the groups and `GET /v2.0/address-groups`, two files
    groups, sets = tmp_path / "groups.json", tmp_path / "address-groups.json"
    groups.write_text(json.dumps(neutron.call("GET", f"/security-groups?project_id={neutron.project_id}"), indent=1))
    sets.write_text(json.dumps(neutron.call("GET", f"/address-groups?project_id={neutron.project_id}"), indent=1))
    code_dump, dumped = run_audit(run_cli, stack, "--dump", str(groups), "--dump", str(sets), *mapping)
    assert (code_dump, [f["message"] for f in dumped["findings"]]) == (code, [f["message"] for f in report["findings"]])
    code_alone, alone = run_audit(run_cli, stack, "--dump", str(groups), *mapping)  # without the address groups
    assert code_alone == EXIT_CRITICAL
    assert any(f"through address-group {pods}, which what was read does not hold" in f["message"]
               for f in alone["findings"])


def _rule_id(neutron, role: str, port: int) -> str:
    group = next(g for g in neutron.call("GET", f"/security-groups?project_id={neutron.project_id}")["security_groups"]
                 if g["name"] == f"dev-{role}")
    found = [r["id"] for r in group["security_group_rules"] if r.get("port_range_min") == port
             and r.get("remote_address_group_id")]
    assert len(found) == 1
    return found[0]


def test_audit_reads_prefix_lists_on_moto(ec2, aws_chain, tmp_path):  # noqa: F811
    """Applied with prefix lists on moto, read through boto3 (kubeports.live.aws, what
    `audit --live` calls; the applier maps the stack's VPC to one moto made, so the read is
    given that VPC): clean; the admin list widened to 0.0.0.0/0: over-open on ssh."""
    from kubeports.live.aws import read_groups
    stack = variant(tmp_path, PROD_AWS, "prod", _sized(5, "aws"))
    project = load_project(stack)
    applier = aws_applier(ec2, [_doc(stack)])
    assert [str(e) for e in applier.apply(plan_json(stack)).errors] == []
    vpc = applier.external[_doc(stack)["config"]["kubeports:aws"]["vpcId"]]

    def audited():
        state = parse_text(json.dumps(read_groups(vpc), default=str), "live aws")
        roles = [r for r in project.stack.cluster.roles]
        mapping = map_roles(state, roles, {}, project.stack.cluster.name)
        return audit(project.stack, project.catalog, project.resolution.rules, state, mapping, project.cloud_rules), state

    result, state = audited()
    assert {s.kind for s in state.sets.values()} == {"prefix-list"} and len(state.sets) >= 4
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    admin = next(s for s in state.sets.values() if s.name == "prod-set-admin-v4")
    version = ec2.describe_managed_prefix_lists(PrefixListIds=[admin.id])["PrefixLists"][0]["Version"]
    ec2.modify_managed_prefix_list(PrefixListId=admin.id, CurrentVersion=version, AddEntries=[{"Cidr": "0.0.0.0/0"}])
    result, _ = audited()
    assert result.exit_code == EXIT_FINDINGS
    assert sorted({(f.severity, f.role) for f in result.findings}) == [
        ("over-open", role) for role in ("control-plane", "etcd", "worker")]
    assert all(f"from cidr 0.0.0.0/0 via prefix-list {admin.id} (IPv4): admits 22" in f.message for f in result.findings)


def test_audit_live_counts_the_regions_prefix_lists_and_the_preflight_refuses_past_them(ec2, aws_chain, run_cli,  # noqa: F811
                                                                                         tmp_path, monkeypatch):
    """EC2's 'Prefix lists per Region' (100 by default) counts every customer-managed list of the
    account: `audit --live` reads them (owner-id: the caller's account, so moto's AWS-managed
    lists are left out), names how many are not this stack's, and the preflight counts those
    once the stack is told (kubeports:cluster.quota.awsUsedPrefixLists)."""
    from kubeports.core.quota import prefix_list_names
    (tmp_path / "a").mkdir()
    stack = variant(tmp_path / "a", PROD_AWS, "prod", _sized(5, "aws"))
    project = load_project(stack)
    applier = aws_applier(ec2, [_doc(stack)])
    assert [str(e) for e in applier.apply(plan_json(stack)).errors] == []
    for name in ("team-a-office", "team-b-vendors", "team-c-cdn"):  # other teams' lists in the Region
        ec2.create_managed_prefix_list(PrefixListName=name, AddressFamily="IPv4", MaxEntries=1)
    assert any(pl["OwnerId"] == "AWS" for pl in ec2.describe_managed_prefix_lists()["PrefixLists"])
    vpc = applier.external[_doc(stack)["config"]["kubeports:aws"]["vpcId"]]
    (tmp_path / "b").mkdir()  # the same stack pointed at the VPC moto made, as `audit --live` reads by vpcId
    live_stack = variant(tmp_path / "b", stack, "prod", lambda c: c["kubeports:aws"].update(vpcId=vpc))

    ours = len(prefix_list_names(project.cloud_rules, "prod", 1))
    code, report = run_audit(run_cli, live_stack, "--live")
    assert code == EXIT_CLEAN, report["findings"]
    assert report["headroom"][-1] == (
        f"prefix lists in the Region: {ours + 3} customer-managed live, {ours} of them this stack's; with this "
        f"stack's {ours}, {ours + 3} of 100 ({97 - ours} left); kubeports:cluster.quota.awsUsedPrefixLists is 0, "
        "the Region holds 3 besides this stack's: set it to 3")

    from botocore.exceptions import EndpointConnectionError

    from kubeports.live import aws as live_aws

    def unreachable(*_):  # e.g. no route to STS: the groups' audit goes on, the count is named as missing
        raise EndpointConnectionError(endpoint_url="https://sts.eu-central-1.amazonaws.com/")
    monkeypatch.setattr(live_aws, "region_prefix_lists", unreachable)
    code, without = run_audit(run_cli, live_stack, "--live")
    assert code == EXIT_CLEAN and without["headroom"] == report["headroom"][:-1]
    assert without["notes"] == ["the Region's prefix lists could not be read (EndpointConnectionError: Could not connect "
                                "to the endpoint URL: \"https://sts.eu-central-1.amazonaws.com/\"): the per-Region "
                                "count (kubeports:cluster.quota.awsUsedPrefixLists) is not shown"]

    def told(limit: int):
        def edit(config):
            config["kubeports:cluster"]["quota"] = {"awsUsedPrefixLists": 3, "awsPrefixListsPerRegion": limit}
        return edit
    (tmp_path / "c").mkdir()
    load_project(variant(tmp_path / "c", stack, "prod", told(ours + 3)))  # exactly full: accepted
    (tmp_path / "d").mkdir()
    short = variant(tmp_path / "d", stack, "prod", told(ours + 2))
    with pytest.raises(KubeportsError) as refused:
        load_project(short)
    assert len(refused.value.problems) == 1
    assert re.fullmatch(
        r".*:\d+: config\.kubeports:cluster\.quota: AWS quota: this stack creates " + str(ours) + r" prefix lists and "
        r"the Region holds 3 more \(kubeports:cluster\.quota\.awsUsedPrefixLists\): " + str(ours + 3) + r"; the Region "
        r"allows " + str(ours + 2) + r" \(kubeports:cluster\.quota\.awsPrefixListsPerRegion\): raise .*", str(refused.value))


MOTO_GAP_15 = ("moto-gap-15: moto creates a 101st customer-managed prefix list in a Region (real EC2: 'Prefix lists "
               "per Region' is 100 by default), so the preflight's per-Region count is not proven on moto")


def test_moto_gap_15_prefix_lists_per_region(ec2):
    from botocore.exceptions import ClientError
    try:
        for n in range(101):
            ec2.create_managed_prefix_list(PrefixListName=f"probe-region-{n}", AddressFamily="IPv4", MaxEntries=1)
    except ClientError:  # the quota refused a list: what EC2 does past 100 (its error code is not asserted)
        assert n == 100
        return
    pytest.skip(MOTO_GAP_15)
