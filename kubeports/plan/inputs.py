"""A resource's None inputs are left out before the SDK serializes them, while a plan runs.

Why: a typed provider class hands the SDK every input it declares, set or not (some 60 on
an `aws.ec2.Instance`, most None). `pulumi.runtime.rpc.serialize_properties` serializes
each (unwrapping its type hint first) and then drops the ones that serialize to None
("We treat properties that serialize to None as if they don't exist"): an eighth of a
plan's CPU spent on nothing.

Rules of this file:
- while `lean_inputs()` is active, `pulumi.runtime.rpc.serialize_properties` (called
  through the module, also by its own recursion) first drops the keys whose value is None
  from a plain dict of inputs; anything else (an input type, a dict subclass) goes to the
  SDK as it is. The struct and the property dependencies are the SDK's
  (tests/plan/test_inputs.py);
- the SDK's function is put back afterwards; nothing is edited in the installed SDK.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pulumi.runtime.rpc as sdk_rpc


@contextlib.contextmanager
def lean_inputs() -> Iterator[None]:
    original = sdk_rpc.serialize_properties

    def serialize_properties(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if type(inputs) is dict:
            inputs = {key: value for key, value in inputs.items() if value is not None}
        return original(inputs, *args, **kwargs)

    sdk_rpc.serialize_properties = serialize_properties
    try:
        yield
    finally:
        sdk_rpc.serialize_properties = original
