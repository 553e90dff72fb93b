"""The pure resolver (issue 2 §5): properties that must hold for every catalog order and
every cluster, checked with hypothesis, plus the specific behaviours the issue names.

Clusters come from the shipped example stacks and from `clusters()`, which draws random
but valid settings from what the catalog defines (distribution, CNI, mode, features,
add-ons, families, egress, roles, Kubernetes version, CIDR set values, port overrides).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kubeports.core import resolver
from kubeports.core.catalog import Catalog, SourcedFlow, load_catalog
from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.resolver import SINGLE_PORTS, Resolution, applies, covers, resolve
from kubeports.core.rules import Rule, rule_key
from kubeports.core.settings import ClusterSettings
from kubeports.core.spec import DISTRIBUTIONS, ROLES, Flow

# KUBEPORTS_EXAMPLES=1000 for a deep run; the defaults keep the suite fast.
EXAMPLES = int(os.environ.get("KUBEPORTS_EXAMPLES", "40"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW_PROPERTY = settings(max_examples=max(EXAMPLES // 8, 4), deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])

# Never reachable from the whole internet: etcd client/peer/metrics, and the kubelet API.
PROTECTED_PORTS = {2379, 2380, 2381, 10250}
# Apart from the random clusters' pod CIDRs (an overlap with a client set is refused).
CIDR_POOL = ["0.0.0.0/0", "::/0", "172.16.0.0/12", "10.1.0.0/16", "2001:db8::/32", "198.51.100.0/24", "192.0.2.7/32"]
# Port overrides the random clusters may pick: each keeps clear of the protected ports.
OVERRIDES = {"kube-apiserver": ["443", "6443", "8443"], "nodeport-range": ["30000-32767", "31000-31999", "40000-42767"]}
FREE_PORTS = st.integers(52000, 59999)  # no spec uses these (checked in test_free_ports_are_free)
CATALOG = load_catalog(PORTSPECS)  # module level: hypothesis strategies are built from it


@st.composite
def clusters(draw, with_overrides: bool = True) -> ClusterSettings:
    cni = draw(st.sampled_from(sorted(CATALOG.cnis)))
    spec = CATALOG.cnis[cni]
    roles = draw(st.sets(st.sampled_from(ROLES), min_size=1).filter(lambda r: r != {"load-balancer"}))
    cidrs = {}
    for name in sorted(set(CATALOG.cidr_sets) - {"anywhere", resolver.POD_CIDRS}):  # pod-cidrs: podCidrs
        choice = draw(st.sampled_from(["default", "empty", "values"]))
        if choice != "default":
            cidrs[name] = [] if choice == "empty" else draw(st.lists(st.sampled_from(CIDR_POOL), min_size=1, max_size=3,
                                                                      unique=True))
    ports = {}
    if with_overrides:
        for name, values in OVERRIDES.items():
            if draw(st.booleans()):
                ports[name] = draw(st.sampled_from(values))
    cluster = ClusterSettings.model_validate({
        "name": "random",
        "distribution": draw(st.sampled_from(DISTRIBUTIONS)),
        "kubernetesVersion": draw(st.sampled_from(["1.20", "1.21", "1.21.14", "1.22", "1.22.3", "1.23", "1.31"])),
        "cni": {"name": cni, "mode": draw(st.sampled_from(sorted(spec.modes))),
                "features": sorted(draw(st.sets(st.sampled_from(sorted(spec.features))))) if spec.features else []},
        "addons": sorted(draw(st.sets(st.sampled_from(sorted(CATALOG.addons))))),
        "ipFamilies": draw(st.sampled_from([["IPv4"], ["IPv6"], ["IPv4", "IPv6"]])),
        "egress": draw(st.sampled_from(["open", "strict"])),
        "ports": ports,
        "cidrs": cidrs,
        # the load-balancer role is the cloud's load balancer: no VMs, and only in front of a control plane
        "roles": {role: {"count": 0 if role == "load-balancer" else draw(st.integers(1, 3))} for role in sorted(roles)
                  if role != "load-balancer" or "control-plane" in roles},
        # both families: modes that route pod IPs natively require the pod CIDR of each family they route
        "podCidrs": ["10.244.0.0/16", "fd00:10:244::/56"],
    })
    # Overrides the resolver refuses (two flows with different peers on one port, an add-on NodePort outside the
    # range) are tested in tests/core/test_upstream.py; the invariants hold for every stack it accepts.
    assume(not refused(cluster))
    return cluster


def refused(cluster: ClusterSettings) -> list:
    return resolver.check_settings(CATALOG, cluster) or resolver.override_problems(CATALOG, cluster)


def sourced(name: str, line: int = 1, **fields) -> SourcedFlow:
    """A flow as if written at test.yaml:<line>."""
    body = {"name": name, "purpose": f"test flow {name}", "protocol": "tcp", **fields}
    return SourcedFlow(Flow.model_validate(body), None, f"test.yaml:{line}", "seed:test")


def with_flows(catalog: Catalog, *extra: SourcedFlow) -> Catalog:
    return dataclasses.replace(catalog, flows=[*catalog.flows, *extra])


def by_key(rules) -> dict[str, Rule]:
    return {r.key: r for r in rules}


def allowed(rule: Rule, rules) -> bool:
    """Is `rule` in `rules`, or covered by one of them?"""
    return any(r.identity == rule.identity or (r.role, r.direction, r.ethertype) == (
        rule.role, rule.direction, rule.ethertype) and covers(r, rule) for r in rules)


def purposes(rule: Rule) -> set[str]:
    """The purposes a description lists (without the "+N more" of a description cut at 255)."""
    return {p for p in rule.description.split("; ") if not (p.startswith("+") and p.endswith(" more"))}


def world(rule: Rule) -> bool:
    return rule.peer_kind == "cidr" and ipaddress.ip_network(rule.peer).prefixlen == 0


def opens(rule: Rule, ports: set[int]) -> bool:
    if rule.protocol == "all":
        return True
    if rule.protocol not in ("tcp", "udp"):
        return False
    return any(rule.from_port <= p <= rule.to_port for p in ports)


def check_invariants(res: Resolution, cluster: ClusterSettings) -> None:
    """What every resolution must satisfy, whatever the cluster."""
    rules = res.rules
    # flat, sorted, frozen, unique by identity and by key
    assert list(rules) == sorted(rules, key=Rule.sort_key)
    assert len({r.identity for r in rules}) == len(rules)
    keys = [r.key for r in rules]
    assert len(set(keys)) == len(keys), [k for k in keys if keys.count(k) > 1]
    for r in rules:
        assert r.key == rule_key(r.role, r.direction, r.protocol, r.from_port, r.to_port, r.peer_kind, r.peer,
                                 r.ethertype)
        assert r.description and len(r.description) <= 255 and r.sources == tuple(sorted(set(r.sources)))
        if r.peer_kind == "cidr":  # the peer's family is the rule's
            assert ("IPv4" if ipaddress.ip_network(r.peer).version == 4 else "IPv6") == r.ethertype
        if r.ethertype == "IPv6":
            assert r.protocol != "icmp"
        else:
            assert r.protocol != "icmpv6"
        # no etcd or kubelet port reachable from 0.0.0.0/0 or ::/0
        if r.direction == "ingress" and world(r):
            assert not opens(r, PROTECTED_PORTS), r
    # collapse is complete: no rule in the output is covered by another
    groups: dict[tuple, list[Rule]] = {}
    for r in rules:
        groups.setdefault((r.role, r.direction, r.ethertype), []).append(r)
    for group in groups.values():
        for a in group:
            for b in group:
                assert a is b or not covers(a, b), (a.key, b.key)
    # egress: open = all out to the world, per role and family; strict = only what flows need
    egress = [r for r in rules if r.direction == "egress"]
    if cluster.egress == "open":
        assert all(r.protocol == "all" and world(r) for r in egress)
        assert {(r.role, r.ethertype) for r in egress} == {(role, fam) for role in cluster.roles
                                                         for fam in ("IPv4", "IPv6")}
    else:
        assert not any(r.protocol == "all" and world(r) for r in egress)
        assert {r.ethertype for r in rules} <= set(cluster.ip_families)
    # both halves of a flow between two roles: each is allowed by some rule on the other side
    for r in rules:
        if r.peer_kind == "role":
            mirror = Rule(r.peer, "egress" if r.direction == "ingress" else "ingress", r.protocol, r.from_port,
                          r.to_port, "role", r.role, r.ethertype, "", ())
            assert allowed(mirror, groups.get((mirror.role, mirror.direction, mirror.ethertype), [])), mirror.key


def normalized(res: Resolution, catalog: Catalog) -> tuple:
    """A resolution with `file:line` replaced by `file#flow-name`, for catalogs whose lines moved."""
    names = {f.where: f"{os.path.basename(f.where.rsplit(':', 1)[0])}#{f.flow.name}" for f in catalog.flows}
    rules = tuple(dataclasses.replace(r, sources=tuple(sorted(names.get(s, s) for s in r.sources))) for r in res.rules)
    notes = []
    for note in res.notes:
        where, rest = note.split(": ", 1)
        notes.append(f"{names.get(where, where)}: {rest}")
    return rules, tuple(sorted(notes))


# --------------------------------------------------------------------------- invariants


def test_shipped_stacks_obey_the_invariants(projects):
    assert len(projects) >= 4
    for project in projects.values():
        check_invariants(project.resolution, project.stack.cluster)


@PROPERTY
@given(clusters())
def test_random_clusters_obey_the_invariants(cluster):
    check_invariants(resolve(CATALOG, cluster), cluster)


@PROPERTY
@given(clusters())
def test_no_etcd_or_kubelet_port_from_the_world_even_if_every_cidr_set_is_the_world(cluster):
    wide = {name: ["0.0.0.0/0", "::/0"] for name in CATALOG.cidr_sets if name not in ("anywhere", resolver.POD_CIDRS)}
    cluster = cluster.model_copy(update={"cidrs": wide, "ip_families": ["IPv4", "IPv6"]})
    assume(not refused(cluster))  # opened sets can make an override share a port (refused, test_upstream.py)
    rules = resolve(CATALOG, cluster).rules
    assert not [r.key for r in rules if r.direction == "ingress" and world(r) and opens(r, PROTECTED_PORTS)]


def test_the_exposure_check_can_fail():
    """The property above is not vacuous: a rule like this one is what it catches."""
    bad = Rule("control-plane", "ingress", "tcp", 2379, 2380, "cidr", "0.0.0.0/0", "IPv4", "x", ())
    ok = Rule("control-plane", "ingress", "tcp", 6443, 6443, "cidr", "0.0.0.0/0", "IPv4", "x", ())
    assert world(bad) and opens(bad, PROTECTED_PORTS) and not opens(ok, PROTECTED_PORTS)


def test_pure_core_does_not_import_pulumi():
    code = ("import sys, kubeports.core.catalog, kubeports.core.project, kubeports.core.resolver, kubeports.render.tables, "
            "kubeports.core.quota, kubeports.core.settings; sys.exit('pulumi' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


# --------------------------------------------------------------------------- order, keys, idempotence


@PROPERTY
@given(st.permutations(CATALOG.flows), clusters())
def test_flow_order_does_not_matter(flows, cluster):
    shuffled = dataclasses.replace(CATALOG, flows=list(flows))
    assert resolve(shuffled, cluster) == resolve(CATALOG, cluster)


def shuffled_yaml(data, rnd: random.Random):
    """The same document with every mapping's keys and the entries of flows/local-only shuffled."""
    if isinstance(data, dict):
        items = list(data.items())
        rnd.shuffle(items)
        return {k: (shuffled_list(v, rnd) if k in ("flows", "local-only") else shuffled_yaml(v, rnd))
                for k, v in items}
    return data


