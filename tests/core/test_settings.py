"""Stack-config validation (`kubeports:*` in Pulumi.<stack>.yaml): each bad setting gets one
`path:line: field: message` line that names the key and points at the line it is on.

BASE is a valid stack; each case edits one line of it. Line numbers in the expectations
are BASE's (the numbers on the left below)."""
from __future__ import annotations

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project

BASE = """\
config:
  kubeports:cloud: openstack
  kubeports:openstack: {image: ubuntu, flavor: m1.large, networkId: net-1}
  kubeports:cluster:
    name: test
    distribution: kubeadm
    kubernetesVersion: "1.31"
    cni: {name: calico, mode: ipip}
    addons: [ingress-nginx]
    ipFamilies: [IPv4]
    egress: open
    ports: {kube-apiserver: 6443}
    cidrs: {admin: [198.51.100.0/24]}
    roles:
      control-plane: {count: 3}
      worker: {count: 2}
"""
#  1 config:
#  2   kubeports:cloud
#  3   kubeports:openstack
#  4   kubeports:cluster:
#  5 name, 6 distribution, 7 kubernetesVersion, 8 cni, 9 addons, 10 ipFamilies,
# 11 egress, 12 ports, 13 cidrs, 14 roles:, 15 control-plane, 16 worker
C = "config.kubeports:cluster"


def known(catalog, what: str) -> str:
    return ", ".join(sorted(getattr(catalog, what)))


def case(old: str, new: str, *expected: str, id: str):
    assert BASE.count(old) == 1, old
    return pytest.param(old, new, list(expected), id=id)


