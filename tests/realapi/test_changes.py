"""Change scenarios: a stack applied, then the plan after one change, in Pulumi's step
order: zero API errors, and the read-back equals the new plan field by field.

The base stack is applied once per cloud and module and kept (AppliedBase): each scenario
applies its change, then the base again (the change reverted: a change scenario of its
own, checked the same way). A scenario that fails half way leaves the project dirty; the
next one then starts on a fresh project (or a reset moto), so no failure cascades."""
from __future__ import annotations

import os

import pytest

from kubeports.core.paths import ROOT
from tests.plans import variant
from tests.realapi.apply import MOTO_GAP_7, Applier, record_steps
from tests.realapi.conftest import aws_applier, ec2_client, neutron_driver, openstack_applier
from tests.realapi.stacks import plan_json

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")
OCTAVIA = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.octavia.yaml")


def _ports(config, **ports):
    config["kubeports:cluster"].setdefault("ports", {}).update(ports)


def _add_cidr(config, name, cidr):
    config["kubeports:cluster"]["cidrs"][name].append(cidr)


def _lb_on_openstack(config):
    config["kubeports:cluster"]["roles"]["load-balancer"] = {}
    config["kubeports:openstack"].update(subnetCidr="10.0.0.0/24", lbProvider="amphora")


def _lb_on_aws(config):
    config["kubeports:cluster"]["roles"]["load-balancer"] = {}


CHANGES = {
    "port-moved": lambda c: _ports(c, **{"nodeport-range": "31000-31999"}),
    "cidr-added": lambda c: _add_cidr(c, "admin", "203.0.113.0/24"),
    # a role the base stack lacks (dev has no etcd role; prod-aws has no bastion)
    "role-added": lambda c: c["kubeports:cluster"]["roles"].setdefault(
        "etcd" if "etcd" not in c["kubeports:cluster"]["roles"] else "bastion", {"count": 1}),
    "role-removed": lambda c: c["kubeports:cluster"]["roles"].pop("worker"),
    "api-port-override": lambda c: _ports(c, **{"kube-apiserver": 7443}),
}
OPENSTACK_CHANGES = {**CHANGES, "load-balancer-on": _lb_on_openstack}
AWS_CHANGES = {**CHANGES, "load-balancer-on": _lb_on_aws}


class AppliedBase:
    def __init__(self, fresh, base: str):
        self.fresh, self.base, self.plan = fresh, base, plan_json(base)
        self.applier: Applier | None = None
        self.clean = False  # the project reads back as the base
        self.projects = 0

    def ready(self) -> Applier:
        if self.applier is None or not self.clean:
            self.applier, self.projects = self.fresh(), self.projects + 1
            first = self.applier.apply(self.plan)
            assert [str(e) for e in first.errors] == []
        self.clean = False
        return self.applier

    def change_and_revert(self, tmp_path, scenario: str, edit) -> None:
        applier = self.ready()
        after = plan_json(variant(tmp_path, self.base, os.path.basename(self.base)[len("Pulumi."):-len(".yaml")], edit))
        change = applier.apply(after)
        record_steps(scenario, change.steps)
        assert change.steps, "the change must change something"
        assert [str(e) for e in change.errors] == [] and change.skipped == []
        assert applier.read_back([after]) == []
        back = applier.apply(self.plan)
        record_steps(scenario + " (reverted)", back.steps)
        assert [str(e) for e in back.errors] == [] and back.skipped == []
        assert applier.read_back([self.plan]) == []
        self.clean = True


@pytest.fixture(scope="module")
def openstack_base(neutron_url) -> AppliedBase:
    return AppliedBase(lambda: openstack_applier(neutron_driver(neutron_url), [_doc(DEV)]), DEV)


@pytest.fixture(scope="module")
def aws_base(moto_url) -> AppliedBase:
    return AppliedBase(lambda: aws_applier(ec2_client(moto_url), [_doc(PROD_AWS)]), PROD_AWS)


@pytest.mark.parametrize("name", sorted(OPENSTACK_CHANGES))
def test_openstack_change_applies_in_step_order(name, openstack_base, tmp_path):
    openstack_base.change_and_revert(tmp_path, f"openstack {name}", OPENSTACK_CHANGES[name])


@pytest.mark.parametrize("name", sorted(AWS_CHANGES))
def test_aws_change_applies_in_step_order(name, aws_base, tmp_path):
    aws_base.change_and_revert(tmp_path, f"aws {name}", AWS_CHANGES[name])
    assert aws_base.applier.driver.gaps <= {MOTO_GAP_7}


def _apply_change(applier, tmp_path, base, name, edit):
    before = plan_json(base)
    after = plan_json(variant(tmp_path, base, os.path.basename(base)[len("Pulumi."):-len(".yaml")], edit))
    first = applier.apply(before)
    assert [str(e) for e in first.errors] == []
    change = applier.apply(after)
    record_steps(f"openstack {name}", change.steps)
    return change, after


def test_octavia_member_subnet_added_to_api_clients(neutron, tmp_path):
    """Issue 13 part 2 item 1: the rule `...-from-load-balancer-v4-via-10.0.0.0-24` and the new
    `...-from-10.0.0.0-24-v4` render to the same Neutron rule; Pulumi creates the new name
    before it deletes the old one, and Neutron compares rules without their description."""
    applier = openstack_applier(neutron, [_doc(OCTAVIA)])
    change, after = _apply_change(applier, tmp_path, OCTAVIA, "member-subnet",
                                  lambda c: _add_cidr(c, "api-clients", "10.0.0.0/24"))
    if any(e.code == "409 SecurityGroupRuleExists" for e in change.errors):
        pytest.xfail("issue 13 part 2 item 1 (409 on a rename): " + str(change.errors[0]))
    assert [str(e) for e in change.errors] == [] and change.skipped == []
    assert applier.read_back([after]) == []


def _doc(path):
    import yaml
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