def shuffled_list(items, rnd: random.Random):
    items = [shuffled_yaml(item, rnd) for item in items]
    rnd.shuffle(items)
    return items


@SLOW_PROPERTY
@given(st.randoms(use_true_random=False))
def test_reordering_yaml_changes_nothing(projects, rnd):
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(PORTSPECS)):
            if name.endswith(".yaml"):
                with open(os.path.join(PORTSPECS, name), encoding="utf-8") as src:
                    data = yaml.safe_load(src)
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as dst:
                    yaml.safe_dump(shuffled_yaml(data, rnd), dst, allow_unicode=True, sort_keys=False, width=1000)
        moved = load_catalog(tmp)
        assert [f.where for f in moved.flows] != [f.where for f in CATALOG.flows]  # lines really moved
        for project in projects.values():
            cluster = project.stack.cluster
            # a stack's own extraFlows (sourced in its stack file) come on top of either catalog
            extra = [f for f in project.catalog.flows if f not in CATALOG.flows]
            ordered = normalized(resolve(dataclasses.replace(moved, flows=[*moved.flows, *extra]), cluster), moved)
            assert ordered == normalized(project.resolution, CATALOG)


@PROPERTY
@given(clusters())
def test_resolving_is_idempotent(cluster):
    first = resolve(CATALOG, cluster)
    assert resolve(CATALOG, cluster) == first
    # the output is already collapsed: collapsing it again, in any order, changes nothing
    def pending():
        return [resolver._Pending(r, {r.description}, set(r.sources)) for r in first.rules]

    assert resolver.collapse(pending()) == first.rules
    assert resolver.collapse(reversed(pending())) == first.rules


