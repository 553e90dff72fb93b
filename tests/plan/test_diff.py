"""`kubeports diff` end to end: each side runs its own checkout's code; no cloud."""
from __future__ import annotations

import glob
import html
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from kubeports.core.paths import ROOT
from kubeports.plan import refs
from tests.plans import append_flow

PORT_FLOW = {"name": "node-exporter", "purpose": "node exporter metrics", "protocol": "tcp", "ports": 9100,
             "to": ["worker"], "from": ["control-plane"]}


def kubeports(*args: str, cwd: str = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubeports", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env=env)


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
    assert (result.returncode, result.stderr) == (5, "")


# --- one process per side, every stack -------------------------------------------------------
STACKS = sorted(os.path.basename(p)[len("Pulumi."):-len(".yaml")] for p in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))


def test_all_stacks_prints_each_stack_as_its_own_diff_does(checkouts):
    base, head = checkouts
    common = ["--base-dir", base, "--head-dir", head, "--format", "markdown"]
    each = [kubeports("diff", *common, "--stack", stack) for stack in STACKS]
    assert all(r.returncode == 0 for r in each), [r.stderr for r in each]
    together = kubeports("diff", *common, "--all-stacks")
    assert together.returncode == 0, together.stderr
    assert together.stdout == "".join(r.stdout for r in each)


def test_all_stacks_as_text_names_each_unchanged_stack(checkouts):
    base, _ = checkouts
    result = kubeports("diff", "--base-dir", base, "--head-dir", base, "--all-stacks", "--exit-code")
    assert (result.returncode, result.stdout) == (0, "".join(f"Stack {s}: no changes\n" for s in STACKS))


def test_all_stacks_includes_a_stack_only_one_side_has(checkouts, tmp_path):
    """The workflow's loop went over the head's stack files: a deleted stack never showed.
    (What a diff says of a deleted stack is `--stack`'s business; here: the same.)"""
    base, _ = checkouts
    head = tmp_path / "head"
    shutil.copytree(base, head)
    (head / "Pulumi.offline.yaml").unlink()
    common = ["--base-dir", base, "--head-dir", str(head), "--format", "json"]
    together = kubeports("diff", *common, "--all-stacks")
    alone = kubeports("diff", *common, "--stack", "offline")
    doc = json.loads(together.stdout)
    assert sorted(doc) == STACKS
    assert [s for s in STACKS if doc[s]["changed"]] == ["offline"]
    assert doc["offline"] == json.loads(alone.stdout)
    assert (together.returncode, together.stderr) == (alone.returncode, alone.stderr)
    counts = doc["offline"]["plan"]["counts"]
    assert counts["delete"] > 0 and counts["create"] == counts["unchanged"] == 0


def test_stack_or_all_stacks_is_one_clean_line(checkouts):
    base, head = checkouts
    for extra in ([], ["--stack", "dev", "--all-stacks"]):
        result = kubeports("diff", "--base-dir", base, "--head-dir", head, *extra)
        assert (result.returncode, result.stderr) == (1, "kubeports diff:1: --stack: give --stack NAME or --all-stacks\n")


@pytest.mark.parametrize("fork", ["1", "0"])
def test_one_process_per_side_whatever_the_stacks(checkouts, monkeypatch, fork):
    """Forked from this process (the default on POSIX) or a fresh interpreter (KUBEPORTS_DIFF_FORK=0):
    one either way, with the same result."""
    base, _ = checkouts
    monkeypatch.setenv(refs.FORK_ENV, fork)
    calls = []
    real_run, real_fork = refs.subprocess.run, refs.sideproc.forked

    def counting_run(command, *args, **kwargs):
        calls.append(("subprocess", command[1]))
        return real_run(command, *args, **kwargs)

    def counting_fork(directory, *args, **kwargs):
        calls.append(("fork", directory))
        return real_fork(directory, *args, **kwargs)

    monkeypatch.setattr(refs.subprocess, "run", counting_run)
    monkeypatch.setattr(refs.sideproc, "forked", counting_fork)
    got = refs.sides(base, [*STACKS, "no-such-stack"])
    assert calls == ([("fork", base)] if fork == "1" else [("subprocess", "-c")])
    assert list(got) == [*STACKS, "no-such-stack"]
    assert got["no-such-stack"] == ({"rules": []}, refs.EMPTY_PLAN)
    dev_rules, dev_plan = got["dev"]
    assert dev_rules == json.loads(kubeports("rules", "--stack-file", os.path.join(base, "Pulumi.dev.yaml"),
                                             "--portspecs", os.path.join(base, "portspecs"), "--format", "json",
                                             cwd=base).stdout)
    assert {r["type"] for r in dev_plan["resources"]} >= {"openstack:networking/secGroupRule:SecGroupRule"}


