"""kubeports.core.audit and kubeports.core.live: hand-made groups, the way people get them
wrong when they copy the seed tables by hand, audited by what their packets admit.

The "correct" groups are written here from the resolved rules by a small Neutron/AWS
rendering of this test's own (`neutron_dump`, `aws_dump`), independent of the cloud
modules; each case then breaks them the way a person would.
"""
from __future__ import annotations

import json

import pytest

from kubeports.core.audit import EXIT_CLEAN, EXIT_CRITICAL, EXIT_FINDINGS, SEVERITIES, audit, headroom, map_roles
from kubeports.core.errors import KubeportsError
from kubeports.core.live import OSC_ICMP_NOTE, parse_text
from kubeports.render.audit import as_json, as_markdown, as_text


def group_id(role: str) -> str:
    return f"sg-{role}"


def neutron_rows(project) -> list[dict]:
    rows = []
    for i, r in enumerate(project.resolution.rules):
        if r.role == "load-balancer":
            continue
        rows.append({"id": f"r{i}", "security_group_id": group_id(r.role), "direction": r.direction,
                     "ethertype": r.ethertype, "protocol": None if r.protocol == "all" else r.protocol,
                     "port_range_min": r.from_port, "port_range_max": r.to_port,
                     "remote_ip_prefix": r.peer if r.peer_kind == "cidr" else None,
                     "remote_group_id": group_id(r.peer) if r.peer_kind == "role" else None,
                     "description": r.description})
    return rows


def neutron_dump(project, rows: list[dict], tagged: bool = True) -> str:
    roles = [r for r in project.stack.cluster.roles if r != "load-balancer"]
    return json.dumps({"security_groups": [
        {"id": group_id(role), "name": f"hand-made-{role}",
         "tags": [f"kubeports:role={role}"] if tagged else [],
         "security_group_rules": [row for row in rows if row["security_group_id"] == group_id(role)]}
        for role in roles]}, indent=1)


def run(project, text: str, explicit: dict | None = None):
    state = parse_text(text, "dump.json")
    roles = [r for r in project.stack.cluster.roles if not (r == "load-balancer" and project.stack.cloud == "openstack")]
    mapping = map_roles(state, roles, explicit or {}, project.stack.cluster.name)
    return audit(project.stack, project.catalog, project.resolution.rules, state, mapping), state, mapping


def summary(result) -> list[tuple[str, str, str]]:
    return [(f.severity, f.role, f.flow or f.live.split(" at ")[0]) for f in result.findings]


def drop(rows, **match):
    return [r for r in rows if not all(r.get(k) == v for k, v in match.items())]


def test_groups_that_match_the_documents_are_clean(projects):
    project = projects["dev"]
    result, state, mapping = run(project, neutron_dump(project, neutron_rows(project)))
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    assert mapping == {"control-plane": "sg-control-plane", "worker": "sg-worker"}
    assert headroom(state, mapping, project.stack) == [
        f"Neutron security group rules: {len(state.rules)} of 100 used in what was read ({100 - len(state.rules)} left)"]


EXTRA_ANY_PORT = {"id": "any", "security_group_id": "sg-worker", "direction": "ingress", "ethertype": "IPv4",
                  "protocol": "tcp", "port_range_min": None, "port_range_max": None, "remote_group_id": "sg-control-plane"}
KUBELET_WORLD = {"id": "kubelet-world", "security_group_id": "sg-worker", "direction": "ingress", "ethertype": "IPv4",
                 "protocol": "tcp", "port_range_min": 10250, "port_range_max": 10250, "remote_ip_prefix": "0.0.0.0/0"}


def keys(project, role, **match) -> list[tuple[str, str, str]]:
    """The required rules a deletion takes away: what the audit must call missing."""
    return [("missing", role, r.key) for r in project.resolution.rules
            if r.role == role and all(getattr(r, k) == v for k, v in match.items())]


def under_world(rows, role) -> list[tuple[str, str, str]]:
    """Rules of `role` that an any-port rule from 0.0.0.0/0 on tcp 10250 holds: shadowed."""
    return [("shadowed", role, r["id"]) for r in rows if r["security_group_id"] == group_id(role)
            and r["direction"] == "ingress" and r["protocol"] == "tcp" and r["ethertype"] == "IPv4"
            and r["port_range_min"] == 10250 and r["port_range_max"] == 10250 and r["id"] != "kubelet-world"]


