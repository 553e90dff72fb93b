"""PR preview: what the pull-request workflow's diff step (.github/workflows/pr.yml) costs for
the example stacks, in CPU time of every process it starts.

Usage:
    .venv/bin/python bench/preview.py                    # the per-stack loop and --all-stacks
    .venv/bin/python bench/preview.py --before e636d6c   # also the loop as that commit ran it
    .venv/bin/python bench/preview.py --repeat 3         # best of 3 (default 1)

What runs: base = a copy of the working tree (tracked and untracked files, not ignored ones),
head = that copy plus an edit that touches every kubeadm stack (one flow added to
portspecs/kubernetes.yaml, dev's NodePorts opened to the world), so each diff has content.
Rows, all measured in this one run:
- `loop`: pr.yml's loop until issue 19: `kubeports diff --stack S --format markdown` for
  every stack file, one after the other;
- `--all-stacks`: pr.yml now: one `kubeports diff --all-stacks --format markdown`;
- `loop @REF` (with --before REF): the loop with REF's code as the tool and on both sides
  (its tree from `git archive REF`, the same edit), i.e. the workflow as it was.
Figures: CPU s = user + system time of the tool and every process it started (the
RUSAGE_CHILDREN of this script, which counts grandchildren once they are waited for);
wall s; Python processes = how many interpreters that form starts, by construction
(the tool, plus per stack and side one (now) or two (rules, plan: before) subprocesses).
The outputs of `loop` and `--all-stacks` are compared: they must be the same text.
Target: the PR loop of the example stacks under 3 s CPU.

A second table times single commands two ways, same code: `kubeports` as installed
(kubeports.cli.entry: collector off, no interpreter teardown) and `main()` under
`sys.exit` (the collector on outside the plan, the interpreter torn down), for
`rules` and `plan` of dev and a `plan` of dev grown to --nodes nodes (default 1000).
"""
from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time

from _util import ROOT, md_table, stack_name
from scale import make_stack

from tests.plans import append_flow

FLOW = {"name": "bench-node-exporter", "purpose": "node exporter metrics (bench)", "protocol": "tcp", "ports": 9100,
        "to": ["worker"], "from": ["control-plane"]}


def working_tree(target: str) -> None:
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True,
                           check=True).stdout
    tar = subprocess.run(["tar", "-C", ROOT, "--null", "-T", "-", "-cf", "-"], input=files, capture_output=True,
                         check=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=tar, check=True)


