"""`kubeports rules` reproduces the seed port tables ("Done when" of issue 2).

The seeds are parsed here, not copied: /work/shared/seeds (or ../shared/seeds next to the
checkout; KUBEPORTS_SEEDS overrides). Each seed row is compared with the CLI's markdown
and json output on protocol, direction, port range, purpose and peers ("Used By").

How the seeds' "Used By" words become peers (documented once, here):
- "All"             -> with `api-clients` / `nodeport-clients` set to 0.0.0.0/0: that CIDR,
                       which subsumes every role peer of IPv4 (issue 2 §5). With the sets
                       left closed (their default): every kubelet node and, on the control
                       plane (API), the API load balancer; on workers (NodePorts), the Service
                       load balancers (issue 12 item 17: two readings of one word, per row).
- "Self"            -> the role whose table it is (control-plane or worker).
- "Control plane"   -> the control-plane role.
- "Load balancers"  -> the Service load balancers (the `service-load-balancers` CIDR set, SLB
                       below), never the API load balancer (issue 12 item 9).
- "kube-apiserver"  -> the control-plane role, where the API server runs.
- "etcd"            -> the etcd role; without one, etcd is stacked on the control plane, so
                       control-plane (and the resolver notes it).
Purposes: kubeports' purpose starts with the seed's (the seed's † footnote mark dropped):
"kube-proxy" -> "kube-proxy health check".
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict

import pytest

from kubeports.core.paths import ROOT

SEEDS = os.environ.get("KUBEPORTS_SEEDS") or next(
    (p for p in ("/work/shared/seeds", os.path.join(ROOT, "..", "shared", "seeds")) if os.path.isdir(p)), "")
needs_seeds = pytest.mark.skipif(not os.path.isdir(SEEDS), reason="seed documents not found (set KUBEPORTS_SEEDS)")

KUBEADM_STACK = """\
config:
  kubeports:cloud: aws
  kubeports:aws: {ami: ami-0123456789abcdef0, instanceType: m6i.large, vpcId: vpc-1, subnetIds: [subnet-1]}
  kubeports:cluster:
    name: upstream
    distribution: kubeadm
    kubernetesVersion: "1.31"
    cni: {name: flannel, mode: vxlan}
    ipFamilies: [IPv4]
    egress: open
    cidrs: {api-clients: CLIENTS, nodeport-clients: CLIENTS, service-load-balancers: [10.99.0.0/24]}
    roles:
      control-plane: {count: 3}
      worker: {count: 3}
      load-balancer: {count: 0}
"""
SLB = "10.99.0.0/24"  # the stack's service-load-balancers
CNI_FILE = "flannel.yaml"  # the CNI's rows are not in the Kubernetes page; they come from this file


def markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """`## heading` / `### heading` -> the rows of the pipe table under it (header cells as keys)."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading, header = None, None
    for line in text.splitlines():
        if line.startswith("#"):
            heading, header = line.lstrip("#").strip(), None
        elif line.startswith("|") and heading is not None:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                tables.setdefault(heading, []).append(dict(zip(header, cells, strict=True)))
    return tables


def seed(name: str) -> str:
    with open(os.path.join(SEEDS, name), encoding="utf-8") as handle:
        return handle.read()


# --------------------------------------------------------------------------- Kubernetes


def used_by(cell: str, role: str, world: bool) -> frozenset[str]:
    peers: set[str] = set()
    for word in (w.strip() for w in cell.split(",")):
        peers |= {
            "All": {"0.0.0.0/0"} if world else {"control-plane", "worker",
                                                "load-balancer" if role == "control-plane" else SLB},
            "Self": {role},
            "Control plane": {"control-plane"},
            "Load balancers": {SLB},
            "kube-apiserver": {"control-plane"},
            "etcd": {"control-plane"},  # stacked: this stack has no etcd role
        }[word]
    return frozenset(peers)


def kubernetes_seed_rows(world: bool) -> dict[str, list[tuple]]:
    tables = markdown_tables(seed("kubernetes-ports-and-protocols.en.md"))
    out = {}
    for heading, role in (("Control plane", "control-plane"), ("Worker node(s) {#node}", "worker")):
        out[role] = [(r["Protocol"], r["Direction"], r["Port Range"], r["Purpose"].rstrip("†").strip(),
                      used_by(r["Used By"], role, world)) for r in tables[heading]]
    return out


def rows_from_markdown(text: str) -> dict[str, list[tuple]]:
    tables = markdown_tables(text)
    return {heading: [(r["Protocol"], r["Direction"], r["Port Range"], r["Purpose"],
                       frozenset(p.strip() for p in r["Used By"].split(","))) for r in rows]
            for heading, rows in tables.items() if heading in ("control-plane", "worker", "load-balancer")}


