"""The real-API tier's cost, per test file: wall time and CPU time (the pytest process and
the servers it starts, Neutron and moto, which are its children), side by side.

Usage:
    .venv/bin/python bench/realapi.py                    # every tests/realapi/test_*.py
    .venv/bin/python bench/realapi.py --files test_changes.py,test_quotas.py
    .venv/bin/python bench/realapi.py --root /path/to/another/checkout   # e.g. main, for "before"

Each file runs in its own `pytest` (so each pays one server start, as a file run alone
does); the whole tier in one run pays it once. Wall time on a shared machine moves with
its load (printed beside the figures); CPU time moves much less, so compare that.
"""
from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import time

from _util import ROOT


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(root: str, path: str) -> tuple[float, float, str]:
    cpu, wall = cpu_of_children(), time.monotonic()
    done = subprocess.run([os.path.join(root, ".venv", "bin", "pytest"), "-q", "-p", "no:cacheprovider", path],
                          cwd=root, capture_output=True, text=True)
    return time.monotonic() - wall, cpu_of_children() - cpu, outcomes(done.stdout)


def outcomes(stdout: str) -> str:
    """From pytest's progress lines (`..sx.F  [ 40%]`): how many passed, skipped, ..."""
    marks = "".join(line.split("[")[0].strip() for line in stdout.splitlines() if line.rstrip().endswith("%]"))
    names = {".": "passed", "s": "skipped", "x": "xfailed", "X": "xpassed", "F": "failed", "E": "error"}
    return ", ".join(f"{marks.count(m)} {n}" for m, n in names.items() if marks.count(m)) or "(no tests)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=ROOT, help="the checkout whose tier to run (its .venv)")
    parser.add_argument("--files", help="comma-separated file names under tests/realapi")
    args = parser.parse_args()
    names = args.files.split(",") if args.files else sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(args.root, "tests", "realapi", "test_*.py")))
    print(f"root {args.root}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| file | wall s | CPU s (pytest + servers) | result |")
    print("|---|---|---|---|")
    total_wall = total_cpu = 0.0
    for name in names:
        wall, cpu, summary = run(args.root, os.path.join("tests", "realapi", name))
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"| {name} | {wall:.0f} | {cpu:.0f} | {summary} |", flush=True)
    print(f"| total | {total_wall:.0f} | {total_cpu:.0f} | load average at end {os.getloadavg()[0]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