def _rules_to_collapse():
    """Rules of one or two roles and both families, alike enough that many cover others:
    few protocols and ports, peers from anywhere, a role, a set or a nested CIDR."""
    spans = {"tcp": [(22, 22), (80, 80), (80, 443), (1, 65535)], "udp": [(53, 53), (1, 65535), (8472, 8472)],
             "icmp": [(None, None), (0, None), (8, 0), (8, None)], "all": [(None, None)], "4": [(None, None)]}
    shapes = st.sampled_from(sorted(spans)).flatmap(lambda p: st.tuples(st.just(p), st.sampled_from(spans[p])))
    peers = st.sampled_from([("role", "worker"), ("role", "etcd"), ("set", "admin"), ("cidr", "anywhere"),
                             ("cidr", "10.0.0.0/8"), ("cidr", "10.1.0.0/16"), ("cidr", "10.1.2.0/24"),
                             ("cidr", "fd00::/8"), ("cidr", "fd00:1::/32")])

    def rule(role, direction, shape, peer, purpose):
        (protocol, span), (kind, value) = shape, peer
        family = "IPv6" if ":" in value else "IPv4"
        if value == "anywhere":
            family = purpose % 2 and "IPv6" or "IPv4"
            value = "::/0" if family == "IPv6" else "0.0.0.0/0"
        low, high = span
        return resolver._Pending(Rule(role, direction, protocol, low, high, kind, value, family, "", ()),
                                 {f"purpose {purpose}"}, {f"flows.yaml:{purpose}"})

    return st.lists(st.builds(rule, st.sampled_from(["worker", "control-plane"]), st.sampled_from(["ingress", "egress"]),
                              shapes, peers, st.integers(0, 9)), max_size=40)


