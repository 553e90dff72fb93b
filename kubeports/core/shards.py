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
- rules naming a sibling stack's group (kubeports.core.siblings) are placed after all
  others, so the groups of the rules the quota preflight counts never depend on them;
- a rule that fits no group stays in group 0: the preflight refuses such a stack with
  the group's count before anything is registered.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from .rules import Rule
from .settings import LOAD_BALANCER
from .siblings import SIBLING_SUFFIX

Slot = tuple[str, str]  # (direction, family): what EC2 counts a group's rules in


def aws_key(rule: Rule) -> str:
    """The rule's AWS name without the cluster: one AWS rule for both families of a group reference."""
    return rule.key[:-3] if rule.peer_kind == "role" else rule.key


def prefix_list_max_entries(members: tuple[str, ...]) -> int:
    """`max_entries` of a set's prefix list: its entries, no headroom (kubeports.core.quota's header)."""
    return max(1, len(members))


def slot_weights(rule: Rule) -> dict[Slot, int]:
    """What one AWS rule counts, per (direction, family)."""
    if rule.peer_kind == "role":
        return {(rule.direction, "IPv4"): 1, (rule.direction, "IPv6"): 1}
    return {(rule.direction, rule.ethertype): prefix_list_max_entries(rule.members) if rule.peer_kind == "set" else 1}


def aws_units(rules: Iterable[Rule]) -> dict[str, tuple[Rule, dict[Slot, int]]]:
    """AWS name -> (its first rule, its weight): the rules EC2 holds, twins merged."""
    units: dict[str, tuple[Rule, dict[Slot, int]]] = {}
    for rule in sorted(rules, key=Rule.sort_key):
        units.setdefault(aws_key(rule), (rule, slot_weights(rule)))
    return units


def aws_placement(rules: Sequence[Rule], groups: int, limit: int,
                  local: Collection[str] | None = None) -> dict[str, int]:
    """AWS name -> the index of the role's group that holds it (0 is the role's own group),
    for the rules of every role in `rules`; see the header for the order. `local`: the
    roles this stack makes groups for (None: every role)."""
    placed: dict[str, int] = {}
    for role, role_rules in _by_role(rules).items():
        placed.update(_place(aws_units(role_rules), groups_of(role, groups, local), limit))
    return placed


def groups_of(role: str, groups: int, local: Collection[str] | None = None) -> int:
    """The groups a role gets of the stack's `groups` per role (see the header)."""
    return 1 if role == LOAD_BALANCER or (local is not None and role not in local) else groups


def room(limit: int) -> int:
    """What placement leaves free in each group while another group has space (see the header)."""
    return limit // 10


def _place(units: dict[str, tuple[Rule, dict[Slot, int]]], groups: int, limit: int) -> dict[str, int]:
    used = [Counter() for _ in range(max(1, groups))]

    def order(name: str) -> tuple:
        rule = units[name][0]
        return (rule.peer.endswith(SIBLING_SUFFIX), rule.peer_kind != "set", name)

    def first_with(weight: dict[Slot, int], cap: int, candidates: list[int]) -> int | None:
        return next((i for i in candidates if all(used[i][s] + n <= cap for s, n in weight.items())), None)

    forward = list(range(len(used)))
    placed = {}
    for name in sorted(units, key=order):
        rule, weight = units[name]
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
        units = aws_units(role_rules)
        placed = _place(units, groups_of(role, groups, local), limit)
        for name, (_, weight) in units.items():
            for (direction, family), n in weight.items():
                counts[(role, placed[name], direction, family)] += n
    return counts


def groups_needed(rules: Sequence[Rule], limit: int, most: int, local: Collection[str] | None = None) -> int | None:
    """The fewest groups per role in which every role's rules fit, trying up to `most`; None when
    even `most` do not (or one rule alone counts more than a group holds)."""
    units = [w for role_rules in _by_role(rules).values() for _, w in aws_units(role_rules).values()]
    if any(n > limit for weight in units for n in weight.values()):
        return None
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
