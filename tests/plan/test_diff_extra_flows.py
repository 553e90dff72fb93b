"""Issue 17 §1: a stack's own flow shows in `kubeports diff` like a catalog flow, sourced at its
stack-file line; each side runs its own checkout's code (no cloud)."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from kubeports.core.paths import ROOT

EXTRA = {"name": "backup-agent", "purpose": "Backup agent, from the admin network", "protocol": "tcp",
         "ports": 7000, "to": ["worker"], "from": ["admin"]}


def test_an_added_extra_flow_shows_only_its_rules_with_its_stack_line(tmp_path):
    base, head = tmp_path / "base", tmp_path / "head"
    for target in (base, head):
        target.mkdir()
        archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    stack = head / "Pulumi.dev.yaml"
    doc = yaml.safe_load(stack.read_text(encoding="utf-8"))
    doc["config"]["kubeports:cluster"]["extraFlows"] = [EXTRA]
    stack.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    line = stack.read_text(encoding="utf-8").splitlines().index("    - name: backup-agent") + 1
    result = subprocess.run([sys.executable, "-m", "kubeports", "diff", "--base-dir", str(base), "--head-dir",
                             str(head), "--stack", "dev", "--format", "json"], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    rules = json.loads(result.stdout)["rules"]
    assert [(r["key"], r["sources"]) for r in rules["added"]] == [
        ("worker-in-tcp-7000-from-198.51.100.0-24-v4", [f"Pulumi.dev.yaml:{line}"])]
    assert rules["removed"] == [] and rules["changed"] == []
