"""kubeports.plan.outputs: a resource's declared properties as one future each. Every Output
answers as the SDK's own would (value, known, secret, dependencies, failure), also after
the SDK serializes one of them; the plan of every example stack is the same with the
SDK's transfer_properties; the plan peaks at less per resource; the SDK is put back."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import tracemalloc

import pulumi.runtime.rpc as sdk_rpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.paths import ROOT
from kubeports.plan import offline, outputs
from tests.plans import ALL_STACK_FILES, example_plan_json, variant

SDK_TRANSFER = sdk_rpc.transfer_properties


class _Res:
    """What transfer_properties needs of a resource: a __dict__ and a hash."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OTHERS = [_Res("a"), _Res("b")]
VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
                      lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
                      max_leaves=4)
RESOLUTIONS = st.tuples(VALUES, st.booleans(), st.booleans(), st.none() | st.sets(st.sampled_from(OTHERS)),
                        st.booleans())  # value, known, secret, dependencies, failed


async def _answers(transfer, resolutions) -> list[tuple]:
    res = _Res("r")
    names = [f"p{i}" for i in range(len(resolutions))]
    resolvers = transfer(res, dict.fromkeys(["urn", *names]), True)
    failure = ValueError("boom")
    early = [asyncio.ensure_future(_answer(getattr(res, name))) for name in names]  # awaiting before it resolves
    await asyncio.sleep(0)
    for name, (value, known, secret, deps, failed) in zip(names, resolutions, strict=True):
        resolvers[name](value, known, secret, deps, failure if failed else None)
    await asyncio.sleep(0)
    for name in names:  # the SDK serializes each one as an input of another resource
        with contextlib.suppress(ValueError):
            await sdk_rpc.serialize_property(getattr(res, name), [], None)
    return [await _answer(getattr(res, name)) for name in names] + [await asyncio.wait_for(answer, 5) for answer in early]


async def _answer(output) -> tuple:
    try:
        return (await output.future(with_unknowns=True), await output.is_known(), await output.is_secret(),
                {r.name for r in await output.resources()})
    except ValueError as exc:
        return ("failed", str(exc))


@settings(max_examples=150, deadline=None)
@given(st.lists(RESOLUTIONS, min_size=1, max_size=6))
def test_every_output_answers_as_the_sdks_own(resolutions):
    ours = asyncio.run(_answers(outputs.transfer_properties, resolutions))
    theirs = asyncio.run(_answers(SDK_TRANSFER, resolutions))
    assert ours == theirs


@pytest.mark.parametrize(("custom", "names"), [(True, ["p"]), (False, ["id", "p"])])
def test_urn_and_a_custom_resources_id_are_left_to_the_sdk(custom, names):
    async def keys():
        return sorted(outputs.transfer_properties(_Res("r"), dict.fromkeys(["urn", "id", "p"]), custom))
    assert asyncio.run(keys()) == sorted(names)


def test_properties_resolved_to_none_read_as_one_output_and_one_held_before_still_answers():
    async def held():
        res = _Res("r")
        resolvers = outputs.transfer_properties(res, dict.fromkeys(["a", "b", "c", "d"]), True)
        before = res.a
        for name, value, secret in (("a", None, False), ("b", None, False), ("c", "x", False), ("d", None, True)):
            resolvers[name](value, True, secret, None, None)
        return (res.a is res.b, res.a is res.c, res.a is res.d, before is res.a,
                await _answer(before), await _answer(res.a), await _answer(res.d))

    assert asyncio.run(held()) == (True, False, False, False,
                                   (None, True, False, {"r"}), (None, True, False, {"r"}), (None, True, True, {"r"}))


@pytest.mark.parametrize("stack", ALL_STACK_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_plan_is_the_same_with_the_sdks_transfer_properties(stack, monkeypatch):
    lean = example_plan_json(stack)
    monkeypatch.setattr(offline, "lean_outputs", contextlib.nullcontext)
    assert lean == example_plan_json(stack)


def _peak_per_resource(tmp_path, workers: int) -> float:
    path = variant(tmp_path, os.path.join(ROOT, "Pulumi.prod-aws.yaml"), "big",
                   lambda config: config["kubeports:cluster"]["roles"]["worker"].update(count=workers))
    tracemalloc.start()
    try:
        plan = offline.run_plan(path)
        _held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / len(plan.resources)


def test_an_aws_plan_peaks_at_less_than_half_per_resource_of_what_the_sdks_outputs_take(tmp_path, monkeypatch):
    offline.run_plan(os.path.join(ROOT, "Pulumi.prod-aws.yaml"))  # imports and first calls out of the way
    gc.collect()
    lean = _peak_per_resource(tmp_path, 150)
    monkeypatch.setattr(offline, "lean_outputs", contextlib.nullcontext)
    gc.collect()
    sdk = _peak_per_resource(tmp_path, 150)
    assert lean < sdk / 2


def test_the_sdk_is_put_back_also_after_a_failure():
    with pytest.raises(RuntimeError), outputs.lean_outputs():
        assert sdk_rpc.transfer_properties is outputs.transfer_properties
        raise RuntimeError
    assert sdk_rpc.transfer_properties is SDK_TRANSFER


def _failed_registration(tmp_path, monkeypatch) -> str:
    program = tmp_path / "__main__.py"
    program.write_text("import pulumi_aws as aws\n"
                       "vpc = aws.ec2.Vpc('v', cidr_block='10.0.0.0/16')\n"
                       "aws.ec2.Subnet('s', vpc_id=vpc.id, cidr_block='10.0.1.0/24')\n")
    new_resource = offline.PlanMocks.new_resource

    def failing(self, args):
        if args.typ == "aws:ec2/vpc:Vpc":
            raise ValueError("the vpc refused")
        return new_resource(self, args)

    monkeypatch.setattr(offline.PlanMocks, "new_resource", failing)
    with pytest.raises(Exception) as failure:  # noqa: PT011 - the text is what must match the SDK's
        offline.run_plan(os.path.join(ROOT, "Pulumi.prod-aws.yaml"), program=str(program))
    return re.sub(r"0x[0-9a-f]+", "0x...", str(failure.value))  # an Output's address in the SDK's text


def test_a_failed_registration_fails_the_plan_as_with_the_sdks_outputs(tmp_path, monkeypatch, caplog):
    lean = _failed_registration(tmp_path, monkeypatch)
    offline.run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))  # lets go of what the failed plan left
    gc.collect()  # the failed outputs are freed: the failure was reported once, by the plan
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []
    monkeypatch.setattr(offline, "lean_outputs", contextlib.nullcontext)
    assert "the vpc refused" in lean
    assert lean == _failed_registration(tmp_path, monkeypatch)


def test_on_an_sdk_whose_outputs_are_other_nothing_is_replaced():
    with outputs.lean_outputs(fits=False):
        assert sdk_rpc.transfer_properties is SDK_TRANSFER
    assert outputs.FITS_THIS_SDK  # the SDK the suite runs on is the one this module builds for