@pytest.mark.parametrize("case", ["a missing port", "NodePort TCP without UDP", "kubelet open to the world",
                                  "an any-port rule between nodes", "a duplicate"])
def test_hand_made_mistakes_give_exact_findings(projects, case):
    project = projects["dev"]
    rows = neutron_rows(project)
    if case == "a missing port":  # the API port from workers forgotten
        rows = drop(rows, security_group_id="sg-control-plane", port_range_min=6443, remote_group_id="sg-worker")
        expected, code = keys(project, "control-plane", from_port=6443, peer="worker"), EXIT_FINDINGS
    elif case == "NodePort TCP without UDP":
        rows = drop(rows, security_group_id="sg-worker", protocol="udp", port_range_min=30000)
        expected, code = keys(project, "worker", protocol="udp", from_port=30000), EXIT_FINDINGS
    elif case == "kubelet open to the world":
        rows = rows + [KUBELET_WORLD]
        expected = [("critical", "worker", "kubelet-world"), ("over-open", "worker", "kubelet-world"),
                    *under_world(rows, "worker")]
        code = EXIT_CRITICAL
    elif case == "an any-port rule between nodes":
        rows = rows + [EXTRA_ANY_PORT]
        held = [("shadowed", "worker", r["id"]) for r in rows if r["security_group_id"] == "sg-worker"
                and r["direction"] == "ingress" and r["protocol"] == "tcp" and r["ethertype"] == "IPv4"
                and r["remote_group_id"] == "sg-control-plane" and r["id"] != "any"]
        expected, code = [("over-open", "worker", "any"), *held], EXIT_FINDINGS
    else:
        twin = next(r for r in rows if r["port_range_min"] == 10250 and r["security_group_id"] == "sg-worker"
                    and r["ethertype"] == "IPv4")
        rows = rows + [dict(twin, id="r-again")]
        # an identical pair is reported once, on the later id (the same for a live read and a dump)
        expected, code = [("duplicate", "worker", max("r-again", twin["id"]))], EXIT_FINDINGS
    assert len(expected) >= 1
    result, _, _ = run(project, neutron_dump(project, rows))
    assert summary(result) == sorted(expected, key=lambda f: (SEVERITIES.index(f[0]), f[1], f[2] if f[0] == "missing"
                                                              else "", f[2]))
    assert result.exit_code == code


def test_a_finding_names_the_document_line_and_url(projects):
    project = projects["dev"]
    rows = drop(neutron_rows(project), security_group_id="sg-control-plane", port_range_min=6443, remote_group_id="sg-worker")
    result, _, _ = run(project, neutron_dump(project, rows))
    first = result.findings[0]
    assert first.message == "Kubernetes API server: control-plane-in-tcp-6443-from-worker-v4 is not admitted"
    assert first.sources == ("portspecs/kubernetes.yaml:26",)
    assert first.urls == ("https://kubernetes.io/docs/reference/networking/ports-and-protocols/",)


def test_a_range_split_over_two_rules_is_admitted_and_a_partial_gap_is_named(projects):
    project = projects["dev"]
    rows = neutron_rows(project)
    nodeport = next(r for r in rows if r["protocol"] == "tcp" and r["port_range_min"] == 30000 and r["ethertype"] == "IPv4")
    rows.remove(nodeport)
    rows += [dict(nodeport, id="a", port_range_max=31000), dict(nodeport, id="b", port_range_min=31001)]
    assert run(project, neutron_dump(project, rows))[0].findings == []
    rows = [r for r in rows if r["id"] != "b"] + [dict(nodeport, id="b", port_range_min=31002)]
    result = run(project, neutron_dump(project, rows))[0]
    assert [f.message for f in result.findings] == [
        f"{nodeport['description']}: {key} is not admitted (not admitted: 31001)"
        for key in [r.key for r in project.resolution.rules if r.role == "worker" and r.protocol == "tcp"
                    and r.from_port == 30000 and r.ethertype == "IPv4" and r.peer == nodeport["remote_ip_prefix"]]]