def test_a_side_without_rules_out_runs_rules_then_plan_with_the_same_texts(checkouts, tmp_path):
    """A side whose `plan` writes the rules (PLAN_RULES_OUT) loads each stack once; an older
    side lacks it and runs `rules`, then `plan`: the driver gives the same result for both.
    The newer side still names `rules` for a stack that fails validation, as two commands did."""
    base, _ = checkouts
    older = tmp_path / "older"
    shutil.copytree(base, older)
    arguments = older / "kubeports" / "cli" / "arguments.py"
    text = arguments.read_text()
    assert "\nPLAN_RULES_OUT = " in text
    arguments.write_text(text.replace("PLAN_RULES_OUT", "_NOT_YET"))  # the driver asks for PLAN_RULES_OUT
    assert refs.sides(str(older), STACKS) == refs.sides(base, STACKS)
    newer = tmp_path / "newer"
    shutil.copytree(base, newer)
    for tree in (older, newer):  # which commands each side runs: `rules` now fails wherever it runs
        catalog = tree / "kubeports" / "cli" / "catalog.py"
        catalog.write_text(catalog.read_text().replace("def cmd_rules(args: argparse.Namespace) -> int:\n",
                                                       "def cmd_rules(args: argparse.Namespace) -> int:\n"
                                                       "    raise RuntimeError('rules ran')\n"))
    assert refs.sides(str(newer), ["dev"]) == refs.sides(base, ["dev"])
    with pytest.raises(refs.KubeportsError, match="rules ran"):
        refs.sides(str(older), ["dev"])
    stack = newer / "Pulumi.dev.yaml"  # never runs `rules`, yet names it for a stack that does not validate
    stack.write_text(stack.read_text().replace("    egress: open\n", "    egress: sometimes\n"))
    with pytest.raises(refs.KubeportsError) as failed:
        refs.sides(str(newer), ["dev"])
    assert {p.field for p in failed.value.problems} == {"kubeports rules"}
    assert any("Pulumi.dev.yaml" in p.message and "egress" in p.message for p in failed.value.problems)


def test_a_side_runs_its_own_components(checkouts, tmp_path):
    """kubeports.components is the tree's components/ (package-dir): an installed kubeports
    answered with its own, so an edit there never showed in a diff."""
    base, _ = checkouts
    head = tmp_path / "head"
    shutil.copytree(base, head)
    module = head / "components" / "clouds" / "openstack.py"
    old = 'description=f"kubeports {self.cluster.name} {role} nodes"'
    assert old in module.read_text()
    module.write_text(module.read_text().replace(old, old[:-1] + ' (edited)"'))
    result = kubeports("diff", "--base-dir", base, "--head-dir", str(head), "--stack", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    changes = {(r["name"], c["path"], c["new"]) for r in json.loads(result.stdout)["plan"]["resources"]
               for c in r.get("changes", [])}
    assert changes == {(f"dev-{role}-sg", "description", f"kubeports dev {role} nodes (edited)")
                       for role in ("control-plane", "worker")}


@pytest.mark.parametrize("fork", ["1", "0"])
def test_a_side_imports_its_own_kubeports(checkouts, tmp_path, fork):
    """Forked or not, the side's kubeports is its checkout's, never the one this process
    imported: a side whose kubeports cannot be imported fails with its own error."""
    base, _ = checkouts
    head = tmp_path / "head"
    shutil.copytree(base, head)
    (head / "kubeports" / "__init__.py").write_text('raise ImportError("the head side\'s own kubeports")\n')
    result = kubeports("diff", "--base-dir", base, "--head-dir", str(head), "--stack", "dev",
                       env={**os.environ, "KUBEPORTS_DIFF_FORK": fork})
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(f"{head}:1: kubeports (import): ") for line in lines), lines
    assert f"{head}:1: kubeports (import): ImportError: the head side's own kubeports" in lines, lines


