"""Issue 12: stacks written as a platform engineer would write them, checked rule by rule
against the upstream requirement pages (quotes in portspecs/*.yaml). One case per item:
the stack (distribution, CNI, mode, features, families, egress), the exact rule keys that
must exist and those that must not. Refusals assert their exact one-line message."""
from __future__ import annotations

import pytest

from kubeports.core.catalog import load_catalog
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import PORTSPECS
from kubeports.core.resolver import resolve
from kubeports.core.settings import ClusterSettings, StackConfig

CATALOG = load_catalog(PORTSPECS)


def cluster(distribution="kubeadm", cni="calico", mode="vxlan", features=(), families=("IPv4",), egress="open",
            roles=("control-plane", "worker"), **extra) -> ClusterSettings:
    return ClusterSettings.model_validate({
        "name": "up", "distribution": distribution, "kubernetesVersion": "1.31",
        "cni": {"name": cni, "mode": mode, "features": list(features)}, "ipFamilies": list(families),
        "egress": egress, "roles": {r: {"count": 0 if r == "load-balancer" else 3} for r in roles}, **extra})


def keys(c: ClusterSettings) -> set[str]:
    return {r.key for r in resolve(CATALOG, c).rules}


PODS = {"podCidrs": ["10.244.0.0/16", "fd00:10:244::/56"]}
CASES = [
    # 1: RKE2's supervisor on etcd-only servers too
    ("1-rke2-supervisor-on-etcd", cluster("rke2", "canal", roles=("etcd", "control-plane", "worker")),
     {"etcd-in-tcp-9345-from-worker-v4", "etcd-in-tcp-9345-from-control-plane-v4",
      "control-plane-in-tcp-9345-from-worker-v4"}, {"etcd-in-tcp-6443-from-worker-v4"}),
    # 2: RKE2 + flannel VXLAN is 4789; kubeadm + flannel stays 8472
    ("2-rke2-flannel-4789", cluster("rke2", "flannel"), {"worker-in-udp-4789-from-control-plane-v4"},
     {"worker-in-udp-8472-from-control-plane-v4"}),
    ("2-kubeadm-flannel-8472", cluster("kubeadm", "flannel"), {"worker-in-udp-8472-from-control-plane-v4"},
     {"worker-in-udp-4789-from-control-plane-v4"}),
    # 3: Typha with operator installs (RKE2 always; kubeadm with the operator feature); manifest kubeadm: none
    ("3-rke2-calico-typha", cluster("rke2", "calico"), {"worker-in-tcp-5473-from-control-plane-v4"}, set()),
    ("3-kubeadm-operator-typha", cluster(features=["operator"]), {"worker-in-tcp-5473-from-worker-v4"}, set()),
    ("3-kubeadm-manifest-no-typha", cluster(), set(), {"worker-in-tcp-5473-from-worker-v4"}),
    # 4: natively routed pod IPs: any protocol from the pod CIDRs, both families, strict-egress twins
    ("4-calico-bgp", cluster(mode="bgp", families=("IPv4", "IPv6"), egress="strict", **PODS),
     {"worker-in-all-from-10.244.0.0-16-v4", "worker-in-all-from-fd00.10.244..-56-v6",
      "worker-out-all-to-10.244.0.0-16-v4", "control-plane-out-all-to-fd00.10.244..-56-v6"}, set()),
    ("4-flannel-host-gw", cluster(cni="flannel", mode="host-gw", **PODS),
     {"worker-in-all-from-10.244.0.0-16-v4"}, {"worker-in-udp-8472-from-worker-v4"}),
    ("4-cilium-native", cluster(cni="cilium", mode="native", **PODS),
     {"control-plane-in-all-from-10.244.0.0-16-v4"}, {"worker-in-udp-8472-from-worker-v4"}),
    ("4-cilium-vxlan-no-pod-rules", cluster(cni="cilium", mode="vxlan", **PODS), {"worker-in-udp-8472-from-worker-v4"},
     {"worker-in-all-from-10.244.0.0-16-v4"}),
    # 5: dual-stack Calico IP-in-IP: protocol 4 for IPv4, the unencapsulated IPv6 pool from its pod CIDR
    ("5-ipip-dual-stack", cluster(mode="ipip", families=("IPv4", "IPv6"), **PODS),
     {"worker-in-proto4-from-worker-v4", "worker-in-all-from-fd00.10.244..-56-v6"},
     {"worker-in-proto4-from-worker-v6", "worker-in-all-from-10.244.0.0-16-v4"}),
    # 6: strict egress reaches DNS, NTP, registries and the metadata service
    ("6-strict-node-egress", cluster(egress="strict", cidrs={"dns-servers": ["192.0.2.53/32"],
                                                             "ntp-servers": ["192.0.2.123/32"],
                                                             "image-registries": ["192.0.2.80/29"]}),
     {"worker-out-udp-53-to-192.0.2.53-32-v4", "worker-out-tcp-53-to-192.0.2.53-32-v4",
      "worker-out-udp-123-to-192.0.2.123-32-v4", "worker-out-tcp-443-to-192.0.2.80-29-v4",
      "worker-out-tcp-80-to-192.0.2.80-29-v4", "control-plane-out-tcp-80-to-169.254.169.254-32-v4"}, set()),
    # 7: VRRP between the keepalived hosts, not on the cloud load balancer
    ("7-keepalived-vrrp", cluster(addons=["keepalived"], egress="strict",
                                  roles=("control-plane", "worker", "load-balancer")),
     {"control-plane-in-proto112-from-control-plane-v4", "control-plane-out-proto112-to-control-plane-v4",
      "control-plane-out-proto112-to-224.0.0.18-32-v4"}, {"load-balancer-in-proto112-from-load-balancer-v4"}),
    # 9: the API load balancer reaches only the API; Service load balancers are their own closed set
    ("9-api-lb-not-service-lb", cluster(addons=["ingress-nginx"], roles=("control-plane", "worker", "load-balancer")),
     {"control-plane-in-tcp-6443-from-load-balancer-v4"},
     {"worker-in-tcp-30000-32767-from-load-balancer-v4", "worker-in-udp-30000-32767-from-load-balancer-v4",
      "worker-in-tcp-10256-from-load-balancer-v4", "worker-in-tcp-443-from-load-balancer-v4"}),
    ("9-service-lbs-when-set", cluster(cidrs={"service-load-balancers": ["10.0.5.0/24"]}),
     {"worker-in-tcp-30000-32767-from-10.0.5.0-24-v4", "worker-in-tcp-10256-from-10.0.5.0-24-v4"}, set()),
    # 12: Canal's flannel backends are alternatives
    ("12-canal-wireguard", cluster("rke2", "canal", "wireguard"), {"worker-in-udp-51820-from-worker-v4"},
     {"worker-in-udp-8472-from-worker-v4"}),
    # 13: the offline profile's Calico BGP only in BGP modes
    ("13-offline-vxlan-no-bgp", cluster(addons=["offline-installer"]), {"worker-in-udp-4789-from-worker-v4"},
     {"worker-in-tcp-179-from-worker-v4"}),
    ("13-offline-ipip-bgp", cluster(mode="ipip", addons=["offline-installer"]), {"worker-in-tcp-179-from-worker-v4"},
     set()),
    # 14: RKE2 Calico/Canal health 9099 / Typha health 9098 bind localhost: no rule
    ("14-rke2-health-local", cluster("rke2", "calico"), set(),
     {"worker-in-tcp-9099-from-worker-v4", "worker-in-tcp-9098-from-worker-v4"}),
    ("14-rke2-canal-health-local", cluster("rke2", "canal"), set(), {"worker-in-tcp-9099-from-worker-v4"}),
    # k3s: 6443 supervisor + API on servers, flannel 8472, kubelet between nodes, etcd between servers
    ("k3s", cluster("k3s", "flannel", roles=("etcd", "control-plane", "worker")),
     {"etcd-in-tcp-6443-from-worker-v4", "control-plane-in-tcp-6443-from-worker-v4",
      "worker-in-udp-8472-from-etcd-v4", "worker-in-tcp-10250-from-control-plane-v4",
      "etcd-in-tcp-2379-2380-from-control-plane-v4", "worker-in-tcp-30000-32767-from-control-plane-v4"},
     {"control-plane-in-tcp-9345-from-worker-v4", "worker-in-tcp-6443-from-worker-v4",
      "etcd-in-tcp-2379-2380-from-worker-v4"}),
    ("k3s-wireguard", cluster("k3s", "flannel", "wireguard", families=("IPv4", "IPv6")),
     {"worker-in-udp-51820-from-worker-v4", "worker-in-udp-51821-from-worker-v6"}, {"worker-in-udp-8472-from-worker-v4"}),
    ("k3s-spegel", cluster("k3s", "flannel", addons=["spegel"]),
     {"worker-in-tcp-5001-from-worker-v4", "worker-in-tcp-6443-from-worker-v4"}, set()),
]


