"""The policy pack on CIDR sets (issue 19): a rule naming an address group / prefix list is
judged by the entries of that set in the same stack, found by its id or URN."""
from __future__ import annotations

import pytest

from tests.policy.test_policy import UNKNOWN_STRING_VALUE, kp, stack_violations

SETS = "kubeports-control-plane-ports-not-public-through-sets"


def group_set(cloud: str, ident: str, cidrs) -> tuple[str, dict]:
    if cloud == "openstack":
        return kp.OPENSTACK_ADDRESS_GROUP, {"id": ident, "name": ident, "addresses": cidrs}
    entries = cidrs if cidrs == UNKNOWN_STRING_VALUE else [{"cidr": c} for c in cidrs]
    return kp.AWS_PREFIX_LIST, {"id": ident, "name": ident, "addressFamily": "IPv4", "maxEntries": 5,
                                "entries": entries}


def set_rule(cloud: str, ident: str, low: int = 10250, high: int = 10250, protocol: str = "tcp") -> tuple[str, dict]:
    if cloud == "openstack":
        return kp.OPENSTACK_RULE, {"direction": "ingress", "ethertype": "IPv4", "protocol": protocol,
                                   "portRangeMin": low, "portRangeMax": high, "securityGroupId": "sg-1",
                                   "remoteAddressGroupId": ident, "description": "d"}
    return kp.AWS_INGRESS_RULE, {"ipProtocol": protocol, "fromPort": low, "toPort": high, "securityGroupId": "sg-1",
                                 "prefixListId": ident, "description": "d"}


CLOUDS = ("openstack", "aws")


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(("cidrs", "ports", "expected"), [
    (["198.51.100.0/24", "0.0.0.0/0"], (10250, 10250),
     ["r1: tcp 10250 from 0.0.0.0/0 (an entry of set-1) reaches kubelet 10250"]),
    (["0.0.0.0/1"], (2379, 2380), ["r1: tcp 2379-2380 from 0.0.0.0/1 (an entry of set-1) reaches etcd 2379-2381"]),
    (["198.51.100.0/24", "0.0.0.0/0"], (443, 443), []),  # not a control port
    (["198.51.100.0/24", "10.0.0.0/8"], (10250, 10250), []),  # narrow entries
])
def test_a_set_holding_a_public_prefix_on_a_control_port(cloud, cidrs, ports, expected):
    found = stack_violations([group_set(cloud, "set-1", cidrs), set_rule(cloud, "set-1", *ports)])
    assert [m for m in found if "an entry of" in m] == expected


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_entries_of_a_set_count_in_the_groups_union(cloud):
    found = stack_violations([group_set(cloud, "set-1", ["10.0.0.0/8", "11.0.0.0/8"]), set_rule(cloud, "set-1")])
    assert found == ["group sg-1: kubelet 10250 is reachable from 10.0.0.0/8 + 11.0.0.0/8, together 10.0.0.0/7: public"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_set_is_found_by_its_urn_too(cloud):
    kind, props = group_set(cloud, "set-1", ["0.0.0.0/0"])
    del props["id"]  # stack_violations names the i-th resource `...::r{i}`
    urn = f"urn:pulumi:test::kubeports::{kind}::r0"
    found = stack_violations([(kind, props), set_rule(cloud, urn)])
    assert found == [f"r1: tcp 10250 from 0.0.0.0/0 (an entry of {urn}) reaches kubelet 10250"]


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("unknown", ["reference", "entries", "absent"])
def test_an_unknown_or_foreign_set_is_skipped(cloud, unknown):
    cidrs = UNKNOWN_STRING_VALUE if unknown == "entries" else ["0.0.0.0/0"]
    ref = UNKNOWN_STRING_VALUE if unknown == "reference" else "set-1" if unknown != "absent" else "pl-elsewhere"
    assert stack_violations([group_set(cloud, "set-1", cidrs), set_rule(cloud, ref)]) == []


def test_a_rule_naming_an_address_group_is_no_world_rule_by_itself():
    """The resource policy cannot see the set (another resource): only the stack policy judges it."""
    from tests.policy.test_policy import violations
    assert violations(*set_rule("openstack", "set-1")) == {}


def test_the_parts_of_a_split_set_on_groups_one_node_carries_are_public_together():
    """kubeports:aws.groupsPerRole splits a set into one prefix list per group (core/shards.py):
    each part alone is narrow, the parts on the groups one instance carries are the set."""
    part_1, part_2 = group_set("aws", "pl-1", ["10.0.0.0/8"]), group_set("aws", "pl-2", ["11.0.0.0/8"])
    rule_1, rule_2 = set_rule("aws", "pl-1"), set_rule("aws", "pl-2")
    rule_2[1]["securityGroupId"] = "sg-2"
    apart = stack_violations([part_1, part_2, rule_1, rule_2])
    assert apart == []  # two groups no interface is known to carry together: each alone is narrow
    together = stack_violations([part_1, part_2, rule_1, rule_2,
                                 ("aws:ec2/instance:Instance", {"vpcSecurityGroupIds": ["sg-1", "sg-2"]})])
    assert together == ["groups sg-1 + sg-2: kubelet 10250 is reachable from 10.0.0.0/8 + 11.0.0.0/8, together "
                        "10.0.0.0/7: public"]