def test_a_side_that_fails_is_reported_by_its_command(checkouts, tmp_path):
    base, _ = checkouts
    head = tmp_path / "head"
    shutil.copytree(base, head)
    stack = head / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("    egress: open\n", "    egress: sometimes\n"))
    result = kubeports("diff", "--base-dir", base, "--head-dir", str(head), "--all-stacks")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{head}:1: kubeports rules: ") for line in lines), lines
    assert any("Pulumi.dev.yaml" in line and "egress" in line for line in lines), lines


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
    md = kubeports("diff", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--stack", "dev",
                   "--format", "markdown").stdout
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert md.startswith(f"### Stack dev\\: HEAD\\~1 \\({head_short(repo, 'HEAD~1')}\\) → HEAD \\({head[:12]}\\)\n")
    assert "\n- ~ `nodeport-range` 30000\\-32767 → 31000\\-31999 (" in md


def head_short(repo, ref: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", ref], capture_output=True, text=True,
                          check=True).stdout.strip()[:12]


def test_an_unknown_ref_is_one_clean_line():
    result = kubeports("diff", "--base", "no-such-ref-anywhere", "--stack", "dev")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"{ROOT}:1: --base: git cannot read 'no-such-ref-anywhere': not a commit in this repository"]


@pytest.mark.parametrize("flag", ["--base", "--head"])
@pytest.mark.parametrize("ref", ["--output={file}", "-o{file}", "HEAD:README.md", "HEAD^{{tree}}"])
def test_a_ref_that_is_not_a_commit_is_one_line_and_writes_nothing(tmp_path, flag, ref):
    """`git archive --output=FILE` would truncate FILE; the ref never reaches git as an option."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    missing = tmp_path / "created.txt"
    for target in (victim, missing):
        value = ref.format(file=target)
        args = ["--base=HEAD", f"--head={value}"] if flag == "--head" else [f"--base={value}"]
        result = kubeports("diff", *args, "--stack", "dev", "--repo", ROOT)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert f": {flag}: " in result.stderr
    assert victim.read_text() == "keep me\n" and not missing.exists()



# --- the whole pull-request comment, rendered by GitHub's cmark-gfm ------------------------
# Purposes may not hold "<" any more (AWS descriptions refuse it), so the HTML attempt rides
# on the head's name, which a fork chooses; the purpose carries the markdown attempts.
HOSTILE = "metrics *bold* [link](https://example.invalid) &amp; {x} $y !z __u__"
HOSTILE_HEAD = "fork:</details><!--x"


def pr_workflow_diff_script() -> str:
    with open(os.path.join(ROOT, ".github", "workflows", "pr.yml"), encoding="utf-8") as handle:
        workflow = yaml.load(handle, Loader=yaml.BaseLoader)
    return next(s["run"] for s in workflow["jobs"]["diff"]["steps"] if "kubeports diff" in s.get("run", ""))


@pytest.fixture(scope="module")
def pr_comment(tmp_path_factory):
    """pr.yml's own diff step, run in a clone whose head commit opens NodePorts to the world
    in dev and adds a flow with a hostile purpose to every kubeadm stack."""
    repo = tmp_path_factory.mktemp("pr") / "repo"
    subprocess.run(["git", "clone", "--quiet", ROOT, str(repo)], check=True)
    stack = repo / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("      nodeport-clients: [198.51.100.0/24]\n",
                                               "      nodeport-clients: [0.0.0.0/0]\n"))
    append_flow(str(repo / "portspecs"), "kubernetes.yaml", {**PORT_FLOW, "purpose": HOSTILE})
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "commit", "--quiet", "-am", "open NodePorts to the world"], check=True)
    base = subprocess.run([*git, "rev-parse", "HEAD~1"], capture_output=True, text=True, check=True).stdout.strip()
    bindir = repo / ".venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "kubeports").write_text(f"#!/bin/sh\nexec {sys.executable} -m kubeports \"$@\"\n")
    (bindir / "kubeports").chmod(0o755)
    script = pr_workflow_diff_script().replace("make install\n", "")  # the venv above stands in for it
    env = {**os.environ, "BASE_SHA": base, "BASE_NAME": "main", "HEAD_NAME": HOSTILE_HEAD,
           "PYTHONPATH": ROOT}
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, env=env, check=True, timeout=1200)
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in repo.glob("Pulumi.*.yaml"))
    return (repo / "diff.md").read_text(encoding="utf-8"), stacks


def kubeadm_stacks(stacks: list[str]) -> list[str]:
    def distribution(stack: str) -> str:
        with open(os.path.join(ROOT, f"Pulumi.{stack}.yaml"), encoding="utf-8") as handle:
            return yaml.safe_load(handle)["config"]["kubeports:cluster"]["distribution"]

    return [s for s in stacks if distribution(s) == "kubeadm"]


def gfm(markdown: str) -> str:
    """GitHub's renderer, raw HTML allowed, so any markup data could create would show."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def test_the_pull_request_comment_renders_with_real_headings(pr_comment):
    markdown, stacks = pr_comment
    page = gfm(markdown)
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["kubeports diff"]
    titles = re.findall(r"<h3>(.*?)</h3>", page)
    assert titles == [f"Stack {s}: main → fork:&lt;/details&gt;&lt;!--x" for s in stacks]
    assert "### Stack" not in page  # no heading left as literal text
    sections = re.split(r"<h3>", page)[1:]
    changed = [stack for stack, section in zip(stacks, sections, strict=True) if "<p>No changes.</p>" not in section]
    assert changed == kubeadm_stacks(stacks)  # the stacks the hostile flow reaches
    for stack, section in zip(stacks, sections, strict=True):
        if stack in changed:
            assert "<strong>Security-relevant changes</strong>" in section
            assert "<strong>Summary</strong>" in section and "<th>Role</th>" in section
    dev = sections[stacks.index("dev")]
    assert "<li><strong>Reachable from the world:</strong> worker in tcp 30000-32767 from 0.0.0.0/0 " in dev


