"""Real packets against the exported nftables rulesets.

For one example stack of each CNI family and mode kind (encapsulated, natively routed,
dual-stack IP-in-IP, strict egress, keepalived): network namespaces play the nodes of each
role (2 per role) plus two hosts outside the cluster, all on one bridge: `outside` (inside
the stacks' admin/client/DNS/NTP/registry CIDRs) and `stranger` (inside none of them). In
the natively routed stacks every node also has a pod address, and pod addresses are
probed like node addresses, as sources and as destinations. Each node loads the ruleset
`kubeports export --format nftables --role ROLE --addresses FILE` prints for it; socat
listens on every port the plan mentions (ranges sampled at both ends, the middle and
one past each end) plus ports other CNIs and distributions use. Every host then probes
every other host (the outside hosts have no firewall, so probes to them test the nodes'
egress): TCP must connect and echo, UDP and raw IP must reach the listener's log, ICMP
echo must be answered, exactly where the plan (read independently from the resolved
rules) says so, and be blocked everywhere else. Every rule whose peer is a lab host
must have let at least one probe through.

The matrix of results is printed (pytest -s) and written to /tmp/kubeports-netns/.
Needs root plus ip, nft, socat and ss; skipped with the reason otherwise.
"""
from __future__ import annotations

import contextlib
import io
import ipaddress
import itertools
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from kubeports import cli
from kubeports.core.project import load_project
from kubeports.core.rules import Rule
from kubeports.render.export import table_name
from tests.packets.netns import (
    POD_V4,
    POD_V6,
    Host,
    Lab,
    echo_probe,
    multicast_probe,
    send_probe,
    skip_reason,
    tcp_probe,
)

OUT_DIR = Path("/tmp/kubeports-netns")
TIMEOUT = 0.5  # per TCP/ICMP probe; a blocked probe costs this much
RETRY_TIMEOUT = 2.0  # one retry, only for an allowed probe that was not answered
WORKERS = 96
# Indexes into the test ranges: 10.213.0.N and fd00:213::N (hex). The outside host
# (.200, ::c8) lies in the CIDRs the stacks give to admins, API clients, monitoring.
ROLE_INDEX = {"control-plane": 11, "etcd": 21, "worker": 31}
OUTSIDE_INDEX = 200
STRANGER_INDEX = 100  # in no CIDR set of any stack: a host next to the cluster, not of it
OUTSIDE_V4, OUTSIDE_V6 = "10.213.0.192/26", "fd00:213::c0/122"
OUTSIDE_HOST = ["10.213.0.200/32", "fd00:213::c8/128"]
NOT_OUTSIDE_V4 = "10.213.0.128/28"  # a CIDR set that must NOT let the outside host in
# Strict egress: the nodes' DNS, NTP and registry are the outside host; the stranger offers
# the same ports and must not be reachable.
SERVICES = {"dns-servers": OUTSIDE_HOST, "ntp-servers": OUTSIDE_HOST, "image-registries": OUTSIDE_HOST}
# Probed on every stack besides the stack's own ports: what other CNIs/distributions open.
OTHER_PORTS = {"tcp": (23, 53, 80, 179, 443, 2381, 4240, 5473, 8080, 9345, 10255),
               "udp": (53, 123, 4789, 6081, 8472, 51820)}
RAW_PROTOCOLS = ("4", "112")  # IP-in-IP, VRRP; raw protocols are probed with raw sockets

