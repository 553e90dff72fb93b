"""The house's import rules, read from the code's own import statements (every one,
also those inside functions), so a change that breaks a layer fails here.

Rooms and what each may import (beyond the standard library):
- kubeports.core: the core only (pydantic, PyYAML, packaging); never pulumi;
- kubeports.render: the core and render; never pulumi;
- kubeports.plan: core, render, plan and pulumi; never the cli or components;
- kubeports.live: the core and the clouds' SDKs (read-only); only the cli imports it;
- kubeports.cli: anything of kubeports; nothing imports it but `python -m kubeports`;
- kubeports.provider (the component package for other Pulumi languages): the core,
  kubeports.components and pulumi; never render, plan, cli or live; nothing imports it but
  the plugin's entry point, the tree's `provider/__main__.py`;
- kubeports.components (the top-level components/ directory of the tree, installed under
  that name): the core, pulumi and the provider SDKs; never render, plan or cli;
  kubeports.components.backend (the interface) imports no cloud module and no provider SDK;
  a cloud module imports no other cloud module and no other cloud's SDK;
- nothing imports a top-level `components`: a consumer project's own package has that name.
There is no import cycle among the project's modules.
"""
from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping

import pytest

from kubeports.core.paths import ROOT

PROVIDER_SDKS = {"pulumi_aws": "aws", "pulumi_openstack": "openstack"}
PACKAGES = ("kubeports",)
COMPONENTS = "kubeports.components"
PROVIDER = "kubeports.provider"
# folder of the tree -> its installed name (provider/ is the plugin folder; Pulumi runs it, nothing installs it)
FOLDERS = {"kubeports": "kubeports", "components": COMPONENTS, "provider": "provider"}


def module_name(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)[:-len(".py")].replace(os.sep, ".")
    folder, _, rest = rel.partition(".")
    return ".".join(filter(None, (FOLDERS.get(folder, folder), rest))).removesuffix(".__init__")


