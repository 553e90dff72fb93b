"""`python -m kubeports.provider --write | --check`: provider/schema.json, the package schema checked in.

`--check` exits 1 when the file differs from what the provider serves (after a change to
the settings models, the declarations or the version): run `--write` and commit the diff.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from kubeports.core.paths import ROOT

from .provider import schema

SCHEMA_FILE = os.path.join(ROOT, "provider", "schema.json")


def rendered() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubeports.provider", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write provider/schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if provider/schema.json is out of date")
    args = parser.parse_args(argv)
    text = rendered()
    if args.write:
        with open(SCHEMA_FILE, "w", encoding="utf-8") as handle:
            handle.write(text)
        return 0
    try:
        with open(SCHEMA_FILE, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = ""
    if current != text:
        print(f"{os.path.relpath(SCHEMA_FILE, ROOT)}: out of date; run `python -m kubeports.provider --write`",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