def test_over_open_says_how_wide(projects):
    project = projects["dev"]
    wide = {"id": "wide", "security_group_id": "sg-worker", "direction": "ingress", "ethertype": "IPv4",
            "protocol": "udp", "port_range_min": 53, "port_range_max": 53, "remote_ip_prefix": "10.0.0.0/8"}
    result = run(project, neutron_dump(project, neutron_rows(project) + [wide]))[0]
    assert [f.message for f in result.findings] == [
        "ingress udp 53 from cidr 10.0.0.0/8 (IPv4): admits 53 that no document requires from this peer; "
        "peer 10.0.0.0/8 (16,777,216 addresses)"]


def test_groups_without_tags_need_a_map_and_the_error_lists_what_was_found(projects):
    project = projects["dev"]
    text = neutron_dump(project, neutron_rows(project), tagged=False)
    with pytest.raises(KubeportsError) as err:
        run(project, text)
    assert str(err.value) == ("--map:1: (audit): no group for role(s) control-plane, worker: tag them or give "
                              "--map ROLE=GROUP; groups found: sg-control-plane (hand-made-control-plane), "
                              "sg-worker (hand-made-worker)")
    result = run(project, text, {"control-plane": "hand-made-control-plane", "worker": "sg-worker"})[0]
    assert result.findings == []
    with pytest.raises(KubeportsError, match="'nope': no such group in what was read"):
        run(project, text, {"worker": "nope"})


def test_the_openstack_cli_listing_is_read_and_its_icmp_blindness_noted(projects):
    project = projects["dev"]
    rows = []
    for row in neutron_rows(project):
        ports = "" if row["port_range_min"] is None or row["protocol"] in ("icmp", "icmpv6") else \
            f"{row['port_range_min']}:{row['port_range_max']}"
        rows.append({"ID": row["id"], "IP Protocol": row["protocol"], "Ethertype": row["ethertype"],
                     "IP Range": row["remote_ip_prefix"], "Port Range": ports, "Direction": row["direction"],
                     "Remote Security Group": row["remote_group_id"], "Remote Address Group": None,
                     "Security Group": row["security_group_id"]})
    mapping = {"control-plane": "sg-control-plane", "worker": "sg-worker"}
    result = run(project, json.dumps(rows, indent=1), mapping)[0]
    assert result.findings == [] and result.notes == []
    echo = {"ID": "echo", "IP Protocol": "icmp", "Ethertype": "IPv4", "IP Range": "198.51.100.0/24", "Port Range": "",
            "Direction": "ingress", "Remote Security Group": None, "Remote Address Group": None,
            "Security Group": "sg-worker"}
    result = run(project, json.dumps([*rows, echo], indent=1), mapping)[0]
    assert result.notes == [OSC_ICMP_NOTE]
    assert [f.message for f in result.findings] == [  # a typed rule in the cloud, every type as the listing shows it
        "ingress icmp from cidr 198.51.100.0/24 (IPv4): admits all that no document requires from this peer; "
        "peer 198.51.100.0/24 (256 addresses)"]


def aws_dump(project, extra_perms: list[dict] | None = None) -> str:
    groups: dict[str, dict] = {}
    for role in project.stack.cluster.roles:
        groups[role] = {"GroupId": group_id(role), "GroupName": role, "Tags": [{"Key": "kubeports/role", "Value": role}],
                        "IpPermissions": [], "IpPermissionsEgress": []}
    seen = set()
    for r in project.resolution.rules:
        perm = {"IpProtocol": "-1" if r.protocol == "all" else r.protocol,
                "FromPort": -1 if r.from_port is None else r.from_port, "ToPort": -1 if r.to_port is None else r.to_port}
        if r.peer_kind == "role":
            ident = (r.role, r.direction, r.protocol, r.from_port, r.to_port, r.peer)
            if ident in seen:
                continue  # AWS: one group reference serves both families
            seen.add(ident)
            perm["UserIdGroupPairs"] = [{"GroupId": group_id(r.peer)}]
        elif r.ethertype == "IPv4":
            perm["IpRanges"] = [{"CidrIp": r.peer}]
        else:
            perm["Ipv6Ranges"] = [{"CidrIpv6": r.peer}]
        key = "IpPermissions" if r.direction == "ingress" else "IpPermissionsEgress"
        groups[r.role][key].append(perm)
    for perm in extra_perms or []:
        groups["worker"]["IpPermissions"].append(perm)
    return json.dumps({"SecurityGroups": list(groups.values())}, indent=1)


