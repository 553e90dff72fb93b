"""Several groups per role (kubeports:aws.groupsPerRole) on moto's EC2: prod-aws with four
50-entry client sets as prefix lists and four groups per role is applied in Pulumi's step
order and read back; `audit --live`'s reader finds it clean, each group's count within the
default quota; a node launched with its role's groups carries all four; a port added
between groups creates its two rules and nothing else. moto does not limit the groups of an
interface (`moto-gap-13`, probed here): the preflight's count of them is not proven on moto."""
from __future__ import annotations

import json
import os

import pytest

from kubeports.core.audit import EXIT_CLEAN, audit, headroom, map_roles
from kubeports.core.live import parse_text
from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.core.quota import prefix_list_names
from tests.plans import variant
from tests.realapi.apply import MOTO_GAP_7, MOTO_GAP_9, MOTO_GAP_10
from tests.realapi.conftest import aws_applier
from tests.realapi.stacks import plan_json
from tests.realapi.test_audit_live import aws_chain  # noqa: F401 - fixture: boto3's chain pointed at moto

PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
CLIENT_SETS = ("api-clients", "nodeport-clients", "admin", "ingress-clients")
MOTO_GAP_13 = ("moto-gap-13: moto attaches more than 5 security groups to one interface (real EC2: "
               "SecurityGroupsPerInterfaceLimitExceeded at the default quota)")


def _spread(extra_from: str | None = None):
    def edit(config):
        for n, name in enumerate(CLIENT_SETS):
            config["kubeports:cluster"]["cidrs"][name] = [f"100.{64 + n}.{i}.0/24" for i in range(50)]
        config["kubeports:aws"].update(prefixLists=True, groupsPerRole=4)
        if extra_from:
            config["kubeports:cluster"].setdefault("extraFlows", []).append({
                "name": "node-metrics", "purpose": "node exporter, scraped", "protocol": "tcp", "ports": 9100,
                "to": ["worker"], "from": [extra_from]})
    return edit


def _doc(path):
    import yaml
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _role_groups(ec2, vpc: str, role: str) -> list[str]:
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                  {"Name": "tag:kubeports/role", "Values": [role]}])["SecurityGroups"]
    number = {g["GroupId"]: int(next((t["Value"] for t in g.get("Tags", []) if t["Key"] == "kubeports/group"), 1))
              for g in found}
    return sorted(number, key=number.get)


def test_four_groups_per_role_apply_read_back_and_audit_clean(ec2, aws_chain, tmp_path):  # noqa: F811
    from kubeports.live.aws import read_groups
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stack = variant(tmp_path / "a", PROD_AWS, "prod", _spread())
    grown = variant(tmp_path / "b", PROD_AWS, "prod", _spread("control-plane"))
    project = load_project(stack)
    applier = aws_applier(ec2, [_doc(stack)])
    first = applier.apply(plan_json(stack))
    assert [str(e) for e in first.errors] == [] and first.skipped == []
    assert applier.read_back([plan_json(stack)]) == []
    vpc = applier.external[_doc(stack)["config"]["kubeports:aws"]["vpcId"]]

    state = parse_text(json.dumps(read_groups(vpc), default=str), "live aws")
    mapping = map_roles(state, list(project.stack.cluster.roles), {}, project.stack.cluster.name)
    result = audit(project.stack, project.catalog, project.resolution.rules, state, mapping, project.cloud_rules)
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    *lines, region = headroom(state, mapping, project.stack, project.cloud_rules)
    assert len(lines) == 3 * 4 * 4  # three roles, four groups each, two directions x two families
    ours = len(prefix_list_names(project.cloud_rules, "prod", 4))
    assert ours >= 4 * 4  # four 50-entry sets, each split over the four groups
    assert region == (f"prefix lists in the Region: {ours} customer-managed live, {ours} of them this stack's; with "
                      f"this stack's {ours}, {ours} of 100 ({100 - ours} left)")
    assert max(int(line.split(": ")[1].split(" of ")[0]) for line in lines) <= 60
    assert max(int(line.split(": ")[1].split(" of ")[0]) for line in lines) >= 50  # a 50-entry list in a group

    change = applier.apply(plan_json(grown))
    assert [str(e) for e in change.errors] == []
    assert sorted(change.steps) == ["create prod-control-plane-out-tcp-9100-to-worker",
                                    "create prod-worker-in-tcp-9100-from-control-plane"]
    assert applier.read_back([plan_json(grown)]) == []
    assert applier.driver.gaps <= {MOTO_GAP_7, MOTO_GAP_9, MOTO_GAP_10}


