"""Notes in one line: what the resolver set aside for this stack, counted, with the
notes a person must read shown in full.

Rules of this file:
- pure: the resolver's note texts in (kubeports.core.resolver), lines out;
- a routine note (a flow's side dropped for a role the cluster lacks, an empty CIDR set,
  a stand-in role or set, an IP family not in use) is counted per kind, each flow once
  per kind, in one summary line that says how to list them;
- any other note (native pod routing, strict egress with an empty set, anything new)
  is a warning and always prints in full: a summary never hides what it does not know;
- `verbose` gives every note back unchanged, in the resolver's order.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

# kind -> (pattern of the message after `where: flow: `, what the summary says: plural, singular)
ROUTINE: tuple[tuple[str, re.Pattern[str], tuple[str, str]], ...] = (
    ("role", re.compile(r"no (\S+ role in this cluster|role in this cluster runs a kubelet \(nodes\)); "
                        r"its side of the flow is dropped"), ("skip roles this cluster lacks", "skips roles this cluster lacks")),
    ("cidr", re.compile(r"CIDR set '[^']*' is empty in this stack; no rule for it"),
     ("skip CIDR sets this stack leaves empty", "skips CIDR sets this stack leaves empty")),
    ("stand-in", re.compile(r"no \S+ role: its side (lands on \S+ \(stacked\)|comes from CIDR set '[^']*')"),
     ("land on a stand-in role or CIDR set", "lands on a stand-in role or CIDR set")),
    ("family", re.compile(r"IPv[46] only, which this cluster does not use; no rule"),
     ("are for an IP family not in use", "is for an IP family not in use")),
)
FLOW_NOTE = re.compile(r"(?P<flow>.+?:\d+: [^:]+): (?P<message>.+)")


def kind_of(note: str) -> tuple[str, str] | None:
    """(kind, flow) of a routine note, or None for a note to show in full."""
    match = FLOW_NOTE.fullmatch(note)
    if not match:
        return None
    for kind, pattern, _text in ROUTINE:
        if pattern.fullmatch(match.group("message")):
            return kind, match.group("flow")
    return None


def summarize(notes: Iterable[str], verbose: bool = False, hint: str = "-v lists them") -> list[str]:
    """The lines to print: every note when `verbose`, else the warnings and one summary line."""
    notes = list(notes)
    if verbose:
        return notes
    flows: dict[str, set[str]] = {kind: set() for kind, _p, _t in ROUTINE}
    shown = []
    for note in notes:
        found = kind_of(note)
        if found is None:
            shown.append(note)
        else:
            flows[found[0]].add(found[1])
    parts = [f"{len(flows[kind])} {texts[len(flows[kind]) == 1]}" for kind, _p, texts in ROUTINE if flows[kind]]
    if parts:
        noun = "flow" if parts[0].startswith("1 ") else "flows"
        first, _, rest = parts[0].partition(" ")
        shown.append(", ".join([f"{first} {noun} {rest}", *parts[1:]]) + f"; {hint}")
    return shown
