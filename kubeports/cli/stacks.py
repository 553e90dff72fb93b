"""Which stack file a command means, found the way the Pulumi CLI finds a project and its stack.

Rules of this file:
- the project is the nearest `Pulumi.yaml` (or `Pulumi.yml`) from the current directory
  upwards, as `pulumi` finds it (workspace.DetectProjectPathFrom); with none, the project
  root kubeports knows (the checkout, or the current directory for an installed wheel);
- stack files sit beside it, or in its `stackConfigDir`; `--stack org/project/dev` and
  `--stack dev` both mean `Pulumi.dev.yaml`, as in `pulumi config`;
- the program `plan` runs is that project's (its `main:`, else its `__main__.py`), as `pulumi
  up` from the same directory would run it;
- without `--stack`, the stack `pulumi stack select` chose: the Pulumi CLI keeps it in
  `$PULUMI_HOME/workspaces/<project>-<sha1 of the Pulumi.yaml path>-workspace.json`
  (`~/.pulumi` by default; sdk/go/common/workspace/workspace.go). Nothing selected is an
  error that lists the stack files, never a guess, also with a single stack file:
  `pulumi` itself refuses to pick one for you.
"""
from __future__ import annotations

import hashlib
import json
import os

import yaml

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import ROOT, display_path
from kubeports.core.suggest import did_you_mean, known_list

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


def find_project(start: str) -> str | None:
    """The path of the nearest Pulumi.yaml from `start` upwards, or None."""
    folder = os.path.abspath(start)
    while True:
        for name in PROJECT_FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _project_doc(project_file: str) -> dict:
    try:
        with open(project_file, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def stack_dir(project_file: str | None) -> str:
    """Where the project's Pulumi.<stack>.yaml files are."""
    if project_file is None:
        return ROOT
    root = os.path.dirname(project_file)
    configured = _project_doc(project_file).get("stackConfigDir")
    return os.path.join(root, configured) if isinstance(configured, str) and configured else root


def selected_stack(project_file: str) -> str | None:
    """The stack `pulumi stack select` chose for this project, as the Pulumi CLI stores it."""
    name = _project_doc(project_file).get("name")
    if not isinstance(name, str):
        return None
    home = os.environ.get("PULUMI_HOME") or os.path.join(os.path.expanduser("~"), ".pulumi")
    digest = hashlib.sha1(project_file.encode(), usedforsecurity=False).hexdigest()
    path = os.path.join(home, "workspaces", f"{name}-{digest}-workspace.json")
    try:
        with open(path, encoding="utf-8") as handle:
            stack = json.load(handle).get("stack")
    except (OSError, ValueError, AttributeError):
        return None
    return stack if isinstance(stack, str) and stack else None


def project_program(cwd: str | None = None) -> str | None:
    """The Pulumi program of the project found from `cwd`, as `pulumi up` there runs it: the
    project's `main:` (a directory holding `__main__.py`, or a file) or its directory's
    `__main__.py`; None without a Pulumi.yaml."""
    project_file = find_project(cwd or os.getcwd())
    if project_file is None:
        return None
    root = os.path.dirname(project_file)
    main = _project_doc(project_file).get("main")
    target = os.path.join(root, main) if isinstance(main, str) and main else root
    return os.path.join(target, "__main__.py") if os.path.isdir(target) else target


def stack_file_for(stack: str | None, cwd: str | None = None) -> tuple[str, str]:
    """(stack name, its file) for `--stack` (None: the selected stack) from `cwd`."""
    project_file = find_project(cwd or os.getcwd())
    folder = stack_dir(project_file)
    if stack is None:
        stack = selected_stack(project_file) if project_file else None
        if stack is None:
            where = display_path(project_file) if project_file else "no Pulumi.yaml above the current directory"
            raise KubeportsError([Problem(where, 1, "--stack", (
                "no stack selected: give --stack NAME or --stack-file PATH, or run `pulumi stack select NAME`; "
                f"stack files here: {known_list(stack_names(folder))}"))])
    short = stack.rsplit("/", 1)[-1]  # org/project/dev: the config file is Pulumi.dev.yaml
    path = os.path.join(folder, f"Pulumi.{short}.yaml")
    if not os.path.exists(path) and os.path.isdir(folder):
        names = stack_names(folder)
        raise KubeportsError([Problem(display_path(path), 1, "--stack", (
            f"no stack file for {stack!r}; stack files here: {known_list(names)}{did_you_mean(short, names)}"))])
    return short, path


def stack_names(folder: str) -> list[str]:
    return sorted(f[len("Pulumi."):-len(".yaml")] for f in os.listdir(folder)
                  if f.startswith("Pulumi.") and f.endswith(".yaml") and f not in PROJECT_FILES) \
        if os.path.isdir(folder) else []
