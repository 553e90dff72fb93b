"""kubeports.core.shards: a role's AWS rules placed over its groups (kubeports:aws.groupsPerRole).

Properties, over generated rule sets: the placement ignores input order; every rule lands
in one of the role's groups; what fits is placed within the limit; one group means
today's rendering; a set that grows keeps every rule in its group while the groups,
counted with the grown list, stay within the room (so AWS resizes the list with every rule
where it was, within the limit). With several groups, every set is split over them: the
parts partition it whatever its order, an entry added or removed changes only its own
part, and the split is the same in every process."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.rules import Rule
from kubeports.core.shards import (
    aws_group_counts,
    aws_key,
    aws_placement,
    aws_units,
    groups_needed,
    part_key,
    room,
    set_parts,
    slot_weights,
)
from kubeports.core.siblings import SIBLING_SUFFIX

LIMIT = 60


def members(set_index: int, n: int) -> tuple[str, ...]:
    return tuple(sorted(f"100.{64 + set_index}.{i}.0/24" for i in range(n)))


@st.composite
def role_rules(draw, role: str = "worker") -> list[Rule]:
    """A role's rules: CIDR rules, group references (one or both families) and set references."""
    out: list[Rule] = []
    for port in draw(st.lists(st.integers(1, 3000), max_size=40, unique=True)):
        out.append(Rule(role, draw(st.sampled_from(["ingress", "egress"])), "tcp", port, port, "cidr",
                        f"10.{port // 256}.{port % 256}.0/24", "IPv4", "x", ()))
    for port in draw(st.lists(st.integers(3001, 4000), max_size=15, unique=True)):
        peer = draw(st.sampled_from(["control-plane", "worker", "worker" + SIBLING_SUFFIX]))
        for family in draw(st.sampled_from([("IPv4",), ("IPv4", "IPv6")])):
            out.append(Rule(role, "ingress", "udp", port, port, "role", peer, family, "x", ()))
    for index, size in enumerate(draw(st.lists(st.one_of(st.integers(1, 50), st.integers(51, 200)), max_size=5))):
        for port in draw(st.lists(st.integers(4001, 5000), min_size=1, max_size=2, unique=True)):
            out.append(Rule(role, "ingress", "tcp", port, port, "set", f"s{index}", "IPv4", "x", (),
                            members(index, size)))
    return out


def weight_of(rules: list[Rule], name: str, groups: int) -> dict:
    """What the rule named `name` counts: a split set's part weighs the part's entries."""
    unit = aws_units(rules, groups)[name]
    assert unit.weight == slot_weights(unit.rule, set_parts(unit.rule.members, groups)[unit.part]
                                       if unit.rule.peer_kind == "set" else None)
    return unit.weight


@settings(max_examples=150, deadline=None)
@given(role_rules(), st.integers(1, 5), st.randoms(use_true_random=False))
def test_placement_ignores_order_and_keeps_every_rule_in_a_group(rules, groups, rnd):
    placed = aws_placement(rules, groups, LIMIT)
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    assert aws_placement(shuffled, groups, LIMIT) == placed
    assert set(placed) == set(aws_units(rules, groups))
    assert {aws_key(unit.rule) for unit in aws_units(rules, groups).values()} == {aws_key(r) for r in rules}
    assert all(0 <= index < groups for index in placed.values())


@settings(max_examples=150, deadline=None)
@given(role_rules())
def test_one_group_is_the_role_group_and_the_fewest_that_fit_do_fit(rules):
    assert set(aws_placement(rules, 1, LIMIT).values()) <= {0}
    needed = groups_needed(rules, LIMIT, 16)
    if needed is not None:
        assert all(n <= LIMIT for n in aws_group_counts(rules, needed, LIMIT).values())
        if needed > 1:
            assert any(n > LIMIT for n in aws_group_counts(rules, needed - 1, LIMIT).values())


@settings(max_examples=150, deadline=None)
@given(role_rules(), st.integers(2, 5))
def test_rules_placed_within_the_limit_add_up_to_the_counts(rules, groups):
    placed = aws_placement(rules, groups, LIMIT)
    counts: Counter = Counter()
    for name, index in placed.items():
        for (direction, family), n in weight_of(rules, name, groups).items():
            counts[("worker", index, direction, family)] += n
    assert counts == aws_group_counts(rules, groups, LIMIT)


@settings(max_examples=200, deadline=None)
@given(role_rules(), st.integers(2, 5), st.integers(1, 6), st.data())
def test_a_set_grown_within_the_room_moves_nothing(rules, groups, grow, data):
    sets = sorted({r.peer for r in rules if r.peer_kind == "set"})
    if not sets:
        return
    name = data.draw(st.sampled_from(sets))
    index = int(name[1:])
    old = aws_placement(rules, groups, LIMIT)
    grown = [replace(r, members=members(index, len(r.members) + grow)) if r.peer == name else r for r in rules]
    if set(aws_units(grown, groups)) != set(old):
        return  # the growth split the set or filled an empty part: new lists, new rules
    # the old placement with the list at its new size: what the groups hold while AWS resizes it
    during: Counter = Counter()
    for rule_name, where in old.items():
        for slot, n in weight_of(grown, rule_name, groups).items():
            during[(where, slot)] += n
    if all(n <= LIMIT - room(LIMIT) for n in during.values()):
        assert aws_placement(grown, groups, LIMIT) == old