def _collapsed_pair_by_pair(pending):
    """collapse as its docstring defines it, every entry against every other: the reference."""
    entries = list(pending)
    kept = [e for e in entries if not any(covers(o.rule, e.rule) for o in entries if o is not e
                                          and o.rule.role == e.rule.role and o.rule.direction == e.rule.direction
                                          and o.rule.ethertype == e.rule.ethertype)]
    for entry in entries:
        if entry not in kept:
            for coverer in kept:
                alike = (coverer.rule.role, coverer.rule.direction, coverer.rule.ethertype) == (
                    entry.rule.role, entry.rule.direction, entry.rule.ethertype)
                if alike and covers(coverer.rule, entry.rule):
                    coverer.sources |= entry.sources
                    if not (coverer.rule.protocol == "all" and coverer.rule.is_anywhere):
                        coverer.purposes |= entry.purposes
    return tuple(sorted((resolver._finish(e) for e in kept), key=Rule.sort_key))


@PROPERTY
@given(_rules_to_collapse())
def test_collapse_asks_only_possible_coverers_and_keeps_what_pair_by_pair_keeps(entries):
    def copies():
        return [resolver._Pending(e.rule, set(e.purposes), set(e.sources)) for e in entries]

    assert resolver.collapse(copies()) == _collapsed_pair_by_pair(copies())


def test_output_is_the_same_in_every_process():
    """Set iteration order differs between processes (hash seeds); the output may not."""
    code = ("import glob, json, sys; from kubeports.core.project import load_project;"
            " from kubeports.render.tables import as_json;"
            "print(json.dumps([[as_json(p.resolution.rules), p.resolution.notes] for p in "
            "(load_project(f) for f in sorted(glob.glob('Pulumi.*.yaml')))]))")
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        outputs.append(json.loads(proc.stdout))
    assert outputs[0] == outputs[1] and len(outputs[0]) >= 4


