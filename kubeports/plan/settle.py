"""Registrations finish while the program runs, during a plan.

Why: a Pulumi Python program is synchronous code. Each resource it declares schedules its
registration on the event loop, and the loop first turns when the program returns, so at
the program's end every registration of the plan is in flight at once: its coroutines,
serialized inputs and pending futures beside the resources themselves, about half of a
5,000-node plan's peak memory (bench/scale.py). Under mocks every answer is ready at once,
so nothing stops those registrations from finishing as the program goes.

Rules of this file:
- while `settling()` is active, and only inside the program's own synchronous run
  (`Settler.run_program`), every WINDOW-th resource registration first runs the loop's
  ready callbacks until none is left: the registrations declared so far go as far as they
  can, exactly as the loop would run them later. Nothing here waits: no I/O, no timer, no
  answer still to come (a real monitor's call would simply stay pending);
- the loop's kernel is driven the way the SDK's own `_sync_await` drives it for a
  synchronous invoke inside a program (pulumi/runtime/sync_await.py): the program's task
  steps out while other callbacks run, and the ready queue is given back as many entries
  as it held when the program started (cancelled ones), at least what the loop iteration
  running the program still expects to pop. Counting from the program's start, not from
  each call as `_sync_await` does, keeps that padding constant instead of growing with
  every window;
- a registration declared by a callback run here (an `apply` that declares a resource)
  does not settle again; after the program returns nothing settles;
- the SDK's `register_resource` is wrapped only while `settling()` is active and put back
  afterwards; nothing is edited in the installed SDK. The plan is the same resource by
  resource (tests/plan/test_settle.py).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pulumi.resource as sdk_resource

T = TypeVar("T")

# Registrations between two settles. Measured on 1,000 and 5,000 nodes (bench/scale.py):
# 16 and 64 give the same peak and CPU; one settle per registration only adds turns.
WINDOW = 64


class Settler:
    def __init__(self, window: int | None = None) -> None:
        self.window = window or WINDOW
        self.declared = 0
        self.settles = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._expected = 0  # ready entries when the program started
        self._running = False

    def run_program(self, program: Callable[[], T]) -> T:
        """Run the program's synchronous code (from inside the plan's task) with settling on."""
        loop = asyncio.get_running_loop()
        self._loop, self._expected = loop, len(loop._ready)  # type: ignore[attr-defined]
        try:
            return program()
        finally:
            self._loop = None

    def before_registration(self) -> None:
        self.declared += 1
        if self._loop is not None and not self._running and self.declared % self.window == 0:
            self._settle(self._loop)

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        ready = loop._ready  # type: ignore[attr-defined]
        task = asyncio.current_task(loop)
        if task is not None:
            asyncio.tasks._leave_task(loop, task)  # type: ignore[attr-defined]
        self._running = True
        try:
            while ready:
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()  # an exception goes to the loop's handler, as in the loop itself
        finally:
            self._running = False
            for _ in range(self._expected):
                ready.append(_cancelled(loop))
            if task is not None:
                asyncio.tasks._enter_task(loop, task)  # type: ignore[attr-defined]
        self.settles += 1


def _cancelled(loop: asyncio.AbstractEventLoop) -> asyncio.Handle:
    handle = asyncio.Handle(_nothing, (), loop)
    handle.cancel()
    return handle


def _nothing() -> None:
    return None


@contextlib.contextmanager
def settling(window: int | None = None) -> Iterator[Settler]:
    """`window`: registrations between two settles (default WINDOW)."""
    settler = Settler(window)
    original = sdk_resource.register_resource

    def register_resource(*args: Any, **kwargs: Any) -> None:
        settler.before_registration()
        original(*args, **kwargs)

    sdk_resource.register_resource = register_resource  # the name Resource.__init__ calls
    try:
        yield settler
    finally:
        sdk_resource.register_resource = original
