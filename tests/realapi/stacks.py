"""The example stacks the tier applies, found on disk (a new example is applied without a
change here), and their offline plans as JSON."""
from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass

import yaml

from kubeports.core.paths import ROOT
from kubeports.plan.offline import run_plan


@dataclass(frozen=True)
class Example:
    id: str
    stack_file: str
    program: str  # the __main__.py beside its Pulumi.yaml, else the project's
    cloud: str
    peer_stack: str | None  # kubeports:peerStack: the stack applied first, in the same project

    @property
    def doc(self) -> dict:
        with open(self.stack_file, encoding="utf-8") as handle:
            return yaml.safe_load(handle)


def _example(path: str) -> Example:
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    here = os.path.dirname(path)
    program = os.path.join(here, "__main__.py") if os.path.exists(os.path.join(here, "__main__.py")) else \
        os.path.join(ROOT, "__main__.py")
    rel = os.path.relpath(path, ROOT)
    return Example(rel, path, program, config["kubeports:cloud"], config.get("kubeports:peerStack"))


EXAMPLES = [_example(p) for p in sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml"))
                                         + glob.glob(os.path.join(ROOT, "examples", "*", "Pulumi.*.yaml")))]


def peer_example(example: Example) -> Example:
    """`org/project/stack` -> the main project's Pulumi.<stack>.yaml."""
    stack = example.peer_stack.rsplit("/", 1)[-1]
    return next(e for e in EXAMPLES if e.stack_file == os.path.join(ROOT, f"Pulumi.{stack}.yaml"))


@functools.cache
def plan_json(stack_file: str, program: str | None = None, portspecs: str | None = None) -> dict:
    """The plan of a stack; a stack with a peer gets the peer's planned outputs, as Pulumi
    would hand them over once the peer is up."""
    example = next((e for e in EXAMPLES if e.stack_file == stack_file), None)
    kwargs: dict = {}
    if example is not None and example.peer_stack:
        peer = peer_example(example)
        kwargs["stack_outputs"] = {example.peer_stack: plan_json(peer.stack_file, peer.program)["outputs"]}
    return run_plan(stack_file, portspecs, program=program or os.path.join(ROOT, "__main__.py"), **kwargs).to_json()
