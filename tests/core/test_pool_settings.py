"""Pool settings, pure: random pools of a role give unique host names, counts that add up,
and adding a pool renames no node of the others."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeports.core.lifecycle import node_slots
from kubeports.core.settings import RoleSettings, pool_prefix

POOL_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,4})?", fullmatch=True)
POOLS = st.dictionaries(POOL_NAMES, st.integers(0, 12), min_size=1, max_size=5)


def names(cluster: str, role: str, settings_: RoleSettings) -> list[str]:
    return [f"{pool_prefix(cluster, role, pool)}-{slot.index}"
            for pool, pool_settings in settings_.node_pools() for slot in node_slots(pool_settings)]


@settings(max_examples=200, deadline=None)
@given(pools=POOLS, extra=POOL_NAMES, extra_count=st.integers(1, 5))
def test_pools_name_every_node_once_and_a_new_pool_renames_nothing(pools, extra, extra_count):
    role = RoleSettings.model_validate({"pools": {n: {"count": c} for n, c in pools.items()}})
    before = names("dev", "worker", role)
    assert len(before) == len(set(before)) == role.count == sum(pools.values())
    if extra in pools:
        return
    grown = RoleSettings.model_validate({"pools": {**{n: {"count": c} for n, c in pools.items()},
                                                   extra: {"count": extra_count}}})
    after = names("dev", "worker", grown)
    assert set(before) <= set(after) and len(after) == len(set(after))
    assert sorted(set(after) - set(before)) == sorted(f"{pool_prefix('dev', 'worker', extra)}-{i}"
                                                      for i in range(extra_count))


def test_a_role_and_its_default_pool_name_the_same_nodes():
    plain = RoleSettings.model_validate({"count": 3, "flavor": "m1.large"})
    pooled = RoleSettings.model_validate({"flavor": "m1.large", "pools": {"default": {"count": 3}}})
    assert names("dev", "worker", plain) == names("dev", "worker", pooled) == ["dev-worker-0", "dev-worker-1",
                                                                               "dev-worker-2"]
    assert [s.generation for _, p in pooled.node_pools() for s in node_slots(p)] == \
        [s.generation for s in node_slots(plain)]  # same settings digest: the ports keep their names
