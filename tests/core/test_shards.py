"""kubeports.core.shards: a role's AWS rules placed over its groups (kubeports:aws.groupsPerRole).

Properties, over generated rule sets: the placement ignores input order; every rule lands
in one of the role's groups; what fits is placed within the limit; one group means
today's rendering; a set that grows keeps every rule in its group while the groups,
counted with the grown list, stay within the room (so AWS resizes the list with every rule
where it was, within the limit)."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.rules import Rule
from kubeports.core.shards import aws_group_counts, aws_key, aws_placement, groups_needed, room, slot_weights
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
    for index, size in enumerate(draw(st.lists(st.integers(1, 50), max_size=5))):
        for port in draw(st.lists(st.integers(4001, 5000), min_size=1, max_size=2, unique=True)):
            out.append(Rule(role, "ingress", "tcp", port, port, "set", f"s{index}", "IPv4", "x", (),
                            members(index, size)))
    return out


def weight_of(rules: list[Rule], name: str) -> dict:
    return slot_weights(next(r for r in rules if aws_key(r) == name))


@settings(max_examples=150, deadline=None)
@given(role_rules(), st.integers(1, 5), st.randoms(use_true_random=False))
def test_placement_ignores_order_and_keeps_every_rule_in_a_group(rules, groups, rnd):
    placed = aws_placement(rules, groups, LIMIT)
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    assert aws_placement(shuffled, groups, LIMIT) == placed
    assert set(placed) == {aws_key(r) for r in rules}
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
        for (direction, family), n in weight_of(rules, name).items():
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
    # the old placement with the list at its new size: what the groups hold while AWS resizes it
    during: Counter = Counter()
    for rule_name, where in old.items():
        for slot, n in weight_of(grown, rule_name).items():
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
    placed = aws_placement(random.Random(1).sample(refs + singles, len(refs + singles)), 3, LIMIT)
    assert [placed[aws_key(r)] for r in refs] == [2, 1]
    assert Counter(placed[aws_key(r)] for r in singles) == {0: 54, 1: 4, 2: 2}  # the room kept in each


@settings(max_examples=150, deadline=None)
@given(role_rules(), st.integers(2, 5), st.integers(5001, 6000))
def test_an_added_cidr_rule_never_moves_a_prefix_list_reference(rules, groups, port):
    added = Rule("worker", "ingress", "tcp", port, port, "cidr", "192.0.2.0/24", "IPv4", "x", ())
    before, after = aws_placement(rules, groups, LIMIT), aws_placement([*rules, added], groups, LIMIT)
    refs = {aws_key(r) for r in rules if r.peer_kind == "set"}
    assert {k: after[k] for k in refs} == {k: before[k] for k in refs}
