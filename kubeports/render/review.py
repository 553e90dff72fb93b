"""The pull-request review of a diff: what a reviewer must see first, then the details.

Input is plain data (no plan objects): `kubeports.plan.compare.to_json()` of the diff,
and per side the full rule list and the context `kubeports.plan.refs.context()` read
(cloud, egress, quota, named ports, sensitive port ranges). Output is markdown for the
pull-request comment or plain text for a terminal, with the same sections:

1. security-relevant changes (ports reachable from a wider peer, sensitive ports
   touched, egress posture, quota headroom below a margin, instances and volumes
   deleted or replaced, replacements that delete first, protected resources blocking);
2. the summary per role;
3. the changes grouped by flow and port (a moved range is one line);
4. the rule list and the resource table, in numeric port order.

Rules of this file:
- every value that comes from data (names, purposes, CIDRs, refs, paths) goes through
  `_md` (markdown AND HTML escaped) or, for text, `_plain` (control characters gone);
  only this file's own words become markup;
- an HTML block (`<details>`) always ends with a blank line, so the next heading is a
  heading (cmark-gfm keeps an HTML block open until a blank line);
- imports nothing but the standard library: it decides nothing about ports.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WORLD = frozenset({"0.0.0.0/0", "::/0"})
INSTANCE_TYPES = re.compile(r"(Instance|Volume|volume)")
# Headroom below this many rules (or this share of the limit, if larger) is called out.
MARGIN_RULES = 5
MARGIN_SHARE = 0.10

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|~:\"'$%=^")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SAFE_CODE = re.compile(r"[A-Za-z0-9._:/-]+")


def _md(value: Any) -> str:
    """Data as inert markdown: HTML metacharacters as entities, markdown punctuation
    backslash-escaped, line breaks and control characters as spaces."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(value))
    return "".join(_HTML.get(c) or ("\\" + c if c in _MD_SPECIAL else c) for c in text)


def _code(value: Any) -> str:
    """A code span for identifiers; anything else is escaped text (a backtick inside a
    code span cannot be escaped)."""
    text = str(value)
    return f"`{text}`" if _SAFE_CODE.fullmatch(text) else _md(text)


def _plain(value: Any) -> str:
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(value))


@dataclass(frozen=True)
class Side:
    """One side of the diff: its full rule list and its context (refs.context())."""
    rules: tuple[Mapping[str, Any], ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)  # refs.quota_usage()


def rule_order(rule: Mapping[str, Any]) -> tuple:
    """Numeric port order: 179 before 10250."""
    ports = rule.get("from_port")
    return (rule.get("role") or "", rule.get("direction") != "ingress", ports is None, ports or 0,
            rule.get("to_port") or 0, str(rule.get("protocol")), _peer(rule), rule.get("ethertype") or "")


def _peer(rule: Mapping[str, Any]) -> str:
    peer = rule.get("peer") or {}
    return str(peer.get("cidr") or peer.get("role") or "")


def _range(low: Any, high: Any) -> str:
    if low is None:
        return "all ports"
    return str(low) if low == high else f"{low}-{high}"


def _ports(rule: Mapping[str, Any]) -> str:
    return _range(rule.get("from_port"), rule.get("to_port"))


