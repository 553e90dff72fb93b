"""kubeports.core.audit and kubeports.core.live on CIDR sets (issue 19): a rule whose peer is a
Neutron address group or an AWS prefix list is audited by the entries the set holds.

The groups are written here from the stack's cloud rules (one rule per set, as the cloud
modules render them with kubeports:openstack.addressGroups / kubeports:aws.prefixLists) by
this test's own small rendering; each case then changes the sets the way a person would.
"""
from __future__ import annotations

import json

import pytest

from kubeports.core.audit import EXIT_CLEAN, EXIT_CRITICAL, EXIT_FINDINGS, aws_counts, headroom, map_roles
from kubeports.core.audit import audit as run_audit
from kubeports.core.errors import KubeportsError
from kubeports.core.live import LiveSet, parse_text
from kubeports.core.project import load_project
from kubeports.core.quota import prefix_list_names
from kubeports.core.settings import QuotaSettings
from tests.plans import variant

ADMIN = ["198.51.100.0/24", "203.0.113.7/32"]


def _dev(config):
    config["kubeports:cluster"]["cidrs"]["admin"] = list(ADMIN)
    config["kubeports:openstack"]["addressGroups"] = {"enabled": True, "firewall": "ovn"}


def _aws(config):
    config["kubeports:cluster"]["cidrs"]["admin"] = list(ADMIN)
    config["kubeports:aws"]["prefixLists"] = True


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return load_project(variant(tmp_path_factory.mktemp("dev"), "Pulumi.dev.yaml", "dev", _dev))


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    return load_project(variant(tmp_path_factory.mktemp("aws"), "Pulumi.prod-aws.yaml", "prod-aws", _aws))


def set_id(rule) -> str:
    return f"ag-{rule.peer}-{rule.ethertype[-1]}"


def neutron_doc(project) -> dict:
    """Groups and address groups as kubeports.live.openstack reads them (the bundle)."""
    rules = [r for r in project.cloud_rules if r.role != "load-balancer"]
    groups = {role: [] for role in project.stack.cluster.roles if role != "load-balancer"}
    sets = {}
    for i, r in enumerate(rules):
        row = {"id": f"r{i}", "security_group_id": f"sg-{r.role}", "direction": r.direction, "ethertype": r.ethertype,
               "protocol": None if r.protocol == "all" else r.protocol, "port_range_min": r.from_port,
               "port_range_max": r.to_port, "description": r.description}
        if r.peer_kind == "set":
            row["remote_address_group_id"] = set_id(r)
            sets[set_id(r)] = {"id": set_id(r), "name": f"dev-set-{r.peer}", "addresses": list(r.members)}
        elif r.peer_kind == "role":
            row["remote_group_id"] = f"sg-{r.peer}"
        else:
            row["remote_ip_prefix"] = r.peer
        groups[r.role].append(row)
    return {"security_groups": [{"id": f"sg-{role}", "name": role, "tags": [f"kubeports:role={role}"],
                                 "security_group_rules": rows} for role, rows in groups.items()],
            "address_groups": sorted(sets.values(), key=lambda s: s["id"])}


def aws_doc(project) -> dict:
    groups = {role: {"GroupId": f"sg-{role}", "GroupName": role, "Tags": [{"Key": "kubeports/role", "Value": role}],
                     "IpPermissions": [], "IpPermissionsEgress": []} for role in project.stack.cluster.roles}
    lists, seen = {}, set()
    for r in project.cloud_rules:
        perm = {"IpProtocol": "-1" if r.protocol == "all" else r.protocol,
                "FromPort": -1 if r.from_port is None else r.from_port, "ToPort": -1 if r.to_port is None else r.to_port}
        if r.peer_kind == "role":
            if (r.role, r.direction, r.protocol, r.from_port, r.to_port, r.peer) in seen:
                continue  # one group reference serves both families
            seen.add((r.role, r.direction, r.protocol, r.from_port, r.to_port, r.peer))
            perm["UserIdGroupPairs"] = [{"GroupId": f"sg-{r.peer}"}]
        elif r.peer_kind == "set":
            plid = "pl-" + set_id(r)[3:]
            perm["PrefixListIds"] = [{"PrefixListId": plid}]
            lists[plid] = {"PrefixListId": plid, "AddressFamily": r.ethertype, "PrefixListName": f"prod-set-{r.peer}",
                           "MaxEntries": len(r.members), "Entries": [{"Cidr": c} for c in r.members]}
        else:
            perm["IpRanges" if r.ethertype == "IPv4" else "Ipv6Ranges"] = \
                [{"CidrIp" if r.ethertype == "IPv4" else "CidrIpv6": r.peer}]
        groups[r.role]["IpPermissions" if r.direction == "ingress" else "IpPermissionsEgress"].append(perm)
    return {"SecurityGroups": list(groups.values()), "PrefixLists": sorted(lists.values(), key=lambda x: x["PrefixListId"])}


