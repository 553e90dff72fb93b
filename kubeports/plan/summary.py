"""The end of `kubeports plan`'s text: what the plan creates, by type and by role, as
`pulumi preview` ends; and which printed values the mock runtime made up.

Rules of this file:
- pure: (type, URN) pairs and the plan's invented values in, text out;
- a resource's role comes from the component types in its URN (compare.role_of); what
  belongs to no role is "(cluster)", as in `kubeports diff`;
- a value is marked mock only when the mocks invented it (kubeports.plan.offline records
  each one), found as a whole string or as a word of one (an address inside a URL);
  a value from the stack (a pinned image, a CIDR) is never marked.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .compare import CLUSTER, role_of

MOCK_LEGEND = ("values marked [mock: ...] were made up by the mock runtime (ids `<name>-id`, addresses in "
               "10.0.0.0/8 and 203.0.113.0/24): the cloud assigns the real ones")
WORD = re.compile(r"[\w.-]+")


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def mock_kinds(value: Any, mocked: Mapping[str, str]) -> list[str]:
    """The kinds of invented values `value` holds (sorted, each once)."""
    kinds = set()
    for text in _strings(value):
        if text in mocked:
            kinds.add(mocked[text])
            continue
        kinds.update(mocked[word] for word in WORD.findall(text) if word in mocked)
    return sorted(kinds)


def mock_mark(value: Any, mocked: Mapping[str, str]) -> str:
    """`  [mock: address, id]` for a line showing invented values, else ""."""
    kinds = mock_kinds(value, mocked) if mocked else []
    return f"  [mock: {', '.join(kinds)}]" if kinds else ""


def summary_lines(resources: list[tuple[str, str]]) -> list[str]:
    """`Resources: + N to create`, then the counts by type and by role, widest first."""
    by_type = Counter(type_ for type_, _urn in resources)
    by_role = Counter(role_of(urn) or CLUSTER for _type, urn in resources)
    width = max((len(k) for k in [*by_type, *by_role]), default=0)
    lines = ["Resources:", f"    + {len(resources)} to create", "", "By type:"]
    lines += [f"    {k:<{width}}  {n:>4}" for k, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", "By role:"]
    lines += [f"    {k:<{width}}  {n:>4}" for k, n in sorted(by_role.items(), key=lambda kv: (kv[0] == CLUSTER, kv[0]))]
    return lines
