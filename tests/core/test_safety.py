"""No override or CIDR set can open etcd, the kubelet, the scheduler or the controller-manager."""
from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeports.core.catalog import load_catalog
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.project import load_project
from kubeports.core.safety import exposure_problems, sensitive_ports
from tests.plans import STACK_FILES

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")


def variant(tmp_path, name: str, **cluster_changes) -> str:
    with open(DEV, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["config"]["kubeports:cluster"].update(cluster_changes)
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_a_nodeport_range_over_the_kubelet_is_refused(tmp_path):
    path = variant(tmp_path, "wide", ports={"nodeport-range": "10000-11000"})
    with pytest.raises(KubeportsError) as caught:
        load_project(path)
    line = open(path).read().splitlines().index("  kubeports:cluster:") + 1
    assert str(caught.value) == (
        f"{path}:{line}: kubeports:cluster: rule worker-in-tcp-10000-11000-from-198.51.100.0-24-v4 (NodePort Services) "
        "would let 198.51.100.0/24 reach Kubelet API (tcp 10250-10250), which only cluster roles may reach; "
        "check kubeports:cluster.ports and cidrs")


def test_a_port_only_another_role_listens_on_is_not_an_exposure(tmp_path):
    """kube-scheduler 10259 listens on the control plane only; a worker NodePort range may span it."""
    path = variant(tmp_path, "sched", ports={"nodeport-range": "10257-10259"})
    rules = load_project(path).resolution.rules
    assert any(r.role == "worker" and r.from_port == 10257 and r.peer_kind == "cidr" for r in rules)


def test_every_shipped_stack_is_clean():
    catalog = load_catalog(PORTSPECS)
    for stack in STACK_FILES:
        project = load_project(stack)
        assert sensitive_ports(catalog, project.stack.cluster), stack
        assert exposure_problems(catalog, project.stack.cluster, project.resolution.rules) == []


ranges = st.tuples(st.integers(1, 65535), st.integers(0, 3000)).map(lambda t: f"{t[0]}-{min(65535, t[0] + t[1])}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nodeports=ranges, api=st.integers(1, 65535), wide=st.booleans())
def test_no_override_ever_lets_a_cidr_reach_a_sensitive_port(tmp_path, nodeports, api, wide):
    cidrs = {"api-clients": ["0.0.0.0/0", "::/0"] if wide else ["198.51.100.0/24"],
             "nodeport-clients": ["0.0.0.0/0"], "ingress-clients": ["0.0.0.0/0", "::/0"]}
    path = variant(tmp_path, "fuzz", ports={"nodeport-range": nodeports, "kube-apiserver": api}, cidrs=cidrs)
    try:
        project = load_project(path)
    except KubeportsError as exc:
        # exposure, quota, or an override that pushes flows with different peers onto one port (issue 12 item 10)
        assert all("which only cluster roles may reach" in p.message or "quota" in p.field or " share " in p.message
                   for p in exc.problems), exc.problems
        return
    guarded = sensitive_ports(project.catalog, project.stack.cluster)
    for rule in project.resolution.rules:
        # pods (podCidrs) are cluster members, exempt like roles (docs/promises.md says what that leaves open)
        if rule.direction == "ingress" and rule.peer_kind == "cidr" and rule.peer not in project.stack.cluster.pod_cidrs:
            for proto, low, high, _purpose, roles in guarded:
                if rule.role in roles and rule.protocol in (proto, "all"):
                    assert rule.to_port < low or rule.from_port > high, rule.key


def test_overriding_this_clusters_api_port_leaves_other_clusters_apis_alone(tmp_path):
    """rancher.yaml's hosted-cluster flow names those clusters' port, not this cluster's."""
    with open(os.path.join(ROOT, "Pulumi.rancher.yaml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    # 443 would share the ingress rule open to ingress-clients: refused (tests/core/test_upstream.py, item 10)
    data["config"]["kubeports:cluster"]["ports"] = {"kube-apiserver": 8443}
    path = tmp_path / "Pulumi.r8443.yaml"
    path.write_text(yaml.safe_dump(data))
    rules = {r.key for r in load_project(str(path)).resolution.rules}
    assert "rancher-server-out-tcp-6443-to-203.0.113.0-24-v4" in rules
    # strict egress: the workers' API traffic moved with the override
    assert "worker-out-tcp-8443-to-control-plane-v4" in rules
    assert "control-plane-in-tcp-8443-from-worker-v4" in rules
    assert "worker-out-tcp-6443-to-control-plane-v4" not in rules
