"""kubeports as other stacks install it: a wheel built from a clean copy of the tree,
installed with `pip install --target` and run from a directory that is not a checkout.

Offline: `pip wheel --no-build-isolation` uses the venv's setuptools (the dev extra pins
one that can build wheels), and the install takes no dependencies (the venv has them).
"""
from __future__ import annotations

import filecmp
import glob
import importlib.metadata
import inspect
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.version import Version

import kubeports.components as components
from kubeports.core.paths import PORTSPECS, ROOT

IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
                                ".hypothesis", "build", "dist")


def clean_copy(dest: str) -> str:
    """What a fresh clone would hold: tracked and not-ignored files (or the tree minus caches without git)."""
    src = os.path.join(dest, "src")
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True, timeout=30).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, src, ignore=IGNORE)
        return src
    for rel in filter(None, listed):
        if os.path.isfile(os.path.join(ROOT, rel)):  # a tracked file may be deleted in the working tree
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), os.path.join(src, rel))
    return src


def run(*args: str, cwd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def build_wheel(tmp: str) -> str:
    """The wheel of a clean copy of this tree, built offline into tmp/wheels; its path."""
    setuptools = importlib.metadata.version("setuptools")
    assert Version(setuptools) >= Version("77"), f"setuptools {setuptools} cannot build this wheel offline; " \
                                                 "pip install -e '.[dev]'"
    src = clean_copy(tmp)
    wheels = os.path.join(tmp, "wheels")
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-cache-dir",
                "--disable-pip-version-check", "-w", wheels, src, cwd=tmp)
    assert built.returncode == 0, built.stderr
    [wheel] = glob.glob(os.path.join(wheels, "kubeports-*.whl"))
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    tmp = str(tmp_path_factory.mktemp("packaging"))
    wheel = build_wheel(tmp)
    target = os.path.join(tmp, "site")
    done = run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--disable-pip-version-check",
               "--target", target, wheel, cwd=tmp)
    assert done.returncode == 0, done.stderr
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    env = {**os.environ, "PYTHONPATH": target}
    env.pop("KUBEPORTS_PORTSPECS", None)
    return {"wheel": wheel, "target": target, "cwd": elsewhere, **env}


