"""The quota preflight (kubeports/core/quota.py) against the real APIs' default quotas: a
stack it accepts applies, one it refuses really fails. Sizes are found, not hard-coded:
the `admin` CIDR set of an example grows by /32s until the preflight refuses."""
from __future__ import annotations

import os

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT, display_path
from kubeports.core.project import load_project
from kubeports.plan.offline import run_plan
from tests.plans import variant
from tests.realapi.conftest import aws_applier, count_rules, openstack_applier
from tests.realapi.stacks import EXAMPLES, peer_example, plan_json

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
PROD_AWS = os.path.join(ROOT, "Pulumi.prod-aws.yaml")


def _grown(k: int, unlimited: bool):
    def edit(config):
        cluster = config["kubeports:cluster"]
        cluster["cidrs"]["admin"] = cluster["cidrs"]["admin"] + [f"192.0.2.{i}/32" for i in range(1, k + 1)]
        if unlimited:  # the same rules, planned past the preflight so they can be sent
            cluster["quota"] = {"neutronRules": 100000, "neutronGroups": 1000, "awsRulesPerGroup": 100000}
    return edit


def preflight_accepts(path: str) -> bool:
    try:
        load_project(path)
    except KubeportsError as exc:
        assert "quota" in str(exc), str(exc)
        return False
    return True


def edge(tmp_path, base: str) -> int:
    """The largest number of extra admin CIDRs the preflight accepts for `base`. More CIDRs
    only add rules, so acceptance is monotone in k: a binary search (9 preflights, not one
    per k: the preflight resolves the whole stack each time)."""
    def accepts(k: int) -> bool:
        return preflight_accepts(variant(tmp_path, base, f"probe{k}", _grown(k, False)))
    low, high = 0, 250  # 192.0.2.1 .. 192.0.2.250
    assert accepts(low) and not accepts(high), "the preflight never refuses"
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if accepts(mid) else (low, mid)
    return low


def _sized(tmp_path, base: str, k: int) -> tuple[bool, dict]:
    accepted = preflight_accepts(variant(tmp_path, base, f"check{k}", _grown(k, False)))
    return accepted, plan_json(variant(tmp_path, base, f"sized{k}", _grown(k, True)))


def test_neutron_preflight_agrees_with_default_quotas(neutron, tmp_path):
    """At the edge the stack applies; one CIDR more, the preflight refuses, and the same
    rules sent on top are refused by Neutron: exactly those past its 100."""
    k = edge(tmp_path, DEV)
    accepted, plan = _sized(tmp_path, DEV, k)
    assert accepted
    applier = openstack_applier(neutron, [_doc(DEV)])
    assert [str(e) for e in applier.apply(plan).errors] == []
    accepted, past = _sized(tmp_path, DEV, k + 1)
    assert not accepted
    errors = applier.apply(past).errors
    assert {e.code for e in errors} == {"409 OverQuota"}
    assert len(errors) == count_rules(past, "openstack") + 4 - 100  # + the `default` group's 4


POOL = next(e for e in EXAMPLES if e.peer_stack)
MAIN = peer_example(POOL)


def _pool_plan(stack_file: str) -> dict:
    """The pool's plan with the main stack's planned outputs (its `quota_usage` among them)."""
    outputs = {POOL.peer_stack: plan_json(MAIN.stack_file, MAIN.program)["outputs"]}
    return run_plan(stack_file, program=POOL.program, stack_outputs=outputs).to_json()


def test_cross_stack_rules_count_against_one_project(neutron, tmp_path):
    """The pool's rules (on its group, on the main stack's groups, worker <-> worker with the
    main stack's workers) land in the main stack's project, whose quota the example says was
    raised. On Neutron's default 100: the pool's preflight refuses it with one line counting
    the main stack's `quota_usage`, and the same plans sent anyway get OverQuota for exactly
    the rules past 100. Raised as the example says, the next `pulumi up` applies the rest."""
    default = variant(tmp_path, POOL.stack_file, "pool", lambda c: c["kubeports:cluster"].pop("quota"))
    main_plan, pool_plan = plan_json(MAIN.stack_file, MAIN.program), _pool_plan(POOL.stack_file)
    theirs, ours = count_rules(main_plan, "openstack") + 4, count_rules(pool_plan, "openstack")
    assert pool_plan["outputs"]["quota_usage"]["neutronRules"] == theirs + ours
    with pytest.raises(KubeportsError) as refused:
        _pool_plan(default)
    with open(default, encoding="utf-8") as handle:
        line = next(n for n, text in enumerate(handle, 1) if text.strip() == "kubeports:cluster:")
    assert str(refused.value) == (
        f"{display_path(default)}:{line}: config.kubeports:cluster.quota: Neutron quota: this stack's {ours} "
        f"security group rules, the {theirs} that stack {POOL.peer_stack} holds in the project (its quota_usage "
        f"output) make {ours + theirs}; the project allows 100 (kubeports:cluster.quota.neutronRules)")

    applier = openstack_applier(neutron, [MAIN.doc, POOL.doc])
    errors = [err for plan in (main_plan, pool_plan) for err in applier.apply(plan).errors]
    assert {e.code for e in errors} == {"409 OverQuota"}
    assert len(errors) == ours + theirs - 100

    limit = POOL.doc["config"]["kubeports:cluster"]["quota"]["neutronRules"]
    assert ours + theirs <= limit
    neutron.set_quota(security_group_rule=limit)
    assert [str(e) for e in applier.apply(pool_plan).errors] == []
    assert applier.read_back([main_plan, pool_plan]) == []
    assert neutron.quota_usage()["security_group_rule"] == ours + theirs


def test_aws_preflight_agrees_with_rules_per_group(ec2, tmp_path):
    """The same on EC2 (moto): at the edge it applies; one CIDR more is refused by the
    preflight and, sent on top, by the API's rules-per-group limit."""
    k = edge(tmp_path, PROD_AWS)
    accepted, plan = _sized(tmp_path, PROD_AWS, k)
    assert accepted
    applier = aws_applier(ec2, [_doc(PROD_AWS)])
    assert [str(e) for e in applier.apply(plan).errors] == []
    accepted, past = _sized(tmp_path, PROD_AWS, k + 1)
    assert not accepted
    errors = applier.apply(past).errors
    assert errors and {e.code for e in errors} == {"RulesPerSecurityGroupLimitExceeded"}


def _doc(path):
    import yaml
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)
