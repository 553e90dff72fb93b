"""A resource's None inputs are left out before the SDK serializes them, while a plan runs.

Why: a typed provider class hands the SDK every input it declares, set or not (some 60 on
an `aws.ec2.Instance`, most None). `pulumi.runtime.rpc.serialize_properties` serializes
each (unwrapping its type hint first) and then drops the ones that serialize to None
("We treat properties that serialize to None as if they don't exist"): an eighth of a
plan's CPU spent on nothing.

A scalar is the same story one level down: `serialize_property` asks some twenty questions
of every value (a sequence? unknown? a resource, an asset, an archive, awaitable, an
Output, an input type, a mapping, a protobuf value, legal protobuf?) before it hands back a
string, a number, a bool or None as it is; a role's stack outputs (every node's id,
address and inventory record, exported by the role and by the stack) are thousands.

Rules of this file:
- while `lean_inputs()` is active, `pulumi.runtime.rpc.serialize_properties` (called
  through the module, also by its own recursion) first drops the keys whose value is None
  from a plain dict of inputs; anything else (an input type, a dict subclass) goes to the
  SDK as it is. The struct and the property dependencies are the SDK's
  (tests/plan/test_inputs.py);
- likewise `pulumi.runtime.rpc.serialize_property` (the SDK's recursion and its callers
  look it up on the module) returns a value whose type is exactly str, int, float, bool
  or None as it is, which is what the SDK's returns for it (its type hint changes nothing
  for these; an enum, a str subclass, goes to the SDK); a protobuf Value asked for, and
  anything else, goes to the SDK's;
- the SDK's functions are put back afterwards; nothing is edited in the installed SDK.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pulumi.runtime.rpc as sdk_rpc

from .outputs import SCALAR_TYPES

# serialize_property(value, deps, property_key, resource_obj, input_transformer, typ,
# keep_output_values, exclude_resource_refs_from_deps, return_protobuf_value): the index of
# return_protobuf_value among the arguments after `value`, for a caller passing it by position
PROTOBUF_ARG = 7


@contextlib.contextmanager
def lean_inputs() -> Iterator[None]:
    original = sdk_rpc.serialize_properties
    original_property = sdk_rpc.serialize_property

    def serialize_properties(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if type(inputs) is dict:
            inputs = {key: value for key, value in inputs.items() if value is not None}
        return original(inputs, *args, **kwargs)

    async def serialize_property(value: Any, *args: Any, **kwargs: Any) -> Any:
        if type(value) in SCALAR_TYPES and not kwargs.get("return_protobuf_value") and len(args) <= PROTOBUF_ARG:
            return value
        return await original_property(value, *args, **kwargs)

    sdk_rpc.serialize_properties, sdk_rpc.serialize_property = serialize_properties, serialize_property
    try:
        yield
    finally:
        sdk_rpc.serialize_properties, sdk_rpc.serialize_property = original, original_property
