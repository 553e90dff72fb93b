"""Shared fixtures. Keep this small; nothing here may import pulumi (the core never does)."""
from __future__ import annotations

import contextlib
import glob
import io
import os
import shutil
from collections.abc import Callable

import pytest

from kubeports.core.catalog import Catalog, load_catalog
from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.project import Project, load_project

STACK_FILES = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
STACKS = [os.path.basename(p)[len("Pulumi."):-len(".yaml")] for p in STACK_FILES]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog. Shared: copy before changing (dataclasses.replace(catalog, flows=[...]))."""
    return load_catalog(PORTSPECS)


@pytest.fixture(scope="session")
def projects() -> dict[str, Project]:
    """Every shipped example stack (Pulumi.<name>.yaml), loaded end to end, by name."""
    return {name: load_project(path) for name, path in zip(STACKS, STACK_FILES, strict=True)}


@pytest.fixture
def spec_dir(tmp_path) -> str:
    """A writable copy of portspecs/, so a broken file still finds the names other files define."""
    target = tmp_path / "portspecs"
    shutil.copytree(PORTSPECS, target)
    return str(target)


@pytest.fixture
def run_cli() -> Callable[..., tuple[int, str, str]]:
    """Run `kubeports ARGS...` in process: returns (exit code, stdout, stderr)."""
    from kubeports import cli

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    return run
