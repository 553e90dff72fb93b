"""Helpers shared by the bench scripts: where the project is, stack files, markdown tables."""
from __future__ import annotations

import glob
import os
import sys
from collections.abc import Sequence
from typing import Any

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `.venv/bin/python bench/x.py` from anywhere
    sys.path.insert(0, ROOT)


def example_stacks(names: Sequence[str] | None = None) -> list[str]:
    """The example stack files `Pulumi.<stack>.yaml` at the project root (optionally by name)."""
    found = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
    if names:
        by_name = {stack_name(p): p for p in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"no stack file for {missing}; known: {sorted(by_name)}")
        return [by_name[n] for n in names]
    return found


def stack_name(path: str) -> str:
    return os.path.basename(path)[len("Pulumi."):-len(".yaml")]


def load_doc(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def write_stack(doc: dict[str, Any], directory: str, name: str) -> str:
    path = os.path.join(directory, f"Pulumi.{name}.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return path


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A GitHub markdown table; `right` lists the columns to right-align (numbers)."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_arg(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
