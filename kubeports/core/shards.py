"""AWS: a role's rules spread over the security groups its nodes carry
(`kubeports:aws.groupsPerRole`), so CIDR sets of dozens of entries fit the default quota.

Rules of this file:
- pure and pulumi-free: components/clouds/aws.py renders with `aws_placement`,
  kubeports.core.quota counts with it, so the preflight checks the groups the cloud gets;
- EC2 counts rules per group, direction and family (60 each by default) and an
  interface carries at most 5 groups (default; 16 at most, and rules per group x groups
  per interface may not exceed 1,000). A prefix-list reference counts its list's max
  entries, a group reference counts once in each family (one AWS rule for both twins);
- group 0 is the role's own group (`<name>-sg`): every peer rule names it, and every
  node of the role carries all of the role's groups, so a rule admits the same packets
  in any of them;
- placement depends on the role's rules as a set, never on their order, and never on a
  set's length: prefix-list references first, each by its AWS name, into the last group
  with room in every (direction, family) it counts in (the last group, then the one
  before); then the other rules by name into the first group with room. The two kinds
  fill the groups from opposite ends, so an added CIDR or group rule never moves a
  prefix-list reference, and one group per role puts everything in group 0, as before
  this file existed;
- a group is filled to its limit less `room` (a tenth) while another has space: AWS
  refuses to resize a prefix list while a group that references it would exceed its
  quota (ModifyManagedPrefixList: "if any of the resources that reference the prefix
  list cannot support the new maximum size, the modify operation fails"), and the rules
  stay where they are until the resize is done. Entries added within the room keep
  every rule in its group, so the resize applies; a change that moves rules between
  groups shows in `kubeports diff` as replaced rules (docs/clouds.md);
- the load balancer keeps one group whatever the stack says: an NLB's groups are set with
  it, and kubeports diff reads a change of them as a replacement (a new API address);
  so does a role another stack manages (externalRoles): this stack's rules on it go to
  that stack's first group, the one its id names (`local`: the roles with groups here);
- with several groups per role, every CIDR set is split into one prefix list per group
  (`<list>-part-<n>`, n = 1..groups, the empty ones left out), each CIDR into the part a
  digest of its text names: the parts of a 200-entry set fit 5 groups where one list fits
  none; an entry added or removed changes its own part in place (no entry moves between
  lists, so none is missing while they update); the split never depends on the entries'
  order. Short sets are split too: a set that changed from one list to parts as it grew
  would need room for both in a group at once (Pulumi creates the parts' rules before it
  deletes the old one), which a full group lacks, and the update would stop there every
  time. Each part's reference is placed as a list of its own; the parts change only with
  `groupsPerRole` (then they are new lists); one group per role keeps one list per set;
- rules naming a sibling stack's group (kubeports.core.siblings) are placed after all
  others, so the groups of the rules the quota preflight counts never depend on them;
- a rule that fits no group stays in group 0: the preflight refuses such a stack with
  the group's count before anything is registered.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

from .rules import Rule
from .settings import LOAD_BALANCER
from .siblings import SIBLING_SUFFIX

Slot = tuple[str, str]  # (direction, family): what EC2 counts a group's rules in


class Unit(NamedTuple):
    """One rule EC2 holds: its first kubeports rule (twins merged), what it counts per
    (direction, family), and the part of a split set it references (0: the whole set)."""
    rule: Rule
    weight: dict[Slot, int]
    part: int = 0


def aws_key(rule: Rule) -> str:
    """The rule's AWS name without the cluster: one AWS rule for both families of a group reference."""
    return rule.key[:-3] if rule.peer_kind == "role" else rule.key


def part_key(key: str, part: int) -> str:
    """The name of a split set's part, or of a rule referencing it (`...-v4-part-3`); 0: the whole."""
    return f"{key}-part-{part}" if part else key


def set_object_name(cluster: str, name: str, family: str, part: int = 0) -> str:
    """An address group's or prefix list's name, from content: the cluster, the set, its family
    and its part if split (`dev-set-api-clients-v4`, `dev-set-api-clients-v4-part-2`)."""
    return part_key(f"{cluster}-set-{name}-{'v4' if family == 'IPv4' else 'v6'}", part)


def prefix_list_max_entries(members: tuple[str, ...]) -> int:
    """`max_entries` of a set's prefix list: its entries, no headroom (kubeports.core.quota's header)."""
    return max(1, len(members))