def tree_of(ref: str, target: str) -> None:
    """REF's tree in `target`, its own components and catalog importable as kubeports.* from it.

    The installed (editable) kubeports maps `kubeports.components` and `kubeports._portspecs`
    to THIS checkout's folders; links inside the old tree's package are found first (the
    path finder runs before the editable finder), so the old loop runs the old components."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    for package, folder in (("components", "components"), ("_portspecs", "portspecs")):
        link = os.path.join(target, "kubeports", package)
        if os.path.isdir(os.path.join(target, folder)) and not os.path.exists(link):
            os.symlink(os.path.join("..", folder), link)


def edit(tree: str) -> None:
    append_flow(os.path.join(tree, "portspecs"), "kubernetes.yaml", FLOW)
    stack = os.path.join(tree, "Pulumi.dev.yaml")
    with open(stack, encoding="utf-8") as fh:
        text = fh.read()
    with open(stack, "w", encoding="utf-8") as fh:
        fh.write(text.replace("nodeport-clients: [198.51.100.0/24]", "nodeport-clients: [0.0.0.0/0]"))


def run(tool: str, args: list[str]) -> str:
    """`kubeports ARGS` with the code in `tool` (its checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": tool}
    result = subprocess.run([sys.executable, "-m", "kubeports", *args], cwd=tool, env=env, capture_output=True,
                            text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"kubeports {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


TEARDOWN = "import sys; from kubeports.cli import main; sys.exit(main())"


def command(args: list[str], teardown: bool) -> str:
    """One `kubeports` command in a fresh interpreter, as the console script ends it or not."""
    head = ["-c", TEARDOWN] if teardown else ["-m", "kubeports"]
    result = subprocess.run([sys.executable, *head, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"kubeports {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def commands_table(nodes: int, repeat: int, tmp: str) -> str:
    big = make_stack("openstack", nodes, tmp)
    forms = [("rules --stack dev", ["rules", "--stack", "dev"]), ("plan --stack dev", ["plan", "--stack", "dev"]),
             (f"plan, {nodes:,} nodes", ["plan", "--stack-file", big, "--format", "json"])]
    rows = []
    for label, args in forms:
        torn, _, _ = best(lambda a=args: command(a, teardown=True), repeat)
        entry, _, _ = best(lambda a=args: command(a, teardown=False), repeat)
        rows.append((label, f"{torn:.2f}", f"{entry:.2f}", f"{1 - entry / torn:.0%}"))
    return ("\n## Single commands: ending without teardown (CPU s)\n\n"
            + md_table(["Command", "main() + teardown", "kubeports (entry)", "Saved"], rows, right=(1, 2, 3)))


def measured(work) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    out = work()
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, out


def best(work, repeat: int) -> tuple[float, float, str]:
    runs = [measured(work) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REF", help="also time the per-stack loop with REF's code")
    parser.add_argument("--repeat", type=int, default=1, help="runs per form; the least CPU counts (default 1)")
    parser.add_argument("--nodes", type=int, default=1000, help="size of the big plan in the commands table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kubeports-preview-") as tmp:
        base, head = os.path.join(tmp, "base"), os.path.join(tmp, "head")
        for tree in (base, head):
            os.makedirs(tree)
            working_tree(tree)
        edit(head)
        stacks = sorted(stack_name(p) for p in glob.glob(os.path.join(head, "Pulumi.*.yaml")))
        sides = ["--base-dir", base, "--head-dir", head, "--format", "markdown"]
        rows = []
        if args.before:
            old = {side: os.path.join(tmp, f"before-{side}") for side in ("base", "head")}
            for tree in old.values():
                os.makedirs(tree)
                tree_of(args.before, tree)
            edit(old["head"])
            old_sides = ["--base-dir", old["base"], "--head-dir", old["head"], "--format", "markdown"]
            cpu, wall, _ = best(lambda: "".join(run(old["base"], ["diff", *old_sides, "--stack", s]) for s in stacks),
                                args.repeat)
            rows.append((f"loop @{args.before}", len(stacks) * 5, cpu, wall))
        cpu, wall, loop_out = best(lambda: "".join(run(ROOT, ["diff", *sides, "--stack", s]) for s in stacks),
                                   args.repeat)
        rows.append(("loop", len(stacks) * 3, cpu, wall))
        cpu, wall, all_out = best(lambda: run(ROOT, ["diff", *sides, "--all-stacks"]), args.repeat)
        rows.append(("--all-stacks", 3, cpu, wall))
        commands = commands_table(args.nodes, args.repeat, tmp)
    first = rows[0][2]
    table = [(form, procs, f"{cpu:.2f}", f"{wall:.2f}", f"{cpu / first:.2f}") for form, procs, cpu, wall in rows]
    sys.stdout.write(f"## PR preview: `kubeports diff` of {len(stacks)} example stacks\n\n")
    sys.stdout.write(md_table(["Form", "Python processes", "CPU s", "Wall s", f"CPU / {rows[0][0]}"], table,
                              right=(1, 2, 3, 4)))
    verdict = "met" if rows[-1][2] < 3.0 else "not met"
    same = "the same text" if loop_out == all_out else "DIFFERENT texts"
    sys.stdout.write(f"\n- `--all-stacks` and the loop print {same}.\n"
                     f"- Target: the loop under 3 s CPU: {verdict} ({rows[-1][2]:.2f} s, {os.cpu_count()} cores).\n")
    sys.stdout.write(commands)
    return 0 if loop_out == all_out else 1


if __name__ == "__main__":
    sys.exit(main())