def audit_of(project, doc: dict):
    state = parse_text(json.dumps(doc, indent=1), "dump.json")
    roles = [r for r in project.stack.cluster.roles if not (r == "load-balancer" and project.stack.cloud == "openstack")]
    mapping = map_roles(state, roles, {}, project.stack.cluster.name)
    return run_audit(project.stack, project.catalog, project.resolution.rules, state, mapping,
                     project.cloud_rules), state, mapping


def address_group(doc: dict, ident: str) -> dict:
    return next(g for g in doc["address_groups"] if g["id"] == ident)


def test_sets_rendered_as_address_groups_satisfy_the_required_flows(dev):
    doc = neutron_doc(dev)
    assert address_group(doc, "ag-admin-4")["addresses"] == ADMIN  # the test renders what it claims
    result, state, mapping = audit_of(dev, doc)
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    assert state.sets["ag-admin-4"] == LiveSet("ag-admin-4", "address-group", "dev-set-admin", "", tuple(ADMIN),
                                              None, state.sets["ag-admin-4"].where)
    # Neutron counts a rule referencing an address group as one rule
    assert headroom(state, mapping, dev.stack) == [f"Neutron security group rules: {len(state.rules)} of 100 used in "
                                                   f"what was read ({100 - len(state.rules)} left)"]


def _widen(doc, ident, cidr):
    address_group(doc, ident)["addresses"].append(cidr)


def _drop_entry(doc, ident, cidr):
    address_group(doc, ident)["addresses"].remove(cidr)


def _forget(doc, ident):
    doc["address_groups"] = [g for g in doc["address_groups"] if g["id"] != ident]


def _no_address_groups(doc):
    del doc["address_groups"]


KUBELET = ("Kubelet API (tcp 10250) is reachable from anywhere: only cluster roles may reach it (ingress all protocols "
           "from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6))")
