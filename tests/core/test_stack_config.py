"""Stack-config validation, issue 6 §3: each bad `kubeports:*` setting gets one clear
`path:line: field: message` naming the key. Table-driven, exact texts.

tests/core/test_settings.py covers the first case of each kind (a typo, `count: two`, host
bits, `count: -1`, control plane of 0, `egress: closed`, an override nobody defines,
unknown CNI/mode/feature/add-on); the cases here are the others: wrong types that lax
parsing would accept, keys a hostile file can hold, every place a CIDR or a count sits,
and the references between settings (externalRoles and peerGroups, roll).

BASE is a valid stack; each case edits one line. Line numbers are BASE's:
 1 config, 2 cloud, 3 openstack, 4 cluster:, 5 name, 6 distribution, 7 kubernetesVersion,
 8 cni, 9 ipFamilies, 10 egress, 11 ports, 12 cidrs, 13 podCidrs, 14 quota, 15 roles:,
16 control-plane, 17 worker
"""
from __future__ import annotations

import re

import pytest

from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project

BASE = """\
config:
  kubeports:cloud: openstack
  kubeports:openstack: {image: ubuntu, flavor: m1.large, networkId: net-1, volumeSize: 50}
  kubeports:cluster:
    name: edge
    distribution: rke2
    kubernetesVersion: "1.31"
    cni: {name: canal, mode: vxlan}
    ipFamilies: [IPv4, IPv6]
    egress: strict
    ports: {kube-apiserver: 6443}
    cidrs: {admin: [198.51.100.0/24], api-clients: ["2001:db8::/48"]}
    podCidrs: [10.42.0.0/16]
    quota: {neutronRules: 500}
    roles:
      control-plane: {count: 3, protect: true}
      worker: {count: 2, volumeSize: 100}
"""
C = "config.kubeports:cluster"
OS = "config.kubeports:openstack"
LINE = re.compile(r"^[^:]+:\d+: \S.*: .+$")


def case(id: str, old: str, new: str, *expected: str):
    assert BASE.count(old) == 1, old
    return pytest.param(old, new, list(expected), id=id)