@PROPERTY
@given(st.lists(st.tuples(st.ip_addresses(), st.integers(0, 128)), min_size=2, max_size=6))
def test_keys_of_distinct_cidr_peers_differ(addresses):
    nets = {ipaddress.ip_network(f"{a}/{min(p, a.max_prefixlen)}", strict=False) for a, p in addresses}
    nets |= {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")}
    keys = {rule_key("worker", "ingress", "tcp", 80, 80, "cidr", str(n), f"IPv{n.version}") for n in nets}
    assert len(keys) == len(nets)


# --------------------------------------------------------------------------- adding flows


def test_free_ports_are_free():
    used = [p for f in CATALOG.flows for p in (f.flow.ports or ()) if not isinstance(p, str)]
    used += list(CATALOG.ports.values())
    assert not [r for r in used if r[1] >= 52000 and r[0] <= 59999]


ENDS_TO = st.lists(st.sampled_from([*ROLES, "nodes"]), min_size=1, max_size=3, unique=True)
ENDS_FROM = st.lists(st.sampled_from([*ROLES, "nodes", "self", "admin", "monitoring", "api-clients"]), min_size=1,
                     max_size=3, unique=True)
SHAPES = st.one_of(
    st.builds(lambda p, q, proto: {"protocol": proto, "ports": f"{min(p, q)}-{max(p, q)}"}, FREE_PORTS, FREE_PORTS,
              st.sampled_from(["tcp", "udp", "tcp+udp"])),
    st.builds(lambda proto: {"protocol": proto}, st.sampled_from([4, 50, 112, "icmp"])),
)


@PROPERTY
@given(clusters(), SHAPES, ENDS_TO, ENDS_FROM, st.booleans())
def test_adding_a_flow_adds_only_its_rules(cluster, shape, to, from_, both):
    new = sourced("added", 99, to=to, **{"from": from_}, bidirectional=both, **shape)
    before = resolve(CATALOG, cluster)
    after = resolve(with_flows(CATALOG, new), cluster)
    old, now = by_key(before.rules), by_key(after.rules)
    # A rule that covers the new flow's rules gains its purpose (and source): nothing else about it changes.
    changed = {k for k, r in old.items() if k in now and purposes(now[k]) != purposes(r)}
    for key in changed:
        assert purposes(now[key]) - purposes(old[key]) <= {new.flow.purpose} and "test.yaml:99" in now[key].sources
    if shape["protocol"] in ("tcp", "udp", "tcp+udp"):  # a fresh port: every rule stays
        assert all(now.get(k) is not None for k in old)
    for key, rule in old.items():  # otherwise a rule may only give way to one of the new flow's rules
        if key not in now:
            assert allowed(rule, [n for n in after.rules if "test.yaml:99" in n.sources])
    for key in now.keys() - old.keys():
        assert "test.yaml:99" in now[key].sources
    check_invariants(after, cluster)


@PROPERTY
@given(clusters(), st.sampled_from(CATALOG.flows))
def test_an_exact_duplicate_collapses(cluster, existing):
    copy = dataclasses.replace(existing, where="test.yaml:7")
    before = resolve(CATALOG, cluster)
    after = resolve(with_flows(CATALOG, copy), cluster)
    assert [(r.key, r.description) for r in after.rules] == [(r.key, r.description) for r in before.rules]
    for old, new in zip(before.rules, after.rules, strict=True):
        assert set(new.sources) - set(old.sources) <= {"test.yaml:7"}
        assert ("test.yaml:7" in new.sources) == (existing.where in old.sources)
    assert sorted(n for n in after.notes if not n.startswith("test.yaml:7:")) == sorted(before.notes)


def test_a_contained_range_collapses_into_the_wider_rule(projects):
    dev = projects["dev"].stack.cluster  # NodePort 30000-32767 from nodeport-clients 198.51.100.0/24
    wide = "worker-in-tcp-30000-32767-from-198.51.100.0-24-v4"
    assert wide in by_key(projects["dev"].resolution.rules)
    inner = sourced("inner", 1, ports=31000, to=["worker"], **{"from": ["nodeport-clients"]})
    narrower_peer = sourced("peer", 2, ports="30000-32767", to=["worker"], **{"from": ["monitoring"]})
    cluster = dev.model_copy(update={"cidrs": {**dev.cidrs, "monitoring": ["198.51.100.128/25"]}})
    base = resolve(CATALOG, cluster)
    res = resolve(with_flows(CATALOG, inner, narrower_peer), cluster)
    assert [r.key for r in res.rules] == [r.key for r in base.rules]
    assert {"test.yaml:1", "test.yaml:2"} <= set(by_key(res.rules)[wide].sources)
    # issue 12 item 16: the covering rule's description names what it now admits too
    assert by_key(res.rules)[wide].description == "; ".join(sorted(
        {by_key(base.rules)[wide].description, "test flow inner", "test flow peer"}))


@pytest.mark.parametrize("ports", ["32000-33000", "32768-32800", "29000-30000"])
def test_overlapping_or_adjacent_ranges_do_not_merge(projects, ports):
    """Only containment collapses: merging ranges would rename the rules already there."""
    cluster = projects["dev"].stack.cluster
    other = sourced("other", 1, ports=ports, to=["worker"], **{"from": ["nodeport-clients"]})
    keys = by_key(resolve(with_flows(CATALOG, other), cluster).rules)
    assert {"worker-in-tcp-30000-32767-from-198.51.100.0-24-v4", f"worker-in-tcp-{ports}-from-198.51.100.0-24-v4"
            } <= keys.keys()


@pytest.mark.parametrize("families", [["IPv4"], ["IPv6"], ["IPv4", "IPv6"]])
@pytest.mark.parametrize("clients", [["0.0.0.0/0"], ["::/0"], ["0.0.0.0/0", "::/0"]])
def test_the_world_subsumes_role_peers_of_its_family_only(projects, families, clients):
    dev = projects["dev"].stack.cluster
    cluster = dev.model_copy(update={"ip_families": families, "cidrs": {**dev.cidrs, "monitoring": clients}})
    probe = sourced("probe", 1, ports=55555, to=["worker"], **{"from": ["nodes", "monitoring"]})
    rules = [r for r in resolve(with_flows(CATALOG, probe), cluster).rules
             if r.direction == "ingress" and r.from_port == 55555]
    for family in families:
        peers = sorted(r.peer for r in rules if r.ethertype == family)
        anywhere = "0.0.0.0/0" if family == "IPv4" else "::/0"
        assert peers == ([anywhere] if anywhere in clients else ["control-plane", "worker"])


@pytest.mark.parametrize("egress", ["strict", "open"])
def test_a_bidirectional_flow_opens_both_ways(projects, egress):
    """The seeds' 双向: the catalog's own two-way flows are node-to-node, symmetric anyway."""
    prod = projects["prod-aws"].stack.cluster.model_copy(update={"egress": egress})
    both = sourced("both", 1, protocol="udp", ports=55000, to=["etcd"], **{"from": ["worker"]}, bidirectional=True)
    one = sourced("one", 2, protocol="udp", ports=55001, to=["etcd"], **{"from": ["worker"]})
    keys = by_key(resolve(with_flows(CATALOG, both, one), prod).rules)
    assert {"etcd-in-udp-55000-from-worker-v4", "worker-in-udp-55000-from-etcd-v4"} <= keys.keys()
    assert "etcd-in-udp-55001-from-worker-v4" in keys and "worker-in-udp-55001-from-etcd-v4" not in keys
    if egress == "strict":
        assert {"worker-out-udp-55000-to-etcd-v4", "etcd-out-udp-55000-to-worker-v4",
                "worker-out-udp-55001-to-etcd-v4"} <= keys.keys()
        assert "etcd-out-udp-55001-to-worker-v4" not in keys


# --------------------------------------------------------------------------- named ports


def rules_on(rules, ports: tuple[int, int]) -> list[Rule]:
    return [r for r in rules if (r.from_port, r.to_port) == ports and r.protocol in ("tcp", "udp")]


def uses(catalog: Catalog, name: str) -> set[str]:
    """`file:line` of every flow that names the named port `name`."""
    return {f.where for f in catalog.flows if name in (f.flow.ports or ())}


def check_override(cluster: ClusterSettings, name: str, new: tuple[int, int]) -> None:
    old = cluster.ports.get(name) or CATALOG.ports[name]
    before = resolve(CATALOG, cluster).rules
    moved_cluster = cluster.model_copy(update={"ports": {**cluster.ports, name: new}})
    problems = refused(moved_cluster)
    if problems:  # only the two refusals an override can cause (tests/core/test_upstream.py asserts their texts)
        assert all(" share " in p.message or " leaves out " in p.message for p in problems), problems
        return
    after = resolve(CATALOG, moved_cluster).rules
    if new == old:
        assert after == before
        return
    users = uses(CATALOG, name)
    for rule in rules_on(before, old):
        if users & set(rule.sources):  # this rule used the named port: it moves to the new number
            moved = dataclasses.replace(rule, from_port=new[0], to_port=new[1])
            assert allowed(moved, after), (name, moved.key)
    for rule in rules_on(after, old):  # what stays on the old number comes from flows that do not name it
        assert not set(rule.sources) <= users, (name, rule.key)


@pytest.mark.parametrize("name,new", [("kube-apiserver", (443, 443)), ("kube-apiserver", (6443, 6443)),
                                      ("nodeport-range", (31000, 31999)), ("nodeport-range", (40000, 42767))])
def test_a_port_override_reaches_every_rule_in_every_stack(projects, name, new):
    for project in projects.values():
        check_override(project.stack.cluster, name, new)


@PROPERTY
@given(clusters(with_overrides=False), st.sampled_from(sorted(OVERRIDES)), st.data())
def test_a_port_override_reaches_every_rule_in_random_clusters(cluster, name, data):
    low = data.draw(st.integers(40000, 50000))
    high = low if name in SINGLE_PORTS else data.draw(st.integers(low, low + 2000))  # a listener: one port
    assume(not refused(cluster.model_copy(update={"ports": {name: (low, high)}})))
    check_override(cluster, name, (low, high))


def test_api_server_on_443(projects):
    cluster = projects["dev"].stack.cluster
    before = resolve(CATALOG, cluster).rules
    after = resolve(CATALOG, cluster.model_copy(update={"ports": {"kube-apiserver": (443, 443)}})).rules
    on_6443 = {(r.role, r.direction, r.peer, r.ethertype) for r in rules_on(before, (6443, 6443))}
    assert len(on_6443) >= 6 and not rules_on(after, (6443, 6443))
    assert on_6443 == {(r.role, r.direction, r.peer, r.ethertype) for r in rules_on(after, (443, 443))
                       if r.role == "control-plane"}


def test_addon_nodeports_fold_into_the_range_while_it_holds_them(projects):
    """offline: kuboard 32766, grafana 32765, redis 32379 fold into 30000-32767, and into any range that still
    holds them; a range that leaves them out is refused (tests/core/test_upstream.py, item 11)."""
    cluster = projects["offline"].stack.cluster
    before = by_key(resolve(CATALOG, cluster).rules)
    after = by_key(resolve(CATALOG, cluster.model_copy(update={"ports": {"nodeport-range": (32000, 32767)}})).rules)
    addon = {f"worker-in-tcp-{p}-from-10.0.0.0-8-v4" for p in (32765, 32766, 32379)}
    assert not addon & before.keys() and not addon & after.keys()
    assert "worker-in-tcp-32000-32767-from-10.0.0.0-8-v4" in after
    assert not [k for k in after if "30000-32767" in k]


# --------------------------------------------------------------------------- absent roles, notes


def test_stacked_etcd_lands_on_the_control_plane_and_says_so(projects):
    project = projects["dev"]  # kubeadm, no etcd role
    keys = by_key(project.resolution.rules)
    assert "control-plane-in-tcp-2379-2380-from-control-plane-v4" in keys
    assert not [k for k in keys if k.startswith("etcd-")]
    etcd = next(f for f in CATALOG.flows if f.where.startswith("portspecs/kubernetes.yaml") and f.flow.name == "etcd")
    assert f"{etcd.where}: etcd: no etcd role: its side lands on control-plane (stacked)" in project.resolution.notes


def test_external_etcd_gets_its_own_rules_and_no_stacking_note(projects):
    dev = projects["dev"].stack.cluster
    roles = {**dev.roles, "etcd": dev.roles["worker"]}
    res = resolve(CATALOG, dev.model_copy(update={"roles": roles}))
    keys = by_key(res.rules)
    assert {"etcd-in-tcp-2379-2380-from-control-plane-v4", "control-plane-out-all-to-anywhere-v4"} <= keys.keys()
    assert "control-plane-in-tcp-2379-2380-from-control-plane-v4" not in keys
    assert not [n for n in res.notes if "no etcd role" in n]


def test_dropped_flows_are_said(projects):
    notes = projects["dev"].resolution.notes  # no load-balancer, no bastion, no rancher-server; empty CIDR sets
    api = next(f.where for f in CATALOG.flows if f.where.startswith("portspecs/kubernetes.yaml")
               and f.flow.name == "kube-apiserver")
    assert f"{api}: kube-apiserver: no load-balancer role in this cluster; its side of the flow is dropped" in notes
    assert any(": ssh-nodes: no bastion role: its side comes from CIDR set 'admin'" in n for n in notes)
    assert any("CIDR set 'hosted-clusters' is empty in this stack; no rule for it" in n for n in notes)


def test_a_cidr_of_a_family_the_cluster_does_not_use_is_said(projects):
    dev = projects["dev"].stack.cluster
    res = resolve(CATALOG, dev.model_copy(update={"ip_families": ["IPv4"]}))
    assert any(n.endswith("kube-apiserver: 2001:db8:100::/48 is IPv6, which this cluster does not use; no rule")
               for n in res.notes)
    assert not [r for r in res.rules if r.peer == "2001:db8:100::/48"]


@PROPERTY
@given(clusters())
def test_no_flow_that_applies_is_dropped_silently(cluster):
    res = resolve(CATALOG, cluster)
    sources = {s for r in res.rules for s in r.sources}
    noted = {n.split(": ", 1)[0] for n in res.notes}
    for f in CATALOG.flows:
        if applies(f.file_when, cluster) and applies(f.flow.when, cluster):
            assert f.where in sources or f.where in noted, f.where


# --------------------------------------------------------------------------- versions, families, egress


def version_ports(cluster: ClusterSettings, version: str) -> set[int]:
    rules = resolve(CATALOG, cluster.model_copy(update={"kubernetes_version": version})).rules
    return {r.from_port for r in rules if r.from_port in (10251, 10252) and r.direction == "ingress"}


@pytest.mark.parametrize("version,expected", [
    ("1.20", {10251, 10252}), ("1.21", {10251, 10252}), ("1.21.14", {10251, 10252}),
    ("1.22", {10251}), ("1.22.17", {10251}), ("1.23", set()), ("1.23.0", set()), ("1.31", set()),
])
def test_legacy_insecure_ports_follow_the_version_bounds(projects, version, expected):
    offline = projects["offline"].stack.cluster
    assert "offline-installer" in offline.addons
    assert version_ports(offline, version) == expected
    plain = offline.model_copy(update={"addons": [a for a in offline.addons if a != "offline-installer"]})
    assert version_ports(plain, version) == set()  # upstream kubeadm never lists them


def test_ipv6_rules_and_icmpv6(projects):
    cluster = projects["dev"].stack.cluster.model_copy(update={"ip_families": ["IPv4", "IPv6"]})
    echo = sourced("echo", 1, protocol="icmp", icmp="echo-request", to=["worker"], **{"from": ["control-plane"]})
    unreachable = sourced("unreach", 2, protocol="icmp", icmp="destination-unreachable", to=["worker"],
                          **{"from": ["control-plane"]})
    every = sourced("every", 3, protocol="icmp", to=["control-plane"], **{"from": ["worker"]})
    keys = by_key(resolve(with_flows(CATALOG, echo, unreachable, every), cluster).rules)
    assert keys["worker-in-icmp-type8-code0-from-control-plane-v4"].protocol == "icmp"
    assert keys["worker-in-icmpv6-type128-code0-from-control-plane-v6"].protocol == "icmpv6"
    assert (keys["worker-in-icmp-type3-from-control-plane-v4"].to_port,
            keys["worker-in-icmpv6-type1-from-control-plane-v6"].to_port) == (None, None)
    assert "control-plane-in-icmp-from-worker-v4" in keys and "control-plane-in-icmpv6-from-worker-v6" in keys
    # the same flows in an IPv6-only cluster: IPv6 rules only
    v6 = by_key(resolve(with_flows(CATALOG, echo), cluster.model_copy(update={"ip_families": ["IPv6"]})).rules)
    assert all(r.ethertype == "IPv6" for r in v6.values() if r.direction == "ingress")
    assert "worker-in-icmpv6-type128-code0-from-control-plane-v6" in v6


def test_cilium_health_icmp_per_family(projects):
    dev = projects["dev"].stack.cluster
    cluster = dev.model_copy(update={"cni": dev.cni.model_copy(update={"name": "cilium", "mode": "vxlan"}),
                                     "ip_families": ["IPv4", "IPv6"]})
    keys = by_key(resolve(CATALOG, cluster).rules)
    assert "worker-in-icmp-type8-code0-from-control-plane-v4" in keys
    assert "worker-in-icmpv6-type128-code0-from-control-plane-v6" in keys


def test_family_restricted_flows(projects):
    base = projects["prod-aws"].stack.cluster  # canal with wireguard: 51820 is IPv4's, 51821 IPv6's
    v4 = resolve(CATALOG, base).rules
    both = resolve(CATALOG, base.model_copy(update={"ip_families": ["IPv4", "IPv6"]})).rules
    assert {(r.from_port, r.ethertype) for r in v4 if r.from_port in (51820, 51821)} == {(51820, "IPv4")}
    assert {(r.from_port, r.ethertype) for r in both if r.from_port in (51820, 51821)} == {(51820, "IPv4"),
                                                                                           (51821, "IPv6")}


def test_strict_and_open_egress(projects):
    rancher = projects["rancher"]  # strict: outbound rules come from the flows
    keys = by_key(rancher.resolution.rules)
    assert rancher.stack.cluster.egress == "strict"
    assert {"worker-out-tcp-6443-to-control-plane-v4", "etcd-out-tcp-2379-to-etcd-v4",
            "rancher-server-out-tcp-443-to-35.160.43.145-32-v4"} <= keys.keys()
    assert not [k for k in keys if "-out-all-" in k]
    opened = resolve(CATALOG, rancher.stack.cluster.model_copy(update={"egress": "open"}))
    egress = [r for r in opened.rules if r.direction == "egress"]
    assert sorted(r.key for r in egress) == sorted(f"{role}-out-all-to-anywhere-{v}" for role in
                                                   rancher.stack.cluster.roles for v in ("v4", "v6"))
    # nothing else changes: the ingress side is identical
    assert [r for r in opened.rules if r.direction == "ingress"] == [r for r in rancher.resolution.rules
                                                                     if r.direction == "ingress"]
    # the flows' outbound halves are not lost: their sources fold into the allow-all rule
    out_all = by_key(opened.rules)["worker-out-all-to-anywhere-v4"]
    assert set(keys["worker-out-tcp-6443-to-control-plane-v4"].sources) <= set(out_all.sources)


def _networks(version: int):
    bits, kind = (32, ipaddress.IPv4Network) if version == 4 else (128, ipaddress.IPv6Network)
    return st.tuples(st.integers(0, 2**bits - 1), st.integers(0, bits)).map(
        lambda pair: kind((pair[0], pair[1]), strict=False))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([4, 6]).flatmap(lambda v: st.tuples(_networks(v), _networks(v))))
def test_covers_on_cidr_peers_is_ipaddress_subnet_of(pair):
    """covers compares a CIDR peer by its first and last address (resolver._span): the same
    answer as ipaddress's subnet_of, in both families."""
    wide, narrow = pair
    family = "IPv4" if wide.version == 4 else "IPv6"
    def rule(net):
        return Rule("worker", "ingress", "tcp", 443, 443, "cidr", str(net), family, "x", ())
    expected = narrow.subnet_of(wide) and wide != narrow  # a rule never covers itself
    assert covers(rule(wide), rule(narrow)) == expected
