"""`kubeports inventory`: a stack's nodes as an Ansible inventory with kubespray's group names.

kubeports does not install Kubernetes; this is what it hands the bootstrapper. Pure: it
reads a stack's outputs (a real stack's `pulumi stack output --json`, or an offline
plan's) and the stack's settings, no pulumi. Rules of this file:
- groups are kubespray's (docs/ansible/inventory.md and inventory/sample/inventory.ini of
  kubernetes-sigs/kubespray): `kube_control_plane`, `etcd`, `kube_node`, `calico_rr`
  (empty: kubeports has no route-reflector role; listed for Calico stacks, as the
  sample does), `k8s_cluster` with children kube_control_plane, kube_node, calico_rr,
  and `bastion`; without an etcd role, etcd is stacked on the control plane (kubeadm's
  and kubespray's default), so the etcd group is the control-plane nodes;
- every host is also in `kubeports_<role>` and, in a pool, `kubeports_<role>_<pool>`
  (dashes as underscores: Ansible group names), so a play can target one pool;
- host variables are kubespray's: `ansible_host`, `ip` and `access_ip` (the private
  address; the bastion's `ansible_host` is its public one), `etcd_member_name` for etcd
  hosts, `node_labels` for labelled pools; the API load balancer becomes
  `loadbalancer_apiserver` (and `apiserver_loadbalancer_domain_name` for a DNS name);
- addresses from an offline plan are mock values: the text says so on its first line
  and sets `kubeports_addresses: mock`, so nobody bootstraps against them unawares;
- hosts, groups and variables come out sorted: the same outputs give the same bytes.
"""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.settings import ClusterSettings

KUBESPRAY = "https://github.com/kubernetes-sigs/kubespray/blob/master/docs/ansible/inventory.md"
GROUP_OF_ROLE = {"control-plane": "kube_control_plane", "worker": "kube_node", "etcd": "etcd", "bastion": "bastion"}
CLUSTER_CHILDREN = ("kube_control_plane", "kube_node", "calico_rr")
MOCK_NOTE = ("MOCK ADDRESSES: from an offline plan (Pulumi's mock runtime); no cloud was contacted. "
             "Bootstrap with a real stack's outputs: --outputs FILE (pulumi stack output --json) or --pulumi")


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    pool: str | None
    private_ip: str
    public_ip: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Inventory:
    cluster: str
    source: str  # where the addresses come from, for the header
    mock: bool
    hosts: list[Host]
    groups: dict[str, list[str]]  # group -> host names
    children: dict[str, list[str]]  # group -> child groups
    vars: dict[str, Any]

    def host_vars(self, host: Host) -> dict[str, Any]:
        out: dict[str, Any] = {"ansible_host": host.public_ip if host.role == "bastion" and host.public_ip
                               else host.private_ip}
        if host.role != "bastion":
            out.update(ip=host.private_ip, access_ip=host.private_ip)
        if host.name in self.groups.get("etcd", []):
            out["etcd_member_name"] = host.name
        if host.labels:
            out["node_labels"] = dict(sorted(host.labels.items()))
        return out


def hosts_of(outputs: Mapping[str, Any], cluster: ClusterSettings, where: str) -> list[Host]:
    """Every VM of the outputs' `nodes`; outputs from before it (no `nodes`) name them
    from `<role>_private_ips` as the program did: `<cluster>-<role>-<index>`."""
    nodes = outputs.get("nodes")
    out: list[Host] = []
    if isinstance(nodes, Mapping):
        for role, records in sorted(nodes.items()):
            if not isinstance(records, list) or not all(isinstance(r, Mapping) and isinstance(r.get("name"), str)
                                                        and isinstance(r.get("private_ip"), str) for r in records):
                raise KubeportsError([Problem(where, 1, f"nodes.{role}", "expected a list of {name, private_ip, ...}")])
            out += [Host(r["name"], role, r.get("pool"), r["private_ip"], r.get("public_ip"),
                         dict(r.get("labels") or {})) for r in records]
        return sorted(out, key=lambda h: h.name)
    for role in sorted(cluster.roles):
        ips = outputs.get(f"{role}_private_ips")
        public = outputs.get(f"{role}_public_ips") or []
        if isinstance(ips, list):
            out += [Host(f"{cluster.name}-{role}-{i}", role, None, str(ip), str(public[i]) if i < len(public) else None)
                    for i, ip in enumerate(ips)]
    if not out:
        raise KubeportsError([Problem(where, 1, "outputs", "no `nodes` (nor `<role>_private_ips`) output: not "
                                      "the outputs of a kubeports stack?")])
    return sorted(out, key=lambda h: h.name)