def test_no_data_in_the_comment_creates_markup(pr_comment):
    markdown, stacks = pr_comment
    page = gfm(markdown)
    assert "<!--" not in page and "<em>" not in page and "<a " not in page
    assert page.count("<details>") == page.count("</details>") == len(re.findall(r"<details><summary>", page))
    assert HOSTILE in html.unescape(re.sub(r"<[^>]+>", "", page))  # shown as text, every character
    kubeadm = kubeadm_stacks(stacks)
    assert kubeadm and sum(section.count("metrics *bold* [link](https://example.invalid) &amp;amp; {x}") > 0
                           for section in re.split(r"<h3>", page)[1:]) == len(kubeadm)


def test_each_side_runs_its_own_components(checkouts, tmp_path):
    """kubeports.components is the tree's components/: a side gets its own, not the running
    tree's (an editable install maps the name to the running tree)."""
    base, _ = checkouts
    head = tmp_path / "head"
    archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], capture_output=True, check=True)
    head.mkdir()
    subprocess.run(["tar", "-x", "-C", str(head)], input=archive.stdout, check=True)
    with open(head / "components" / "__init__.py", "a", encoding="utf-8") as handle:
        handle.write('\nraise RuntimeError("the head side\'s own components ran")\n')
    result = kubeports("diff", "--base-dir", base, "--head-dir", str(head), "--stack", "dev")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"{head}:1: kubeports plan: kubeports: internal error: RuntimeError: "
                             "the head side's own components ran\n")