@pytest.mark.parametrize("stack,must,must_not", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_upstream_case(stack, must, must_not):
    got = keys(stack)
    assert must <= got, sorted(must - got)
    assert not must_not & got, sorted(must_not & got)


def refusal(c: ClusterSettings) -> str:
    with pytest.raises(KubeportsError) as caught:
        resolve(CATALOG, c)
    return str(caught.value)


def test_4_native_routing_requires_pod_cidrs():
    assert refusal(cluster(cni="cilium", mode="native", families=("IPv4", "IPv6"), podCidrs=["10.244.0.0/16"])) == (
        "(stack):1: config.kubeports:cluster.podCidrs: cilium mode native routes IPv6 pod addresses natively, "
        "so rules need them; list the cluster's IPv6 pod CIDR")


def test_4_native_routing_says_where_the_promise_does_not_hold():
    notes = resolve(CATALOG, cluster(mode="ipip", families=("IPv4", "IPv6"), **PODS)).notes
    assert ("calico mode ipip routes IPv6 pod addresses natively: pods (podCidrs) reach every port of the nodes that "
            "run them, etcd and kubelet included; see docs/promises.md (host firewall export, CNI host policy)") in notes
    assert not [n for n in resolve(CATALOG, cluster(mode="ipip")).notes if "natively" in n]


def test_5_ipip_dual_stack_requires_the_ipv6_pod_cidr_only():
    assert "routes IPv6 pod addresses" in refusal(cluster(mode="ipip", families=("IPv4", "IPv6")))
    assert keys(cluster(mode="ipip"))  # IPv4 only: encapsulated, no pod CIDR needed


def test_6_strict_egress_with_empty_sets_says_what_will_not_work():
    notes = resolve(CATALOG, cluster(egress="strict")).notes
    assert "strict egress and CIDR set 'dns-servers' is empty: nodes cannot resolve names (image pulls, API " \
           "endpoints by name)" in notes
    assert "strict egress and CIDR set 'image-registries' is empty: no node can pull an image" in notes
    assert not [n for n in resolve(CATALOG, cluster()).notes if n.startswith("strict egress")]


def test_8_kube_vip_arp_is_refused_on_aws_and_needs_its_vip_on_openstack():
    base = {"cluster": {"name": "v", "distribution": "kubeadm", "kubernetesVersion": "1.31",
                        "cni": {"name": "calico", "mode": "vxlan"}, "addons": ["kube-vip"],
                        "roles": {"control-plane": {"count": 3}}}}
    aws = {"cloud": "aws", "aws": {"ami": "ami-1", "instanceType": "m6i.large", "vpcId": "vpc-1",
                                   "subnetIds": ["subnet-1"]}}
    with pytest.raises(Exception, match="kube-vip's ARP mode cannot move its VIP in an AWS VPC"):
        StackConfig.model_validate({**base, **aws})
    openstack = {"cloud": "openstack", "openstack": {"image": "i", "flavor": "f", "networkId": "n"}}
    with pytest.raises(Exception, match="kube-vip needs its VIP here"):
        StackConfig.model_validate({**base, **openstack})
    with_vip = {**base, "cluster": {**base["cluster"], "vip": "10.0.0.10"}}
    assert str(StackConfig.model_validate({**with_vip, **openstack}).cluster.vip) == "10.0.0.10"


def test_10_an_override_that_shares_a_port_between_different_peers_is_refused():
    rke = {"roles": ("etcd", "control-plane", "worker"), "cidrs": {"ingress-clients": ["0.0.0.0/0"]}}
    c = cluster("rke", "canal", ports={"kube-apiserver": 443}, **rke)
    assert refusal(c) == (
        "(stack):1: config.kubeports:cluster.ports.kube-apiserver: makes kube-apiserver (portspecs/rancher.yaml:40, "
        "Kubernetes apiserver) and ingress-https (portspecs/rancher.yaml:42, Ingress controller (HTTPS)) share tcp "
        "port 443 on control-plane with different peers; move one of them")
    # sharing that exists with the catalog's defaults is not the override's doing
    assert keys(cluster("rke", "canal", **rke))
    assert keys(cluster("rke", "canal", ports={"kube-apiserver": 8443}, **rke))


def test_11_addon_nodeports_must_lie_in_the_nodeport_range():
    c = cluster(addons=["offline-installer", "kuboard"], ports={"nodeport-range": "31000-31999"})
    assert refusal(c) == (
        "(stack):1: config.kubeports:cluster.ports.nodeport-range: 31000-31999 leaves out Kuboard web "
        "(portspecs/offline-installer.yaml:72: kuboard, port 32766), a NodePort that would be open and unservable")
    assert keys(cluster(addons=["offline-installer", "kuboard"], ports={"nodeport-range": "32000-32767"}))


def test_16_a_covering_rule_names_the_purposes_it_covers():
    c = cluster(addons=["offline-installer", "kuboard", "grafana"], cidrs={"nodeport-clients": ["10.0.0.0/8"]})
    rules = {r.key: r for r in resolve(CATALOG, c).rules}
    assert rules["worker-in-tcp-30000-32767-from-10.0.0.0-8-v4"].description == (
        "Grafana web; Kuboard web; NodePort Services")
    assert "worker-in-tcp-32766-from-10.0.0.0-8-v4" not in rules
    # an allow-all already says what it admits: its text never changes when a flow is added
    assert rules["worker-out-all-to-anywhere-v4"].description == "egress open: allow all outbound"


def test_16_a_long_merged_description_fits_255_and_says_how_many_are_left_out():
    from kubeports.core.resolver import _finish, _Pending
    from kubeports.core.rules import Rule
    entry = _Pending(Rule("worker", "ingress", "tcp", 1, 2, "role", "worker", "IPv4", "", ()),
                     {f"purpose number {i:02d} of a long list" for i in range(20)})
    text = _finish(entry).description
    assert len(text) <= 255 and text.endswith(" more")
    shown = text.split("; ")[:-1]
    assert text.endswith(f"; +{20 - len(shown)} more") and shown == sorted(entry.purposes)[:len(shown)]