STACKS: dict[str, dict] = {
    "kubeadm-calico-ipip": {
        "distribution": "kubeadm", "cni": {"name": "calico", "mode": "ipip"},
        "ipFamilies": ["IPv4", "IPv6"], "egress": "open",
        "podCidrs": ["fd00:244::/56"],  # IP-in-IP carries IPv4 only: the IPv6 pool is routed natively
        "cidrs": {"api-clients": [OUTSIDE_V4, OUTSIDE_V6], "admin": [OUTSIDE_V4],
                  "nodeport-clients": [NOT_OUTSIDE_V4]},
        "roles": {"control-plane": {"count": 2}, "worker": {"count": 2}},
    },
    "rke2-canal": {
        "distribution": "rke2", "cni": {"name": "canal", "mode": "wireguard"},
        "addons": ["ingress-nginx"], "ipFamilies": ["IPv4"], "egress": "strict",
        "cidrs": {"api-clients": ["10.213.0.200/32"], "ingress-clients": ["0.0.0.0/0"], "admin": [OUTSIDE_V4],
                  **SERVICES},
        "roles": {"etcd": {"count": 2}, "control-plane": {"count": 2}, "worker": {"count": 2}},
    },
    "kubeadm-cilium-vxlan": {
        "distribution": "kubeadm", "cni": {"name": "cilium", "mode": "vxlan", "features": ["metrics"]},
        "ipFamilies": ["IPv4", "IPv6"], "egress": "strict",
        "cidrs": {"monitoring": [OUTSIDE_V4, OUTSIDE_V6]},
        "roles": {"control-plane": {"count": 2}, "worker": {"count": 2}},
    },
    # Natively routed, both families, strict egress, keepalived VRRP between control planes.
    "kubeadm-cilium-native": {
        "distribution": "kubeadm", "cni": {"name": "cilium", "mode": "native"}, "addons": ["keepalived"],
        "ipFamilies": ["IPv4", "IPv6"], "egress": "strict",
        "podCidrs": [str(POD_V4), str(POD_V6)],
        "cidrs": {"admin": [OUTSIDE_V4, OUTSIDE_V6], **SERVICES},
        "roles": {"control-plane": {"count": 2}, "worker": {"count": 2}},
    },
    "kubeadm-flannel-hostgw": {
        "distribution": "kubeadm", "cni": {"name": "flannel", "mode": "host-gw"},
        "ipFamilies": ["IPv4"], "egress": "open", "podCidrs": [str(POD_V4)],
        "cidrs": {"nodeport-clients": [OUTSIDE_V4]},
        "roles": {"control-plane": {"count": 2}, "worker": {"count": 2}},
    },
    "kubeadm-flannel-vxlan": {
        "distribution": "kubeadm", "cni": {"name": "flannel", "mode": "vxlan"},
        "ipFamilies": ["IPv4"], "egress": "open",
        "cidrs": {"nodeport-clients": ["10.213.0.200/32"]},
        "roles": {"control-plane": {"count": 2}, "worker": {"count": 2}},
    },
}


def write_stack(directory: Path, name: str, cluster: dict) -> Path:
    config = {
        "kubeports:cloud": "openstack",
        "kubeports:cluster": {"name": name, "kubernetesVersion": "1.31",
                              "quota": {"neutronRules": 1000}, **cluster},
        "kubeports:openstack": {"image": "test", "flavor": "test", "networkId": "test"},
    }
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


# ---------------------------------------------------------------- the plan, read independently

def _proto_ok(rule: Rule, kind: str, port: int | None, family: str) -> bool:
    if rule.protocol == "all":
        return True
    if kind == "echo":
        icmp, echo = ("icmp", 8) if family == "IPv4" else ("icmpv6", 128)
        return rule.protocol == icmp and rule.from_port in (None, echo) and rule.to_port in (None, 0)
    if rule.protocol != kind:
        return False
    return rule.from_port is None or rule.from_port <= port <= rule.to_port  # type: ignore[operator]


