"""The mock monitor's calls run on the plan's own thread, while a plan runs.

Why: the Pulumi SDK sends every RPC (RegisterResource, Invoke, ReadResource, ...) through
`loop.run_in_executor(None, ...)`, a thread pool made for a real gRPC monitor that
blocks on the network. Under mocks the call is a Python function that returns at once:
the pool only adds a thread hand-off per call, lock waits between the plan's thread and
the workers, and an event loop per worker thread for the mock monitor's own
`_sync_await` (it serializes each answer on a loop of that thread). On the PR preview's
small stacks that is some 7% of a side's plans, 4% of a 1,000-node plan (bench/preview.py,
bench/scale.py).

Rules of this file:
- while `inline_rpcs()` is active, the current event loop's default executor runs each
  call when it is submitted (a done future), and the mock monitor's `_sync_await` drives
  the coroutine it is given to its end without the loop when it never waits, which
  serializing plain mock state never does; one that waits on a pending future is waited
  for the SDK's way (`_sync_await`, pumping the running loop), so the answer is the same;
- both are put back afterwards, so a real `pulumi up` in the same process, or the caller's
  own use of the loop, is untouched; nothing is edited in the installed SDK.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

T = TypeVar("T")


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs what it is given at once, on the caller's thread. (asyncio
    takes only a ThreadPoolExecutor as a loop's default; no thread is ever started.)"""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, as a worker would
            future.set_exception(exc)
        return future


def run_now(awaitable: Awaitable[T]) -> T:
    """`_sync_await(awaitable)`, without a task or a turn of the loop for a coroutine that
    does not wait; when it does wait on a future, that future is awaited as `_sync_await` does."""
    if not inspect.iscoroutine(awaitable):
        return _sync_await(awaitable)
    while True:
        try:
            waited = awaitable.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if waited is not None:  # asyncio's protocol: a future not yet done, resumed once it is
            waited._asyncio_future_blocking = False
            _sync_await(waited)


@contextlib.contextmanager
def inline_rpcs() -> Iterator[None]:
    loop = _ensure_event_loop()
    previous = loop._default_executor  # type: ignore[attr-defined]  # None until the loop first needed one
    loop.set_default_executor(InlineExecutor(max_workers=1))
    original = runtime_mocks._sync_await
    runtime_mocks._sync_await = run_now
    try:
        yield
    finally:
        runtime_mocks._sync_await = original
        loop._default_executor = previous  # type: ignore[attr-defined]
