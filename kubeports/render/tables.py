"""Print resolved rules for people (table, markdown) and machines (json).

The markdown shape follows the seeds' tables (Protocol | Direction | Port Range |
Purpose | Used By), one table per role, so a reviewer can hold them side by side.
"""
from __future__ import annotations

import json
from collections import defaultdict

from kubeports.core.rules import Rule

RAW_NAMES = {"4": "IPIP", "41": "IPv6-in-IPv4", "47": "GRE", "50": "ESP", "112": "VRRP"}


def protocol_label(rule: Rule) -> str:
    if rule.protocol.isdigit():
        return f"{RAW_NAMES.get(rule.protocol, 'IP')} ({rule.protocol})"
    return {"icmpv6": "ICMPv6", "all": "ALL"}.get(rule.protocol, rule.protocol.upper())


def port_label(rule: Rule) -> str:
    if rule.from_port is None:
        return "all" if rule.protocol in ("tcp", "udp", "all") else "-"
    if rule.is_icmp:
        return f"type {rule.from_port}" + (f" code {rule.to_port}" if rule.to_port is not None else "")
    return str(rule.from_port) if rule.from_port == rule.to_port else f"{rule.from_port}-{rule.to_port}"


def as_json(rules: tuple[Rule, ...]) -> str:
    return json.dumps({"rules": [r.to_json() for r in rules]}, indent=2, ensure_ascii=False) + "\n"


def as_table(rules: tuple[Rule, ...]) -> str:
    rows = [("KEY", "DESCRIPTION", "SOURCES")]
    rows += [(r.key, r.description, " ".join(r.sources)) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() + "\n" for a, b, c in rows)


def as_markdown(rules: tuple[Rule, ...], title: str = "") -> str:
    """One table per role; rules differing only in peer or family share a row."""
    rows: dict[str, dict[tuple, set[str]]] = defaultdict(lambda: defaultdict(set))
    for rule in rules:
        direction = "Inbound" if rule.direction == "ingress" else "Outbound"
        row = (direction, protocol_label(rule), port_label(rule), rule.description)
        rows[rule.role][row].add(rule.peer)
    out = [f"## {title}\n"] if title else []
    for role in sorted(rows):
        out.append(f"\n### {role}\n\n| Protocol | Direction | Port Range | Purpose | Used By |\n")
        out.append("|----------|-----------|------------|---------|---------|\n")
        for (direction, proto, ports, purpose), peers in rows[role].items():
            out.append(f"| {proto} | {direction} | {ports} | {purpose} | {', '.join(sorted(peers))} |\n")
    return "".join(out)