@dataclass
class End:
    """One end of a probe: a host's node address, or its pod address (`pod`)."""
    host: Host
    family: str
    pod: bool = False

    @property
    def address(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return self.host.pod_addr(self.family) if self.pod else self.host.addr(self.family)

    @property
    def name(self) -> str:
        return f"{self.host.name}{'/pod' if self.pod else ''}"


@dataclass
class Group:
    """A link-local multicast group as a probe's destination: one address, no host."""
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    pod: bool = False
    host: None = None


def ends(hosts: list[Host], family: str) -> list[End]:
    return [End(h, family) for h in hosts] + [End(h, family, True) for h in hosts if family in h.pods]


def _peer_ok(rule: Rule, peer: End | Group) -> bool:
    if rule.peer_kind == "role":  # role sets hold node addresses (`--addresses`), never pod addresses
        return not peer.pod and peer.host is not None and peer.host.role == rule.peer
    return peer.address in ipaddress.ip_network(rule.peer)


def matching(rules: tuple[Rule, ...], role: str, direction: str, family: str, kind: str, port: int | None,
             peer: End | Group) -> list[Rule]:
    return [r for r in rules if r.role == role and r.direction == direction and r.ethertype == family
            and _proto_ok(r, kind, port, family) and _peer_ok(r, peer)]


@dataclass
class Probe:
    src: End
    dst: End
    family: str
    kind: str  # tcp | udp | echo | an IP protocol number
    port: int | None
    token: bytes
    expected: bool
    covers: tuple[Rule, ...] = field(repr=False)  # the rules that allow it (ingress and egress)
    seen: str = ""
    retried: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind[0].upper()}{self.port}" if self.port else ("ECHO" if self.kind == "echo" else f"IP{self.kind}")

    @property
    def ok(self) -> bool:
        return self.seen == ("open" if self.expected else "blocked")

    def __str__(self) -> str:
        return (f"{self.src.name} -> {self.dst.name} {self.family} {self.label}: expected "
                f"{'allowed' if self.expected else 'blocked'}, seen {self.seen}")