def _covers(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if any(old.get(k) != new.get(k) for k in ("role", "direction", "ethertype")) or _peer(old) != _peer(new):
        return False
    if old.get("protocol") not in (new.get("protocol"), "all"):
        return False
    if old.get("from_port") is None:
        return True
    if new.get("from_port") is None:
        return False
    return old["from_port"] <= new["from_port"] and (old.get("to_port") or 0) >= (new.get("to_port") or 0)


def _overlaps(rule: Mapping[str, Any], ranges: list[list[int]]) -> bool:
    if rule.get("protocol") not in ("tcp", "udp", "all"):
        return False
    low, high = rule.get("from_port"), rule.get("to_port")
    if low is None:
        return bool(ranges)
    return any(low <= hi and lo <= (high or low) for lo, hi in ranges)


# --- what the review says, as plain data --------------------------------------------------
@dataclass
class Review:
    title: str
    empty: bool
    held: int
    security: list[list[tuple[str, Any]]]   # each line: (kind, value) segments, see _line
    roles: list[tuple[Any, ...]]
    totals: str
    blocked: list[list[tuple[str, Any]]]
    groups: list[list[tuple[str, Any]]]
    rules: dict[str, list[list[tuple[str, Any]]]]
    rule_counts: tuple[int, int, int]
    resources: list[tuple[str, str, str, list[list[tuple[str, Any]]]]]


# A line is a list of segments: ("t", this file's words), ("d", data text), ("c", data
# identifier), ("b", this file's words in bold). Rendering escapes only "d" and "c".
def T(text: str) -> tuple[str, str]:  # noqa: N802 - reads like a tag
    return ("t", text)


def D(value: Any) -> tuple[str, Any]:  # noqa: N802
    return ("d", value)


def C(value: Any) -> tuple[str, Any]:  # noqa: N802
    return ("c", value)


def B(text: str) -> tuple[str, str]:  # noqa: N802
    return ("b", text)


def _rule_text(rule: Mapping[str, Any]) -> list[tuple[str, Any]]:
    peer = rule.get("peer") or {}
    where = "from" if rule.get("direction") == "ingress" else "to"
    what = [T("all traffic")] if rule.get("protocol") == "all" else [D(rule.get("protocol")), T(" "), D(_ports(rule))]
    return [D(rule.get("role")), T(f" {'in' if rule.get('direction') == 'ingress' else 'out'} "), *what, T(f" {where} "),
            D(peer.get("cidr") or peer.get("role") or "?")]


def build(doc: Mapping[str, Any], base: Side, head: Side, title: str = "") -> Review:
    rules_doc = doc.get("rules") or {}
    plan_doc = doc.get("plan") or {}
    added = sorted(rules_doc.get("added") or (), key=rule_order)
    removed = sorted(rules_doc.get("removed") or (), key=rule_order)
    changed = sorted(rules_doc.get("changed") or (), key=lambda c: (c.get("role") or "", c.get("key") or ""))
    resources = list(plan_doc.get("resources") or ())
    ignored = list(plan_doc.get("ignored") or ())
    counts = plan_doc.get("counts") or {}
    empty = not doc.get("changed")
    review = Review(title, empty, len(ignored), [], [], "", [], [], {}, (len(added), len(removed), len(changed)), [])
    if empty:
        return review

    # 1. security-relevant changes
    sec = review.security
    for rule in added:
        if rule.get("direction") != "ingress" or any(_covers(old, rule) for old in base.rules):
            continue
        peer = rule.get("peer") or {}
        if peer.get("cidr") in WORLD:
            kind = "the world"
        elif "cidr" in peer:
            kind = "a new CIDR"
        else:
            kind = "a new role"
        sec.append([B(f"Reachable from {kind}:"), T(" "), *_rule_text(rule), T(" ("), D(rule.get("description")),
                    T(")")])
    ranges = [list(r) for r in (head.context.get("sensitive") or [])] + \
        [list(r) for r in (base.context.get("sensitive") or [])]
    # Inbound only: outbound rules are what the egress posture line sums up.
    for sign, rule in [("+", r) for r in added] + [("-", r) for r in removed]:
        if rule.get("direction") == "ingress" and _overlaps(rule, ranges):
            sec.append([B("Sensitive port touched:"), T(f" {sign} "), *_rule_text(rule), T(" ("),
                        D(rule.get("description")), T(")")])
    by_key = {r.get("key"): r for r in head.rules}
    for change in changed:
        rule = by_key.get(change.get("key"))
        if rule and rule.get("direction") == "ingress" and _overlaps(rule, ranges):
            sec.append([B("Sensitive port touched:"), T(" ~ "), *_rule_text(rule), T(": purpose changed")])
    old_egress, new_egress = base.context.get("egress"), head.context.get("egress")
    if old_egress and new_egress and old_egress != new_egress:
        gained = sum(r.get("direction") == "egress" for r in added)
        lost = sum(r.get("direction") == "egress" for r in removed)
        sec.append([B("Egress posture:"), T(" "), D(old_egress), T(" → "), D(new_egress),
                    T(f" ({gained} egress rules added, {lost} removed)")])
    sec += _quota_lines(base, head)
    for res in resources:
        if res.get("action") in ("delete", "replace") and INSTANCE_TYPES.search(str(res.get("type"))):
            why = [p.get("path") for p in res.get("changes") or () if p.get("replaces")]
            line = [B("Deleted:" if res["action"] == "delete" else "Replaced:"), T(" "), D(short_type(res["type"])),
                    T(" "), C(res.get("name"))]
            if why:
                line += [T(" (forced by "), D(", ".join(map(str, why))), T(")")]
            sec.append(line)
    for res in resources:
        if res.get("action") == "replace" and any("delete before replace" in n for n in res.get("notes") or ()):
            sec.append([B("Delete-first replacement:"), T(" "), D(short_type(res["type"])), T(" "),
                        C(res.get("name")), T(" is deleted before its replacement exists")])

    # The IPv4 and IPv6 variants of one rule read the same: one line.
    unique: list[list[tuple[str, Any]]] = []
    for line in sec:
        if line not in unique:
            unique.append(line)
    review.security = unique

    # 2. summary per role
    roles: dict[str, dict[str, int]] = {}
    for key, rules in (("added", added), ("removed", removed)):
        for rule in rules:
            roles.setdefault(str(rule.get("role")), {}).setdefault(key, 0)
            roles[str(rule["role"])][key] += 1
    for change in changed:
        slot = roles.setdefault(str(change.get("role")), {})
        slot["changed"] = slot.get("changed", 0) + 1
    for res in resources:
        slot = roles.setdefault(str(res.get("role") or "(cluster)"), {})
        slot[res["action"]] = slot.get(res["action"], 0) + 1
    for role in sorted(roles, key=lambda r: (r == "(cluster)", r)):
        n = roles[role]
        review.roles.append((role, *(n.get(k, 0) for k in ("added", "removed", "changed", "create", "delete",
                                                            "update", "replace"))))
    totals = (f"{counts.get('create', 0)} to create, {counts.get('delete', 0)} to delete, "
              f"{counts.get('update', 0)} to update, {counts.get('replace', 0)} to replace, "
              f"{counts.get('unchanged', 0)} unchanged")
    if counts.get("options"):
        totals += f", {counts['options']} with changed options only"
    if counts.get("ignored"):
        totals += f"; {counts['ignored']} with changes held back by ignoreChanges"
    review.totals = totals
    review.blocked = [[C(res.get("name")), T(": "), D(note)] for res in resources for note in res.get("notes") or ()
                      if "protected" in note]

    # 3. by flow and port
    review.groups = _groups(added, removed, changed, base, head)

    # 4. rules and resources
    for sign, rules in (("+", added), ("-", removed)):
        for rule in rules:
            review.rules.setdefault(str(rule.get("role")), []).append(
                [T(f"{sign} "), C(rule.get("key")), T(" — "), D(rule.get("description"))])
    for change in changed:
        review.rules.setdefault(str(change.get("role")), []).append(
            [T("~ "), C(change.get("key")), T(": purpose "), D(change.get("old")), T(" → "), D(change.get("new"))])
    review.rules = dict(sorted(review.rules.items()))
    for res in resources + ignored:
        what = [[C(p.get("path")), T(": "), D(_value(p.get("old"))), T(" → "), D(_value(p.get("new")))]
                + ([T(" "), B("(forces replacement)")] if p.get("replaces") else [])
                + ([T(" ("), D(p["note"]), T(")")] if p.get("note") else []) for p in res.get("changes") or ()]
        what += [[C(path), T(" held by ignoreChanges")] for path in res.get("ignored") or ()]
        what += [[D(note)] for note in res.get("notes") or ()]
        action = "held" if res.get("action") == "ignored" else str(res.get("action"))
        review.resources.append((action, short_type(str(res.get("type"))), str(res.get("name")), what))
    return review


def _value(value: Any, limit: int = 48) -> str:
    text = "∅" if value is None else (value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quota_lines(base: Side, head: Side) -> list[list[tuple[str, Any]]]:
    cloud = head.context.get("cloud")
    quota = head.context.get("quota") or {}
    limit = int(quota.get("awsRulesPerGroup" if cloud == "aws" else "neutronRules") or 0)
    if not limit:
        return []
    unit = "AWS rules per group, direction and family" if cloud == "aws" else "Neutron rules per project"
    out = []
    for key, used in head.usage.items():
        groups = _groups_of(cloud, quota, key)
        room = limit * groups  # a role's groups (kubeports:aws.groupsPerRole) share its rules
        margin = max(MARGIN_RULES, int(room * MARGIN_SHARE))
        before = room - base.usage.get(key, 0)
        after = room - used
        if after < before and after < margin:
            state = "over quota" if after < 0 else f"headroom {before} → {after}"
            across = f" x {groups} groups" if groups > 1 else ""
            out.append([B("Quota headroom:"), T(" "), D(key), T(f" uses {used} of {limit}{across} {unit} ({state})")])
    return out


def _groups_of(cloud: Any, quota: Mapping[str, Any], key: str) -> int:
    """Security groups of the role a usage key names: the stack's groupsPerRole on AWS, one for
    the load balancer (kubeports.core.shards) and on OpenStack."""
    groups = quota.get("awsGroupsPerRole")
    if cloud != "aws" or key.split(" ")[0] == "load-balancer" or not isinstance(groups, int) or groups < 1:
        return 1
    return groups


def _groups(added: list, removed: list, changed: list, base: Side, head: Side) -> list[list[tuple[str, Any]]]:
    """Moved ranges (a removed and an added rule alike but for their ports) become one line
    per range; the rest one line per purpose, protocol and ports."""
    def shape(rule: Mapping[str, Any]) -> tuple:
        return (rule.get("role"), rule.get("direction"), rule.get("protocol"), _peer(rule), rule.get("ethertype"),
                rule.get("description"))

    left = list(removed)
    moved: dict[tuple, dict[str, Any]] = {}
    rest_added = []
    for rule in added:
        match = next((old for old in left if shape(old) == shape(rule)), None)
        if match is None:
            rest_added.append(rule)
            continue
        left.remove(match)
        name = _port_name(match, rule, base, head)
        key = (("c", name) if name else ("d", rule.get("description")), _ports(match), _ports(rule))
        slot = moved.setdefault(key, {"roles": set(), "count": 0, "old": match, "new": rule})
        slot["roles"].add(str(rule.get("role")))
        slot["count"] += 1
    out = []
    for (label, old, new), slot in sorted(moved.items(), key=lambda kv: rule_order(kv[1]["new"])):
        out.append([T("~ "), label, T(" "), D(old), T(" → "), D(new),
                    T(f" ({slot['count']} rules replaced on "), D(", ".join(sorted(slot["roles"]))), T(")")])
    for sign, rules in (("+", rest_added), ("-", left)):
        grouped: dict[tuple, dict[str, Any]] = {}
        for rule in rules:
            key = (rule.get("description"), rule.get("direction"), rule.get("protocol"), _ports(rule))
            slot = grouped.setdefault(key, {"roles": set(), "peers": set(), "count": 0, "first": rule})
            slot["roles"].add(str(rule.get("role")))
            slot["peers"].add(_peer(rule))
            slot["count"] += 1
        for (purpose, direction, protocol, ports), slot in sorted(grouped.items(),
                                                                  key=lambda kv: rule_order(kv[1]["first"])):
            where = "from" if direction == "ingress" else "to"
            out.append([T(f"{sign} "), D(purpose), T(": "), D(protocol), T(" "), D(ports), T(" on "),
                        D(", ".join(sorted(slot["roles"]))), T(f" {where} "), D(", ".join(sorted(slot["peers"]))),
                        T(f" ({slot['count']} rule{'s' if slot['count'] != 1 else ''})")])
    if changed:
        out.append([T(f"~ purpose changed on {len(changed)} rule{'s' if len(changed) != 1 else ''} "
                      "(Neutron replaces each)")])
    return out


def _port_name(old: Mapping[str, Any], new: Mapping[str, Any], base: Side, head: Side) -> str | None:
    """The named port that moved: an override on either side with the new (or old) range,
    else a catalog name whose value was the old range and is the new one."""
    old_r, new_r = [old.get("from_port"), old.get("to_port")], [new.get("from_port"), new.get("to_port")]
    for name, value in sorted((head.context.get("overrides") or {}).items()):
        if list(value) == new_r:
            return name
    for name, value in sorted((base.context.get("overrides") or {}).items()):
        if list(value) == old_r:
            return name
    for name, values in sorted((base.context.get("named") or {}).items()):
        if old_r in [list(v) for v in values] and new_r in [list(v) for v in (head.context.get("named") or {}).get(
                name, [])]:
            return name
    return None


def short_type(type_: str) -> str:
    """`openstack:networking/secGroupRule:SecGroupRule` -> `openstack.networking.SecGroupRule`."""
    try:
        package, module, name = type_.split(":")
    except ValueError:
        return type_
    module = module.split("/")[0]
    return f"{package}.{module}.{name}" if module and module != "index" else f"{package}.{name}"


# --- layouts ------------------------------------------------------------------------------
def _line(segments: list[tuple[str, Any]], markdown: bool) -> str:
    out = []
    for kind, value in segments:
        if kind == "t":
            out.append(value)
        elif kind == "b":
            out.append(f"**{value}**" if markdown else value)
        elif kind == "c":
            out.append(_code(value) if markdown else _plain(value))
        else:
            out.append(_md(value) if markdown else _plain(value))
    return "".join(out)


ROLE_HEADER = ("Role", "Rules added", "Rules removed", "Rules changed", "Created", "Deleted", "Updated", "Replaced")


def markdown(review: Review, max_rows: int = 100) -> str:
    out = [f"### {_md(review.title)}\n\n"] if review.title else []
    if review.empty:
        held = f" ({review.held} resources with changes held back by ignoreChanges)" if review.held else ""
        return "".join(out) + f"No changes{held}.\n"
    out.append("**Security-relevant changes**\n\n")
    out.append("".join(f"- {_line(s, True)}\n" for s in review.security) if review.security
               else "None: no wider peer, sensitive port, egress, quota, instance or volume change.\n")
    out.append("\n**Summary**\n\n| " + " | ".join(ROLE_HEADER) + " |\n|------|" + "---:|" * 7 + "\n")
    out += [f"| {_md(row[0])} | " + " | ".join(map(str, row[1:])) + " |\n" for row in review.roles]
    out.append(f"\n**Resources:** {review.totals}.\n")
    if review.blocked:
        out.append("\n**Blocked:**\n\n" + "".join(f"- {_line(s, True)}\n" for s in review.blocked))
    if review.groups:
        out.append("\n**Changes by flow and port**\n\n" + "".join(f"- {_line(s, True)}\n" for s in review.groups))
    if any(review.rules.values()):
        lines: list[str] = []
        for role, items in review.rules.items():
            lines.append(f"\n**{_md(role)}**\n")
            lines += [f"- {_line(s, True)}" for s in items]
        shown = lines[:max_rows] + ([f"- … {len(lines) - max_rows} more"] if len(lines) > max_rows else [])
        a, r, c = review.rule_counts
        out.append(f"\n<details><summary>Rules: {a} added, {r} removed, {c} changed</summary>\n\n"
                   + "\n".join(shown) + "\n\n</details>\n")
    if review.resources:
        rows = ["| Action | Type | Name | What changes |", "|--------|------|------|--------------|"]
        rows += [f"| {action} | {_md(type_)} | {_code(name)} | {'<br>'.join(_line(w, True) for w in what)} |"
                 for action, type_, name, what in review.resources]
        shown = rows[: max_rows + 2] + ([f"| … | | {len(rows) - max_rows - 2} more | |"]
                                        if len(rows) > max_rows + 2 else [])
        out.append("\n<details><summary>Resources</summary>\n\n" + "\n".join(shown) + "\n\n</details>\n")
    return "".join(out) + "\n"


def text(review: Review, max_rows: int = 100) -> str:
    out = [f"{_plain(review.title)}\n{'=' * min(len(review.title), 79)}\n\n"] if review.title else []
    if review.empty:
        held = f" ({review.held} resources with changes held back by ignoreChanges)" if review.held else ""
        return "".join(out) + f"No changes{held}.\n"
    out.append("Security-relevant changes:\n")
    out.append("".join(f"  ! {_line(s, False)}\n" for s in review.security) if review.security
               else "  none: no wider peer, sensitive port, egress, quota, instance or volume change.\n")
    rows = [ROLE_HEADER] + [tuple(map(str, (_plain(row[0]), *row[1:]))) for row in review.roles]
    widths = [max(len(r[i]) for r in rows) for i in range(len(ROLE_HEADER))]
    out.append("\nSummary:\n" + "".join("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                                          for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
                                        .rstrip() + "\n" for r in rows))
    out.append(f"\nResources: {review.totals}.\n")
    if review.blocked:
        out.append("\nBlocked:\n" + "".join(f"  - {_line(s, False)}\n" for s in review.blocked))
    if review.groups:
        out.append("\nChanges by flow and port:\n" + "".join(f"  {_line(s, False)}\n" for s in review.groups))
    if any(review.rules.values()):
        a, r, c = review.rule_counts
        lines: list[str] = []
        for role, items in review.rules.items():
            lines.append(f"  {_plain(role)}:")
            lines += [f"    {_line(s, False)}" for s in items]
        shown = lines[:max_rows] + ([f"    … {len(lines) - max_rows} more"] if len(lines) > max_rows else [])
        out.append(f"\nRules: {a} added, {r} removed, {c} changed\n" + "\n".join(shown) + "\n")
    if review.resources:
        out.append("\nResources:\n")
        for action, type_, name, what in review.resources[:max_rows]:
            out.append(f"  {action:8} {_plain(type_)} {_plain(name)}\n")
            out += [f"           {_line(w, False)}\n" for w in what]
        if len(review.resources) > max_rows:
            out.append(f"  … {len(review.resources) - max_rows} more\n")
    return "".join(out)