CASES = [
    # --- unknown keys, including keys only a hostile or mangled file holds
    case("unknown-key-in-openstack", "networkId: net-1", "networkID: net-1",
         f"{{f}}:3: {OS}.networkID: unknown key; did you mean 'networkId'?", f"{{f}}:3: {OS}.networkId: required"),
    case("unknown-key-in-quota", "quota: {neutronRules: 500}", "quota: {neutronRule: 500}",
         f"{{f}}:14: {C}.quota.neutronRule: unknown key; did you mean 'neutronRules'?"),
    case("empty-key", "    egress: strict\n", '    egress: strict\n    "": 1\n',
         f"{{f}}:11: {C}.'': unknown key"),
    case("blank-edged-key", "    egress: strict\n", '    egress: strict\n    " egress": open\n',
         f"{{f}}:11: {C}.' egress': unknown key; did you mean 'egress'?"),
    case("key-with-newline", "    egress: strict\n", '    egress: strict\n    "a\\nb": 1\n',
         f"{{f}}:11: {C}.'a\\nb': unknown key"),
    case("key-with-terminal-escape", "    egress: strict\n", '    egress: strict\n    "\\e[2Jx": 1\n',
         f"{{f}}:11: {C}.'\\x1b[2Jx': unknown key"),
    case("duplicate-key", "    egress: strict\n", "    egress: strict\n    egress: open\n",
         f"{{f}}:11: {C}.egress: duplicate key"),
    # --- wrong types
    case("count-true", "worker: {count: 2,", "worker: {count: true,",
         f"{{f}}:17: {C}.roles.worker.count: True is a boolean; a number is needed here"),
    case("volume-size-yes", "volumeSize: 100}", "volumeSize: yes}",
         f"{{f}}:17: {C}.roles.worker.volumeSize: True is a boolean; a number is needed here"),
    case("quota-true", "quota: {neutronRules: 500}", "quota: {neutronRules: true}",
         f"{{f}}:14: {C}.quota.neutronRules: True is a boolean; a number is needed here"),
    case("count-fraction", "worker: {count: 2,", "worker: {count: 2.5,",
         f"{{f}}:17: {C}.roles.worker.count: Input should be a valid integer, got a number with a fractional part"),
    case("protect-number", "{count: 3, protect: true}", "{count: 3, protect: 3}",
         f"{{f}}:16: {C}.roles.control-plane.protect: 3: input should be a valid boolean, unable to interpret input"),
    case("name-number", "    name: edge", "    name: 42", f"{{f}}:5: {C}.name: 42: input should be a valid string"),
    case("cni-string", "cni: {name: canal, mode: vxlan}", "cni: canal",
         f"{{f}}:8: {C}.cni: 'canal': input should be a valid dictionary or instance of CniSettings"),
    case("cluster-list", "  kubeports:cluster:\n", "  kubeports:cluster: []\n  kubeports:old:\n",
         f"{{f}}:4: {C}: []: input should be a valid dictionary or instance of ClusterSettings",
         "{f}:5: config.kubeports:old: unknown key; did you mean 'kubeports:cloud'?"),
    case("cloud-list", "kubeports:cloud: openstack", "kubeports:cloud: [openstack]",
         "{f}:2: config.kubeports:cloud: ['openstack'] is not one of: openstack or aws; did you mean 'openstack'?"),
    case("peer-group-number", "config:\n", "config:\n  kubeports:peerGroups: {etcd: 5}\n",
         "{f}:2: config.kubeports:peerGroups.etcd: 5: input should be a valid string"),
    # --- CIDRs that are not
    case("cidr-prefix-33", "admin: [198.51.100.0/24]", "admin: [198.51.100.0/33]",
         f"{{f}}:12: {C}.cidrs.admin[0]: '198.51.100.0/33' is not a CIDR"),
    case("cidr-number", "admin: [198.51.100.0/24]", "admin: [42]", f"{{f}}:12: {C}.cidrs.admin[0]: 42 is not a CIDR"),
    case("cidr-blank-edged", "admin: [198.51.100.0/24]", "admin: [' 198.51.100.0/24']",
         f"{{f}}:12: {C}.cidrs.admin[0]: ' 198.51.100.0/24' is not a CIDR"),
    case("cidr-v6-host-bits", '["2001:db8::/48"]', '["2001:db8::1/48"]',
         f"{{f}}:12: {C}.cidrs.api-clients[0]: '2001:db8::1/48' has host bits set; did you mean 2001:db8::/48?"),
    case("pod-cidr-prefix-33", "podCidrs: [10.42.0.0/16]", "podCidrs: [10.42.0.0/33]",
         f"{{f}}:13: {C}.podCidrs[0]: '10.42.0.0/33' is not a CIDR"),
    case("pod-cidrs-not-a-list", "podCidrs: [10.42.0.0/16]", "podCidrs: 10.42.0.0/16",
         f"{{f}}:13: {C}.podCidrs: '10.42.0.0/16': input should be a valid list"),
    # --- counts and sizes below their floor
    case("control-plane-negative", "control-plane: {count: 3,", "control-plane: {count: -1,",
         f"{{f}}:16: {C}.roles.control-plane.count: Input should be greater than or equal to 0"),
    case("count-huge", "worker: {count: 2,", "worker: {count: 1000000000000,",
         f"{{f}}:17: {C}.roles.worker.count: Input should be less than or equal to 10000"),
    case("quota-negative", "quota: {neutronRules: 500}", "quota: {neutronRules: -5}",
         f"{{f}}:14: {C}.quota.neutronRules: Input should be greater than or equal to 1"),
    case("role-volume-negative", "volumeSize: 100}", "volumeSize: -100}",
         f"{{f}}:17: {C}.roles.worker.volumeSize: Input should be greater than or equal to 8"),
    case("openstack-volume-negative", "volumeSize: 50}", "volumeSize: -1}",
         f"{{f}}:3: {OS}.volumeSize: Input should be greater than or equal to 8"),
    # --- CNI shape (unknown names are checked against the catalog, below)
    case("cni-name-case", "cni: {name: canal,", "cni: {name: Canal,",
         f"{{f}}:8: {C}.cni.name: 'Canal' is not a lowercase-kebab name"),
    case("cni-mode-missing", "cni: {name: canal, mode: vxlan}", "cni: {name: canal}",
         f"{{f}}:8: {C}.cni.mode: required"),
    case("cni-features-string", "mode: vxlan}", "mode: vxlan, features: wireguard}",
         f"{{f}}:8: {C}.cni.features: 'wireguard': input should be a valid list"),
    # --- named-port overrides
    case("override-name-case", "ports: {kube-apiserver: 6443}", "ports: {Kube-Apiserver: 6443}",
         f"{{f}}:11: {C}.ports.Kube-Apiserver: 'Kube-Apiserver' is not a lowercase-kebab name"),
    case("override-65536", "{kube-apiserver: 6443}", "{kube-apiserver: 65536}",
         f"{{f}}:11: {C}.ports.kube-apiserver: port 65536 is out of range 1-65535"),
    case("override-half-range", "{kube-apiserver: 6443}", "{kube-apiserver: '6443-'}",
         f"{{f}}:11: {C}.ports.kube-apiserver: '6443-' is not a port, a range 'lo-hi' or a named port"),
    case("override-list", "{kube-apiserver: 6443}", "{kube-apiserver: [6443]}",
         f"{{f}}:11: {C}.ports.kube-apiserver: [6443] is not a port, a range 'lo-hi' or a named port"),
    case("override-boolean", "{kube-apiserver: 6443}", "{kube-apiserver: true}",
         f"{{f}}:11: {C}.ports.kube-apiserver: True is not a port, a range 'lo-hi' or a named port"),
    case("override-a-cidr-set-name", "{kube-apiserver: 6443}", "{admin: 22}",
         f"{{f}}:11: {C}.ports.admin: no spec defines a named port 'admin'"),
    case("ports-a-list", "ports: {kube-apiserver: 6443}", "ports: [kube-apiserver]",
         f"{{f}}:11: {C}.ports: ['kube-apiserver']: input should be a valid dictionary"),
    # --- egress: open or strict, nothing else
    case("egress-yaml-boolean", "egress: strict", "egress: true", f"{{f}}:10: {C}.egress: True is not one of: open or strict"),
    case("egress-list", "egress: strict", "egress: [strict]",
         f"{{f}}:10: {C}.egress: ['strict'] is not one of: open or strict; did you mean 'strict'?"),
    case("egress-none", "egress: strict", "egress: none", f"{{f}}:10: {C}.egress: 'none' is not one of: open or strict"),
    case("egress-empty", "egress: strict", 'egress: ""', f"{{f}}:10: {C}.egress: '' is not one of: open or strict"),
    # --- references between settings
    case("external-role-without-group", "    roles:\n", "    externalRoles: [etcd]\n    roles:\n",
         f"{{f}}:15: {C}.externalRoles[0]: role 'etcd' is managed by another stack; set kubeports:peerGroups.etcd "
         "to its security group id"),
    case("roll-is-gone", "    roles:\n", "    roll: [control-plane]\n    roles:\n",  # per-role `rollout` now
         f"{{f}}:15: {C}.roll: unknown key; did you mean 'roles'?"),
    case("peer-group-unknown-role", "config:\n", "config:\n  kubeports:peerGroups: {database: sg-1}\n",
         "{f}:2: config.kubeports:peerGroups.database: 'database' is not one of: control-plane, worker, etcd, "
         "load-balancer, rancher-server, registry or bastion"),
]