CASES = {
    # a set on a sensitive port (the pod CIDR reaches every port: firewall `ovn` lets it be a group) widened
    "the world in a set on a sensitive port": (lambda d: _widen(d, "ag-pod-cidrs-6", "::/0"), EXIT_CRITICAL, [
        ("critical", "control-plane", "Kubelet API (tcp 10250) is reachable from anywhere: only cluster roles may "
         "reach it (ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6))"),
        ("critical", "control-plane", "etcd server client API (tcp 2379-2380) is reachable from anywhere: only "
         "cluster roles may reach it (ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6))"),
        ("critical", "control-plane", "kube-controller-manager (tcp 10257) is reachable from anywhere: only cluster "
         "roles may reach it (ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6))"),
        ("critical", "control-plane", "kube-scheduler (tcp 10259) is reachable from anywhere: only cluster roles may "
         "reach it (ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6))"),
        ("critical", "worker", KUBELET),
        ("over-open", "control-plane", "ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6): "
         "all protocols, none needed; peer anywhere"),
        ("over-open", "worker", "ingress all protocols from cidr ::/0 via address-group ag-pod-cidrs-6 (IPv6): "
         "all protocols where the documents need tcp; peer anywhere"),
    ]),
    # the other family's world in an IPv6 rule's group: the rule admits none of it
    "the other family's world in a set": (lambda d: _widen(d, "ag-pod-cidrs-6", "0.0.0.0/0"), EXIT_CLEAN, []),
    "the world in the admin set": (lambda d: _widen(d, "ag-admin-4", "0.0.0.0/0"), EXIT_FINDINGS, [
        ("over-open", "control-plane", "ingress tcp 22 from cidr 0.0.0.0/0 via address-group ag-admin-4 (IPv4): "
         "admits 22 that no document requires from this peer; peer anywhere"),
        ("over-open", "worker", "ingress tcp 22 from cidr 0.0.0.0/0 via address-group ag-admin-4 (IPv4): "
         "admits 22 that no document requires from this peer; peer anywhere"),
    ]),
    "an entry missing from a set": (lambda d: _drop_entry(d, "ag-admin-4", "203.0.113.7/32"), EXIT_FINDINGS, [
        ("missing", "control-plane", "SSH to nodes through the bastion: control-plane-in-tcp-22-from-203.0.113.7-32-v4 is "
         "not admitted"),
        ("missing", "worker", "SSH to nodes through the bastion: worker-in-tcp-22-from-203.0.113.7-32-v4 is not admitted"),
    ]),
    "a set the dump does not hold, on a sensitive port": (lambda d: _forget(d, "ag-pod-cidrs-6"), EXIT_CRITICAL, [
        ("critical", "control-plane", "Kubelet API (tcp 10250) is reachable through address-group ag-pod-cidrs-6, "
         "which what was read does not hold: it may hold any address; dump the address groups too (`GET "
         "/v2.0/address-groups`, or audit --live) (ingress all protocols from address-group ag-pod-cidrs-6 (IPv6))"),
        ("critical", "worker", "Kubelet API (tcp 10250) is reachable through address-group ag-pod-cidrs-6, which what "
         "was read does not hold: it may hold any address; dump the address groups too (`GET /v2.0/address-groups`, "
         "or audit --live) (ingress all protocols from address-group ag-pod-cidrs-6 (IPv6))"),
        # and what it cannot be shown to admit is missing
        ("missing", "control-plane", "IPv6 pod traffic between nodes (IP-in-IP is IPv4 only): "
         "control-plane-in-all-from-fd00.10.244..-56-v6 is not admitted"),
        ("missing", "worker", "IPv6 pod traffic between nodes (IP-in-IP is IPv4 only): "
         "worker-in-all-from-fd00.10.244..-56-v6 is not admitted"),
    ]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_address_group_changes_give_exact_findings(dev, case):
    change, code, expected = CASES[case]
    doc = neutron_doc(dev)
    change(doc)
    result = audit_of(dev, doc)[0]
    assert [(f.severity, f.role, f.message) for f in result.findings] == expected
    assert result.exit_code == code


def prefix_list(doc: dict, ident: str) -> dict:
    return next(p for p in doc["PrefixLists"] if p["PrefixListId"] == ident)


def test_sets_rendered_as_prefix_lists_satisfy_the_required_flows(aws):
    doc = aws_doc(aws)
    result, state, mapping = audit_of(aws, doc)
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    assert state.sets["pl-admin-4"].entries == tuple(ADMIN) and state.sets["pl-admin-4"].family == "IPv4"
    # the admin list (max entries 2) counts 2 in IPv4 ingress, and nothing in IPv6
    plain = parse_text(json.dumps({"SecurityGroups": doc["SecurityGroups"]}), "dump.json")
    counts, without = aws_counts(state), aws_counts(plain)
    assert counts[("sg-worker", "ingress", "IPv4")] == without[("sg-worker", "ingress", "IPv4")] + 1
    assert counts[("sg-worker", "ingress", "IPv6")] == without[("sg-worker", "ingress", "IPv6")] - 1


def test_a_prefix_list_counts_its_max_entries_against_the_quota(aws):
    doc = aws_doc(aws)
    prefix_list(doc, "pl-admin-4")["MaxEntries"] = 60
    result, state, _ = audit_of(aws, doc)
    used = aws_counts(state)[("sg-worker", "ingress", "IPv4")]
    assert used > 60
    assert [(f.severity, f.role, f.message) for f in result.findings if f.role == "worker"] == [
        ("quota", "worker", f"AWS rules: {used} ingress IPv4 rules in sg-worker; the limit is 60")]
    assert result.exit_code == EXIT_FINDINGS


def test_a_prefix_list_without_its_entries_is_named(aws):
    doc = aws_doc(aws)
    del prefix_list(doc, "pl-admin-4")["Entries"]  # describe-managed-prefix-lists alone
    result = audit_of(aws, doc)[0]
    unknown = [f.message for f in result.findings if f.severity == "over-open"]
    assert unknown == ["ingress tcp 22 from prefix-list pl-admin-4 (both families): prefix-list pl-admin-4 is "
                       "unknown (what was read holds no entries for it), so what it admits cannot be checked; dump "
                       "the prefix lists with their entries too (docs/brownfield.md, or audit --live)"
                       for _ in ("control-plane", "etcd", "worker")]
    assert {f.flow for f in result.findings if f.severity == "missing"} == {
        f"{role}-in-tcp-22-from-{cidr}-v4" for role in ("control-plane", "etcd", "worker")
        for cidr in ("198.51.100.0-24", "203.0.113.7-32")}


def test_the_regions_prefix_lists_are_counted_besides_this_stacks(aws):
    """`RegionPrefixLists` (audit --live): EC2's 'Prefix lists per Region' counts every list of
    the account; this stack's are known by the names its AWS module gives them."""
    ours = sorted(prefix_list_names(aws.cloud_rules, aws.stack.cluster.name, aws.stack.groups_per_role))
    assert len(ours) == 6 and "prod-set-admin-v4" in ours  # IPv4 only, one group per role: one list per set
    region = [{"PrefixListId": "pl-ours", "PrefixListName": ours[0]},
              *({"PrefixListId": f"pl-other-{i}", "PrefixListName": f"team-{i}"} for i in range(3))]
    doc = {**aws_doc(aws), "RegionPrefixLists": region}
    _, state, mapping = audit_of(aws, doc)
    assert state.region_lists == {r["PrefixListId"]: r["PrefixListName"] for r in region}
    assert headroom(state, mapping, aws.stack, aws.cloud_rules)[-1] == (
        "prefix lists in the Region: 4 customer-managed live, 1 of them this stack's; with this stack's 6, 9 of 100 "
        "(91 left); kubeports:cluster.quota.awsUsedPrefixLists is 0, the Region holds 3 besides this stack's: set it "
        "to 3")
    told = aws.stack.model_copy(update={"cluster": aws.stack.cluster.model_copy(update={
        "quota": QuotaSettings.model_validate({"awsUsedPrefixLists": 3, "awsPrefixListsPerRegion": 9})})})
    assert headroom(state, mapping, told, aws.cloud_rules)[-1] == (
        "prefix lists in the Region: 4 customer-managed live, 1 of them this stack's; with this stack's 6, 9 of 9 "
        "(0 left)")
    failed = audit_of(aws, {**aws_doc(aws), "RegionPrefixListsError": "AccessDenied: not allowed"})
    assert failed[0].notes == ["the Region's prefix lists could not be read (AccessDenied: not allowed): the per-Region "
                               "count (kubeports:cluster.quota.awsUsedPrefixLists) is not shown"]
    without = audit_of(aws, aws_doc(aws))  # a dump without the Region's listing: no such line
    assert without[1].region_lists is None
    assert not any(line.startswith("prefix lists") for line in headroom(without[1], without[2], aws.stack,
                                                                          aws.cloud_rules))


@pytest.mark.parametrize(("text", "message"), [
    ('{"RegionPrefixLists": [\n {"PrefixListName": "x"}\n]}\n',
     "dump.json:2: RegionPrefixLists[0]: expected a prefix list with PrefixListId"),
    ('{"RegionPrefixLists": {"PrefixListId": "pl-1"}}\n', "dump.json:1: RegionPrefixLists: expected a list of prefix lists"),
    ('{"address_groups": [\n {"name": "x", "addresses": []}\n]}\n',
     "dump.json:2: address_groups[0]: expected an address group with an id"),
    ('{"address_groups": [\n {"id": "ag", "name": "x"}\n]}\n', "dump.json:2: address_groups[0].addresses: missing"),
    ('{"address_groups": [\n {"id": "ag", "addresses": ["10.0.0.300/32"]}\n]}\n',
     "dump.json:2: address_groups[0].addresses[0]: not a CIDR: '10.0.0.300/32'"),
    ('{"PrefixLists": [\n {"PrefixListId": "pl-1", "AddressFamily": "ipv4"}\n]}\n',
     "dump.json:2: PrefixLists[0].AddressFamily: must be IPv4 or IPv6, not 'ipv4'"),
    ('{"PrefixLists": [\n {"PrefixListId": "pl-1", "AddressFamily": "IPv4",\n  "Entries": [{"Cidr": "x"}]}\n]}\n',
     "dump.json:3: PrefixLists[0].Entries[0].Cidr: not a CIDR: 'x'"),
    ('{"PrefixLists": [\n {"AddressFamily": "IPv4"}\n]}\n',
     "dump.json:2: PrefixLists[0]: expected a prefix list with PrefixListId"),
])
def test_malformed_sets_are_one_line_each(text, message):
    with pytest.raises(KubeportsError) as err:
        parse_text(text, "dump.json")
    assert str(err.value) == message


def test_set_documents_read_alone_and_merge_with_the_groups(dev):
    doc = neutron_doc(dev)
    from kubeports.core.live import parse_dump
    from kubeports.core.yamlsrc import load_text
    groups, _ = load_text(json.dumps({"security_groups": doc["security_groups"]}), "groups.json")
    sets, _ = load_text(json.dumps({"address_groups": doc["address_groups"]}), "sets.json")
    state = parse_dump(sets, parse_dump(groups))
    assert sorted(state.sets) == sorted(g["id"] for g in doc["address_groups"])
    assert state.sets["ag-admin-4"].where == "sets.json:1"
    aws_state = parse_text(json.dumps({"PrefixLists": [{"PrefixListId": "pl-1", "AddressFamily": "IPv6",
                                                        "MaxEntries": 5, "Entries": [{"Cidr": "2001:DB8::7/48"}]}]}),
                           "pl.json")
    assert aws_state.cloud == "aws" and aws_state.sets["pl-1"] == LiveSet(
        "pl-1", "prefix-list", "", "IPv6", ("2001:db8::/48",), 5, "pl.json:1")