CASES = [
    # unknown keys (typos), at every level
    case("    egress: open", "    egres: open", f"{{f}}:11: {C}.egres: unknown key; did you mean 'egress'?", id="unknown-key"),
    case("worker: {count: 2}", "worker: {count: 2, falvor: m1.small}",
         f"{{f}}:16: {C}.roles.worker.falvor: unknown key; did you mean 'flavor'?", id="unknown-key-in-role"),
    case("  kubeports:cloud: openstack", "  kubeports:cloud: openstack\n  kubeports:clustre: {}",
         "{f}:3: config.kubeports:clustre: unknown key; did you mean 'kubeports:cluster'?", id="unknown-kubeports-key"),
    case("cni: {name: calico, mode: ipip}", "cni: {name: calico, mode: ipip, featrues: [typha]}",
         f"{{f}}:8: {C}.cni.featrues: unknown key; did you mean 'features'?", id="unknown-key-in-cni"),
    # wrong types
    case("ipFamilies: [IPv4]", "ipFamilies: IPv4", f"{{f}}:10: {C}.ipFamilies: 'IPv4': input should be a valid list",
         id="wrong-type-list"),
    case("worker: {count: 2}", "worker: {count: two}",
         f"{{f}}:16: {C}.roles.worker.count: 'two': input should be a valid integer, unable to parse string as an "
         "integer", id="wrong-type-count"),
    case('kubernetesVersion: "1.31"', "kubernetesVersion: 1.30",
         f'{{f}}:7: {C}.kubernetesVersion: 1.3 is a number; quote the version, e.g. "1.30" (YAML reads 1.30 as 1.3)',
         id="wrong-type-unquoted-version"),
    case('kubernetesVersion: "1.31"', 'kubernetesVersion: "one"',
         f"{{f}}:7: {C}.kubernetesVersion: 'one' is not a version like '1.31'", id="bad-version"),
    case("    roles:\n", "    roles: [control-plane]\n    rolez:\n",
         f"{{f}}:14: {C}.roles: ['control-plane']: input should be a valid dictionary",
         f"{{f}}:15: {C}.rolez: unknown key; did you mean 'roles'?", id="wrong-type-roles-and-typo-at-once"),
    # bad CIDRs
    case("admin: [198.51.100.0/24]", "admin: [198.51.100.1/24]",
         f"{{f}}:13: {C}.cidrs.admin[0]: '198.51.100.1/24' has host bits set; did you mean 198.51.100.0/24?",
         id="cidr-host-bits"),
    case("admin: [198.51.100.0/24]", "admin: [198.51.100.0/24, 300.1.0.0/16]",
         f"{{f}}:13: {C}.cidrs.admin[1]: '300.1.0.0/16' is not a CIDR", id="cidr-garbage"),
    case("admin: [198.51.100.0/24]", "admin: 198.51.100.0/24",
         f"{{f}}:13: {C}.cidrs.admin: '198.51.100.0/24': input should be a valid list", id="cidr-not-a-list"),
    # counts
    case("worker: {count: 2}", "worker: {count: -1}",
         f"{{f}}:16: {C}.roles.worker.count: Input should be greater than or equal to 0", id="negative-count"),
    case("worker: {count: 2}", "worker:\n        image: x\n        count: -1",
         f"{{f}}:18: {C}.roles.worker.count: Input should be greater than or equal to 0", id="negative-count-block"),
    case("control-plane: {count: 3}", "control-plane: {count: 0}",
         f"{{f}}:15: {C}.roles.control-plane.count: a control plane needs at least 1 node", id="control-plane-0"),
    case("control-plane: {count: 3}", "control-plane:\n        count: 0",
         f"{{f}}:16: {C}.roles.control-plane.count: a control plane needs at least 1 node",
         id="control-plane-0-block"),
    case("      worker: {count: 2}", "      wroker: {count: 2}",
         f"{{f}}:16: {C}.roles.wroker: 'wroker' is not one of: control-plane, worker, etcd, load-balancer, "
         "rancher-server, registry or bastion; did you mean 'worker'?", id="unknown-role"),
    # enumerations
    case("egress: open", "egress: closed", f"{{f}}:11: {C}.egress: 'closed' is not one of: open or strict",
         id="egress-closed"),
    case("egress: open", "egress: Strict",
         f"{{f}}:11: {C}.egress: 'Strict' is not one of: open or strict; did you mean 'strict'?",
         id="egress-case"),
    case("distribution: kubeadm", "distribution: k3os",
         f"{{f}}:6: {C}.distribution: 'k3os' is not one of: kubeadm, k3s, rke or rke2; did you mean 'k3s'?",
         id="unknown-distribution"),
    case("ipFamilies: [IPv4]", "ipFamilies: [IPv4, ipv6]",
         f"{{f}}:10: {C}.ipFamilies[1]: 'ipv6' is not one of: IPv4 or IPv6", id="unknown-family"),
    case("ipFamilies: [IPv4]", "ipFamilies: [IPv4, IPv4]", f"{{f}}:10: {C}.ipFamilies: lists a family twice",
         id="family-twice"),
    case("kubeports:cloud: openstack", "kubeports:cloud: gcp",
         "{f}:2: config.kubeports:cloud: 'gcp' is not one of: openstack or aws", id="unknown-cloud"),
    # named-port overrides
    case("ports: {kube-apiserver: 6443}", "ports: {kube-apiserver: 6443, kube-apiservr: 443}",
         f"{{f}}:12: {C}.ports.kube-apiservr: no spec defines a named port 'kube-apiservr'; did you mean 'kube-apiserver'?",
         id="override-nobody-defines"),
    case("ports: {kube-apiserver: 6443}", "ports:\n      kube-apiserver: 0",
         f"{{f}}:13: {C}.ports.kube-apiserver: port 0 is out of range 1-65535", id="override-port-0"),
    case("ports: {kube-apiserver: 6443}", "ports: {nodeport-range: 32767-30000}",
         f"{{f}}:12: {C}.ports.nodeport-range: range 32767-30000 is reversed", id="override-reversed"),
    case("ports: {kube-apiserver: 6443}", "ports: {kube-apiserver: https}",
         f"{{f}}:12: {C}.ports.kube-apiserver: 'https' must be a port number or a range", id="override-by-name"),
    # CIDR sets
    case("cidrs: {admin: [198.51.100.0/24]}", "cidrs: {admins: [198.51.100.0/24]}",
         f"{{f}}:13: {C}.cidrs.admins: no spec defines a CIDR set 'admins'; did you mean 'admin'?", id="cidr-set-nobody-defines"),
    case("cidrs: {admin: [198.51.100.0/24]}", "cidrs: {anywhere: [198.51.100.0/24]}",
         f"{{f}}:13: {C}.cidrs.anywhere: 'anywhere' is built in and cannot be changed", id="cidr-set-anywhere"),
    # cloud settings
    case("  kubeports:openstack: {image: ubuntu, flavor: m1.large, networkId: net-1}\n", "",
         "{f}:1: config: kubeports:openstack is required when kubeports:cloud is openstack", id="cloud-settings-missing"),
]

