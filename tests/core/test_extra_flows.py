"""Issue 17 §1: a stack's own flows (`kubeports:cluster.extraFlows`) and catalog layers
(`kubeports:cluster.catalogs`, `--portspecs DIR` adds, `--replace-catalog DIR` replaces).

They go through what catalog flows go through (validation with the stack file's lines,
the exposure refusal, the quota preflight) and carry their file:line as source. Exact texts.

BASE's lines: 1 config, 2 cloud, 3 openstack, 4 cluster:, 5 name, 6 distribution,
7 kubernetesVersion, 8 cni, 9 egress, 10 cidrs, 11 ports, 12 roles:, 13 control-plane,
14 worker, 15 extraFlows:, 16 - name, 17 purpose, 18 protocol, 19 ports, 20 to, 21 from
"""
from __future__ import annotations

import os
import shutil

import pytest

from kubeports.core.catalog import load_catalog
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import PORTSPECS
from kubeports.core.project import load_project

BASE = """\
config:
  kubeports:cloud: openstack
  kubeports:openstack: {image: ubuntu, flavor: m1.large, networkId: net-1}
  kubeports:cluster:
    name: edge
    distribution: rke2
    kubernetesVersion: "1.31"
    cni: {name: canal, mode: vxlan}
    egress: strict
    cidrs: {admin: [198.51.100.0/24]}
    ports: {nodeport-range: 31000-31999}
    roles:
      control-plane: {count: 3}
      worker: {count: 2}
    extraFlows:
      - name: backup-agent
        purpose: Backup agent, from the backup servers
        protocol: tcp
        ports: 7000
        to: [worker]
        from: [admin]
"""
C = "config.kubeports:cluster"
X = f"{C}.extraFlows[0]"


def stack(tmp_path, text: str = BASE, name: str = "edge") -> str:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(path: str, **kwargs) -> list[str]:
    with pytest.raises(KubeportsError) as caught:
        load_project(path, **kwargs)
    return [str(p) for p in caught.value.problems]


def rules_of(project, port: int) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(r.key, r.description, r.sources) for r in project.resolution.rules if r.from_port == port]


def test_an_extra_flow_becomes_rules_sourced_at_its_stack_line(tmp_path):
    path = stack(tmp_path)
    project = load_project(path)
    assert rules_of(project, 7000) == [
        ("worker-in-tcp-7000-from-198.51.100.0-24-v4", "Backup agent, from the backup servers", (f"{path}:16",))]


def test_an_extra_flow_with_a_url_keeps_it_for_exports(tmp_path):
    path = stack(tmp_path, BASE.replace("        from: [admin]\n",
                                        "        from: [admin]\n        source: https://wiki.example/backup\n"))
    project = load_project(path)
    assert [(f.where, f.source) for f in project.catalog.flows if f.flow.name == "backup-agent"] == [
        (f"{path}:16", "https://wiki.example/backup")]


def test_a_custom_port_reaches_an_extra_flow_that_names_it(tmp_path):
    path = stack(tmp_path, BASE.replace("ports: 7000", "ports: nodeport-range"))
    project = load_project(path)
    keys = [(r.key, r.sources) for r in project.resolution.rules if r.from_port == 31000 and r.peer_kind == "cidr"]
    assert (("worker-in-tcp-31000-31999-from-198.51.100.0-24-v4", (f"{path}:16",)) in keys)


@pytest.mark.parametrize("old, new, expected", [
    pytest.param("        ports: 7000\n", "        prots: 7000\n",
                 ["{f}:19: " + X + ".prots: unknown key; did you mean 'ports'?"], id="unknown-key"),
    pytest.param("to: [worker]", "to: [wroker]",
                 ["{f}:20: " + X + ".to[0]: unknown role or CIDR set 'wroker'; did you mean 'worker'?"], id="unknown-role"),
    pytest.param("ports: 7000", "ports: nodeport-rang",
                 ["{f}:19: " + X + ".ports: unknown named port 'nodeport-rang'; did you mean 'nodeport-range'?"],
                 id="unknown-port"),
    pytest.param("from: [admin]", "from: [admins]",
                 ["{f}:21: " + X + ".from[0]: unknown role or CIDR set 'admins'; did you mean 'admin'?"],
                 id="unknown-cidr-set"),
    pytest.param("purpose: Backup agent, from the backup servers", "purpose: Backup agent (ü)",
                 ["{f}:17: " + X + ".purpose: character 'ü' is refused in AWS rule descriptions; use letters, digits, "
                  "space and ._-:/()#,@[]+=&;{}!$*"], id="purpose-aws-refuses"),
    pytest.param("name: backup-agent", "name: etcd",
                 ["{f}:16: " + X + ".name: flow 'etcd' is already defined at portspecs/rke2.yaml:{etcd}; a stack's "
                  "extraFlows adds flows and cannot replace one: rename it, or replace the whole catalog "
                  "(--replace-catalog)"], id="name-of-a-catalog-flow"),
])
def test_a_bad_extra_flow_gets_one_line_at_its_stack_line(tmp_path, old, new, expected):
    assert BASE.count(old) == 1
    path = stack(tmp_path, BASE.replace(old, new))
    etcd = next(f.where for f in load_catalog(PORTSPECS).flows if f.flow.name == "etcd"
                and f.where.startswith("portspecs/rke2.yaml")).rsplit(":", 1)[1]
    assert problems(path) == [line.replace("{f}", path).replace("{etcd}", etcd) for line in expected]