def project_files(root: str) -> dict[str, str]:
    """Module name -> path, for every module of the package (components/ included) and the program."""
    out = {"__main__": os.path.join(root, "__main__.py")}
    for package in FOLDERS:
        for folder, _dirs, files in os.walk(os.path.join(root, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    out[module_name(path, root)] = path
    return out


def imports_of(module: str, source: str, is_package: bool) -> set[str]:
    """Every module `source` imports, absolute, including imports inside functions."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[:len(base) - node.level + 1]
                target = ".".join(parent + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from package import module` imports the module too
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph(files: Mapping[str, str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        with open(path, encoding="utf-8") as handle:
            graph[module] = imports_of(module, handle.read(), path.endswith("__init__.py"))
    return graph


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "kubeports" and len(parts) > 1 and parts[1] in ("core", "render", "plan", "cli", "live", "provider"):
        return f"kubeports.{parts[1]}"
    if module.startswith(f"{COMPONENTS}.clouds."):
        return ".".join(parts[:4])
    return COMPONENTS if module.startswith(COMPONENTS) else parts[0]


def violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Every import that breaks a rule of the module header, as `importer -> imported: rule`."""
    out: list[str] = []
    for module, targets in sorted(graph.items()):
        here = room(module)
        for target in sorted(targets):
            top = target.split(".")[0]
            there = room(target) if top in PACKAGES else top
            if module.startswith(("kubeports.core", "kubeports.render")) and top.startswith("pulumi"):
                out.append(f"{module} -> {target}: {here} imports no pulumi")
            if here == "kubeports.core" and top in PACKAGES and there != "kubeports.core":
                out.append(f"{module} -> {target}: the core imports only the core")
            if here == "kubeports.render" and top in PACKAGES and there not in ("kubeports.core", "kubeports.render"):
                out.append(f"{module} -> {target}: render imports only the core and render")
            if top == "components":
                out.append(f"{module} -> {target}: import kubeports.components, not a top-level components")
            if here == "kubeports.plan" and (there == "kubeports.cli" or there.startswith(COMPONENTS)):
                out.append(f"{module} -> {target}: plan imports neither the cli nor components")
            if here == "kubeports.live" and top in PACKAGES and there not in ("kubeports.core", "kubeports.live"):
                out.append(f"{module} -> {target}: live imports only the core")
            if there == "kubeports.live" and here not in ("kubeports.cli", "kubeports.live"):
                out.append(f"{module} -> {target}: only the cli imports live")
            if there == "kubeports.cli" and here != "kubeports.cli" and module != "kubeports.__main__":
                out.append(f"{module} -> {target}: nothing imports the cli")
            if there.startswith(COMPONENTS) and not here.startswith(COMPONENTS) and module != "__main__" \
                    and here not in ("kubeports.cli", PROVIDER):
                out.append(f"{module} -> {target}: only the program imports components")
            if here == PROVIDER and there in ("kubeports.render", "kubeports.plan", "kubeports.cli", "kubeports.live"):
                out.append(f"{module} -> {target}: the provider builds the components, not text, plans or commands")
            if there == PROVIDER and here not in (PROVIDER, "provider"):
                out.append(f"{module} -> {target}: only the plugin's entry point imports the provider")
            if here == COMPONENTS and there in ("kubeports.render", "kubeports.plan", "kubeports.cli"):
                out.append(f"{module} -> {target}: components render clouds, not text, plans or commands")
            if module == f"{COMPONENTS}.backend" and (there.startswith(f"{COMPONENTS}.clouds") or top in PROVIDER_SDKS):
                out.append(f"{module} -> {target}: the interface imports no cloud")
            if here.startswith(f"{COMPONENTS}.clouds."):
                cloud = here.rsplit(".", 1)[1]
                if there.startswith(f"{COMPONENTS}.clouds.") and there != here:
                    out.append(f"{module} -> {target}: a cloud module imports no other cloud module")
                if PROVIDER_SDKS.get(top, cloud) != cloud:
                    out.append(f"{module} -> {target}: a cloud module imports only its own provider SDK")
    return out


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), among project modules."""
    nodes = set(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(t for t in graph[node] if t in nodes):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1 or node in graph[node]:
                found.append(sorted(part))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph(project_files(ROOT))


def test_every_room_keeps_its_import_rules():
    assert violations(GRAPH) == []


def test_there_is_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_rooms_exist_as_the_header_says():
    rooms = {room(m) for m in GRAPH}
    assert {"kubeports.core", "kubeports.render", "kubeports.plan", "kubeports.cli", "kubeports.live", "kubeports.components",
            "kubeports.components.clouds.aws", "kubeports.components.clouds.openstack", "kubeports.provider",
            "provider"} <= rooms


@pytest.mark.parametrize(("graph", "expected"), [
    ({"kubeports.core.resolver": {"pulumi"}}, ["kubeports.core.resolver -> pulumi: kubeports.core imports no pulumi"]),
    ({"kubeports.core.resolver": {"kubeports.render.tables"}},
     ["kubeports.core.resolver -> kubeports.render.tables: the core imports only the core"]),
    ({"kubeports.render.export": {"kubeports.plan.offline"}},
     ["kubeports.render.export -> kubeports.plan.offline: render imports only the core and render"]),
    ({"kubeports.plan.refs": {"kubeports.cli.main"}},
     ["kubeports.plan.refs -> kubeports.cli.main: plan imports neither the cli nor components",
      "kubeports.plan.refs -> kubeports.cli.main: nothing imports the cli"]),
    ({"kubeports.components.clouds.aws": {"kubeports.components.clouds.openstack"}},
     ["kubeports.components.clouds.aws -> kubeports.components.clouds.openstack: a cloud module imports no other cloud module"]),
    ({"kubeports.components.clouds.aws": {"pulumi_openstack"}},
     ["kubeports.components.clouds.aws -> pulumi_openstack: a cloud module imports only its own provider SDK"]),
    ({"kubeports.components.backend": {"kubeports.components.clouds.aws"}},
     ["kubeports.components.backend -> kubeports.components.clouds.aws: the interface imports no cloud"]),
    ({"kubeports.components.cluster": {"kubeports.render.tables"}},
     ["kubeports.components.cluster -> kubeports.render.tables: components render clouds, not text, plans or commands"]),
    ({"kubeports.core.project": {"kubeports.components.peers"}},
     ["kubeports.core.project -> kubeports.components.peers: the core imports only the core",
      "kubeports.core.project -> kubeports.components.peers: only the program imports components"]),
    ({"__main__": {"components"}}, ["__main__ -> components: import kubeports.components, not a top-level components"]),
    ({"kubeports.live.aws": {"kubeports.render.audit"}},
     ["kubeports.live.aws -> kubeports.render.audit: live imports only the core"]),
    ({"kubeports.core.audit": {"kubeports.live.aws"}},
     ["kubeports.core.audit -> kubeports.live.aws: the core imports only the core",
      "kubeports.core.audit -> kubeports.live.aws: only the cli imports live"]),
    ({"kubeports.provider.provider": {"kubeports.plan.offline"}},
     ["kubeports.provider.provider -> kubeports.plan.offline: the provider builds the components, not text, plans or commands"]),
    ({"kubeports.components.cluster": {"kubeports.provider.schema"}},
     ["kubeports.components.cluster -> kubeports.provider.schema: only the plugin's entry point imports the provider"]),
    ({"provider.__main__": {"kubeports.provider.provider"},
      "kubeports.provider.provider": {"kubeports.components", "kubeports.core.errors", "pulumi"}}, []),
    ({"kubeports.__main__": {"kubeports.cli"},
      "kubeports.components.clouds.aws": {"kubeports.components.backend", "pulumi_aws"}}, []),
])
def test_the_checker_catches_each_kind_of_break(graph, expected):
    assert violations(graph) == expected


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    source = {"kubeports.components.backend": "def f():\n    from .clouds import aws\n",
              "kubeports.components.clouds.aws": "from kubeports.components.backend import CloudBackend\n"}
    graph = {m: imports_of(m, s, False) for m, s in source.items()}
    assert cycles(graph) == [["kubeports.components.backend", "kubeports.components.clouds.aws"]]


def test_relative_imports_resolve_as_python_does():
    assert imports_of("kubeports.components", "from .clouds.aws import X\n", True) >= {"kubeports.components.clouds.aws"}
    assert imports_of("kubeports.cli.main", "from .commands import COMMANDS\n", False) >= {"kubeports.cli.commands"}
    assert imports_of("kubeports.core.resolver", "from . import rules\n", False) >= {"kubeports.core.rules"}
