"""Pulumi programs for bench/scale.py's baselines, run through the same kubeports.plan.offline.run_plan
(same mocks, same monitor) as the real program. Picked by environment:

- BENCH_FLOOR_COUNT=N: the floor: N bare custom resources, one plain input each;
- BENCH_REPLAY_FILE=plan.json: the replay: the resources of a recorded plan (same types,
  names, parents, options and inputs), registered as generic resources with plain values,
  so no kubeports code, no Output between resources and no invoke runs.
"""
import json
import os

import pulumi

if os.environ.get("BENCH_REPLAY_FILE"):
    with open(os.environ["BENCH_REPLAY_FILE"], encoding="utf-8") as fh:
        records = json.load(fh)
    made: dict[str, pulumi.Resource] = {}
    for rec in sorted(records, key=lambda r: r["urn"].split("::")[2].count("$")):  # parents first
        opts = pulumi.ResourceOptions(parent=made.get(rec["parent"] or ""), protect=rec["options"].get("protect"),
                                      ignore_changes=rec["options"].get("ignoreChanges"),
                                      delete_before_replace=rec["options"].get("deleteBeforeReplace"))
        if rec["type"].startswith("kubeports:index:"):
            made[rec["urn"]] = pulumi.ComponentResource(rec["type"], rec["name"], None, opts)
        else:
            made[rec["urn"]] = pulumi.CustomResource(rec["type"], rec["name"], rec["inputs"], opts)
else:
    for i in range(int(os.environ["BENCH_FLOOR_COUNT"])):
        pulumi.CustomResource("bench:index:Bare", f"bare-{i}", {"index": i})