def sample_ports(rules: tuple[Rule, ...], proto: str) -> list[int]:
    ports = set(OTHER_PORTS[proto])
    for rule in rules:
        if rule.protocol == proto and rule.from_port is not None:
            low, high = rule.from_port, rule.to_port
            ports |= {low, high, (low + high) // 2, low - 1, high + 1}
    return sorted(p for p in ports if 0 < p < 65536)


def plan_probes(rules: tuple[Rule, ...], families: list[str], hosts: list[Host]) -> list[Probe]:
    kinds = [("tcp", p) for p in sample_ports(rules, "tcp")] + [("udp", p) for p in sample_ports(rules, "udp")]
    kinds += [("echo", None)] + [(proto, None) for proto in RAW_PROTOCOLS]
    probes: list[Probe] = []
    counter = itertools.count(1)
    for family in families:
        for src, dst in itertools.product(ends(hosts, family), repeat=2):
            if dst.host is src.host:
                continue  # a host reaching itself goes over loopback, which is always accepted
            for kind, port in kinds:
                probes.append(_probe(rules, src, dst, family, kind, port, f"kp{next(counter):06d}\n".encode()))
    return probes


def _probe(rules: tuple[Rule, ...], src: End, dst: End, family: str, kind: str, port: int | None,
           token: bytes) -> Probe:
    """What the plan says of one packet: the outside hosts have no firewall, so probes to
    them test the nodes' egress alone, probes from them the nodes' ingress alone."""
    ingress = [] if dst.host.role is None else matching(rules, dst.host.role, "ingress", family, kind, port, src)
    egress = [] if src.host.role is None else matching(rules, src.host.role, "egress", family, kind, port, dst)
    expected = (dst.host.role is None or bool(ingress)) and (src.host.role is None or bool(egress))
    return Probe(src, dst, family, kind, port, token, expected, tuple(ingress + egress))


# ---------------------------------------------------------------- running it

_LAB_NUMBER = itertools.count(1)


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Lab:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    lab = Lab(f"kpt{os.getpid()}-{next(_LAB_NUMBER)}")
    request.addfinalizer(lab.close)  # registered first: a half-built lab is removed too
    lab.start()
    return lab


def export_ruleset(stack_file: Path, role: str, addresses: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["export", "--stack-file", str(stack_file), "--format", "nftables", "--role", role,
                         "--addresses", str(addresses)])
    assert code == 0, err.getvalue()
    assert "placeholder" not in err.getvalue(), err.getvalue()
    return out.getvalue()


def start_listeners(lab: Lab, workdir: Path, probes: list[Probe]) -> dict[tuple, Path]:
    tcp = sorted({p.port for p in probes if p.kind == "tcp"})  # listeners bind every address, pods' too
    udp = sorted({p.port for p in probes if p.kind == "udp"})
    raw = sorted({(p.kind, p.family) for p in probes if p.kind.isdigit()})
    logs: dict[tuple, Path] = {}
    for host in lab.hosts:
        for port in tcp:
            lab.spawn(host, "socat", f"TCP6-LISTEN:{port},ipv6only=0,reuseaddr,fork,backlog=256", "PIPE")
        for port in udp:
            log = logs[(host.name, "udp", port)] = workdir / f"{host.name}-udp-{port}.log"
            lab.spawn(host, "socat", "-u", f"UDP6-RECV:{port},ipv6only=0", f"OPEN:{log},creat,append")
        for proto, family in raw:
            log = logs[(host.name, proto, family)] = workdir / f"{host.name}-ip{proto}-{family}.log"
            lab.spawn(host, "socat", "-u", f"IP{family[-1]}-RECV:{proto}", f"OPEN:{log},creat,append")
    want = len(tcp) + len(udp) + len(raw)
    deadline = time.monotonic() + 20
    for host in lab.hosts:
        while True:
            count = len(lab.sh("ss", "-Hlntuw", netns=host.netns).splitlines())
            if count >= want:
                break
            dead = [p for p in lab.procs if p.poll() is not None]
            assert not dead, f"a listener died: {dead[0].args}: {dead[0].stderr.read().decode()[:300]}"
            assert time.monotonic() < deadline, f"{host.name}: {count} of {want} listeners up"
            time.sleep(0.05)
    return logs


def run_probes(lab: Lab, probes: list[Probe], logs: dict[tuple, Path], timeout: float) -> None:
    def one(probe: Probe) -> None:
        # The source is bound: a host with a pod address would otherwise pick it for pod destinations.
        src, dst, source = probe.src.host, str(probe.dst.address), str(probe.src.address)
        if probe.kind == "tcp":
            probe.seen = tcp_probe(lab, src, probe.family, dst, probe.port, probe.token, timeout, source)
        elif probe.kind == "echo":
            probe.seen = echo_probe(lab, src, probe.family, dst, int(probe.token[2:8]), probe.token, timeout, source)
        else:
            probe.seen = send_probe(lab, src, probe.family, dst, probe.kind, probe.port or 0, probe.token, source)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, probes))  # list(): re-raise a probe's exception here
    sent = [p for p in probes if p.seen == "sent"]
    if sent:
        time.sleep(0.3)  # let the listeners write what arrived
    cache: dict[Path, bytes] = {}
    for probe in sent:
        host = probe.dst.host.name
        log = logs[(host, "udp", probe.port) if probe.kind == "udp" else (host, probe.kind, probe.family)]
        if log not in cache:
            cache[log] = log.read_bytes() if log.exists() else b""
        probe.seen = "open" if probe.token in cache[log] else "blocked"


def forget_state(lab: Lab) -> None:
    time.sleep(0.1)  # let the last replies land before forgetting
    for host in lab.hosts:
        lab.flush_conntrack(host)


