"""kubeports.plan.joins: `Output.all` without an Output and a Task per item. Every join
answers as the SDK's own (value, known, secret, dependencies, failure) for items of every
kind (scalars, Outputs of scalars and of nested values, unknown, secret, failing, lists and
dicts holding Outputs), positional and by keyword; items are untracked as the SDK's
`from_input` untracks them; the plan of every example stack is the same with the SDK's
join; the SDK is put back."""
from __future__ import annotations

import asyncio
import contextlib
import os

import pulumi.runtime.settings as sdk_settings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import UNKNOWN, Output, _OutputData

from kubeports.core.paths import ROOT
from kubeports.plan import joins, offline
from tests.plans import ALL_STACK_FILES, example_plan_json

SDK_ALL = Output.__dict__["all"]


class _Res:
    """A dependency: what an Output's resources need of a resource (a hash and a name)."""

    def __init__(self, name: str) -> None:
        self.name = name


DEPS = [_Res("a"), _Res("b")]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner,
                                                                                         max_size=2), max_leaves=4)
# An Output item: its value (or the unknown sentinel), known, secret, dependencies, whether it fails.
OUTPUTS = st.tuples(VALUES | st.just(UNKNOWN), st.booleans(), st.booleans(), st.sets(st.sampled_from(DEPS)),
                    st.booleans()).map(lambda spec: ("output", spec))
ITEMS = st.recursive(SCALARS.map(lambda v: ("plain", v)) | OUTPUTS,
                     lambda inner: st.lists(inner, max_size=2).map(lambda xs: ("list", xs))
                     | st.dictionaries(st.text(max_size=2), inner, max_size=2).map(lambda d: ("dict", d)),
                     max_leaves=5)


class _Made:
    """The items of one run: fresh Outputs each time (an Output resolves once)."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []

    def item(self, spec):
        kind, value = spec
        if kind == "plain":
            return value
        if kind == "list":
            return [self.item(v) for v in value]
        if kind == "dict":
            return {k: self.item(v) for k, v in value.items()}
        value, known, secret, deps, failed = value
        data: asyncio.Future = asyncio.Future()
        if failed:
            data.set_exception(ValueError(f"failed {value!r}"))
        else:
            data.set_result(_OutputData(resources=set(deps), value=value, is_known=known, is_secret=secret))
        output = Output._from_data(data)
        self.outputs.append(output)
        return output


async def _joined(specs, named: bool) -> tuple:
    made = _Made()
    items = [made.item(spec) for spec in specs]
    joined = Output.all(**{f"k{i}": item for i, item in enumerate(items)}) if named else Output.all(*items)
    try:
        answer = (await joined.future(with_unknowns=True), await joined.is_known(), await joined.is_secret(),
                  sorted(r.name for r in await joined.resources()))
    except ValueError as exc:
        answer = ("failed", str(exc))
    untracked = [output._data not in sdk_settings.SETTINGS.outputs for output in made.outputs]
    return answer, untracked


def _run(join, specs, named: bool) -> tuple:
    with join:
        return asyncio.run(_joined(specs, named))


@settings(max_examples=300, deadline=None)
@given(st.lists(ITEMS, max_size=5), st.booleans())
def test_every_join_answers_as_the_sdks_own(specs, named):
    ours = _run(joins.lean_all(fits=True), specs, named)
    theirs = _run(contextlib.nullcontext(), specs, named)
    assert ours[0] == theirs[0]


@settings(max_examples=100, deadline=None)
@given(st.lists(OUTPUTS, min_size=1, max_size=4))
def test_joined_outputs_are_untracked_as_the_sdks_from_input_untracks_them(specs):
    ours = _run(joins.lean_all(fits=True), specs, False)
    theirs = _run(contextlib.nullcontext(), specs, False)
    assert ours[1] == theirs[1] == [True] * len(specs)


def test_the_first_item_to_fail_is_the_joins_failure_as_with_the_sdk():
    async def failure() -> str:
        late: asyncio.Future = asyncio.Future()
        early: asyncio.Future = asyncio.Future()
        joined = Output.all(Output._from_data(late), Output._from_data(early))
        early.set_exception(ValueError("early"))
        await asyncio.sleep(0)
        late.set_exception(ValueError("late"))
        with pytest.raises(ValueError) as exc:  # noqa: PT011 - the text is what must match the SDK's
            await joined.future()
        return str(exc.value)

    with joins.lean_all(fits=True):
        ours = asyncio.run(failure())
    assert ours == asyncio.run(failure()) == "early"


def test_a_mix_of_named_and_unnamed_items_is_the_sdks_error():
    with joins.lean_all(fits=True), pytest.raises(ValueError, match="a mix of named and unnamed inputs"):
        Output.all(1, a=2)


@pytest.mark.parametrize("stack", ALL_STACK_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_plan_is_the_same_with_the_sdks_join(stack, monkeypatch):
    lean = example_plan_json(stack)
    monkeypatch.setattr(offline, "lean_all", contextlib.nullcontext)
    assert lean == example_plan_json(stack)


def test_the_sdk_is_put_back_also_after_a_failure():
    with pytest.raises(RuntimeError), joins.lean_all(fits=True):
        assert Output.__dict__["all"] is not SDK_ALL
        raise RuntimeError
    assert Output.__dict__["all"] is SDK_ALL


def test_on_an_sdk_whose_outputs_are_other_nothing_is_replaced():
    with joins.lean_all(fits=False):
        assert Output.__dict__["all"] is SDK_ALL


# A stack output's value as kubeports.plan.offline._resolved reads it: known, never failing
# (a plan's outputs are; an unknown or a failure ends the plan before).
KNOWN_OUTPUTS = st.tuples(VALUES, st.just(True), st.booleans(), st.sets(st.sampled_from(DEPS)),
                          st.just(False)).map(lambda spec: ("output", spec))
OUTPUT_VALUES = st.recursive(SCALARS.map(lambda v: ("plain", v)) | KNOWN_OUTPUTS,
                             lambda inner: st.lists(inner, max_size=3).map(lambda xs: ("list", xs))
                             | st.dictionaries(st.text(max_size=2), inner, max_size=3).map(lambda d: ("dict", d)),
                             max_leaves=8)


async def _stack_output(spec, ours: bool):
    value = _Made().item(spec)
    return await (offline._resolved(value) if ours else Output.from_input(value).future())


@settings(max_examples=300, deadline=None)
@given(OUTPUT_VALUES)
def test_a_stack_outputs_value_is_what_the_sdks_deep_unwrap_gives(spec):
    ours = asyncio.run(_stack_output(spec, True))
    assert ours == asyncio.run(_stack_output(spec, False))
