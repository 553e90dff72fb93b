"""Issue 17 §1 and §7 through the real program under mocks (`kubeports plan`): a secret user
data reaches Pulumi as a secret (the plan shows [secret], never the ciphertext); a JSON-string
`kubeports:cluster` plans as the YAML mapping; extra flows and a stack's catalog layers reach
the program's security group rules, as `rules` shows them."""
from __future__ import annotations

import json
import os

import yaml

from kubeports.core.paths import ROOT
from kubeports.plan.offline import as_text, run_plan
from tests.plans import fingerprint

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
CIPHER = "v1:c2VjcmV0LWNpcGhlcnRleHQtdGhhdC1tdXN0LW5vdC1sZWFr"


def variant(tmp_path, edit) -> str:
    doc = yaml.safe_load(open(DEV, encoding="utf-8"))
    edit(doc["config"])
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


def test_a_secret_user_data_reaches_every_instance_as_a_secret(tmp_path):
    path = variant(tmp_path, lambda c: c["kubeports:openstack"].update(userData={"secure": CIPHER}))
    plan = run_plan(path)
    instances = plan.by_type("openstack:compute/instance:Instance")
    assert instances and {r.inputs["userData"] for r in instances} == {"[secret]"}
    assert CIPHER not in as_text(plan) and CIPHER not in json.dumps(plan.to_json())


def test_a_plain_user_data_stays_plain(tmp_path):
    path = variant(tmp_path, lambda c: c["kubeports:openstack"].update(userData="#cloud-config\n"))
    assert {r.inputs["userData"] for r in run_plan(path).by_type("openstack:compute/instance:Instance")} == {
        "#cloud-config\n"}


def test_a_json_string_cluster_plans_as_the_mapping(tmp_path):
    path = variant(tmp_path, lambda c: c.update({"kubeports:cluster": json.dumps(c["kubeports:cluster"])}))
    assert fingerprint(run_plan(path)) == fingerprint(run_plan(DEV))


def test_extra_flows_and_stack_layers_reach_the_program(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "monitoring.yaml").write_text(
        "source: https://wiki.example/monitoring\ntitle: Site monitoring\n"
        "ports: {node-exporter: {port: 9100, purpose: Prometheus node exporter}}\n"
        "flows:\n  - {name: node-exporter, purpose: Prometheus scrapes the node exporter, protocol: tcp, "
        "ports: node-exporter, to: [worker], from: [admin]}\n", encoding="utf-8")

    def edit(config):
        config["kubeports:cluster"]["catalogs"] = ["site"]
        config["kubeports:cluster"]["extraFlows"] = [{
            "name": "backup-agent", "purpose": "Backup agent", "protocol": "tcp", "ports": 7000,
            "to": ["worker"], "from": ["admin"]}]

    rules = run_plan(variant(tmp_path, edit)).by_type("openstack:networking/secGroupRule:SecGroupRule")
    opened = sorted((r.inputs["portRangeMin"], r.inputs["remoteIpPrefix"], r.inputs["description"]) for r in rules
                    if r.inputs.get("portRangeMin") in (7000, 9100))
    assert opened == [(7000, "198.51.100.0/24", "Backup agent"),
                      (9100, "198.51.100.0/24", "Prometheus scrapes the node exporter")]