def test_a_node_launched_with_its_roles_groups_carries_them_all(ec2, tmp_path):
    stack = variant(tmp_path, PROD_AWS, "prod", _spread())
    applier = aws_applier(ec2, [_doc(stack)])
    assert [str(e) for e in applier.apply(plan_json(stack)).errors] == []
    vpc = applier.external[_doc(stack)["config"]["kubeports:aws"]["vpcId"]]
    groups = _role_groups(ec2, vpc, "worker")
    assert len(groups) == 4
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet,
                             SecurityGroupIds=groups)["Instances"][0]
    assert sorted(g["GroupId"] for g in made["SecurityGroups"]) == sorted(groups)


def test_moto_gap_13_groups_per_interface(ec2):
    from botocore.exceptions import ClientError
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    groups = [ec2.create_security_group(GroupName=f"probe-six-{n}", Description="probe", VpcId=vpc)["GroupId"]
              for n in range(6)]
    try:
        ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1, MaxCount=1,
                          SubnetId=subnet, SecurityGroupIds=groups)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "SecurityGroupsPerInterfaceLimitExceeded"
        return
    pytest.skip(MOTO_GAP_13)


def _api_clients_200(added: str | None = None):
    """prod-aws with 200 API clients as prefix lists over five groups: the set is split (core/shards.py)."""
    def edit(config):
        config["kubeports:cluster"]["cidrs"]["api-clients"] = (
            [f"100.64.{i // 250}.{i % 250 + 1}/32" for i in range(200)] + ([added] if added else []))
        config["kubeports:aws"].update(prefixLists=True, groupsPerRole=5)
    return edit


def test_a_200_entry_set_split_over_five_groups_applies_audits_clean_and_grows_one_list(ec2, aws_chain,  # noqa: F811
                                                                                         tmp_path):
    from kubeports.live.aws import read_groups
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stack = variant(tmp_path / "a", PROD_AWS, "prod", _api_clients_200())
    grown = variant(tmp_path / "b", PROD_AWS, "prod", _api_clients_200("198.51.100.7/32"))
    project = load_project(stack)  # within the default quota: the preflight passes
    applier = aws_applier(ec2, [_doc(stack)])
    first = applier.apply(plan_json(stack))
    assert [str(e) for e in first.errors] == [] and first.skipped == []
    assert applier.read_back([plan_json(stack)]) == []
    ids = [rid for name, (_, rid) in applier.state.items() if name.startswith("prod-set-api-clients-v4-part-")]
    lists = ec2.describe_managed_prefix_lists(PrefixListIds=ids)["PrefixLists"]
    held = [e["Cidr"] for pl in lists for e in ec2.get_managed_prefix_list_entries(
        PrefixListId=pl["PrefixListId"], MaxResults=100)["Entries"]]
    assert len(lists) == 5 and sorted(held) == sorted(f"100.64.{i // 250}.{i % 250 + 1}/32" for i in range(200))
    assert all(pl["MaxEntries"] <= 54 for pl in lists)

    vpc = applier.external[_doc(stack)["config"]["kubeports:aws"]["vpcId"]]
    state = parse_text(json.dumps(read_groups(vpc), default=str), "live aws")
    mapping = map_roles(state, list(project.stack.cluster.roles), {}, project.stack.cluster.name)
    result = audit(project.stack, project.catalog, project.resolution.rules, state, mapping, project.cloud_rules)
    assert result.findings == [] and result.exit_code == EXIT_CLEAN
    *lines, region = headroom(state, mapping, project.stack, project.cloud_rules)
    counts = [int(line.split(": ")[1].split(" of ")[0]) for line in lines]
    assert max(counts) <= 60 and sum(counts) > 200  # the live groups, counted with the lists' max entries
    ours = len(prefix_list_names(project.cloud_rules, "prod", 5))
    assert ours >= 5 + 5  # api-clients in five parts, the other sets in as many parts as hold an entry
    assert region == (f"prefix lists in the Region: {ours} customer-managed live, {ours} of them this stack's; with "
                      f"this stack's {ours}, {ours} of 100 ({100 - ours} left)")  # moto's AWS-managed lists not counted

    change = applier.apply(plan_json(grown))
    assert [str(e) for e in change.errors] == []
    assert len(change.steps) == 1 and change.steps[0].startswith("update prod-set-api-clients-v4-part-")
    assert applier.read_back([plan_json(grown)]) == []
    assert applier.driver.gaps <= {MOTO_GAP_7, MOTO_GAP_9, MOTO_GAP_10}