def rows_from_json(text: str) -> dict[str, list[tuple]]:
    grouped: dict[str, dict[tuple, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in json.loads(text)["rules"]:
        ports = "all" if r["from_port"] is None else (
            str(r["from_port"]) if r["from_port"] == r["to_port"] else f"{r['from_port']}-{r['to_port']}")
        proto = str(r["protocol"]).upper()
        row = (proto, "Inbound" if r["direction"] == "ingress" else "Outbound", ports, r["description"])
        grouped[r["role"]][row] |= set(r["peer"].values())
    return {role: [(*row, frozenset(peers)) for row, peers in rows.items()] for role, rows in grouped.items()}


def compare(output: list[tuple], expected: list[tuple]) -> None:
    """Row for row: same protocol, direction and ports; same peers; purpose starts with the seed's.

    kubeports splits a row when its peers' rules differ in description (a rule several flows
    share lists all their purposes), so its rows with one protocol/direction/ports are one seed row."""
    merged: dict[tuple, tuple[list[str], set[str]]] = {}
    for row in output:
        purposes, peers = merged.setdefault(row[:3], ([], set()))
        purposes.append(row[3])
        peers |= row[4]
    assert sorted(merged) == sorted(row[:3] for row in expected)
    for want in expected:
        purposes, peers = merged[want[:3]]
        assert all(p.startswith(want[3]) for p in purposes), (purposes, want[3])
        assert peers == want[4], (want[:3], peers, want[4])


@needs_seeds
@pytest.mark.parametrize("world", [True, False], ids=["All=0.0.0.0/0", "All=every-node"])
@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_kubeadm_stack_reproduces_the_kubernetes_tables(tmp_path, catalog, run_cli, world, fmt):
    stack = tmp_path / "Pulumi.upstream.yaml"
    stack.write_text(KUBEADM_STACK.replace("CLIENTS", "[0.0.0.0/0]" if world else "[]"))
    code, out, err = run_cli("rules", "-v", "--stack-file", str(stack), "--format", fmt)
    assert code == 0, err
    got = rows_from_markdown(out) if fmt == "markdown" else rows_from_json(out)
    expected = kubernetes_seed_rows(world)
    cni_purposes = {f.flow.purpose for f in catalog.flows if f.where.split(":")[0].endswith("/" + CNI_FILE)}
    assert cni_purposes
    for role in ("control-plane", "worker"):
        inbound = [row for row in got[role] if row[1] == "Inbound"]
        outbound = [row for row in got[role] if row[1] == "Outbound"]
        # egress open: one allow-all row per role, nothing else outbound (the seed tables are inbound only)
        assert {row[:3] for row in outbound} == {("ALL", "Outbound", "all")}  # one row per family description
        # the CNI's rows (flannel VXLAN 8472 between nodes) come from its own file
        cni = [row for row in inbound if row[3] in cni_purposes]
        assert [row[:3] for row in cni] == [("UDP", "Inbound", "8472")]
        assert cni[0][4] == {"control-plane", "worker"}
        rest = [row for row in inbound if row not in cni]
        if role == "worker":
            # the intended addition: NodePort UDP. The page's footnote links the Service docs,
            # where a NodePort serves the Service's protocol, UDP too; Rancher's table lists TCP/UDP.
            udp = [row for row in rest if row[:3] == ("UDP", "Inbound", "30000-32767")]
            assert len(udp) == 1 and udp[0][3].startswith("NodePort Services")
            assert udp[0][4] == next(r[4] for r in expected[role] if r[2] == "30000-32767")  # same peers as TCP
            rest.remove(udp[0])
        compare(rest, expected[role])
    assert "note: portspecs/kubernetes.yaml" in err and "no etcd role: its side lands on control-plane (stacked)" in err


@needs_seeds
def test_kubernetes_seed_is_parsed():
    """Guards the parser: the page's rows as the issue lists them."""
    rows = kubernetes_seed_rows(world=True)
    assert [r[2] for r in rows["control-plane"]] == ["6443", "2379-2380", "10250", "10259", "10257"]
    assert [r[2] for r in rows["worker"]] == ["10250", "10256", "30000-32767"]
    assert rows["worker"][1][4] == {"worker", SLB}


# --------------------------------------------------------------------------- Rancher

RANCHER_ROLES = {"Rancher nodes": "rancher-server", "etcd nodes": "etcd", "controlplane nodes": "control-plane",
                 "worker nodes": "worker"}
# The seed's words for sources/destinations -> a role, or a CIDR set whose value the stack gives.
RANCHER_PEERS = {
    "etcd nodes": ("role", "etcd"),
    "controlplane nodes": ("role", "control-plane"),
    "controlplane node": ("role", "control-plane"),  # the worker tables' cells read "controlplane node<br />sworker
    "sworker nodes": ("role", "worker"),             # nodes": a misplaced "s"; the same three roles as elsewhere
    "worker nodes": ("role", "worker"),
    "Rancher nodes": ("role", "rancher-server"),
    "Load balancer/proxy that does external SSL termination": ("set", "rancher-tls-terminators"),
    "Hosted/Imported Kubernetes": ("set", "hosted-clusters"),
    "Hosted/Imported Kubernetes API": ("set", "hosted-clusters"),
    "any that needs to be able to use UI/API": ("set", "rancher-ui-clients"),
    "Any node IP from a node created using Node Driver": ("set", "node-driver-nodes"),
    "Any that consumes Ingress services": ("set", "ingress-clients"),
    "Any source that consumes NodePort services": ("set", "nodeport-clients"),
}
GLOSSARY = {"通信端口": "communication port", "端口范围": "port range"}  # from the seeds' README
# Rules the Rancher stack has that its seed tables do not list, each for a stated reason.
RANCHER_EXTRAS = {
    # outbound 2376 (Docker Machine) is on Rancher's English page (rancher.yaml's note and source)
    "rancher-server-out-tcp-2376-to-192.0.2.0-24-v4",
    # a flow yields both halves: the seed lists controlplane -> controlplane 6443 as inbound only
    "control-plane-out-tcp-6443-to-control-plane-v4",
}


def rancher_seed_atoms(cidrs: dict[str, list[str]], catalog) -> dict[tuple, str]:
    """(role, direction, protocol, from, to, peer) -> the seed's purpose, for every row and peer."""
    text = seed("rancher-port-requirements.zh-cn.md")
    atoms: dict[tuple, str] = {}
    tables = markdown_tables(text)
    assert len(tables) == 8, sorted(tables)
    for heading, rows in tables.items():
        match = re.fullmatch(r"(.+?) - (入站规则|出站规则)", heading)
        assert match, heading
        role, direction = RANCHER_ROLES[match[1]], "ingress" if match[2] == "入站规则" else "egress"
        for row in rows:
            purpose = row["描述"]
            for zh, en in GLOSSARY.items():
                purpose = purpose.replace(zh, en)
            ports = [int(p) for p in row["端口"].split("-")]
            peers_cell = row["源地址"] if direction == "ingress" else row["目的地址"]
            for word in (w.strip() for w in peers_cell.split("<br />")):
                if re.fullmatch(r"[\d.]+/\d+", word):
                    peers = [word]
                else:
                    kind, name = RANCHER_PEERS[word]
                    peers = [name] if kind == "role" else cidrs.get(name, catalog.cidr_sets[name].default)
                for proto in row["协议"].lower().split("/"):
                    for peer in peers:
                        atoms[(role, direction, proto, ports[0], ports[-1], peer)] = purpose
    return atoms


def same_purpose(ours: str, theirs: str) -> bool:
    a, b = ours.lower(), theirs.lower()
    return a.startswith(b) or b.startswith(a)


@needs_seeds
def test_rancher_stack_reproduces_the_rancher_tables_inbound_and_outbound(projects, catalog, run_cli):
    code, out, err = run_cli("rules", "--stack", "rancher", "--format", "json")
    assert code == 0, err
    rules = json.loads(out)["rules"]
    ours = {(r["role"], r["direction"], str(r["protocol"]), r["from_port"], r["to_port"],
             next(iter(r["peer"].values()))): r for r in rules}
    cluster = projects["rancher"].stack.cluster
    assert cluster.egress == "strict"  # outbound rules are the flows' own, not an allow-all
    theirs = rancher_seed_atoms(cluster.cidrs, catalog)
    assert len(theirs) > 50 and {a[1] for a in theirs} == {"ingress", "egress"}
    missing = sorted(set(theirs) - set(ours))
    assert not missing
    for atom, purpose in theirs.items():
        assert same_purpose(ours[atom]["description"], purpose), (atom, ours[atom]["description"], purpose)
    extra = {ours[a]["key"] for a in set(ours) - set(theirs)}
    # strict egress also needs DNS, NTP, image pulls and cloud-init metadata (issue 12 item 6): node-egress.yaml's
    node_egress = {k for k in extra if all(src.startswith("portspecs/node-egress.yaml:") for src in
                                           next(r for r in rules if r["key"] == k)["sources"])}
    assert {"worker-out-udp-53-to-192.0.2.53-32-v4", "worker-out-udp-123-to-192.0.2.123-32-v4",
            "worker-out-tcp-443-to-192.0.2.80-29-v4", "worker-out-tcp-80-to-169.254.169.254-32-v4"} <= node_egress
    assert extra - node_egress == RANCHER_EXTRAS
    # every outbound row of the seed is there, per role
    for role in RANCHER_ROLES.values():
        assert {a for a in theirs if a[0] == role and a[1] == "egress"} <= set(ours)


@needs_seeds
def test_rancher_nodeport_is_tcp_and_udp_as_in_the_table(projects):
    keys = {r.key for r in projects["rancher"].resolution.rules}
    for role in ("control-plane", "worker"):
        for proto in ("tcp", "udp"):
            assert f"{role}-in-{proto}-30000-32767-from-198.51.100.0-24-v4" in keys
