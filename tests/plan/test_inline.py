"""kubeports.plan.inline: the mock monitor's calls on the plan's thread. A coroutine that never
waits is driven without the loop; one that waits is still answered; an error reaches the
caller; a plan starts no thread; everything is put back afterwards."""
from __future__ import annotations

import asyncio
import threading

import pytest
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime.sync_await import _ensure_event_loop

from kubeports.core.paths import ROOT
from kubeports.plan import inline, offline


async def _plain(value):
    return {"value": value}


async def _nested(value):
    return [await _plain(value), await _plain(value + 1)]


def test_a_coroutine_that_never_waits_runs_without_a_turn_of_the_loop():
    loop = _ensure_event_loop()
    turns = []
    loop.call_soon(turns.append, "a turn")  # would run if the loop turned
    assert inline.run_now(_nested(1)) == [{"value": 1}, {"value": 2}]
    assert turns == []
    loop.run_until_complete(asyncio.sleep(0))  # the test's own turn, so nothing is left queued
    assert turns == ["a turn"]


def test_a_coroutine_that_waits_on_a_pending_future_is_answered_by_the_loop():
    loop = _ensure_event_loop()

    async def waits():
        future = loop.create_future()
        loop.call_soon(future.set_result, "later")
        await asyncio.sleep(0)
        return await future

    assert inline.run_now(waits()) == "later"


def test_an_error_reaches_the_caller():
    async def fails():
        raise ValueError("no such value")

    with pytest.raises(ValueError, match="no such value"):
        inline.run_now(fails())


def test_the_executor_runs_on_the_callers_thread_and_hands_errors_over():
    executor = inline.InlineExecutor(max_workers=1)
    assert executor.submit(threading.get_ident).result() == threading.get_ident()
    with pytest.raises(KeyError):
        executor.submit({}.__getitem__, "missing").result()


def test_a_plan_starts_no_thread_and_puts_everything_back():
    loop = _ensure_event_loop()
    executor, sync_await = loop._default_executor, runtime_mocks._sync_await
    before = {t.ident for t in threading.enumerate()}
    plan = offline.run_plan(f"{ROOT}/Pulumi.dev.yaml")
    assert len(plan.resources) > 50
    assert {t.ident for t in threading.enumerate()} - before == set()  # a thread pool would have left its workers
    assert (loop._default_executor, runtime_mocks._sync_await) == (executor, sync_await)


def test_the_plan_is_the_same_through_the_sdks_thread_pool(monkeypatch):
    """What runs inline is what the pool ran: the same plan, resource by resource."""
    stack = f"{ROOT}/Pulumi.prod-aws.yaml"
    inlined = offline.run_plan(stack).to_json()
    monkeypatch.setattr(offline, "inline_rpcs", _untouched)
    assert offline.run_plan(stack).to_json() == inlined


class _untouched:
    def __enter__(self):
        return None

    def __exit__(self, *_):
        return False