def write_stack(tmp_path, text: str) -> str:
    path = tmp_path / "Pulumi.edge.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems_of(path: str) -> list[str]:
    with pytest.raises(KubeportsError) as caught:
        load_project(path)
    lines = str(caught.value).split("\n")
    assert all(LINE.match(line) and line.isprintable() for line in lines), lines
    return lines


def test_base_is_valid(tmp_path):
    project = load_project(write_stack(tmp_path, BASE))
    assert project.stack.cluster.roles["worker"].volume_size == 100


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_bad_setting_names_its_key(tmp_path, old, new, expected):
    path = write_stack(tmp_path, BASE.replace(old, new))
    assert problems_of(path) == [e.replace("{f}", path) for e in expected]


def test_external_role_with_its_group_is_fine(tmp_path):
    text = BASE.replace("config:\n", "config:\n  kubeports:peerGroups: {etcd: sg-0123}\n")
    project = load_project(write_stack(tmp_path, text.replace("    roles:\n", "    externalRoles: [etcd]\n    roles:\n")))
    assert project.stack.cluster.external_roles == ["etcd"]


def test_mode_of_another_cni(tmp_path, catalog):
    """ipip is a Calico mode: canal does not have it."""
    path = write_stack(tmp_path, BASE.replace("mode: vxlan}", "mode: ipip}"))
    known = ", ".join(sorted(catalog.cnis["canal"].modes))
    assert problems_of(path) == [f"{path}:8: {C}.cni.mode: unknown mode 'ipip' for canal; known: {known}"]
