"""An audit's findings as text (terminals), markdown (a ticket or PR) and JSON.

Rules of this file:
- findings are shown most severe first, as kubeports.core.audit sorted them;
- every value that came from a cloud or a dump (descriptions, names, ids) is escaped
  for its format: no markup from data in markdown, no control characters on a terminal.
"""
from __future__ import annotations

import html
import json

from kubeports.core.audit import SEVERITIES, Audit

TITLES = {"critical": "Critical: sensitive ports reachable from a CIDR", "missing": "Missing: the cluster breaks here",
          "over-open": "Over-open: admitted, not required", "duplicate": "Duplicate rules",
          "shadowed": "Shadowed rules (inside another rule)", "quota": "Quota"}


def _plain(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _md(text: str) -> str:
    """Inert in GitHub markdown: HTML escaped, then every markdown punctuation backslashed."""
    escaped = html.escape(_plain(text), quote=False)
    for char in "\\`*_[]|#~!":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def counts(result: Audit) -> dict[str, int]:
    return {s: sum(1 for f in result.findings if f.severity == s) for s in SEVERITIES}


def summary(result: Audit) -> str:
    parts = ", ".join(f"{n} {s}" for s, n in counts(result).items() if n) or "no findings"
    return (f"audit ({result.cloud}): {result.checked_rules} required rules against {result.live_rules} live rules "
            f"in {len(result.roles)} groups: {parts}")


def as_text(result: Audit, headroom: list[str]) -> str:
    lines = [summary(result), ""]
    for severity in SEVERITIES:
        found = [f for f in result.findings if f.severity == severity]
        if not found:
            continue
        lines.append(f"{TITLES[severity]} ({len(found)})")
        for f in found:
            lines.append(f"  [{f.role}] {_plain(f.message)}")
            if f.live:
                lines.append(f"      live rule: {_plain(f.live)}")
            for src, url in zip(f.sources, f.urls or [""] * len(f.sources), strict=False):
                lines.append(f"      source: {_plain(src)} {_plain(url)}".rstrip())
        lines.append("")
    lines.append("Quota headroom")
    lines += [f"  {_plain(line)}" for line in headroom]
    lines += [f"note: {_plain(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"


def as_markdown(result: Audit, headroom: list[str], title: str) -> str:
    out = [f"## {_md(title)}", "", f"**{_md(summary(result))}**", ""]
    for severity in SEVERITIES:
        found = [f for f in result.findings if f.severity == severity]
        if not found:
            continue
        out += [f"### {TITLES[severity]} ({len(found)})", "", "| role | finding | live rule | source |",
                "|---|---|---|---|"]
        for f in found:
            src = "<br>".join(f"{_md(s)} {_md(u)}".strip() for s, u in zip(f.sources, f.urls or [""] * len(f.sources),
                                                                              strict=False))
            out.append(f"| {_md(f.role)} | {_md(f.message)} | {_md(f.live)} | {src} |")
        out.append("")
    out += ["### Quota headroom", ""] + [f"- {_md(line)}" for line in headroom] + [""]
    out += [f"> note: {_md(n)}" for n in result.notes]
    return "\n".join(out).rstrip() + "\n"


def as_json(result: Audit, headroom: list[str]) -> str:
    return json.dumps({"cloud": result.cloud, "roles": result.roles, "counts": counts(result),
                       "exit_code": result.exit_code, "findings": [f.to_json() for f in result.findings],
                       "headroom": headroom, "notes": result.notes}, indent=2, ensure_ascii=False) + "\n"