def test_siblings_never_move_the_rules_the_preflight_counts():
    rules = [Rule("worker", "ingress", "tcp", p, p, "cidr", f"10.0.{p}.0/24", "IPv4", "x", ()) for p in range(1, 59)]
    siblings = [Rule("worker", "ingress", "udp", p, p, "role", "worker" + SIBLING_SUFFIX, f, "x", ())
                for p in range(1, 11) for f in ("IPv4", "IPv6")]
    alone, together = aws_placement(rules, 2, LIMIT), aws_placement(rules + siblings, 2, LIMIT)
    assert {k: together[k] for k in alone} == alone


def test_prefix_list_references_fill_from_the_last_group_and_the_rest_from_the_first():
    refs = [Rule("worker", "ingress", "tcp", 22 + i, 22 + i, "set", f"s{i}", "IPv4", "x", (), members(i, 50))
            for i in range(2)]
    singles = [Rule("worker", "ingress", "tcp", p, p, "cidr", f"10.0.{p}.0/24", "IPv4", "x", ()) for p in range(100, 160)]
    rules = random.Random(1).sample(refs + singles, len(refs + singles))
    placed = aws_placement(rules, 3, LIMIT)
    parts = [name for name, unit in aws_units(rules, 3).items() if unit.rule.peer_kind == "set"]
    assert len(parts) == 6 and {placed[name] for name in parts} == {1, 2}  # the last groups, none in the first
    assert Counter(placed[aws_key(r)] for r in singles)[0] == 54  # the first group, to its room
    assert all(n <= LIMIT - room(LIMIT) for n in aws_group_counts(rules, 3, LIMIT).values())  # 160 of 3 x 54


@settings(max_examples=150, deadline=None)
@given(role_rules(), st.integers(2, 5), st.integers(5001, 6000))
def test_an_added_cidr_rule_never_moves_a_prefix_list_reference(rules, groups, port):
    added = Rule("worker", "ingress", "tcp", port, port, "cidr", "192.0.2.0/24", "IPv4", "x", ())
    before, after = aws_placement(rules, groups, LIMIT), aws_placement([*rules, added], groups, LIMIT)
    refs = {name for name, unit in aws_units(rules, groups).items() if unit.rule.peer_kind == "set"}
    assert {k: after[k] for k in refs} == {k: before[k] for k in refs}


def cidr_sets(least: int = 1):
    """Sets of `least`..400 distinct /24s, as the resolver gives them (sorted)."""
    return st.sets(st.integers(0, 2**16 - 1), min_size=least, max_size=400).map(
        lambda ns: tuple(sorted(f"100.{64 + n // 256}.{n % 256}.0/24" for n in ns)))


@settings(max_examples=200, deadline=None)
@given(cidr_sets(), st.integers(1, 8), st.randoms(use_true_random=False))
def test_a_sets_parts_partition_it_whatever_its_order(cidrs, groups, rnd):
    parts = set_parts(cidrs, groups)
    shuffled = list(cidrs)
    rnd.shuffle(shuffled)
    assert {p: set(e) for p, e in set_parts(tuple(shuffled), groups).items()} == {
        p: set(e) for p, e in parts.items()}
    assert sorted(c for part in parts.values() for c in part) == sorted(cidrs)  # each entry in one part
    if groups == 1:
        assert parts == {0: cidrs}  # one group per role: one list, named as before groups existed
    else:
        assert set(parts) <= set(range(1, groups + 1))
        assert all(list(part) == sorted(part) and part for part in parts.values())


@settings(max_examples=200, deadline=None)
@given(cidr_sets(), st.integers(2, 8), st.data())
def test_an_entry_added_or_removed_changes_its_own_part_alone(cidrs, groups, data):
    """Whatever the set's length: a set never changes from one list to many as it grows."""
    parts = set_parts(cidrs, groups)
    gone = data.draw(st.sampled_from(cidrs))
    fewer = set_parts(tuple(c for c in cidrs if c != gone), groups)
    changed = {p for p in set(parts) | set(fewer) if parts.get(p) != fewer.get(p)}
    assert len(changed) == 1 and gone in parts[changed.pop()]
    added = "198.51.100.0/24"
    more = set_parts(tuple(sorted((*cidrs, added))), groups)
    changed = {p for p in set(parts) | set(more) if parts.get(p) != more.get(p)}
    assert len(changed) == 1 and added in more[changed.pop()]


def test_the_split_is_the_same_in_every_process():
    """Parts name cloud objects: Python's per-process string hash would reshuffle them."""
    cidrs = members(0, 200)
    script = ("import json; from kubeports.core.shards import set_parts; "
              f"print(json.dumps(set_parts({cidrs!r}, 5)))")
    seen = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(seen) == 1
    assert {int(k): tuple(v) for k, v in json.loads(seen.pop()).items()} == set_parts(cidrs, 5)


def test_a_200_entry_set_fits_five_default_groups_as_parts_in_groups_of_their_own():
    ref = Rule("worker", "ingress", "tcp", 6443, 6443, "set", "api-clients", "IPv4", "x", (), members(0, 200))
    singles = [Rule("worker", "ingress", "tcp", p, p, "cidr", f"10.0.{p}.0/24", "IPv4", "x", ()) for p in range(1, 12)]
    assert aws_group_counts([ref, *singles], 1, LIMIT)[("worker", 0, "ingress", "IPv4")] == 211  # one list: over
    placed = aws_placement([ref, *singles], 5, LIMIT)
    parts = set_parts(ref.members, 5)
    assert sorted(placed[part_key(aws_key(ref), p)] for p in parts) == list(range(len(parts)))
    assert max(aws_group_counts([ref, *singles], 5, LIMIT).values()) <= LIMIT
    assert groups_needed([ref, *singles], LIMIT, 5) is not None