def render_matrix(name: str, probes: list[Probe], families: list[str]) -> str:
    """One grid per family: a row per (source, destination), a column per probe.
    `+` allowed as expected, `.` blocked as expected, `X` allowed but blocked, `!` blocked but got through."""
    out = [f"== {name}: {len(probes)} probes; legend: + allowed (expected and seen), . blocked (expected and "
           "seen), X expected allowed but blocked, ! expected blocked but got through, ? other"]
    for family in families:
        mine = [p for p in probes if p.family == family]
        labels = list(dict.fromkeys(p.label for p in mine))
        rows: dict[str, dict[str, Probe]] = {}
        for p in mine:
            rows.setdefault(f"{p.src.name} -> {p.dst.name}", {})[p.label] = p
        width = max(map(len, rows))
        out.append(f"-- {family}")
        for i in range(max(map(len, labels))):
            out.append(" " * (width + 1) + "".join(lab[i] if i < len(lab) else " " for lab in labels))
        for row, cells in rows.items():
            marks = ""
            for label in labels:
                p = cells[label]
                marks += {(True, "open"): "+", (False, "blocked"): ".", (True, "blocked"): "X",
                          (False, "open"): "!"}.get((p.expected, p.seen), "?")
            out.append(f"{row:<{width}} {marks}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("name", list(STACKS))
def test_real_packets_follow_the_plan(name: str, lab: Lab, tmp_path: Path) -> None:
    started = time.monotonic()
    stack_file = write_stack(tmp_path, name, STACKS[name])
    project = load_project(str(stack_file))
    cluster, rules = project.stack.cluster, project.resolution.rules
    # Probe every family a rule mentions: egress open allows IPv6 out even on IPv4 stacks.
    families = sorted(set(cluster.ip_families) | {r.ethertype for r in rules})

    # Nodes (with a pod address per natively routed family) and the two hosts outside.
    cni = project.catalog.cnis[cluster.cni.name]
    pods = tuple(cni.modes[cluster.cni.mode].routed_families(cluster.ip_families))
    assert all(ipaddress.ip_network(c).subnet_of(POD_V4 if ipaddress.ip_network(c).version == 4 else POD_V6)
               for c in cluster.pod_cidrs), "the lab's pod addresses must lie in the stack's podCidrs"
    for role, settings in cluster.roles.items():
        for i in range(settings.count):
            lab.add_host(f"{role}-{i + 1}", role, ROLE_INDEX[role] + i, pods if role != "etcd" else ())
    lab.add_host("outside", None, OUTSIDE_INDEX)
    lab.add_host("stranger", None, STRANGER_INDEX)
    addresses = tmp_path / "addresses.yaml"
    addresses.write_text(yaml.safe_dump({role: [str(h.addr(f)) for h in lab.hosts if h.role == role
                                                for f in families] for role in cluster.roles}))

    # Firewalls: each node loads its role's ruleset.
    for role in cluster.roles:
        ruleset = tmp_path / f"{role}.nft"
        ruleset.write_text(export_ruleset(stack_file, role, addresses))
        for host in (h for h in lab.hosts if h.role == role):
            lab.sh("nft", "-f", str(ruleset), netns=host.netns)
            assert f"table inet {table_name(role)}" in lab.sh("nft", "list", "tables", netns=host.netns)

    probes = plan_probes(rules, families, lab.hosts)
    logs = start_listeners(lab, tmp_path, probes)
    # Connection tracking knows no ports for raw IP protocols: once A has sent IPIP to B,
    # B's IPIP to A is a "reply" on both sides and gets in whatever the rules say (stateful
    # firewalls and security groups alike). So each direction goes in a phase of its own,
    # with the state forgotten in between, and again before the retries.
    later = [p for p in probes if p.kind in RAW_PROTOCOLS and p.src.host.index > p.dst.host.index]
    run_probes(lab, [p for p in probes if p not in later], logs, TIMEOUT)
    forget_state(lab)
    run_probes(lab, later, logs, TIMEOUT)
    first_pass = time.monotonic()
    missed = [p for p in probes if p.expected and p.seen == "blocked"]
    for p in missed:  # a lost first packet is not a firewall verdict: ask once more, slowly
        p.retried = True
    if missed:
        forget_state(lab)
        run_probes(lab, missed, logs, RETRY_TIMEOUT)

    # Report.
    seen = Counter((p.expected, p.seen) for p in probes)
    allowed, blocked = sum(p.expected for p in probes), sum(not p.expected for p in probes)
    # Every rule with a peer inside the lab must have been exercised by an allowed probe.
    exercisable = [r for r in rules if any(_peer_ok(r, e) for e in ends(lab.hosts, r.ethertype))
                   and (r.protocol in ("tcp", "udp", "all", *RAW_PROTOCOLS) or r.is_icmp)]
    covered = {r for p in probes if p.expected for r in p.covers}
    uncovered = [r.key for r in exercisable if r not in covered]
    unreachable = [r.key for r in rules if not any(_peer_ok(r, e) for e in ends(lab.hosts, r.ethertype))]
    report = render_matrix(name, probes, families) + (
        f"probes {len(probes)}: expected allowed {allowed}, expected blocked {blocked}; "
        f"seen {dict(seen)}; retried {len(missed)} ({sum(p.ok for p in missed)} then passed); "
        f"{time.monotonic() - started:.1f} s ({first_pass - started:.1f} s first pass)\n"
        f"rules exercised: {len(exercisable) - len(uncovered)} of {len(exercisable)}; no lab host in the peer "
        f"of: {', '.join(unreachable) or 'none'}\n")
    wrong = [p for p in probes if not p.ok]
    report += "".join(f"MISMATCH {p}\n" for p in wrong)
    print("\n" + report)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / f"{name}.txt").write_text(report)

    assert not wrong, f"{len(wrong)} probes disagree with the plan:\n" + "\n".join(map(str, wrong[:40]))
    assert not uncovered, f"plan rules no probe exercised: {uncovered}"
    assert allowed and blocked


