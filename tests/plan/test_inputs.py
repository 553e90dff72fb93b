"""kubeports.plan.inputs: None inputs are left out before the SDK serializes them, and a
plain scalar is serialized as it is. The struct and the property dependencies are the
SDK's for any plain dict of inputs, a value serializes as with the SDK's serialize_property
(scalars, str subclasses and enums, nested values, with and without a type hint, as a
protobuf Value), and the plan of every example stack is the same; anything else reaches
the SDK as it is; the SDK is put back."""
from __future__ import annotations

import asyncio
import contextlib
import enum
import os

import pulumi.runtime.rpc as sdk_rpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.paths import ROOT
from kubeports.plan import inputs, offline
from tests.plans import ALL_STACK_FILES, example_plan_json

SDK_SERIALIZE = sdk_rpc.serialize_properties
SDK_PROPERTY = sdk_rpc.serialize_property


class Colour(str, enum.Enum):  # noqa: UP042 - the form of the providers' generated enums
    RED = "red"


class Tag(str):
    pass


VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
                      max_leaves=6)


def _serialized(props: dict) -> tuple[dict, dict]:
    async def run():
        deps: dict = {}
        struct = await sdk_rpc.serialize_properties(props, deps)
        return dict(struct), deps
    return asyncio.run(run())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=4), VALUES, max_size=6))
def test_the_struct_and_dependencies_are_the_sdks(props):
    theirs = _serialized(props)
    with inputs.lean_inputs():
        ours = _serialized(props)
    assert ours == theirs


ANY_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
                         | st.just(Colour.RED) | st.text(max_size=2).map(Tag),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                     max_size=3),
                         max_leaves=6)


def _property(value, typ, as_protobuf: bool, by_position: bool = False):
    async def run():
        deps: list = []
        try:
            if by_position:  # every argument positional, return_protobuf_value last
                out = await sdk_rpc.serialize_property(value, deps, "p", None, None, typ, False, False, as_protobuf)
            else:
                out = await sdk_rpc.serialize_property(value, deps, "p", None, None, typ,
                                                       return_protobuf_value=as_protobuf)
        except (AssertionError, ValueError, TypeError) as exc:  # a hint the value does not fit: the SDK's error
            return ("failed", type(exc), str(exc))
        return (out, type(out), deps)
    return asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(ANY_VALUE, st.sampled_from([None, str, int, bool, float, list, dict]), st.booleans(), st.booleans())
def test_a_value_serializes_as_with_the_sdks_serialize_property(value, typ, as_protobuf, by_position):
    theirs = _property(value, typ, as_protobuf, by_position)
    with inputs.lean_inputs():
        assert sdk_rpc.serialize_property is not SDK_PROPERTY
        ours = _property(value, typ, as_protobuf, by_position)
    assert ours == theirs


@pytest.mark.parametrize("stack", ALL_STACK_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_plan_is_the_same_with_the_sdks_serialize_properties(stack, monkeypatch):
    lean = example_plan_json(stack)
    monkeypatch.setattr(offline, "lean_inputs", contextlib.nullcontext)
    assert lean == example_plan_json(stack)


def test_anything_but_a_plain_dict_reaches_the_sdk_as_it_is(monkeypatch):
    seen = []
    monkeypatch.setattr(sdk_rpc, "serialize_properties", lambda props, *args, **kwargs: seen.append(props))

    class Bag(dict):
        pass

    bag, plain = Bag(a=None), {"a": None, "b": 1}
    with inputs.lean_inputs():
        sdk_rpc.serialize_properties(bag, {})
        sdk_rpc.serialize_properties(plain, {})
    assert (seen[0] is bag, seen[1]) == (True, {"b": 1})


def test_the_sdk_is_put_back_also_after_a_failure():
    with pytest.raises(RuntimeError), inputs.lean_inputs():
        assert sdk_rpc.serialize_properties is not SDK_SERIALIZE
        raise RuntimeError
    assert sdk_rpc.serialize_properties is SDK_SERIALIZE
    assert sdk_rpc.serialize_property is SDK_PROPERTY