CATALOG_CASES = [
    # these need the catalog to know what exists; the "known:" lists come from it
    ("cni: {name: calico, mode: ipip}", "cni: {name: weave, mode: ipip}",
     "{f}:8: " + C + ".cni.name: unknown CNI 'weave'; known: {cnis}", "unknown-cni"),
    ("cni: {name: calico, mode: ipip}", "cni: {name: calico, mode: ipipip}",
     "{f}:8: " + C + ".cni.mode: unknown mode 'ipipip' for calico; known: {modes}; did you mean 'ipip'?", "unknown-cni-mode"),
    ("cni: {name: calico, mode: ipip}", "cni: {name: calico, mode: ipip, features: [typha, wiregaurd]}",
     "{f}:8: " + C + ".cni.features[1]: unknown feature 'wiregaurd' for calico; known: {features}; did you mean 'wireguard'?",
     "unknown-cni-feature"),
    ("addons: [ingress-nginx]", "addons: [ingress-nginx, ingress-ngnix]",
     "{f}:9: " + C + ".addons[1]: unknown add-on 'ingress-ngnix'; known: {addons}; did you mean 'ingress-nginx'?",
     "unknown-addon"),
    ("addons: [ingress-nginx]", "addons:\n      - ingress-nginx\n      - kubevip",
     "{f}:11: " + C + ".addons[1]: unknown add-on 'kubevip'; known: {addons}; did you mean 'kube-vip'?",
     "unknown-addon-block"),
]


def write_stack(tmp_path, text: str) -> str:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems_of(path: str) -> list[str]:
    with pytest.raises(KubeportsError) as caught:
        load_project(path)
    return [str(p) for p in caught.value.problems]


def test_base_stack_is_valid(tmp_path):
    project = load_project(write_stack(tmp_path, BASE))
    cluster = project.stack.cluster
    assert (cluster.name, cluster.kubernetes_version, cluster.egress) == ("test", "1.31", "open")
    assert cluster.roles["control-plane"].count == 3 and cluster.ports == {"kube-apiserver": (6443, 6443)}


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_bad_setting_gets_its_exact_error(tmp_path, old, new, expected):
    path = write_stack(tmp_path, BASE.replace(old, new))
    assert problems_of(path) == [e.replace("{f}", path) for e in expected]


@pytest.mark.parametrize(("old", "new", "expected"), [c[:3] for c in CATALOG_CASES], ids=[c[3] for c in CATALOG_CASES])
def test_setting_unknown_to_the_catalog_gets_its_exact_error(tmp_path, catalog, old, new, expected):
    path = write_stack(tmp_path, BASE.replace(old, new))
    want = expected.replace("{f}", path).replace("{cnis}", ", ".join(sorted(catalog.cnis)))
    want = want.replace("{addons}", ", ".join(sorted(catalog.addons)))
    want = want.replace("{modes}", ", ".join(sorted(catalog.cnis["calico"].modes)))
    want = want.replace("{features}", ", ".join(sorted(catalog.cnis["calico"].features)))
    assert problems_of(path) == [want]


def test_several_catalog_problems_at_once(tmp_path):
    text = BASE.replace("mode: ipip}", "mode: ipipip}").replace("[ingress-nginx]", "[nginx]")
    text = text.replace("{kube-apiserver: 6443}", "{apiserver: 6443}")
    path = write_stack(tmp_path, text)
    assert [p.split(": ")[1] for p in problems_of(path)] == [
        f"{C}.cni.mode", f"{C}.addons[0]", f"{C}.ports.apiserver"]


def test_other_namespaces_are_not_ours(tmp_path):
    """Keys like aws:region belong to other Pulumi packages and are ignored."""
    path = write_stack(tmp_path, BASE.replace("config:\n", "config:\n  aws:region: eu-central-1\n  foo:bar: 1\n"))
    assert load_project(path).stack.cloud == "openstack"


def test_stack_file_without_config(tmp_path):
    path = write_stack(tmp_path, "encryptionsalt: abc\n")
    assert problems_of(path) == [f"{path}:1: config: a stack file needs a config: mapping"]


def test_rules_cli_reports_a_bad_stack_and_exits_1(tmp_path, run_cli):
    path = write_stack(tmp_path, BASE.replace("egress: open", "egress: closed"))
    code, out, err = run_cli("rules", "--stack-file", path, "--format", "json")
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"{path}:11: {C}.egress: 'closed' is not one of: open or strict"]
