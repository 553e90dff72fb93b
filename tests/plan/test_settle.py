"""kubeports.plan.settle: registrations finish while the program runs. The plan is the same
resource by resource at any window; most of a big plan is registered when the program
returns (none without settling); the loop's queue keeps what the running iteration
expects and does not grow; a callback's registration does not settle again; the SDK is
put back."""
from __future__ import annotations

import asyncio
import contextlib
import os

import pulumi.resource as sdk_resource
import pytest

from kubeports.core.paths import ROOT
from kubeports.plan import offline, settle
from tests.plans import ALL_STACK_FILES, example_plan_json, variant


def _plan(stack: str, settler_factory) -> dict:
    original = offline.settling
    offline.settling = settler_factory
    try:
        return example_plan_json(stack)
    finally:
        offline.settling = original


class _Never(settle.Settler):
    def before_registration(self) -> None:
        self.declared += 1


def _never():
    return contextlib.nullcontext(_Never())


@pytest.mark.parametrize("stack", ALL_STACK_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_plan_is_the_same_settled_after_every_registration_or_never(stack):
    settles = []

    @contextlib.contextmanager
    def every_one():
        with settle.settling(window=1) as settler:
            yield settler
        settles.append(settler.settles)

    assert _plan(stack, every_one) == _plan(stack, _never)
    assert settles and settles[-1] > 10  # it did settle, many times


def _big_stack(tmp_path, workers: int) -> str:
    def more_workers(config):
        cluster = config["kubeports:cluster"]
        cluster["roles"]["worker"]["count"] = workers
        cluster.setdefault("quota", {})["novaServerGroupMembers"] = workers
    return variant(tmp_path, os.path.join(ROOT, "Pulumi.dev.yaml"), "big", more_workers)


def _registered_when_the_program_returns(monkeypatch, stack: str) -> tuple[int, int]:
    registered: list[str] = []
    record = offline.RecordingMonitor._record
    monkeypatch.setattr(offline.RecordingMonitor, "_record",
                        lambda self, request, urn, *rest: registered.append(urn) or record(self, request, urn, *rest))
    at_return: list[int] = []
    run_program = settle.Settler.run_program

    def measured(self, program):
        result = run_program(self, program)
        at_return.append(len(registered))  # still inside the plan's task: the loop has not turned since
        return result

    monkeypatch.setattr(settle.Settler, "run_program", measured)
    plan = offline.run_plan(stack)
    return at_return[-1], len(plan.resources)


def test_most_of_a_big_plan_is_registered_when_the_program_returns(monkeypatch, tmp_path):
    done, total = _registered_when_the_program_returns(monkeypatch, _big_stack(tmp_path, 300))
    assert total > 600
    assert done >= total - 2 * settle.WINDOW  # what was declared since the last settle, and the stack's own


def test_without_settling_nothing_is_registered_before_the_program_returns(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "settling", _never)
    done, total = _registered_when_the_program_returns(monkeypatch, _big_stack(tmp_path, 30))
    assert (done, total > 60) == (0, True)


def _program_in_a_task(settler: settle.Settler, program, queued_before=None):
    """Run `program` as the plan runs it: inside a task, through `Settler.run_program`."""
    loop = asyncio.new_event_loop()
    try:
        async def main():
            if queued_before is not None:
                loop.call_soon(queued_before)  # still queued in the loop's iteration running the program
            return settler.run_program(program)
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_settling_runs_what_is_ready_in_order_and_keeps_the_queue_the_loop_expects():
    settler = settle.Settler(window=2)
    ran: list[object] = []

    def program():
        loop = asyncio.get_running_loop()
        sizes = []
        for i in range(40):
            loop.call_soon(ran.append, i)
            settler.before_registration()
            sizes.append(len(loop._ready))
        return sizes

    sizes = _program_in_a_task(settler, program, queued_before=lambda: ran.append("before"))
    assert ran == ["before", *range(40)]
    assert settler.settles == 20
    # after a settle: one cancelled entry for the one queued at the start; between two: one callback more
    assert (max(sizes), sizes[-1]) == (2, 1)


def test_a_registration_declared_while_settling_does_not_settle_again():
    settler = settle.Settler(window=1)
    depth: list[int] = []

    def program():
        loop = asyncio.get_running_loop()

        def declares():  # an apply callback that declares a resource
            depth.append(settler.settles)
            settler.before_registration()

        loop.call_soon(declares)
        settler.before_registration()
        return settler.settles

    settles = _program_in_a_task(settler, program)
    assert (settles, depth) == (1, [0])


def test_the_programs_task_steps_out_while_others_run_and_comes_back():
    settler = settle.Settler(window=1)
    seen: list[object] = []

    def program():
        loop = asyncio.get_running_loop()
        mine = asyncio.current_task()

        async def other():
            seen.append(asyncio.current_task() is not mine)

        loop.create_task(other())
        settler.before_registration()
        seen.append(asyncio.current_task() is mine)
        return None

    _program_in_a_task(settler, program)
    assert seen == [True, True]


def test_after_the_program_returns_nothing_settles():
    settler = settle.Settler(window=1)
    _program_in_a_task(settler, lambda: None)
    settler.before_registration()
    assert settler.settles == 0


def test_the_sdk_is_put_back_also_after_a_failed_plan(tmp_path):
    original = sdk_resource.register_resource
    offline.run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))
    assert sdk_resource.register_resource is original
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  kubeports:cluster:\n    roles: {}\n    bogus: 1\n")
    with pytest.raises(Exception):  # noqa: B017 - which error is the loader's business; the SDK must be back
        offline.run_plan(str(bad))
    assert sdk_resource.register_resource is original
