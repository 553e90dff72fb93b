"""`kubeports export`: the nftables text (parsed back and checked), the change request
(csv, markdown) and the command line. Real packets are in test_netns.py."""
from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kubeports import cli
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT
from kubeports.core.project import Project, load_project
from kubeports.core.rules import Rule
from kubeports.render.export import (
    as_csv,
    as_request_markdown,
    load_addresses,
    nft_rule,
    nftables_ruleset,
    request_rows,
    set_name,
)

EXAMPLES = ("dev", "prod-aws", "rancher", "offline")


@pytest.fixture(scope="module")
def example() -> dict[str, Project]:
    return {name: load_project(os.path.join(ROOT, f"Pulumi.{name}.yaml")) for name in EXAMPLES}


def parse_nft(text: str) -> dict:
    """The parts of an nftables file these tests look at: tables, sets, chains."""
    out: dict = {"preamble": [], "tables": [], "sets": {}, "chains": {}}
    where: tuple[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := re.fullmatch(r"table inet (\S+) \{", line):
            out["tables"].append(m[1])
        elif m := re.fullmatch(r"(set|chain) (\S+) \{", line):
            where = (m[1], m[2])
            if m[1] == "set":
                out["sets"][m[2]] = {"elements": []}
            else:
                out["chains"][m[2]] = {"rules": []}
        elif line == "}":
            where = None
        elif where is None:
            out["preamble"].append(line)
        elif where[0] == "set":
            if m := re.fullmatch(r"type (\S+)", line):
                out["sets"][where[1]]["type"] = m[1]
            elif m := re.fullmatch(r"elements = \{ (.*) \}", line):
                out["sets"][where[1]]["elements"] = m[1].split(", ")
        elif m := re.search(r"policy (\w+);", line):
            out["chains"][where[1]]["policy"] = m[1]
        else:
            out["chains"][where[1]]["rules"].append(line)
    return out


def comment_of(statement: str) -> str | None:
    m = re.search(r'comment "([^"]*)"$', statement)
    return m[1] if m else None


def rule(protocol: str, low: int | None = None, high: int | None = None, *, peer: str = "worker",
         kind: str = "role", direction: str = "ingress", family: str = "IPv4") -> Rule:
    return Rule("control-plane", direction, protocol, low, high, kind, peer, family, "why", ("f.yaml:1",))


# ---------------------------------------------------------------- nftables

@pytest.mark.parametrize("stack", EXAMPLES)
def test_each_rule_is_one_nft_rule_in_its_chain_named_by_its_key(example: dict[str, Project], stack: str) -> None:
    project = example[stack]
    for role in project.resolution.local_roles:
        parsed = parse_nft(nftables_ruleset(project, role, {}, stack))
        assert parsed["tables"] == [f"kubeports_{role.replace('-', '_')}"]
        for direction, chain in (("ingress", "input"), ("egress", "output")):
            keys = [comment_of(s) for s in parsed["chains"][chain]["rules"]]
            wanted = [r.key for r in project.resolution.rules if r.role == role and r.direction == direction]
            assert wanted, f"{stack}/{role}/{direction}: the example should have rules"
            assert [k for k in keys if k in wanted] == wanted  # each once, in the plan's order
            # Whatever else the chain holds is the fixed preamble, never a stray rule.
            assert all(k in wanted or k is None or "discovery" in k or "pods" in k for k in keys)


@pytest.mark.parametrize(("stack", "output_policy"), [("dev", "accept"), ("prod-aws", "drop"), ("rancher", "drop")])
def test_inbound_drops_and_outbound_follows_the_egress_setting(example: dict[str, Project], stack: str,
                                                               output_policy: str) -> None:
    project = example[stack]
    assert project.stack.cluster.egress == ("open" if output_policy == "accept" else "strict")
    for role in project.resolution.local_roles:
        chains = parse_nft(nftables_ruleset(project, role, {}, stack))["chains"]
        assert chains["input"]["policy"] == "drop"
        assert chains["output"]["policy"] == output_policy


def test_state_and_loopback_come_first(example: dict[str, Project]) -> None:
    chains = parse_nft(nftables_ruleset(example["prod-aws"], "worker", {}, "t"))["chains"]
    assert chains["input"]["rules"][:3] == ["ct state established,related accept", "ct state invalid drop",
                                            'iif "lo" accept']
    assert chains["output"]["rules"][:3] == ["ct state established,related accept", "ct state invalid drop",
                                             'oif "lo" accept']


def test_the_file_replaces_its_table_when_loaded_again(example: dict[str, Project]) -> None:
    parsed = parse_nft(nftables_ruleset(example["dev"], "control-plane", {}, "t"))
    assert parsed["preamble"] == ["table inet kubeports_control_plane", "delete table inet kubeports_control_plane"]


def test_ipv6_neighbour_discovery_is_accepted_whenever_ipv6_is_in_use(example: dict[str, Project]) -> None:
    for stack in ("dev", "offline"):  # dual stack; IPv4 only but egress open (which allows IPv6 out)
        chains = parse_nft(nftables_ruleset(example[stack], "worker", {}, stack))["chains"]
        for chain in ("input", "output"):
            nd = [s for s in chains[chain]["rules"] if "nd-neighbor-solicit" in s]
            assert len(nd) == 1 and "nd-neighbor-advert" in nd[0] and "ip6 hoplimit 255" in nd[0]
    strict_v4 = nftables_ruleset(example["prod-aws"], "worker", {}, "prod-aws")
    assert "icmpv6" not in strict_v4 and "ip6 " not in strict_v4


@pytest.mark.parametrize(("shape", "expected"), [
    (rule("tcp", 6443, 6443), "ip saddr @role_worker_v4 tcp dport 6443 accept"),
    (rule("udp", 30000, 32767, family="IPv6"), "ip6 saddr @role_worker_v6 udp dport 30000-32767 accept"),
    (rule("tcp"), "ip saddr @role_worker_v4 meta l4proto tcp accept"),
    (rule("4"), "ip saddr @role_worker_v4 meta l4proto 4 accept"),
    (rule("112", direction="egress"), "ip daddr @role_worker_v4 meta l4proto 112 accept"),
    (rule("icmp", 8, 0), "ip saddr @role_worker_v4 icmp type 8 icmp code 0 accept"),
    (rule("icmpv6", 1, None, family="IPv6"), "ip6 saddr @role_worker_v6 icmpv6 type 1 accept"),
    (rule("icmp"), "ip saddr @role_worker_v4 meta l4proto icmp accept"),
    (rule("icmpv6", family="IPv6"), "ip6 saddr @role_worker_v6 meta l4proto ipv6-icmp accept"),
    (rule("all", direction="egress", kind="cidr", peer="0.0.0.0/0"), "meta nfproto ipv4 accept"),
    (rule("tcp", 22, 22, kind="cidr", peer="198.51.100.0/24"), "ip saddr @cidr_198_51_100_0_24_v4 tcp dport 22 accept"),
    (rule("tcp", 80, 80, kind="cidr", peer="::/0", family="IPv6"), "meta nfproto ipv6 tcp dport 80 accept"),
])
def test_nft_statement_per_rule_shape(shape: Rule, expected: str) -> None:
    assert nft_rule(shape) == f'{expected} comment "{shape.key}"'


def test_set_names_never_collide() -> None:
    peers = [("cidr", "fd00:213::c0/122", "IPv6"), ("cidr", "fd00:213:c0::/122", "IPv6"),
             ("cidr", "10.1.0.0/16", "IPv4"), ("cidr", "10.1.0.0/24", "IPv4"), ("role", "worker", "IPv4"),
             ("role", "worker", "IPv6"), ("role", "control-plane", "IPv4")]
    names = [set_name(*p) for p in peers]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_addresses_fill_the_role_sets_by_family(example: dict[str, Project], tmp_path: Path) -> None:
    path = tmp_path / "addresses.yaml"
    path.write_text("control-plane: [10.0.0.11, 10.0.0.12, 'fd00::11']\nworker: [10.0.1.0/28]\n")
    addresses = load_addresses(str(path))
    sets = parse_nft(nftables_ruleset(example["dev"], "worker", addresses, "dev"))["sets"]
    assert sets["role_control_plane_v4"] == {"type": "ipv4_addr", "elements": ["10.0.0.11", "10.0.0.12"]}
    assert sets["role_control_plane_v6"] == {"type": "ipv6_addr", "elements": ["fd00::11"]}
    assert sets["role_worker_v4"]["elements"] == ["10.0.1.0/28"]
    assert sets["role_worker_v6"]["elements"] == []  # none given: an empty placeholder
    assert sets["cidr_198_51_100_0_24_v4"]["elements"] == ["198.51.100.0/24"]
    assert sets["pod_cidrs_v4"]["elements"] == ["10.244.0.0/16"]  # dev sets podCidrs


def test_without_addresses_role_sets_are_marked_placeholders(example: dict[str, Project]) -> None:
    text = nftables_ruleset(example["prod-aws"], "etcd", {}, "prod-aws")
    sets = parse_nft(text)["sets"]
    role_sets = [name for name in sets if name.startswith("role_")]
    assert role_sets == ["role_control_plane_v4", "role_etcd_v4", "role_worker_v4"]
    assert all(sets[name]["elements"] == [] for name in role_sets)  # fails closed until filled in
    assert text.count("# PLACEHOLDER: the IPv4 addresses of every") == len(role_sets)


@pytest.mark.parametrize(("content", "problem"), [
    ("workers: [10.0.0.1]\n", "a.yaml:1: workers: unknown role"),
    ("worker:\n  - 10.0.0.1\n  - 10.0.0.300\n", "a.yaml:3: worker[1]: '10.0.0.300' does not appear"),
    ("worker:\n  - 10.0.0.1/8\n", "a.yaml:2: worker[0]: 10.0.0.1/8 has host bits set"),
    ("worker: 10.0.0.1\n", "a.yaml:1: worker: must be a list of addresses"),
    ("- 10.0.0.1\n", "a.yaml:1: (document): must map roles to lists of addresses"),
])
def test_addresses_file_errors_name_the_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(content)
    with pytest.raises(KubeportsError) as err:
        load_addresses(str(path))
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(problem)


@pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0, reason="`nft -c` needs nft and root")
@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_example_ruleset_passes_nft_check(example: dict[str, Project], stack: str, tmp_path: Path) -> None:
    project = example[stack]
    path = tmp_path / "addresses.yaml"
    path.write_text("control-plane: [192.0.2.1, '2001:db8::1']\nworker: [192.0.2.2]\n")
    for addresses in ({}, load_addresses(str(path))):
        for role in project.resolution.local_roles:
            done = subprocess.run(["nft", "-c", "-f", "-"], input=nftables_ruleset(project, role, addresses, stack),
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{stack}/{role}: {done.stderr}"


# ---------------------------------------------------------------- change request

def test_change_request_has_one_row_per_flow_and_every_rule_key(example: dict[str, Project]) -> None:
    project = example["prod-aws"]
    roles = list(project.resolution.local_roles)
    rows = list(csv.DictReader(io.StringIO(as_csv(project, roles, {}, "t"))))
    assert list(rows[0]) == ["Source", "Destination", "Family", "Protocol", "Port", "Purpose", "Source document",
                             "Rule keys"]
    keys = [k for row in rows for k in row["Rule keys"].split()]
    assert sorted(keys) == sorted(r.key for r in project.resolution.rules)  # every rule, each once
    flows = [(r["Source"], r["Destination"], r["Family"], r["Protocol"], r["Port"]) for r in rows]
    assert len(flows) == len(set(flows))
    api = [r for r in rows if r["Source"] == "worker nodes" and r["Destination"] == "control-plane nodes"
           and r["Port"] == "6443"]
    assert len(api) == 1  # the worker's egress rule and the control plane's ingress rule: one flow
    assert set(api[0]["Rule keys"].split()) == {"control-plane-in-tcp-6443-from-worker-v4",
                                                "worker-out-tcp-6443-to-control-plane-v4"}
    assert api[0]["Source document"] == ("portspecs/rke2.yaml:24 "
                                         "https://docs.rke2.io/install/requirements#inbound-network-rules")
    ssh = [r for r in rows if r["Port"] == "22" and r["Destination"] == "etcd nodes"]
    assert [(r["Source"], r["Protocol"], r["Purpose"]) for r in ssh] == [
        ("10.20.30.0/24", "TCP", "SSH to nodes through the bastion")]


def test_change_request_open_egress_and_addresses(example: dict[str, Project], tmp_path: Path) -> None:
    path = tmp_path / "addresses.yaml"
    path.write_text("worker: [10.0.1.5, 10.0.1.6]\n")
    rows = request_rows(example["dev"], ["worker"], load_addresses(str(path)))
    out = [r for r in rows if r.destination.startswith("anywhere")]
    assert [(r.source, r.destination, r.protocol, r.port) for r in out] == [
        ("worker nodes (10.0.1.5, 10.0.1.6)", "anywhere (0.0.0.0/0)", "ALL", "all"),
        ("worker nodes (10.0.1.5, 10.0.1.6)", "anywhere (::/0)", "ALL", "all")]
    assert out[0].documents and all(d.startswith(("stack setting kubeports:cluster.egress", "portspecs/"))
                                    for d in out[0].documents)


def test_markdown_request_matches_the_csv(example: dict[str, Project]) -> None:
    project = example["rancher"]
    roles = list(project.resolution.local_roles)
    lines = as_request_markdown(project, roles, {}, "stack rancher").splitlines()
    assert lines[0] == "# Firewall change request: stack rancher"
    table = [line for line in lines if line.startswith("|")]
    assert table[0].startswith("| Source | Destination |") and set(table[1]) <= {"|", "-"}
    assert len(table) - 2 == len(as_csv(project, roles, {}, "t").splitlines()) - 1
    assert all(line.count(" | ") == 7 for line in table[2:])  # purposes with "|" would break the table


# ---------------------------------------------------------------- command line

def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_exports_one_role(tmp_path: Path) -> None:
    code, out, err = run_cli("export", "--stack", "prod-aws", "--role", "etcd")
    assert code == 0
    assert parse_nft(out)["tables"] == ["kubeports_etcd"]
    assert "note: no addresses for role control-plane: its sets are empty placeholders" in err
    code, out, _ = run_cli("export", "--stack", "prod-aws", "--format", "csv")
    assert code == 0 and out.startswith("Source,Destination,")


def test_cli_exports_every_role_by_default() -> None:
    code, out, _ = run_cli("export", "--stack", "rancher")
    assert code == 0
    assert parse_nft(out)["tables"] == ["kubeports_control_plane", "kubeports_etcd", "kubeports_rancher_server",
                                        "kubeports_worker"]


def test_cli_rejects_a_role_the_stack_lacks() -> None:
    code, out, err = run_cli("export", "--stack", "dev", "--role", "etcd")
    assert (code, out) == (1, "")
    assert "--role: 'etcd' is not a role of this stack; roles: control-plane, worker" in err


def test_nftables_skips_the_cloud_load_balancer_which_has_no_host() -> None:
    stack = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.octavia.yaml")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["export", "--stack-file", stack, "--format", "nftables"]) == 0
    tables = re.findall(r"^table inet (\S+) \{", out.getvalue(), re.M)
    assert "kubeports_control_plane" in tables and "kubeports_load_balancer" not in tables
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert cli.main(["export", "--stack-file", stack, "--format", "nftables", "--role", "load-balancer"]) == 1
    assert "no host to firewall" in err.getvalue()
    csv_out = io.StringIO()
    with contextlib.redirect_stdout(csv_out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["export", "--stack-file", stack, "--format", "csv"]) == 0
    assert "load-balancer" in csv_out.getvalue()  # the change request still lists its flows