def test_aws_groups_by_packets_with_group_references_serving_both_families(projects):
    project = projects["prod-aws"]
    assert run(project, aws_dump(project))[0].findings == []
    wide = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    result = run(project, aws_dump(project, [wide]))[0]
    assert [f.severity for f in result.findings if f.severity != "shadowed"] == ["critical", "over-open"]
    shadowed = [f.message for f in result.findings if f.severity == "shadowed"]
    assert shadowed and all(" is inside ingress all protocols from cidr 0.0.0.0/0 (IPv4)" in m for m in shadowed)
    assert result.exit_code == EXIT_CRITICAL


@pytest.mark.parametrize(("text", "message"), [
    ("{}\n", "dump.json:1: (document): not a security group dump; expected `openstack security group rule list --long "
             "-f json`, Neutron API JSON (security groups, rules, address groups), `aws ec2 describe-security-groups`, "
             "`describe-security-group-rules` or `describe-managed-prefix-lists`"),
    ('{"security_group_rules": [\n {"direction": "inbound", "security_group_id": "x"}\n]}\n',
     "dump.json:2: security_group_rules[0]: direction must be ingress or egress, not 'inbound'"),
    ('{"security_group_rules": [\n {"direction": "ingress"}\n]}\n',
     "dump.json:2: security_group_rules[0].security_group_id: missing"),
    ('{"security_group_rules": [\n {"direction": "ingress", "security_group_id": "x",\n "port_range_min": "eighty"}\n]}\n',
     "dump.json:2: security_group_rules[0]: not a port number: 'eighty'"),
    ('{"SecurityGroups": [\n {"GroupId": "sg-1", "IpPermissions": [\n  {"FromPort": 1}\n ]}\n]}\n',
     "dump.json:3: SecurityGroups[0].IpPermissions[0]: expected an IpPermission with IpProtocol"),
    ('{"SecurityGroupRules": [\n {"IpProtocol": "tcp"}\n]}\n',
     "dump.json:2: SecurityGroupRules[0]: expected a security group rule with GroupId"),
    ('{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,\n'
     ' "IpRanges": [{"CidrIp": "10.0.0.300/8"}]}]}]}\n',
     "dump.json:1: SecurityGroups[0].IpPermissions[0]: malformed peer: '10.0.0.300/8' does not appear to be an IPv4 "
     "or IPv6 network"),
    ("{oops", "dump.json:1: (syntax): YAML syntax error: expected ',' or '}', but got '<stream end>'"),
])
def test_malformed_dumps_are_one_line_each_never_a_traceback(text, message):
    with pytest.raises(KubeportsError) as err:
        parse_text(text, "dump.json")
    assert str(err.value) == message