def group_name(*parts: str) -> str:
    return "_".join(parts).replace("-", "_")


def build(outputs: Mapping[str, Any], cluster: ClusterSettings, *, source: str, mock: bool,
          where: str = "(outputs)") -> Inventory:
    hosts = hosts_of(outputs, cluster, where)
    groups: dict[str, list[str]] = {g: [] for g in ("kube_control_plane", "kube_node", "etcd")}
    if cluster.cni.name == "calico":
        groups["calico_rr"] = []
    for host in hosts:
        kubespray = GROUP_OF_ROLE.get(host.role)
        if kubespray:
            groups.setdefault(kubespray, []).append(host.name)
        if host.role == "control-plane" and "etcd" not in cluster.present_roles:
            groups["etcd"].append(host.name)  # stacked etcd
        groups.setdefault(group_name("kubeports", host.role), []).append(host.name)
        if host.pool is not None:
            groups.setdefault(group_name("kubeports", host.role, host.pool), []).append(host.name)
    children = {"k8s_cluster": [g for g in CLUSTER_CHILDREN if g in groups]}
    variables: dict[str, Any] = {"kubeports_cluster": cluster.name}
    if mock:
        variables["kubeports_addresses"] = "mock"
    variables.update(api_vars(outputs))
    return Inventory(cluster.name, source, mock, hosts, {g: sorted(h) for g, h in sorted(groups.items())},
                     children, variables)


def api_vars(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """kubespray's HA variables for a stack with the API behind the cloud's load balancer."""
    if not outputs.get("load_balancer_address") or not isinstance(outputs.get("api_endpoint"), str):
        return {}
    url = urlsplit(outputs["api_endpoint"])
    address = str(outputs["load_balancer_address"])
    out: dict[str, Any] = {"loadbalancer_apiserver": {"address": address, "port": url.port or 443}}
    try:
        ipaddress.ip_address(address)
    except ValueError:  # an AWS NLB is a DNS name
        out["apiserver_loadbalancer_domain_name"] = address
    return out


def header(inv: Inventory) -> list[str]:
    lines = [f"# {MOCK_NOTE}"] if inv.mock else []
    return lines + [f"# kubeports inventory of cluster {inv.cluster}, addresses from {inv.source}.",
                    f"# kubeports does not install Kubernetes; kubespray's groups ({KUBESPRAY})."]


def to_yaml(inv: Inventory) -> str:
    children: dict[str, Any] = {group: {"hosts": {name: None for name in names}} for group, names in inv.groups.items()}
    for group, kids in inv.children.items():
        children[group] = {"children": {kid: None for kid in kids}}
    doc = {"all": {"vars": inv.vars, "hosts": {h.name: inv.host_vars(h) for h in inv.hosts},
                   "children": dict(sorted(children.items()))}}
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return "\n".join(header(inv)) + "\n" + body.replace(": null\n", ":\n")


def _ini_value(value: Any) -> str:
    """A host variable on an INI host line: Ansible reads it as a Python literal (shlex-split)."""
    if isinstance(value, Mapping):
        return "'" + json.dumps(value, separators=(",", ":"), sort_keys=True) + "'"
    return str(value)


def to_ini(inv: Inventory) -> str:
    lines = header(inv) + ["[all]"]
    lines += [" ".join([h.name] + [f"{k}={_ini_value(v)}" for k, v in inv.host_vars(h).items()]) for h in inv.hosts]
    lines += ["", "[all:vars]"]
    for key, value in inv.vars.items():
        if isinstance(value, Mapping):  # :vars values are strings in INI: a mapping belongs in group_vars
            lines.append(f"# {key}: {json.dumps(value, sort_keys=True)}  (set it in group_vars/all; INI :vars are strings)")
        else:
            lines.append(f"{key}={value}")
    for group, names in inv.groups.items():
        lines += ["", f"[{group}]", *names]
    for group, kids in inv.children.items():
        lines += ["", f"[{group}:children]", *kids]
    return "\n".join(lines) + "\n"


FORMATS = {"yaml": to_yaml, "ini": to_ini}