def test_ipv6_needs_the_neighbour_discovery_rules(lab: Lab, tmp_path: Path) -> None:
    """The control for the ND rules: without them an allowed IPv6 flow dies (the
    neighbour is never resolved) while IPv4 still works; re-loading the full ruleset
    (which replaces the table) brings IPv6 back."""
    stack_file = write_stack(tmp_path, "nd-control", STACKS["kubeadm-calico-ipip"])
    server = lab.add_host("control-plane-1", "control-plane", ROLE_INDEX["control-plane"])
    client = lab.add_host("worker-1", "worker", ROLE_INDEX["worker"])
    addresses = tmp_path / "addresses.yaml"
    addresses.write_text(yaml.safe_dump({h.role: [str(h.v4), str(h.v6)] for h in lab.hosts}))
    full = {h.name: tmp_path / f"{h.name}.nft" for h in lab.hosts}
    crippled = {h.name: tmp_path / f"{h.name}-no-nd.nft" for h in lab.hosts}
    for host in lab.hosts:
        text = export_ruleset(stack_file, host.role, addresses)
        full[host.name].write_text(text)
        without = [line for line in text.splitlines() if "neighbour discovery" not in line]
        assert len(without) == len(text.splitlines()) - 2  # one rule per chain
        crippled[host.name].write_text("\n".join(without) + "\n")
        lab.sh("nft", "-f", str(crippled[host.name]), netns=host.netns)
    lab.spawn(server, "socat", "TCP6-LISTEN:6443,ipv6only=0,reuseaddr,fork", "PIPE")
    deadline = time.monotonic() + 10
    while ":6443" not in lab.sh("ss", "-Hlnt", netns=server.netns):
        assert time.monotonic() < deadline, "listener did not start"
        time.sleep(0.05)

    def connect(family: str, timeout: float) -> str:
        return tcp_probe(lab, client, family, str(server.addr(family)), 6443, b"nd-control\n", timeout)

    assert connect("IPv4", RETRY_TIMEOUT) == "open"
    assert connect("IPv6", 1.5) == "blocked"
    for host in lab.hosts:
        lab.sh("nft", "-f", str(full[host.name]), netns=host.netns)
    assert connect("IPv6", RETRY_TIMEOUT) == "open"


VRRP_GROUPS = {"IPv4": Group(ipaddress.ip_address("224.0.0.18")), "IPv6": Group(ipaddress.ip_address("ff02::12"))}