def test_aws_rule_listing_and_group_listing_read_alike():
    rules = {"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "w", "Tags": [{"Key": "kubeports/role", "Value": "worker"}]}],
             "SecurityGroupRules": [{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": False,
                                     "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "198.51.100.0/24"},
                                    {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-1", "IsEgress": True,
                                     "IpProtocol": "-1", "FromPort": -1, "ToPort": -1,
                                     "ReferencedGroupInfo": {"GroupId": "sg-2"}}]}
    state = parse_text(json.dumps(rules), "rules.json")
    assert [(r.rule_id, r.direction, r.ethertype, r.protocol, r.from_port, r.peer_kind, r.peer) for r in state.rules] == [
        ("sgr-1", "ingress", "IPv4", "tcp", 22, "cidr", "198.51.100.0/24"),
        ("sgr-2", "egress", "any", "all", None, "group", "sg-2")]
    assert state.groups["sg-1"].role == "worker"


def test_reports_escape_what_came_from_the_cloud(projects):
    project = projects["dev"]
    hostile = dict(KUBELET_WORLD, id="x</details><!--|*")
    result = run(project, neutron_dump(project, neutron_rows(project) + [hostile]))[0]
    text = as_markdown(result, [], "audit")
    assert "</details>" not in text and "<!--" not in text and "x&lt;/details&gt;&lt;\\!--\\|\\*" in text
    assert json.loads(as_json(result, []))["exit_code"] == EXIT_CRITICAL
    shadowed = sum(1 for f in result.findings if f.severity == "shadowed")
    assert as_text(result, []).splitlines()[0] == (
        f"audit (openstack): {result.checked_rules} required rules against {result.live_rules} live rules in 2 groups: "
        f"1 critical, 1 over-open, {shadowed} shadowed")


def test_openstacksdk_names_the_family_ether_type_and_it_is_read():
    """openstacksdk's `to_dict()` says `ether_type` where the API says `ethertype`."""
    rule = {"id": "r6", "security_group_id": "sg-1", "direction": "ingress", "ether_type": "IPv6", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "2001:db8::/32"}
    assert [(r.ethertype, r.peer) for r in parse_text(json.dumps([rule]), "sdk.json").rules] == [("IPv6", "2001:db8::/32")]


def test_aws_groups_and_rules_dumps_together_hold_each_rule_once(tmp_path):
    from kubeports.core.live import load_dumps

    perm = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "w", "IpPermissions": [perm]}]}))
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"SecurityGroupRules": [{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1",
                                                         "IsEgress": False, "IpProtocol": "tcp", "FromPort": 22,
                                                         "ToPort": 22, "CidrIpv4": "198.51.100.0/24"}]}))
    assert [r.rule_id for r in load_dumps([str(groups), str(rules)]).rules] == ["sgr-1"]
    assert [r.rule_id for r in load_dumps([str(groups)]).rules] == [""]  # alone, the permissions are the rules


def test_several_groups_tagged_for_one_role_are_refused_not_guessed(projects):
    project = projects["dev"]
    doc = json.loads(neutron_dump(project, neutron_rows(project)))
    doc["security_groups"].append({"id": "sg-worker-2", "name": "elsewhere", "tags": ["kubeports:role=worker"],
                                   "security_group_rules": []})
    with pytest.raises(KubeportsError) as err:
        run(project, json.dumps(doc))
    assert str(err.value) == ("--map:1: worker: several groups are tagged for this role: sg-worker, sg-worker-2; "
                              "give --map worker=GROUP")
    assert run(project, json.dumps(doc), {"worker": "sg-worker"})[0].findings == []


def test_neutron_quota_is_counted_in_the_mapped_groups_project(projects):
    """An admin's listing holds other projects' groups: they do not count against this one."""
    project = projects["dev"]
    doc = json.loads(neutron_dump(project, neutron_rows(project)))
    for group in doc["security_groups"]:
        group["project_id"] = "p1"
    doc["security_groups"].append({"id": "other", "name": "default", "project_id": "p2", "security_group_rules": [
        dict(KUBELET_WORLD, id=f"o{i}", security_group_id="other", port_range_min=i, port_range_max=i)
        for i in range(1, 120)]})
    result, state, mapping = run(project, json.dumps(doc))
    mine = len(state.rules) - 119
    assert headroom(state, mapping, project.stack) == [
        f"Neutron security group rules: {mine} of 100 used in project p1 ({100 - mine} left)"]
    assert [f for f in result.findings if f.severity == "quota"] == []


def test_the_openstack_cli_group_show_is_read_with_its_lines(projects, tmp_path):
    """`openstack security group show -f json GROUP` (one file per group, empty fields dropped)."""
    from kubeports.core.live import load_dumps

    project = projects["dev"]
    paths = []
    for group in json.loads(neutron_dump(project, neutron_rows(project)))["security_groups"]:
        rules = [{k: v for k, v in r.items() if v is not None and k != "security_group_id"}
                 for r in group.pop("security_group_rules")]
        path = tmp_path / f"{group['id']}.json"
        path.write_text(json.dumps({**group, "rules": rules}, indent=1))
        paths.append(str(path))
    state = load_dumps(paths)
    mapping = map_roles(state, ["control-plane", "worker"], {}, "dev")
    assert audit(project.stack, project.catalog, project.resolution.rules, state, mapping).findings == []
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "sg-x", "name": "x",\n "rules": [\n  {"direction": "sideways"}\n]}\n')
    with pytest.raises(KubeportsError) as err:
        load_dumps([str(broken)])
    assert str(err.value) == f"{broken}:3: rules[0]: direction must be ingress or egress, not 'sideways'"
