"""`kubeports diff` end to end: each side runs its own checkout's code; no cloud."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kubeports.core.paths import ROOT
from tests.plans import append_flow

PORT_FLOW = {"name": "node-exporter", "purpose": "node exporter metrics", "protocol": "tcp", "ports": 9100,
             "to": ["worker"], "from": ["control-plane"]}


def kubeports(*args: str, cwd: str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubeports", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory):
    """Two copies of the committed tree; the head copy gains one port."""
    base, head = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("head")
    for target in (base, head):
        archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    append_flow(str(head / "portspecs"), "kubernetes.yaml", PORT_FLOW)
    return str(base), str(head)


def test_one_added_port_shows_only_its_rules(checkouts):
    base, head = checkouts
    result = kubeports("diff", "--base-dir", base, "--head-dir", head, "--stack", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    added = {rule["key"] for rule in doc["rules"]["added"]}
    assert added == {"worker-in-tcp-9100-from-control-plane-v4", "worker-in-tcp-9100-from-control-plane-v6"}
    assert doc["rules"]["removed"] == [] and doc["rules"]["changed"] == []
    counts = doc["plan"]["counts"]
    assert counts["create"] == 2 and counts["delete"] == counts["update"] == counts["replace"] == 0
    assert {r["name"] for r in doc["plan"]["resources"]} == {f"dev-{key}" for key in added}


def test_markdown_summarises_per_role(checkouts):
    base, head = checkouts
    result = kubeports("diff", "--base-dir", base, "--head-dir", head, "--stack", "dev", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "| worker | 2 | 0 | 0 | 2 | 0 | 0 | 0 |" in result.stdout
    assert "worker-in-tcp-9100-from-control-plane-v4" in result.stdout


def test_nothing_changed_says_no_changes_and_exits_zero(checkouts):
    base, _ = checkouts
    result = kubeports("diff", "--base-dir", base, "--head-dir", base, "--stack", "dev", "--exit-code")
    assert (result.returncode, result.stdout) == (0, "no changes\n")


def test_exit_code_flags_a_change(checkouts):
    base, head = checkouts
    result = kubeports("diff", "--base-dir", base, "--head-dir", head, "--stack", "dev", "--exit-code")
    assert result.returncode == 2


def test_git_refs_of_a_repository(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", ROOT, str(repo)], check=True)
    stack = repo / "Pulumi.dev.yaml"
    moved = "    egress: open\n    ports: {nodeport-range: 31000-31999}\n"
    stack.write_text(stack.read_text().replace("    egress: open\n", moved))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "commit", "--quiet", "-am", "move NodePorts"], check=True)
    result = kubeports("diff", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--stack", "dev",
                       "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    removed = {r["key"] for r in doc["rules"]["removed"]}
    added = {r["key"] for r in doc["rules"]["added"]}
    assert removed and all("30000-32767" in k for k in removed)
    assert {k.replace("31000-31999", "30000-32767") for k in added} == removed
    instances = [r for r in doc["plan"]["resources"] if r["type"].endswith("Instance")]
    assert instances == []


def test_an_unknown_ref_is_one_clean_line():
    result = kubeports("diff", "--base", "no-such-ref-anywhere", "--stack", "dev")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "git cannot read 'no-such-ref-anywhere'" in result.stderr