def test_vrrp_adverts_reach_the_keepalived_peers_only(lab: Lab, tmp_path: Path) -> None:
    """keepalived advertises with IP protocol 112 to 224.0.0.18 / ff02::12 (RFC 5798
    5.1.1.2). On the natively routed stack (strict egress, keepalived add-on) every host
    joins the group and sends one advert; a host's log must hold exactly the adverts the
    plan admits: the sender's egress to the group and the receiver's ingress from the sender."""
    name = "kubeadm-cilium-native"
    stack_file = write_stack(tmp_path, name, STACKS[name])
    project = load_project(str(stack_file))
    rules, families = project.resolution.rules, list(project.stack.cluster.ip_families)
    hosts = [lab.add_host(f"{role}-{i}", role, ROLE_INDEX[role] + i - 1) for role in ("control-plane", "worker")
             for i in (1, 2)] + [lab.add_host("outside", None, OUTSIDE_INDEX)]
    addresses = tmp_path / "addresses.yaml"
    addresses.write_text(yaml.safe_dump({r: [str(h.addr(f)) for h in hosts if h.role == r for f in families]
                                         for r in ("control-plane", "worker")}))
    for role in ("control-plane", "worker"):
        ruleset = tmp_path / f"{role}.nft"
        ruleset.write_text(export_ruleset(stack_file, role, addresses))
        for host in (h for h in hosts if h.role == role):
            lab.sh("nft", "-f", str(ruleset), netns=host.netns)
    logs = {}
    for host, family in itertools.product(hosts, families):
        log = logs[(host.name, family)] = tmp_path / f"{host.name}-vrrp-{family}.log"
        join = (f"IP4-RECV:112,ip-add-membership={VRRP_GROUPS[family].address}:eth0" if family == "IPv4"
                else f"IP6-RECV:112,ipv6-join-group=[{VRRP_GROUPS[family].address}]:eth0")
        lab.spawn(host, "socat", "-u", join, f"OPEN:{log},creat,append")
    deadline = time.monotonic() + 10
    while not all(len(lab.sh("ss", "-Hlw", netns=h.netns).splitlines()) >= len(families) for h in hosts):
        assert time.monotonic() < deadline, "the VRRP listeners did not start"
        time.sleep(0.05)

    expected, sent = {}, {}
    for src, family in itertools.product(hosts, families):
        token = f"vrrp-{src.name}-{family}\n".encode()
        egress = src.role is None or bool(matching(rules, src.role, "egress", family, "112", None,
                                                   VRRP_GROUPS[family]))
        sent[(src.name, family)] = multicast_probe(lab, src, family, str(VRRP_GROUPS[family].address), 112, token)
        assert sent[(src.name, family)] == ("sent" if egress else "blocked"), (src.name, family)
        for dst in hosts:
            if dst is not src:
                ingress = dst.role is None or bool(matching(rules, dst.role, "ingress", family, "112", None,
                                                            End(src, family)))
                expected[(src.name, dst.name, family)] = (token, egress and ingress)
    time.sleep(0.5)
    wrong = []
    for (src, dst, family), (token, allowed) in expected.items():
        got = token in logs[(dst, family)].read_bytes() if logs[(dst, family)].exists() else False
        if got != allowed:
            wrong.append(f"{src} -> {dst} {family} VRRP: expected {'allowed' if allowed else 'blocked'}, "
                         f"seen {'open' if got else 'blocked'}")
    assert not wrong, "\n".join(wrong)
    # The control: the keepalived pair hears each other, a worker never hears an advert.
    assert expected[("control-plane-1", "control-plane-2", "IPv4")][1]
    assert expected[("control-plane-2", "control-plane-1", "IPv6")][1]
    assert not any(allowed for (src, dst, _f), (_t, allowed) in expected.items() if dst.startswith("worker"))
    assert {v for (s, _f), v in sent.items() if s.startswith("worker")} == {"blocked"}
