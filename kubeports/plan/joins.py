"""`Output.all` joins Outputs without an Output and a Task per item, while a plan runs.

Why: the SDK's `Output.all(*items)` first turns every item into an Output with
`Output.from_input`; for an item that is an Output already that is
`item.apply(Output.from_input, True)`: one more Output and one more Task per item, whose
coroutine awaits the item and then makes a third Output of its value. A role's node ids and
addresses are joined so (components/roles.py `output_list`, two per node), as are the
SDK's own alias URNs (`collapse_alias_to_urn`, `create_urn`: `Output.all` of the project,
the stack and the parent's URN). That was most of what a plan costs beyond its resources'
registrations (bench/scale.py, plan / typed floor).

Rules of this file:
- while `lean_all()` is active, `pulumi.Output.all` (a static method every caller, the
  SDK too, looks up on the class) is this module's function; it is put back afterwards and
  nothing is edited in the installed SDK;
- an item that is an `Output` (that class exactly) is awaited directly, in the one gather
  the SDK's own join makes; when it resolved known with a scalar value (None, bool,
  number, string: nothing `from_input` would unwrap), what `from_input` would have made of
  it is its own data (value, known, secret, dependencies), used as it is; anything else
  (unknown, a list, a dict, an Output inside) then goes through the SDK's `from_input`;
- an item that is a scalar is the known, not secret, dependency-free value `from_input`
  makes of it; any other item (a list, a dict, an input type, an awaitable) goes to the
  SDK's `from_input` before the gather, as the SDK does;
- the item Outputs are untracked, as `from_input` untracks them: the joined Output is
  tracked and carries the failure of the first item that fails, as the SDK's gather does;
- the joined Output is the SDK's in every other respect: a list, or a dict for keyword
  items (the SDK's error for both), the union of the dependencies, known when every part
  is, secret when any is (tests/plan/test_joins.py checks it against the SDK's own);
- only an SDK whose Outputs hold one `_OutputData` future gets this function
  (kubeports.plan.outputs.FITS_THIS_SDK); on any other `lean_all()` changes nothing.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from pulumi.output import Output

from kubeports.plan.outputs import FITS_THIS_SDK, SCALAR_TYPES, _OutputData


def _join(from_input: Any, *args: Any, **kwargs: Any) -> Output:
    if args and kwargs:
        raise ValueError("Output.all() was supplied a mix of named and unnamed inputs")
    items = list(kwargs.values()) if kwargs else list(args)
    parts: list[Any] = []  # per item: an Output to await, or the data a scalar is
    for item in items:
        if type(item) is Output:
            item._untrack()  # as from_input does: the joined Output carries its failure
            parts.append(item)
        elif type(item) in SCALAR_TYPES:
            parts.append(_OutputData(resources=set(), value=item, is_known=True, is_secret=False))
        else:
            parts.append(from_input(item))  # the SDK's, now: it may create Outputs of the item's parts

    async def gather_data() -> Any:
        awaited = [part for part in parts if type(part) is Output]
        results = iter(await asyncio.gather(*[part._data for part in awaited]))
        all_data = []
        for item, part in zip(items, parts, strict=True):
            if type(part) is not Output:
                all_data.append(part)
                continue
            data = next(results)
            if part is item and not (data.is_known and type(data.value) in SCALAR_TYPES):
                data = await from_input(item)._data  # what the SDK makes of it, exactly
            all_data.append(data)
        resources: set = set()
        for data in all_data:
            resources |= data.resources
        values: Any = ({key: data.value for key, data in zip(kwargs, all_data, strict=True)} if kwargs
                       else [data.value for data in all_data])
        return _OutputData(resources=resources, value=values, is_known=all(d.is_known for d in all_data),
                           is_secret=any(d.is_secret for d in all_data))

    return Output._from_data(gather_data())


@contextlib.contextmanager
def lean_all(fits: bool | None = None) -> Iterator[None]:
    """`fits`: whether the installed SDK has the Output this module builds (default: checked)."""
    if not (FITS_THIS_SDK if fits is None else fits):
        yield
        return
    original = Output.__dict__["all"]
    from_input = Output.from_input

    def join(*args: Any, **kwargs: Any) -> Output:
        return _join(from_input, *args, **kwargs)

    Output.all = staticmethod(join)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Output.all = original  # type: ignore[method-assign]
