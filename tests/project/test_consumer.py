"""A consumer project, as a new user builds one: its own directory and git repository, its
own Pulumi.yaml, a one-line program (`Cluster.from_stack_config().export()`) beside its own
`components/` package, its own spec directory layered on the shipped catalog, a stack with
extra flows and two worker pools, and kubeports installed into a fresh virtualenv with
`pip install` of the wheel built from this tree. Nothing of the checkout is on its path.
It lints, plans offline (also from a subdirectory), hands off an Ansible inventory, fails on
its own bug by its own line, and diffs a change between two of its own commits. This module
is the spec of that experience: exact outputs.

Offline: the wheel is built with the dev venv's setuptools (tests/project/test_packaging.py),
and pip takes kubeports' dependencies from the machine's configured package registries
(no network beyond them); `--no-compile` keeps the install to seconds. One venv for the module.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from kubeports.core.paths import PORTSPECS, ROOT
from tests.project.test_packaging import build_wheel, run

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the consumer project is a git repository")

PULUMI_YAML = """\
name: acme-cluster
description: Acme's cluster, built with kubeports from PyPI.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
"""

# The consumer's own `components` package: the name kubeports' components had before they
# became kubeports.components; the project's program imports both.
OWN_COMPONENTS = '''\
"""Acme's own Pulumi helpers (nothing to do with kubeports.components)."""
TEAM = "platform"


def owner_tag(cluster):
    return f"{TEAM}/{cluster}"


def explode(config):
    return config["no-such-key"]
'''

PROGRAM = '''\
"""Acme's cluster: one line of kubeports, one output of Acme's own."""
import pulumi

import components
from kubeports.components import Cluster

Cluster.from_stack_config().export()
pulumi.export("owner", components.owner_tag("acme"))
'''

# Acme's own spec directory, layered on the shipped catalog by the stack's `catalogs:`.
LAYER = """\
source: https://wiki.acme.test/monitoring
title: Acme monitoring
flows:
  - name: node-exporter
    purpose: Prometheus scrapes node exporter
    protocol: tcp
    ports: 9100
    to: [control-plane, worker]
    from: [monitoring]
"""

BROKEN = '''\
"""A program with a bug in the project's own components package."""
import components

