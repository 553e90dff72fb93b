"""components.roles.output_list: `Output.all(*items)` in a tree, for a role's thousands of
node ids and addresses: the same list in the same order, the same dependencies, known and
secret flags, for any number of items."""
from __future__ import annotations

import asyncio

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.runtime.sync_await import _ensure_event_loop

from kubeports.components.roles import FAN_IN, output_list


class Dependency:
    """Stands for a resource: an Output's dependencies are a set of objects."""

    def __init__(self, index: int):
        self.index = index


def _done(value):
    future = _ensure_event_loop().create_future()
    future.set_result(value)
    return future


def _item(index: int, known: bool = True, secret: bool = False) -> pulumi.Output:
    return pulumi.Output({Dependency(index)}, _done(f"value-{index}"), _done(known), _done(secret))


def _data(output: pulumi.Output):
    data = _ensure_event_loop().run_until_complete(asyncio.ensure_future(output._data))
    return data.value if data.is_known else None, data.resources, data.is_known, data.is_secret


@settings(max_examples=25, deadline=None)
@given(count=st.sampled_from([0, 1, FAN_IN, FAN_IN + 1, 3 * FAN_IN + 5, FAN_IN * FAN_IN + 1]),
       secret=st.one_of(st.none(), st.integers(min_value=0)), unknown=st.one_of(st.none(), st.integers(min_value=0)))
def test_the_same_as_output_all(count, secret, unknown):
    items = [_item(i, known=unknown is None or i != unknown % max(count, 1),
                   secret=secret is not None and i == secret % max(count, 1)) for i in range(count)]
    assert _data(output_list(items)) == _data(pulumi.Output.all(*items))


def test_many_items_are_joined_in_a_tree_of_at_most_fan_in():
    joined = []
    real_all = pulumi.Output.all

    def counting_all(*args, **kwargs):
        joined.append(len(args))
        return real_all(*args, **kwargs)

    items = [_item(i) for i in range(FAN_IN * FAN_IN + 1)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.Output, "all", counting_all)
        value, resources, known, secret = _data(output_list(items))
    assert value == [f"value-{i}" for i in range(len(items))] and (known, secret) == (True, False)
    assert sorted(d.index for d in resources) == list(range(len(items)))
    assert max(joined) <= FAN_IN and sum(joined) < 2 * len(items)
