"""Issue 17 §7: the stack a command means, found as the Pulumi CLI finds it (kubeports/cli/stacks.py),
and the catalog flags (`--portspecs DIR` adds a layer, `--replace-catalog DIR` replaces). Exact texts."""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from kubeports.core.paths import PORTSPECS, ROOT

PROJECT = "name: consumer\nruntime: python\n"


def consumer(tmp_path, stacks=("dev", "prod"), project: str = PROJECT) -> str:
    """A Pulumi project of its own, with copies of the dev stack under the given names."""
    root = tmp_path / "consumer"
    root.mkdir()
    (root / "Pulumi.yaml").write_text(project, encoding="utf-8")
    for name in stacks:
        folder = root / "stacks" if "stackConfigDir" in project else root
        folder.mkdir(exist_ok=True)
        text = open(os.path.join(ROOT, "Pulumi.dev.yaml"), encoding="utf-8").read()
        (folder / f"Pulumi.{name}.yaml").write_text(text.replace("    name: dev\n", f"    name: {name}\n"), "utf-8")
    return str(root)


def select(home, project_dir: str, stack: str) -> None:
    """What `pulumi stack select` writes (sdk/go/common/workspace/workspace.go)."""
    project_file = os.path.join(project_dir, "Pulumi.yaml")
    digest = hashlib.sha1(project_file.encode()).hexdigest()
    folder = home / "workspaces"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"consumer-{digest}-workspace.json").write_text(json.dumps({"stack": stack}), encoding="utf-8")


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "pulumi-home"
    monkeypatch.setenv("PULUMI_HOME", str(folder))
    return folder


def title(out: str) -> str:
    return out.splitlines()[0]


def test_the_selected_stack_is_used_from_a_subdirectory(tmp_path, home, monkeypatch, run_cli):
    root = consumer(tmp_path)
    select(home, root, "acme/consumer/prod")
    os.makedirs(os.path.join(root, "deep", "er"))
    monkeypatch.chdir(os.path.join(root, "deep", "er"))
    code, out, _err = run_cli("rules", "--format", "markdown")
    assert (code, title(out)) == (0, "## Stack prod: prod")


def test_stack_names_a_file_of_the_project_found_from_here(tmp_path, home, monkeypatch, run_cli):
    root = consumer(tmp_path)
    monkeypatch.chdir(root)
    code, out, _err = run_cli("rules", "--stack", "acme/consumer/dev", "--format", "markdown")
    assert (code, title(out)) == (0, "## Stack dev: dev")


def test_stack_config_dir_is_honoured(tmp_path, home, monkeypatch, run_cli):
    root = consumer(tmp_path, project=PROJECT + "stackConfigDir: stacks\n")
    monkeypatch.chdir(root)
    code, out, _err = run_cli("rules", "--stack", "prod", "--format", "markdown")
    assert (code, title(out)) == (0, "## Stack prod: prod")


def test_no_selected_stack_is_one_line_listing_the_stack_files(tmp_path, home, monkeypatch, run_cli):
    root = consumer(tmp_path, stacks=("dev",))
    monkeypatch.chdir(root)
    code, out, err = run_cli("rules")
    assert (code, out) == (1, "")
    assert err == (f"{root}/Pulumi.yaml:1: --stack: no stack selected: give --stack NAME or --stack-file PATH, or run "
                   "`pulumi stack select NAME`; stack files here: dev\n")


def test_a_misspelt_stack_is_one_line_with_a_suggestion(tmp_path, home, monkeypatch, run_cli):
    root = consumer(tmp_path)
    monkeypatch.chdir(root)
    code, _out, err = run_cli("rules", "--stack", "acme/consumer/prd")
    assert (code, err) == (1, f"{root}/Pulumi.prd.yaml:1: --stack: no stack file for 'acme/consumer/prd'; stack files "
                              "here: dev, prod; did you mean 'prod'?\n")


LAYER = """\
source: https://wiki.example/monitoring
title: Site monitoring
ports:
  node-exporter: {port: 9100, purpose: Prometheus node exporter}
flows:
  - {name: node-exporter, purpose: Prometheus scrapes the node exporter, protocol: tcp, ports: node-exporter,
     to: [worker], from: [admin]}
"""


def test_portspecs_adds_a_layer_and_may_be_repeated(tmp_path, run_cli):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "monitoring.yaml").write_text(LAYER, encoding="utf-8")
    (two / "backup.yaml").write_text(LAYER.replace("node-exporter", "backup-agent").replace("9100", "7000"), "utf-8")
    code, out, _err = run_cli("rules", "--stack", "dev", "--portspecs", str(one), "--portspecs", str(two))
    lines = [line.split() for line in out.splitlines() if "-9100-" in line or "-7000-" in line]
    assert code == 0
    assert [(words[0], words[-1]) for words in lines] == [
        ("worker-in-tcp-7000-from-198.51.100.0-24-v4", f"{two}/backup.yaml:6"),
        ("worker-in-tcp-9100-from-198.51.100.0-24-v4", f"{one}/monitoring.yaml:6")]
    assert any(line.startswith("control-plane-in-tcp-6443-") for line in out.splitlines())  # shipped flows stay


def test_replace_catalog_replaces_and_says_so_when_the_cni_is_gone(tmp_path, run_cli):
    only = tmp_path / "only-ssh"
    only.mkdir()
    shutil.copy(os.path.join(PORTSPECS, "ssh.yaml"), only)
    code, out, err = run_cli("rules", "--stack", "aws-cilium", "--replace-catalog", str(only))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        f"Pulumi.aws-cilium.yaml:10: config.kubeports:cluster.cni.name: unknown CNI 'cilium': the catalog ({only}) "
        "defines no CNI; add spec directories on top of the shipped catalog (--portspecs DIR, "
        "kubeports:cluster.catalogs) rather than replacing it (--replace-catalog DIR)")


def test_every_stack_command_takes_catalog_layers(tmp_path, run_cli):
    """plan, inventory and export hand the layers on (the program reads them from KUBEPORTS_CATALOGS)."""
    layer = tmp_path / "site"
    layer.mkdir()
    (layer / "monitoring.yaml").write_text(LAYER, encoding="utf-8")
    results = {command: run_cli(command, "--stack", "dev", "--portspecs", str(layer), *extra)
               for command, extra in (("plan", ("--format", "json")), ("inventory", ()),
                                      ("export", ("--format", "csv")))}
    assert {command: code for command, (code, _out, _err) in results.items()} == {
        "plan": 0, "inventory": 0, "export": 0}
    planned = json.loads(results["plan"][1])["resources"]
    assert [r["name"] for r in planned if r["inputs"].get("portRangeMin") == 9100] == [
        "dev-worker-in-tcp-9100-from-198.51.100.0-24-v4"]
    assert f"{layer}/monitoring.yaml:6 https://wiki.example/monitoring" in results["export"][1]
