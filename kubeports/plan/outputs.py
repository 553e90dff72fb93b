"""A resource's declared properties are born as one future each, while a plan runs.

Why: the SDK's `pulumi.runtime.rpc.transfer_properties` gives every property a resource
class declares (some 80 on an `aws.ec2.Instance`) four futures (value, known, secret,
dependencies) and an `Output` whose state is a Task running a coroutine that awaits the
four. Done, that Task keeps its coroutine, its context copy and its entry in asyncio's
task registry; with the dependency set it is about 1 KB per property, most of what a
plan holds per resource (bench/scale.py --heap). The same `_OutputData` can be set on one
future directly: it is what that coroutine would compute.

Rules of this file:
- while `lean_outputs()` is active, `pulumi.runtime.rpc.transfer_properties` (which the
  SDK's `register_resource` calls through the module) is this module's function; it is
  put back afterwards and nothing is edited in the installed SDK;
- each property's Output holds one future; its resolver takes the SDK's arguments and sets
  what the SDK's coroutine returns: the property's dependencies and the resource, the
  value, known and secret flags, or the failure as the future's exception;
- these Outputs are not tracked in the SDK's set of outstanding Outputs (what the program's
  end waits for): the registration that resolves them is itself an outstanding RPC the
  program's end waits for, and it fails with the same exception it sets on them. The
  tracking (a lock, a set entry and a done callback per Output) was a tenth of a plan;
- a scalar value (None, bool, number, string) with no dependencies of its own shares one
  `{resource}` set per resource: the SDK adds to an Output's set only the dependencies a
  value itself contains (serialize_property), and a scalar contains none;
- a property that resolves to None (most of what a big class declares, under mocks) then
  reads as the resource's one None Output for its flags: Outputs are immutable, so only
  identity tells them apart, and an Output read before it resolved still answers;
- every Output answers exactly as the SDK's would (tests/plan/test_outputs.py);
- only an SDK whose Outputs hold one `_OutputData` future (`Output._data`, pulumi 3.235
  and later, kubeports' floor; before it an Output held four futures) gets this function;
  on any other (a future SDK that changes its Output) `lean_outputs()` changes nothing
  and plans run on the SDK's own.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import pulumi.output as sdk_output
import pulumi.runtime.rpc as sdk_rpc
from pulumi.output import Output

_OutputData: Any = getattr(sdk_output, "_OutputData", None)
# What this module builds: an Output whose whole state is one `_data` future of `_OutputData`.
FITS_THIS_SDK = _OutputData is not None and "_data" in getattr(Output, "__annotations__", {})

# Exactly these types are plain values: nothing inside to unwrap or serialize, never an Unknown
# (kubeports.plan.joins, .inputs and .offline ask the same question).
SCALAR_TYPES = frozenset({type(None), bool, int, float, str})


class _Shared:
    """What the scalar outputs of one resource share: its `{resource}` set, and one Output
    per (known, secret) for the properties that resolve to None."""

    __slots__ = ("own", "nones")

    def __init__(self, res: Any) -> None:
        self.own = {res}
        self.nones: dict[tuple[bool, bool], Output] = {}

    def none(self, is_known: bool, is_secret: bool) -> Output:
        output = self.nones.get((is_known, is_secret))
        if output is None:
            done: asyncio.Future = asyncio.Future()
            done.set_result(_OutputData(resources=self.own, value=None, is_known=is_known, is_secret=is_secret))
            output = self.nones[(is_known, is_secret)] = _untracked(done)
        return output


def _untracked(data: asyncio.Future) -> Output:
    output: Output = object.__new__(Output)  # Output._from_data without _track
    output._data = data
    return output


def transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Any]:
    resolvers: dict[str, Any] = {}
    shared = _Shared(res)
    attributes = res.__dict__
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # the SDK handles these elsewhere, as its own transfer_properties says
        output = attributes[name] = _untracked(asyncio.Future())
        resolvers[name] = functools.partial(_resolve, res, shared, name, output)
    return resolvers


def _resolve(res: Any, shared: _Shared, name: str, output: Output, value: Any, is_known: bool, is_secret: bool,
             deps: set | None, failed: Exception | None) -> None:
    data = output._data
    if failed is not None:
        data.set_exception(failed)
        data.exception()  # reported by the registration's RPC; not again as "never retrieved" when freed
    elif deps or type(value) not in SCALAR_TYPES:
        resources = set(deps) if deps else set()
        resources.add(res)
        data.set_result(_OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret))
    elif value is None:
        # Whoever holds the property's own Output gets the shared answer; the resource's
        # attribute becomes the shared Output, and its own is freed unless someone holds it.
        none = shared.none(is_known, is_secret)
        data.set_result(none._data.result())
        res.__dict__[name] = none
    else:
        data.set_result(_OutputData(resources=shared.own, value=value, is_known=is_known, is_secret=is_secret))


@contextlib.contextmanager
def lean_outputs(fits: bool | None = None) -> Iterator[None]:
    """`fits`: whether the installed SDK has the Output this module builds (default: checked)."""
    if not (FITS_THIS_SDK if fits is None else fits):
        yield
        return
    original = sdk_rpc.transfer_properties
    sdk_rpc.transfer_properties = transfer_properties
    try:
        yield
    finally:
        sdk_rpc.transfer_properties = original