def test_an_extra_flow_opening_etcd_to_a_cidr_is_refused(tmp_path):
    path = stack(tmp_path, BASE.replace("ports: 7000", "ports: 2379").replace("to: [worker]", "to: [control-plane]"))
    assert problems(path) == [
        f"{path}:4: kubeports:cluster: rule control-plane-in-tcp-2379-from-198.51.100.0-24-v4 (Backup agent, from the "
        "backup servers) would let 198.51.100.0/24 reach etcd client, peer and metrics (tcp 2379-2381), which only cluster "
        "roles may reach; check kubeports:cluster.ports and cidrs"]


def test_extra_flows_count_in_the_quota_preflight(tmp_path):
    ports = ", ".join(str(p) for p in range(7000, 7100))
    path = stack(tmp_path, BASE.replace("ports: 7000", f"ports: [{ports}]"))
    (line,) = problems(path)
    assert line.startswith(f"{path}:4: config.kubeports:cluster.quota: ")
    assert "security group rules" in line


LAYER = """\
source: https://wiki.example/monitoring
title: Site monitoring
ports:
  node-exporter: {port: 9100, purpose: Prometheus node exporter}
flows:
  - {name: node-exporter, purpose: Prometheus scrapes the node exporter, protocol: tcp, ports: node-exporter,
     to: [nodes], from: [admin]}
"""


def layer(tmp_path, name: str = "site", text: str = LAYER) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "monitoring.yaml").write_text(text, encoding="utf-8")
    return str(folder)


def test_a_layer_adds_flows_and_named_ports_to_the_shipped_catalog(tmp_path):
    folder = layer(tmp_path)
    project = load_project(stack(tmp_path), layers=[folder])
    assert [(k, s) for k, _d, s in rules_of(project, 9100)] == [
        ("control-plane-in-tcp-9100-from-198.51.100.0-24-v4", (f"{folder}/monitoring.yaml:6",)),
        ("worker-in-tcp-9100-from-198.51.100.0-24-v4", (f"{folder}/monitoring.yaml:6",))]
    assert rules_of(project, 7000)  # the stack's own flow and the shipped catalog are all still there
    assert project.catalog.layers == ["portspecs", folder]


def test_the_stack_names_its_layers_relative_to_itself(tmp_path):
    layer(tmp_path)
    path = stack(tmp_path, BASE.replace("    roles:\n", "    catalogs: [site]\n    roles:\n"))
    assert [k for k, _d, _s in rules_of(load_project(path), 9100)] == [
        "control-plane-in-tcp-9100-from-198.51.100.0-24-v4", "worker-in-tcp-9100-from-198.51.100.0-24-v4"]


def test_a_missing_stack_layer_is_one_line_at_its_key(tmp_path):
    path = stack(tmp_path, BASE.replace("    roles:\n", "    catalogs: [site]\n    roles:\n"))
    assert problems(path) == [f"{path}:12: {C}.catalogs[0]: no such directory: {tmp_path}/site (relative to the "
                              "stack file)"]


def test_a_flow_name_in_two_layers_names_both_files_and_lines(tmp_path):
    one, two = layer(tmp_path, "one"), layer(tmp_path, "two")
    assert problems(stack(tmp_path), layers=[one, two]) == [
        f"{two}/monitoring.yaml:6: flows[0].name: flow 'node-exporter' is already defined at {one}/monitoring.yaml:6; "
        "a layer adds flows and cannot replace one: rename it, or replace the whole catalog (--replace-catalog)"]


def test_a_layer_redefining_a_named_port_names_the_first_definition(tmp_path):
    folder = layer(tmp_path, text=LAYER.replace("node-exporter: {port: 9100", "kube-apiserver: {port: 443")
                   .replace("ports: node-exporter", "ports: kube-apiserver"))
    (line,) = problems(stack(tmp_path), layers=[folder])
    assert line.startswith(f"{folder}/monitoring.yaml:4: ports.kube-apiserver: differs from the named port defined at "
                           "portspecs/kubernetes.yaml:")


def test_the_shipped_catalog_given_as_a_layer_adds_nothing(tmp_path):
    path = stack(tmp_path)
    assert load_project(path, layers=[PORTSPECS]).resolution == load_project(path).resolution


def test_a_replaced_catalog_without_the_cni_never_lists_nothing(tmp_path):
    folder = tmp_path / "only-ssh"
    folder.mkdir()
    shutil.copy(os.path.join(PORTSPECS, "ssh.yaml"), folder)
    (line, *_) = problems(stack(tmp_path), portspecs=str(folder))
    assert line == (f"{stack(tmp_path)}:8: {C}.cni.name: unknown CNI 'canal': the catalog ({folder}) defines no CNI; "
                    "add spec directories on top of the shipped catalog (--portspecs DIR, kubeports:cluster.catalogs) "
                    "rather than replacing it (--replace-catalog DIR)")


def test_the_catalog_docs_keepalived_on_workers_example_gives_vrrp_between_workers(tmp_path):
    """docs/catalog.md's example, taken from the doc itself: VRRP between workers, and with
    strict egress to VRRP's multicast groups, nothing on other roles."""
    with open(os.path.join(os.path.dirname(PORTSPECS), "docs", "catalog.md"), encoding="utf-8") as handle:
        doc = handle.read()
    example = doc.split("**keepalived on another role.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    text = BASE.split("    extraFlows:\n", 1)[0] + example  # the doc's extraFlows instead of BASE's
    project = load_project(stack(tmp_path, text))
    vrrp = sorted(r.key for r in project.resolution.rules if r.protocol == "112")
    assert vrrp == ["worker-in-proto112-from-worker-v4", "worker-out-proto112-to-224.0.0.18-32-v4",
                    "worker-out-proto112-to-worker-v4"]