components.explode({})
'''

STACK = """\
config:
  kubeports:cloud: openstack
  kubeports:cluster:
    name: acme
    distribution: kubeadm
    kubernetesVersion: "1.31"
    cni: {name: calico, mode: vxlan}
    ipFamilies: [IPv4]
    egress: open
    cidrs:
      api-clients: [198.51.100.0/24]
      admin: [198.51.100.0/24]
      monitoring: [203.0.113.0/28]
    catalogs: [site-portspecs]
    extraFlows:
      - name: backup-agent
        purpose: Backup agent, from the admin network
        protocol: tcp
        ports: 7000
        to: [worker]
        from: [admin]
    roles:
      control-plane: {count: 1}
      worker:
        pools:
          general: {count: WORKERS}
          gpu: {count: 1, flavor: g1.xlarge, labels: {nvidia.com/gpu: "true"}}
    podCidrs: [10.244.0.0/16]
  kubeports:openstack:
    image: ubuntu-24.04
    flavor: m1.large
    networkId: 5b0c4a6e-0000-4000-8000-00000000c0de
    subnetId: 5b0c4a6e-0000-4000-8000-00000000beef
"""


def git(project: str, *args: str) -> str:
    result = subprocess.run(["git", "-C", project, *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GIT_AUTHOR_NAME": "acme", "GIT_AUTHOR_EMAIL": "ops@acme.test",
                                 "GIT_COMMITTER_NAME": "acme", "GIT_COMMITTER_EMAIL": "ops@acme.test"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> str:
    """A fresh virtualenv with kubeports installed from the wheel (and its dependencies)."""
    tmp = str(tmp_path_factory.mktemp("consumer-build"))
    wheel = build_wheel(tmp)
    home = os.path.join(tmp, "venv")
    made = run(sys.executable, "-m", "venv", home, cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = os.path.join(home, "bin", "python")
    done = run(python, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", wheel, cwd=tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    return home


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> str:
    """Acme's repository: two commits, the second adds a node to the general pool."""
    home = str(tmp_path_factory.mktemp("acme"))
    files = {"Pulumi.yaml": PULUMI_YAML, "__main__.py": PROGRAM, "broken.py": BROKEN,
             "components/__init__.py": OWN_COMPONENTS, "Pulumi.dev.yaml": STACK.replace("WORKERS", "2"),
             "site-portspecs/monitoring.yaml": LAYER, "ops/README": "Acme's runbooks\n",
             ".gitignore": "venv/\n__pycache__/\n"}
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(home, name)), exist_ok=True)
        with open(os.path.join(home, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    git(home, "init", "--quiet", "--initial-branch=main")
    git(home, "add", "-A")
    git(home, "commit", "--quiet", "-m", "acme: a cluster with two general workers and a GPU one")
    with open(os.path.join(home, "Pulumi.dev.yaml"), "w", encoding="utf-8") as handle:
        handle.write(STACK.replace("WORKERS", "3"))
    git(home, "commit", "--quiet", "-am", "acme: a third general worker")
    return home


def kubeports(venv: str, project: str, *args: str) -> subprocess.CompletedProcess:
    """The console script of the venv, run in the project as a person would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEPORTS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(venv, "bin", "kubeports"), *args], capture_output=True, text=True,
                          cwd=project, env=env, timeout=300)


def test_kubeports_comes_from_the_venv_and_components_from_the_project(venv, project):
    probe = "import components, kubeports.components as k; print(components.__file__); print(k.__file__)"
    result = subprocess.run([os.path.join(venv, "bin", "python"), "-c", probe], capture_output=True, text=True,
                            cwd=project, timeout=120, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.returncode == 0, result.stderr
    own, theirs = result.stdout.splitlines()
    assert own == os.path.join(project, "components", "__init__.py")
    assert theirs.startswith(os.path.join(venv, "lib")) and theirs.endswith("kubeports/components/__init__.py")
    assert not theirs.startswith(ROOT)


def test_version_and_lint(venv, project):
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert kubeports(venv, project, "--version").stdout == f"kubeports {version}\n"
    lint = kubeports(venv, project, "lint")
    specs = len(glob.glob(os.path.join(PORTSPECS, "*.yaml")))
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", f"ok: {specs} spec files, 1 stack files\n")


PLAN_STDERR = [
    "note: 9 flows skip roles this cluster lacks, 10 skip CIDR sets this stack leaves empty, "
    "3 land on a stand-in role or CIDR set; -v lists them",
    "quota: Neutron quota: 31 of 100 security group rules (27 of this stack, 4 already in the project), 69 left; "
    "a new group needs 2 free for a moment",
    "quota: Neutron quota: 3 of 10 security groups (2 of this stack, 1 already in the project), 7 left",
    "quota: Nova quota: 3 of 10 server groups, 7 left; fullest is worker/general with 3 of 10 members",
]


def test_extra_flows_and_the_layer_resolve_beside_the_shipped_catalog(venv, project):
    result = kubeports(venv, project, "rules", "--stack", "dev", "--format", "json")
    assert (result.returncode, result.stderr.splitlines()) == (0, PLAN_STDERR)
    rules = {r["key"]: (r["description"], r["sources"]) for r in json.loads(result.stdout)["rules"]}
    assert {k: v for k, v in rules.items() if "-7000-" in k or "-9100-" in k} == {
        "worker-in-tcp-7000-from-198.51.100.0-24-v4": ("Backup agent, from the admin network", ["Pulumi.dev.yaml:16"]),
        "control-plane-in-tcp-9100-from-203.0.113.0-28-v4": ("Prometheus scrapes node exporter",
                                                             ["site-portspecs/monitoring.yaml:4"]),
        "worker-in-tcp-9100-from-203.0.113.0-28-v4": ("Prometheus scrapes node exporter",
                                                      ["site-portspecs/monitoring.yaml:4"]),
    }
    assert rules["control-plane-in-tcp-6443-from-198.51.100.0-24-v4"][1] == ["portspecs/kubernetes.yaml:26"]


def test_plan_offline_with_the_installed_catalog(venv, project):
    result = kubeports(venv, project, "plan", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [*PLAN_STDERR, "offline plan: computed under Pulumi's mock runtime; no cloud "
                                          "was contacted and no provider plugin ran (Pulumi.dev.yaml)."]
    lines = result.stdout.splitlines()
    assert '  owner: "platform/acme"' in lines  # the project's own components module, not kubeports'
    assert '  security_group_ids: {"control-plane": "acme-control-plane-sg-id", "worker": "acme-worker-sg-id"}' \
           '  [mock: id]' in lines
    assert lines[lines.index("Resources:"):] == [
        "Resources:",
        "    + 45 to create",
        "",
        "By type:",
        "    openstack:networking/secGroupRule:SecGroupRule    27",
        "    openstack:compute/instance:Instance                5",
        "    openstack:networking/port:Port                     5",
        "    openstack:compute/serverGroup:ServerGroup          3",
        "    openstack:networking/secGroup:SecGroup             2",
        "    kubeports:index:Cluster                            1",
        "    kubeports:index:ControlPlane                       1",
        "    kubeports:index:Worker                             1",
        "",
        "By role:",
        "    control-plane                                     18",
        "    worker                                            26",
        "    (cluster)                                          1",
    ]


def test_plan_from_a_subdirectory_runs_the_project_found_above(venv, project):
    here = kubeports(venv, project, "plan", "--stack", "dev", "--format", "json")
    below = kubeports(venv, os.path.join(project, "ops"), "plan", "--stack", "dev", "--format", "json")
    assert (below.returncode, below.stdout) == (0, here.stdout), below.stderr
    assert json.loads(below.stdout)["outputs"]["owner"] == "platform/acme"


def test_inventory_hands_the_pools_to_kubespray(venv, project):
    result = kubeports(venv, project, "inventory", "--stack", "dev", "--format", "ini")
    assert (result.returncode, result.stderr.splitlines()) == (
        0, [*PLAN_STDERR, "note: stack dev: mock addresses from an offline plan; no cloud was contacted"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# MOCK ADDRESSES: from an offline plan")
    groups = {}
    for line in lines:
        if line.startswith("["):
            group = groups.setdefault(line.strip("[]"), [])
        elif line and not line.startswith("#") and groups:
            group.append(line.split()[0])
    assert {g: hosts for g, hosts in groups.items() if g != "all" and not g.endswith(":vars")} == {
        "calico_rr": [],
        "etcd": ["acme-control-plane-0"],
        "kube_control_plane": ["acme-control-plane-0"],
        "kube_node": ["acme-worker-general-0", "acme-worker-general-1", "acme-worker-general-2", "acme-worker-gpu-0"],
        "k8s_cluster:children": ["kube_control_plane", "kube_node", "calico_rr"],
        "kubeports_control_plane": ["acme-control-plane-0"],
        "kubeports_worker": ["acme-worker-general-0", "acme-worker-general-1", "acme-worker-general-2",
                             "acme-worker-gpu-0"],
        "kubeports_worker_general": ["acme-worker-general-0", "acme-worker-general-1", "acme-worker-general-2"],
        "kubeports_worker_gpu": ["acme-worker-gpu-0"],
    }
    [gpu] = [line for line in lines if line.startswith("acme-worker-gpu-0 ")]
    assert gpu.endswith(" node_labels='{\"nvidia.com/gpu\":\"true\"}'")


def test_a_bug_in_the_projects_own_code_is_named_by_its_line(venv, project):
    result = kubeports(venv, project, "plan", "--stack", "dev", "--program", "broken.py")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == \
        "components/__init__.py:10: (program): KeyError: 'no-such-key' (--debug shows the traceback)"
    debug = kubeports(venv, project, "plan", "--stack", "dev", "--program", "broken.py", "--debug")
    assert debug.returncode == 1 and '  File "' + os.path.join(project, "broken.py") + '", line 4, in <module>' \
        in debug.stderr.splitlines()


def test_diff_between_two_commits_of_the_project(venv, project):
    base, head = git(project, "rev-parse", "HEAD~1")[:12], git(project, "rev-parse", "HEAD")[:12]
    result = kubeports(venv, project, "diff", "--base", "HEAD~1", "--head", "HEAD", "--stack", "dev", "--exit-code")
    assert (result.returncode, result.stderr) == (5, ""), result.stderr  # changed
    text = result.stdout
    title = f"Stack dev: HEAD~1 ({base}) → HEAD ({head})"
    assert text.startswith(f"{title}\n{'=' * len(title)}\n")
    assert "Resources: 2 to create, 0 to delete, 0 to update, 0 to replace, 43 unchanged." in text.splitlines()
    unpinned = ("image 'ubuntu-24.04' is not pinned; it resolves to image-ubuntu-24.04-id now, and nodes keep the "
                "image they were created with (ignoreChanges); pin it with imageId: image-ubuntu-24.04-id")
    assert text.endswith("\n".join([
        "Resources:",
        "  create   openstack.compute.Instance acme-worker-general-2",
        "  create   openstack.networking.Port acme-worker-general-2-port-5301784b",
        "",
        "Nodes this `pulumi up` replaces:",
        "  Role            Step  Nodes replaced (limit)  Nodes                           Order",
        "  worker/general  -     0 (1)                   acme-worker-general-2 (create)  -",
        "",
        "Images:",
        f"  - control-plane: {unpinned}",
        f"  - worker: {unpinned}",
        ""]))
    assert "**" not in text and "| " not in text  # plain text (markdown only with --format markdown)
    same = kubeports(venv, project, "diff", "--base", "HEAD", "--stack", "dev", "--exit-code")
    assert (same.returncode, same.stdout) == (0, "no changes\n")


def test_diff_refuses_a_stack_on_neither_side(venv, project):
    for extra in ([], ["--exit-code"]):
        result = kubeports(venv, project, "diff", "--base", "HEAD~1", "--stack", "prod", *extra)
        assert (result.returncode, result.stdout, result.stderr) == (
            1, "", "Pulumi.prod.yaml:1: --stack: no Pulumi.prod.yaml on either side (HEAD~1 or the work tree)\n")


def test_a_bug_on_one_side_of_a_diff_is_that_sides_line(venv, project, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(project, broken, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    (broken / "__main__.py").write_text(BROKEN)
    line = f"{broken}:1: kubeports plan: components/__init__.py:10: (program): KeyError: 'no-such-key'"
    result = kubeports(venv, project, "diff", "--base-dir", str(broken), "--stack", "dev")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"{line} (--debug shows the traceback)\n")
    debug = kubeports(venv, project, "diff", "--base-dir", str(broken), "--stack", "dev", "--debug")
    assert (debug.returncode, debug.stdout) == (1, "")
    assert "Traceback (most recent call last):" in debug.stderr and debug.stderr.endswith(f"\n{line}\n")
