"""Regenerate (or check) the resolved port tables in docs/tables.md.

    .venv/bin/python -m tests.readme_tables --write    # `make docs`

Each example stack's tables are exactly `kubeports rules --stack NAME --format markdown`,
placed between the BEGIN/END markers, so the docs cannot drift from the catalog.
"""
from __future__ import annotations

import glob
import os
import sys

from kubeports.core.paths import ROOT
from kubeports.core.project import load_project
from kubeports.render.tables import as_markdown

README = os.path.join(ROOT, "docs", "tables.md")
BEGIN, END = "<!-- BEGIN generated: kubeports rules -->", "<!-- END generated: kubeports rules -->"


def generated() -> str:
    parts = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml"))):
        stack = os.path.basename(path)[len("Pulumi."):-len(".yaml")]
        project = load_project(path)
        body = as_markdown(project.resolution.rules).replace("\n### ", "\n#### ")
        parts.append(f"<details><summary><b>{stack}</b> ({project.stack.cloud}, "
                     f"{project.stack.cluster.distribution} + {project.stack.cluster.cni.name} "
                     f"{project.stack.cluster.cni.mode}): {len(project.resolution.rules)} rules</summary>\n"
                     f"\n`kubeports rules --stack {stack} --format markdown`\n{body}\n</details>\n")
    return "\n".join(parts)


def render(readme: str) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated()}{END}{tail}"


def main(argv: list[str]) -> int:
    with open(README, encoding="utf-8") as handle:
        current = handle.read()
    wanted = render(current)
    if "--write" in argv:
        with open(README, "w", encoding="utf-8") as handle:
            handle.write(wanted)
        return 0
    if wanted != current:
        print("docs/tables.md: the port tables are stale; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
