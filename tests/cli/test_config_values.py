"""Issue 17 §7 at the command line: a secret is never printed by lint, rules or plan (the plan
shows [secret]); a refused secret is one line without its ciphertext; a JSON-string
`kubeports:cluster` prints exactly what the mapping prints."""
from __future__ import annotations

import json
import os

import yaml

from kubeports.core.paths import ROOT

CIPHER = "v1:AAABAHNlY3JldC11c2VyLWRhdGEtY2lwaGVydGV4dA=="
DEV = os.path.join(ROOT, "Pulumi.dev.yaml")


def variant(tmp_path, edit, name: str = "dev") -> str:
    doc = yaml.safe_load(open(DEV, encoding="utf-8"))
    edit(doc["config"])
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


def secret_user_data(config) -> None:
    config["kubeports:openstack"]["userData"] = {"secure": CIPHER}


def test_lint_rules_and_plan_never_print_a_secret(tmp_path, run_cli):
    path = variant(tmp_path, secret_user_data)
    outputs = [run_cli("lint", path), run_cli("rules", "--stack-file", path),
               run_cli("rules", "--stack-file", path, "--format", "json"), run_cli("plan", "--stack-file", path)]
    assert [code for code, _out, _err in outputs] == [0, 0, 0, 0]
    assert not any(CIPHER in out or CIPHER in err for _code, out, err in outputs)
    plan_text = outputs[-1][1]
    assert plan_text.count('    userData: "[secret]"') == 6  # 3 control-plane and 3 worker instances


def test_a_refused_secret_is_one_line_without_its_ciphertext(tmp_path, run_cli):
    path = variant(tmp_path, lambda c: c["kubeports:cluster"]["cidrs"].update(admin={"secure": CIPHER}))
    line = open(path, encoding="utf-8").read().splitlines().index("      admin:") + 1
    code, out, err = run_cli("rules", "--stack-file", path)
    assert (code, out) == (1, "")
    assert err == (f"{path}:{line}: config.kubeports:cluster.cidrs.admin: is a secret (pulumi config set --secret), "
                   "but kubeports reads this value offline to resolve rules and name resources; only "
                   "kubeports:openstack.userData and kubeports:aws.userData may be secret\n")


def test_a_json_string_cluster_prints_what_the_mapping_prints(tmp_path, run_cli):
    path = variant(tmp_path, lambda c: c.update({"kubeports:cluster": json.dumps(c["kubeports:cluster"])}))
    assert "kubeports:cluster: '{" in open(path, encoding="utf-8").read()
    as_json, as_yaml = run_cli("rules", "--stack-file", path, "--format", "json"), run_cli("rules", "--stack", "dev",
                                                                                             "--format", "json")
    assert as_json[0] == as_yaml[0] == 0
    assert as_json[1] == as_yaml[1]
