"""Scale: the offline plan (`kubeports plan`: the real program under Pulumi's mock runtime)
for clusters of growing size on each cloud, against the cost of the runtime itself.

Usage:
    .venv/bin/python bench/scale.py                      # 10, 100, 1,000 nodes; openstack and aws
    .venv/bin/python bench/scale.py --sizes 10,100       # faster
    .venv/bin/python bench/scale.py --sizes 5000         # the big one (a few minutes)
    .venv/bin/python bench/scale.py --clouds aws --repeat 3
    .venv/bin/python bench/scale.py --profile 0          # no profile section (faster)
    .venv/bin/python bench/scale.py --no-replay          # skip the replay baseline (faster)

What runs: a stack file generated in a temp dir from an example stack (openstack:
Pulumi.dev.yaml, dual stack; aws: Pulumi.prod-aws.yaml); the example's fixed roles keep
their counts (dev: 3 control-plane; prod-aws: 3 etcd, 2 control-plane) and the workers
make up the rest. Each measurement runs in a fresh interpreter that first plans a
10-node cluster (imports and first-call costs out of the way), then times
`kubeports.plan.offline.run_plan` (best of --repeat).

Figures:
- resources: what the plan registers (components included);
- plan s, CPU s: wall and CPU time of run_plan; ms/res: CPU ms per resource;
- floor: the same number of bare custom resources (one input each) through the same
  run_plan, mocks and monitor (bench/_floor_program.py); ratio = plan CPU / floor CPU;
- replay: the plan's own resources (types, names, parents, options, inputs) registered
  as plain values, with no kubeports code, no Output between resources and no invoke;
  plan / replay is the cost of kubeports' own code plus the Output wiring;
- GC share: CPU time in Python's cyclic garbage collector, of the plan's CPU time.
Ratios use CPU time, which other processes on a shared machine disturb less than wall
time. The targets: ratio <= 1.15, and ms/res flat from 100 to 5,000 nodes.
Under the table: a cProfile of one plan (the largest size run, at most 1,000 nodes;
`--profile N` picks another): own time by area and the top functions.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from _util import ROOT, csv_arg, load_doc, md_table, write_stack

SOURCES = {"openstack": "Pulumi.dev.yaml", "aws": "Pulumi.prod-aws.yaml"}
FLOOR_PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_floor_program.py")
PROFILE_TOP = 15


def make_stack(cloud: str, nodes: int, directory: str) -> str:
    doc = load_doc(os.path.join(ROOT, SOURCES[cloud]))
    roles = doc["config"]["kubeports:cluster"]["roles"]
    fixed = sum(settings["count"] for role, settings in roles.items() if role != "worker")
    roles["worker"]["count"] = max(nodes - fixed, 1)
    # One server group per role: a project holding this many nodes has raised its Nova quota.
    quota = doc["config"]["kubeports:cluster"].setdefault("quota", {})
    quota["novaServerGroupMembers"] = max(nodes, quota.get("novaServerGroupMembers", 10))
    return write_stack(doc, directory, f"scale{nodes}{cloud}")


# --- child: one measurement in a fresh interpreter ----------------------------------------
class GcClock:
    """CPU seconds spent in the cyclic garbage collector (a gc.callbacks hook)."""

    def __init__(self) -> None:
        self.seconds, self._start = 0.0, 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start


def child(kind: str, cloud: str, nodes: int, repeat: int, count: int) -> dict:
    """kind: plan | floor (`count` bare resources) | replay (the plan's own resources)."""
    from kubeports.plan.offline import run_plan

    with tempfile.TemporaryDirectory(prefix="kubeports-scale-") as tmp:
        small = make_stack(cloud, 10, tmp)
        run_plan(small)  # warm up: imports, pydantic, first calls
        stack = make_stack(cloud, nodes, tmp)
        program = None
        if kind == "floor":
            program = FLOOR_PROGRAM
            os.environ["BENCH_FLOOR_COUNT"] = "10"
            run_plan(small, program=program)
            os.environ["BENCH_FLOOR_COUNT"] = str(count)
        elif kind == "replay":
            program = FLOOR_PROGRAM
            plan = run_plan(stack)
            path = os.path.join(tmp, "replay.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump([{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent,
                            "inputs": r.inputs, "options": r.options} for r in plan.resources], fh)
            del plan
            os.environ["BENCH_REPLAY_FILE"] = path
        best: dict = {}
        clock = GcClock()
        gc.callbacks.append(clock)
        for _ in range(repeat):
            gc.collect()
            clock.seconds = 0.0
            wall, cpu = time.perf_counter(), time.process_time()
            result = run_plan(stack, program=program) if program else run_plan(stack)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if not best or cpu < best["cpu"]:
                best = {"wall": wall, "cpu": cpu, "gc": clock.seconds, "resources": len(result.resources)}
            del result
        gc.callbacks.remove(clock)
    best["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return best


def child_profile(cloud: str, nodes: int) -> str:
    import cProfile
    import pstats

    from kubeports.plan.offline import run_plan

    with tempfile.TemporaryDirectory(prefix="kubeports-scale-") as tmp:
        run_plan(make_stack(cloud, 10, tmp))
        stack = make_stack(cloud, nodes, tmp)
        profiler = cProfile.Profile()
        profiler.enable()
        plan = run_plan(stack)
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    areas: dict[str, float] = {}
    rows = []
    for (path, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(path)
        areas[area] = areas.get(area, 0.0) + tottime
        rows.append((tottime, calls, cumtime, f"{_short(path)}:{line}({func})"))
    rows.sort(reverse=True)
    out = [f"\n### Profile: {cloud}, {nodes} nodes ({len(plan.resources)} resources), cProfile\n\n",
           "Own time by area (cProfile cannot see the cyclic GC: its pauses land on whatever function "
           "allocates; see the GC column above):\n\n"]
    out.append(md_table(["Area", "Own s", "Share"], [(a, f"{s:.2f}", f"{s / total:.0%}") for a, s in
                                                       sorted(areas.items(), key=lambda kv: -kv[1])], right=(1, 2)))
    out.append(f"\nTop {PROFILE_TOP} functions by own time:\n\n")
    out.append(md_table(["Function", "Calls", "Own s", "Cumulative s"],
                        [(name, calls, f"{tt:.2f}", f"{ct:.2f}") for tt, calls, ct, name in rows[:PROFILE_TOP]],
                        right=(1, 2, 3)))
    return "".join(out)


def _area(path: str) -> str:
    if path.startswith(ROOT) and "site-packages" not in path:
        return "kubeports (kubeports/, components/, __main__.py)"
    for marker, name in (("pulumi_openstack", "provider SDK"), ("pulumi_aws", "provider SDK"),
                         ("site-packages/pulumi/", "pulumi SDK"), ("asyncio", "asyncio"),
                         ("google/protobuf", "protobuf"), ("grpc", "grpc"), ("pydantic", "pydantic"),
                         ("yaml", "yaml")):
        if marker in path:
            return name
    return "builtins" if path == "~" else "stdlib/other"


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.relpath(path, ROOT) if path.startswith(ROOT) else path


# --- parent -------------------------------------------------------------------------------
def run_child(*args: str) -> str:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench child {args} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def measure(kind: str, cloud: str, nodes: int, repeat: int, count: int = 0) -> dict:
    return json.loads(run_child(kind, cloud, str(nodes), str(repeat), str(count)).strip().splitlines()[-1])


def render(rows: list[dict], replay: bool) -> str:
    headers = ["Cloud", "Nodes", "Resources", "Plan s", "CPU s", "ms/res", "GC share", "Floor CPU s",
               "Floor ms/res", "Plan / floor"]
    if replay:
        headers += ["Replay CPU s", "Plan / replay"]
    headers.append("Peak RSS MB")
    table = []
    for r in rows:
        p, f = r["plan"], r["floor"]
        line = [r["cloud"], f"{r['nodes']:,}", p["resources"], f"{p['wall']:.2f}", f"{p['cpu']:.2f}",
                f"{p['cpu'] * 1000 / p['resources']:.2f}", f"{p['gc'] / p['cpu']:.0%}", f"{f['cpu']:.2f}",
                f"{f['cpu'] * 1000 / f['resources']:.2f}", f"{p['cpu'] / f['cpu']:.2f}"]
        if replay:
            line += [f"{r['replay']['cpu']:.2f}", f"{p['cpu'] / r['replay']['cpu']:.2f}"]
        line.append(f"{p['rss_mb']:.0f}")
        table.append(line)
    out = ["## Scale: offline plan vs the mock runtime's floor\n\n",
           md_table(headers, table, right=tuple(range(1, len(headers))))]
    out.append("\n" + verdict(rows) + "\n")
    return "".join(out)


def verdict(rows: list[dict]) -> str:
    lines = []
    worst = max(rows, key=lambda r: r["plan"]["cpu"] / r["floor"]["cpu"])
    ratio = worst["plan"]["cpu"] / worst["floor"]["cpu"]
    lines.append(f"- Ratio target <= 1.15: {'met' if ratio <= 1.15 else 'not met'} (worst {ratio:.2f}, "
                 f"{worst['cloud']} at {worst['nodes']:,} nodes).")
    for cloud in sorted({r["cloud"] for r in rows}):
        mine = [r for r in rows if r["cloud"] == cloud and r["nodes"] >= 100]
        if len(mine) >= 2:
            per = [r["plan"]["cpu"] * 1000 / r["plan"]["resources"] for r in mine]
            spread = max(per) / min(per) - 1
            lines.append(f"- {cloud}: ms/res from {mine[0]['nodes']:,} to {mine[-1]['nodes']:,} nodes: "
                         + " -> ".join(f"{p:.2f}" for p in per) + f" (spread {spread:.0%}; flat = within ~15%).")
            # ms/res moves with the resource mix (servers cost more than rules, and the rule
            # count does not grow with nodes); the cost of one more node says whether it scales.
            marginal = [(b["plan"]["cpu"] - a["plan"]["cpu"]) * 1000 / (b["nodes"] - a["nodes"])
                        for a, b in zip(mine, mine[1:], strict=False)]
            lines.append("  CPU ms per added node between those sizes: "
                         + " -> ".join(f"{m:.2f}" for m in marginal) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=csv_arg, default=["10", "100", "1000"], help="node counts (default 10,100,1000)")
    parser.add_argument("--clouds", type=csv_arg, default=["openstack", "aws"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best counts (default 1)")
    parser.add_argument("--profile", type=int, default=None, metavar="NODES",
                        help="profile one plan of NODES nodes on the first cloud (default: the largest size, "
                             "at most 1000; 0: no profile)")
    parser.add_argument("--no-replay", action="store_true", help="skip the replay baseline")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child[0] == "profile":
            sys.stdout.write(child_profile(args.child[1], int(args.child[2])))
        else:
            kind, cloud, nodes, repeat, count = args.child
            print(json.dumps(child(kind, cloud, int(nodes), int(repeat), int(count))))
        return 0
    unknown = set(args.clouds) - set(SOURCES)
    if unknown:
        parser.error(f"unknown clouds {sorted(unknown)}; known: {sorted(SOURCES)}")
    rows = []
    for cloud in args.clouds:
        for nodes in sorted(int(n) for n in args.sizes):
            plan = measure("plan", cloud, nodes, args.repeat)
            row = {"cloud": cloud, "nodes": nodes, "plan": plan,
                   "floor": measure("floor", cloud, nodes, args.repeat, plan["resources"])}
            if not args.no_replay:
                row["replay"] = measure("replay", cloud, nodes, args.repeat)
            rows.append(row)
            print(f"measured {cloud} {nodes}", file=sys.stderr, flush=True)
    sys.stdout.write(render(rows, replay=not args.no_replay))
    profile = args.profile if args.profile is not None else min(max(int(n) for n in args.sizes), 1000)
    if profile:
        sys.stdout.write(run_child("profile", args.clouds[0], str(profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