def set_parts(members: tuple[str, ...], groups: int) -> dict[int, tuple[str, ...]]:
    """A set's prefix lists: part -> its entries (see the header). {0: members} when a role has
    one group; else parts 1..groups, each sorted, the empty ones left out."""
    if groups <= 1:
        return {0: members}
    parts: dict[int, list[str]] = {}
    for cidr in members:
        parts.setdefault(_part_of(cidr, groups), []).append(cidr)
    return {part: tuple(sorted(entries)) for part, entries in sorted(parts.items())}


def _part_of(cidr: str, groups: int) -> int:
    """1..groups from the CIDR's text alone: the same in every process (not Python's hash)."""
    digest = hashlib.blake2b(cidr.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % groups + 1


def slot_weights(rule: Rule, members: tuple[str, ...] | None = None) -> dict[Slot, int]:
    """What one AWS rule counts, per (direction, family); `members`: the part of a set it references."""
    if rule.peer_kind == "role":
        return {(rule.direction, "IPv4"): 1, (rule.direction, "IPv6"): 1}
    if rule.peer_kind == "set":
        return {(rule.direction, rule.ethertype): prefix_list_max_entries(rule.members if members is None else members)}
    return {(rule.direction, rule.ethertype): 1}


def aws_units(rules: Iterable[Rule], groups: int = 1) -> dict[str, Unit]:
    """AWS name -> the rule EC2 holds: twins merged, a reference to a split set one per part
    (`groups`: the stack's groups per role, as `set_parts` takes it)."""
    units: dict[str, Unit] = {}
    for rule in sorted(rules, key=Rule.sort_key):
        key = aws_key(rule)
        if rule.peer_kind != "set":
            units.setdefault(key, Unit(rule, slot_weights(rule)))
            continue
        for part, members in set_parts(rule.members, groups).items():
            units.setdefault(part_key(key, part), Unit(rule, slot_weights(rule, members), part))
    return units


def aws_placement(rules: Sequence[Rule], groups: int, limit: int,
                  local: Collection[str] | None = None) -> dict[str, int]:
    """AWS name -> the index of the role's group that holds it (0 is the role's own group),
    for the rules of every role in `rules`; see the header for the order. `local`: the
    roles this stack makes groups for (None: every role)."""
    placed: dict[str, int] = {}
    for role, role_rules in _by_role(rules).items():
        placed.update(_place(aws_units(role_rules, groups), groups_of(role, groups, local), limit))
    return placed


def groups_of(role: str, groups: int, local: Collection[str] | None = None) -> int:
    """The groups a role gets of the stack's `groups` per role (see the header)."""
    return 1 if role == LOAD_BALANCER or (local is not None and role not in local) else groups


def room(limit: int) -> int:
    """What placement leaves free in each group while another group has space (see the header)."""
    return limit // 10


def _place(units: dict[str, Unit], groups: int, limit: int) -> dict[str, int]:
    used = [Counter() for _ in range(max(1, groups))]

    def order(name: str) -> tuple:
        rule = units[name][0]
        return (rule.peer.endswith(SIBLING_SUFFIX), rule.peer_kind != "set", name)

    def first_with(weight: dict[Slot, int], cap: int, candidates: list[int]) -> int | None:
        return next((i for i in candidates if all(used[i][s] + n <= cap for s, n in weight.items())), None)

    forward = list(range(len(used)))
    placed = {}
    for name in sorted(units, key=order):
        rule, weight, _ = units[name]
        candidates = forward[::-1] if rule.peer_kind == "set" else forward
        index = first_with(weight, limit - room(limit), candidates)
        index = first_with(weight, limit, candidates) if index is None else index
        index = 0 if index is None else index
        used[index].update(weight)
        placed[name] = index
    return placed


def aws_group_counts(rules: Sequence[Rule], groups: int, limit: int,
                     local: Collection[str] | None = None) -> Counter:
    """(role, group index, direction, family) -> what EC2 counts there once the rules are placed."""
    counts: Counter = Counter()
    for role, role_rules in _by_role(rules).items():
        units = aws_units(role_rules, groups)
        placed = _place(units, groups_of(role, groups, local), limit)
        for name, (_, weight, _) in units.items():
            for (direction, family), n in weight.items():
                counts[(role, placed[name], direction, family)] += n
    return counts


def groups_needed(rules: Sequence[Rule], limit: int, most: int, local: Collection[str] | None = None) -> int | None:
    """The fewest groups per role in which every role's rules fit, trying up to `most`; None when
    even `most` do not (more groups also split a long set into more, shorter, parts)."""
    for groups in range(1, most + 1):
        counts = aws_group_counts(rules, groups, limit, local)
        if all(n <= limit for n in counts.values()):
            return groups
    return None


def _by_role(rules: Sequence[Rule]) -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    for rule in rules:
        out.setdefault(rule.role, []).append(rule)
    return out