def kubeports(installed: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    return run(sys.executable, "-m", "kubeports", *args, cwd=installed["cwd"], env=env)


def test_the_wheel_ships_the_catalog_and_type_markers(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        shipped = sorted(n.split("/")[-1] for n in names if n.startswith("kubeports/_portspecs/"))
        assert shipped == sorted(os.path.basename(p) for p in glob.glob(os.path.join(PORTSPECS, "*.yaml")))
        for name in shipped:
            with open(os.path.join(PORTSPECS, name), "rb") as handle:
                assert wheel.read(f"kubeports/_portspecs/{name}") == handle.read(), name
    assert {"kubeports/py.typed", "kubeports/components/py.typed", "kubeports/cli/app.py",
            "kubeports/components/cluster.py", "kubeports/components/clouds/aws.py"} <= names
    # one top-level package: a consumer project's own components/ cannot shadow kubeports' (issue 17)
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"kubeports"}
    assert not [n for n in names if n.startswith(("tests/", "examples/", "portspecs/"))]
    assert not os.path.exists(os.path.join(ROOT, "kubeports", "_portspecs")), "portspecs/ is the only copy"


def test_the_wheel_ships_the_license_and_says_so_in_its_metadata(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        [licenses] = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        with open(os.path.join(ROOT, "LICENSE"), "rb") as handle:
            assert wheel.read(licenses) == handle.read()
        headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert {"License-Expression: Apache-2.0", "License-File: LICENSE"} <= set(headers)
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as handle:
        text = handle.read()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text


def test_installed_version_is_the_wheels(installed):
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    result = kubeports(installed, "--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"kubeports {version}\n", "")


def test_the_installed_package_imports_from_the_install_and_finds_its_catalog(installed):
    probe = ("import json, kubeports.components as c, kubeports.core.paths as p; "
             "print(json.dumps([c.__file__, p.PORTSPECS, p.IN_SOURCE_TREE, p.ROOT]))")
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    result = run(sys.executable, "-c", probe, cwd=installed["cwd"], env=env)
    assert result.returncode == 0, result.stderr
    module, portspecs, in_tree, root = json.loads(result.stdout)
    assert module.startswith(installed["target"]) and portspecs.startswith(installed["target"])
    assert in_tree is False and os.path.realpath(root) == os.path.realpath(installed["cwd"])
    for catalog in (portspecs, PORTSPECS):
        assert sorted(os.listdir(PORTSPECS)) == sorted(n for n in os.listdir(catalog) if n.endswith(".yaml"))
    assert not filecmp.dircmp(portspecs, PORTSPECS).diff_files


def test_installed_lint_checks_the_catalog_and_the_stacks_of_the_current_directory(installed):
    shutil.copy(os.path.join(ROOT, "Pulumi.dev.yaml"), installed["cwd"])
    result = kubeports(installed, "lint")
    assert result.returncode == 0, result.stderr
    specs = len(glob.glob(os.path.join(PORTSPECS, "*.yaml")))
    assert f"ok: {specs} spec files, 1 stack files" in result.stderr  # the packaged catalog, ./Pulumi.dev.yaml


def test_installed_rules_match_the_checkout(installed):
    stack_file = os.path.join(ROOT, "Pulumi.dev.yaml")
    result = kubeports(installed, "rules", "--stack-file", stack_file, "--format", "json")
    assert result.returncode == 0, result.stderr
    here = run(sys.executable, "-m", "kubeports", "rules", "--stack-file", stack_file, "--format", "json", cwd=ROOT)
    assert json.loads(result.stdout) == json.loads(here.stdout)  # sources read portspecs/<file> in both
    assert "portspecs/kubernetes.yaml:" in result.stdout and installed["target"] not in result.stdout


def test_installed_console_script(installed):
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    script = os.path.join(installed["target"], "bin", "kubeports")
    result = run(sys.executable, script, "rules", "--stack-file", os.path.join(ROOT, "Pulumi.prod-aws.yaml"),
                 cwd=installed["cwd"], env=env)
    assert result.returncode == 0, result.stderr
    assert "control-plane-in-tcp-6443" in result.stdout


def test_public_components_are_documented_and_typed():
    for name in components.__all__:
        obj = getattr(components, name)
        assert inspect.getdoc(obj), f"kubeports.components.{name} has no docstring"
    for args in (components.ClusterArgs, components.NodeRoleArgs):
        params = list(inspect.signature(args.__init__).parameters.values())[1:]
        assert all(p.annotation is not inspect.Parameter.empty for p in params), args.__name__
        assert all(f":param {p.name}:" in (args.__doc__ or "") for p in params), args.__name__
    for cls in (components.Cluster, components.NodeRole):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert all(p.annotation is not inspect.Parameter.empty for p in params), cls.__name__


def test_the_worker_pool_example_runs_on_the_installed_package(installed, tmp_path):
    """The example as its own project: its directory is the current one, kubeports comes from the install."""
    pool = tmp_path / "worker-pool"
    shutil.copytree(os.path.join(ROOT, "examples", "worker-pool"), pool)
    outputs = tmp_path / "dev-outputs.json"
    outputs.write_text(json.dumps({"security_group_ids": {"control-plane": "sg-cp", "worker": "sg-w"}}))
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    lint = run(sys.executable, "-m", "kubeports", "lint", cwd=str(pool), env=env)
    assert lint.returncode == 0 and "1 stack files" in lint.stderr, lint.stderr
    plan = run(sys.executable, "-m", "kubeports", "plan", "--stack", "pool", "--format", "json",
               "--stack-outputs", f"acme/kubeports/dev={outputs}", cwd=str(pool), env=env)
    assert plan.returncode == 0, plan.stderr
    rules = {r["name"]: r["inputs"] for r in json.loads(plan.stdout)["resources"]}
    api = rules["dev-pool-a-control-plane-in-tcp-6443-from-worker-v4"]
    assert (api["securityGroupId"], api["remoteGroupId"]) == ("sg-cp", "dev-pool-a-worker-sg-id")


CONSUMER_PROGRAM = '''"""A consumer project's own program: one line."""
from kubeports.components import Cluster

import components.own  # the project's own `components` package: kubeports must not shadow it, nor it kubeports

Cluster.from_stack_config().export()
'''


def test_a_consumer_project_plans_pools_with_one_line_and_hands_off_an_inventory(installed, tmp_path):
    """A project of its own (Pulumi.yaml, a `components/` package, `Cluster.from_stack_config()`),
    with two worker pools: planned offline and turned into kubespray's inventory by the installed CLI."""
    project = tmp_path / "consumer"
    (project / "components").mkdir(parents=True)
    (project / "components" / "__init__.py").write_text("")
    (project / "components" / "own.py").write_text("MINE = True\n")
    (project / "Pulumi.yaml").write_text("name: consumer\nruntime: python\n")
    (project / "__main__.py").write_text(CONSUMER_PROGRAM)
    with open(os.path.join(ROOT, "examples", "node-pools", "Pulumi.pools.yaml"), encoding="utf-8") as handle:
        (project / "Pulumi.edge.yaml").write_text(handle.read())
    env = {k: v for k, v in installed.items() if k not in ("wheel", "target", "cwd")}
    env["PYTHONPATH"] = f"{project}{os.pathsep}{env['PYTHONPATH']}"  # as Pulumi runs a Python project
    plan = run(sys.executable, "-m", "kubeports", "plan", "--stack", "edge", "--format", "json", cwd=str(project),
               env=env)
    assert plan.returncode == 0, plan.stderr
    outputs = json.loads(plan.stdout)["outputs"]
    assert sorted(outputs["pool_private_ips"]["worker"]) == ["default", "gpu", "infra"]
    inventory = run(sys.executable, "-m", "kubeports", "inventory", "--stack", "edge", "--format", "ini",
                    cwd=str(project), env=env)
    assert inventory.returncode == 0, inventory.stderr
    lines = inventory.stdout.splitlines()
    assert lines[0].startswith("# MOCK ADDRESSES")
    at = lines.index("[kubeports_worker_gpu]")
    assert lines[at:at + 3] == ["[kubeports_worker_gpu]", "pools-worker-gpu-0", "pools-worker-gpu-1"]
