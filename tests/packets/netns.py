"""A throw-away network of Linux network namespaces for real-packet tests.

Rules of this file:
- everything it creates carries one unique prefix, and `Lab.close()` removes it all:
  the processes it started (by process group id, nothing else) and its namespaces;
- the hosts sit on one bridge that lives in a namespace of its own, so nothing is added
  to the machine's own network namespace and its firewall never sees these packets;
- hosts get addresses only from TEST_V4/TEST_V6 (nodes of natively routed stacks also one
  pod address each from POD_V4/POD_V6, on the same link) and no default route: a probe can
  reach the lab's hosts and nothing else. Probes refuse any target outside the lab;
- sockets for probes are opened inside a host's namespace by the calling thread
  (setns affects only that thread), so probes run in parallel without a process each.
"""
from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TEST_V4 = ipaddress.ip_network("10.213.0.0/24")
TEST_V6 = ipaddress.ip_network("fd00:213::/64")  # unique local: never routed
# Pod addresses of natively routed stacks: a node's pod sits on the node's own link (the
# lab's stand-in for the route a CNI installs), so pod-to-pod packets cross the node
# firewalls with pod source and destination addresses, as they do in bgp/host-gw/native.
POD_V4 = ipaddress.ip_network("10.244.0.0/16")
POD_V6 = ipaddress.ip_network("fd00:244::/56")
# The link-local multicast groups probes may send to (VRRP's, RFC 5798 5.1.1.2).
LINK_GROUPS = (ipaddress.ip_address("224.0.0.18"), ipaddress.ip_address("ff02::12"))
TOOLS = ("ip", "nft", "socat", "ss")
CLONE_NEWNET = 0x40000000
NETLINK_NETFILTER = 12
CT_DELETE = (1 << 8) | 2  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
NLM_F_REQUEST, NLM_F_ACK = 1, 4
_libc = ctypes.CDLL(None, use_errno=True)


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "real-packet test needs root (network namespaces, nftables)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"real-packet test needs {', '.join(missing)}: apt-get install -y iproute2 nftables socat"
    return None


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@dataclass
class Host:
    name: str  # short name, e.g. worker-1
    role: str | None  # None: the outside host
    index: int
    netns: str = ""
    pods: tuple[str, ...] = ()  # the families this host has a pod address in
    v4: ipaddress.IPv4Address = field(init=False)
    v6: ipaddress.IPv6Address = field(init=False)

    def __post_init__(self) -> None:
        self.v4 = TEST_V4[self.index]
        self.v6 = TEST_V6[self.index]

    def addr(self, family: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return self.v4 if family == "IPv4" else self.v6

    def pod_addr(self, family: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return POD_V4[self.index] if family == "IPv4" else POD_V6[self.index]

    def addresses(self) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [self.v4, self.v6] + [self.pod_addr(f) for f in self.pods]


class Lab:
    """Hosts on one bridge. Use as a context manager, or call close() in a finalizer."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.switch = f"{prefix}-sw"
        self.hosts: list[Host] = []
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()
        self._root_fd = os.open("/proc/self/ns/net", os.O_RDONLY)

    # -- building
    def sh(self, *cmd: str, netns: str | None = None, check: bool = True, stdin: str | None = None) -> str:
        full = ["ip", "netns", "exec", netns, *cmd] if netns else list(cmd)
        done = subprocess.run(full, input=stdin, capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(full)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def _add_netns(self, name: str) -> None:
        self.sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        self._fds[name] = os.open(f"/run/netns/{name}", os.O_RDONLY)

    def start(self) -> None:
        self._add_netns(self.switch)
        # The switch has no address of either family: it forwards and never speaks.
        self.sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        self.sh("ip", "-n", self.switch, "link", "set", "br0", "addrgenmode", "none")
        self.sh("ip", "-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name: str, role: str | None, index: int, pods: tuple[str, ...] = ()) -> Host:
        """`index` picks the addresses: TEST_V4[index] and TEST_V6[index], and for each
        family in `pods` a pod address POD_V4[index] / POD_V6[index]."""
        host = Host(name, role, index, f"{self.prefix}-{name}", tuple(pods))
        ns, port = host.netns, f"p{len(self.hosts)}"
        self._add_netns(ns)
        pod_lines = [f"addr add {host.pod_addr(f)}/{(POD_V4 if f == 'IPv4' else POD_V6).prefixlen} dev eth0"
                     + (" nodad" if f == "IPv6" else "") for f in host.pods]
        batch = "\n".join([
            f"link add eth0 type veth peer name {port} netns {self.switch}",
            "link set lo up",
            f"addr add {host.v4}/{TEST_V4.prefixlen} dev eth0",
            f"addr add {host.v6}/{TEST_V6.prefixlen} dev eth0 nodad",
            *pod_lines,
            "link set eth0 up",
            # every host reaches the pod addresses on the link (a node's own pod net is on-link already)
            *[f"route add {net} dev eth0" for net, f in ((POD_V4, "IPv4"), (POD_V6, "IPv6")) if f not in host.pods],
        ])
        self.sh("ip", "-n", ns, "-batch", "-", stdin=batch + "\n")
        self.sh("ip", "-n", self.switch, "link", "set", port, "addrgenmode", "none")
        self.sh("ip", "-n", self.switch, "link", "set", port, "master", "br0", "up")
        self.hosts.append(host)
        return host

    def spawn(self, host: Host, *cmd: str) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", host.netns, *cmd], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(proc)
        return proc

    # -- probing
    @contextmanager
    def inside(self, host: Host) -> Iterator[None]:
        """Run the body with this thread in the host's namespace (sockets made there stay there)."""
        _setns(self._fds[host.netns])
        try:
            yield
        finally:
            _setns(self._root_fd)

    def socket(self, host: Host, family: str, kind: int, proto: int = 0) -> socket.socket:
        af = socket.AF_INET if family == "IPv4" else socket.AF_INET6
        with self.inside(host):
            return socket.socket(af, kind, proto)

    def flush_conntrack(self, host: Host) -> None:
        """Forget the host's connection state (what `conntrack -F` does), over ctnetlink."""
        with self.inside(host):
            nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            for family in (socket.AF_INET, socket.AF_INET6):
                body = struct.pack("BBH", family, 0, 0)  # nfgenmsg; no tuple attribute: flush all
                msg = struct.pack("IHHII", 16 + len(body), CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body
                nl.send(msg)
                reply = nl.recv(4096)
                error = struct.unpack("i", reply[16:20])[0]  # NLMSG_ERROR; 0 is the ACK
                if error not in (0, -errno.ENOENT):
                    raise OSError(-error, f"conntrack flush in {host.netns}: {os.strerror(-error)}")
        finally:
            nl.close()

    def check_target(self, target: str) -> None:
        addr = ipaddress.ip_address(target)
        if addr in LINK_GROUPS:
            return  # link-local multicast: sent with TTL/hop limit 1, never leaves the bridge
        if not any(addr in h.addresses() for h in self.hosts):
            raise ValueError(f"refusing to send to {target}: not an address of this lab")

    # -- teardown
    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the group this Popen started, and its forks
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if proc.stderr:
                proc.stderr.close()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        self.namespaces.clear()
        os.close(self._root_fd)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- probes
# Each returns "open" (the packet was answered), "blocked" (timed out, or the sender's
# firewall refused it: EPERM), "sent" (UDP/raw: delivery is read from the listener's
# log later) or another word for anything unexpected (e.g. "refused").

def _bind(lab: Lab, sock: socket.socket, source: str | None) -> None:
    """Send from `source` (one of the host's own addresses, e.g. its pod address)."""
    if source is not None:
        lab.check_target(source)
        sock.bind((source, 0))


def tcp_probe(lab: Lab, src: Host, family: str, dst: str, port: int, token: bytes, timeout: float,
              source: str | None = None) -> str:
    lab.check_target(dst)
    sock = lab.socket(src, family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        _bind(lab, sock, source)
        sock.connect((dst, port))
        sock.sendall(token)
        got = b""
        while len(got) < len(token):
            chunk = sock.recv(len(token) - len(got))
            if not chunk:
                break
            got += chunk
        return "open" if got == token else "no-echo"
    except (TimeoutError, PermissionError):
        return "blocked"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return f"error-{exc.errno}"
    finally:
        sock.close()


def send_probe(lab: Lab, src: Host, family: str, dst: str, proto: str, port: int, token: bytes,
               source: str | None = None) -> str:
    """UDP to a port, or a raw IP packet of protocol `proto` (digits)."""
    lab.check_target(dst)
    if proto == "udp":
        sock, addr = lab.socket(src, family, socket.SOCK_DGRAM), (dst, port)
    else:
        sock, addr = lab.socket(src, family, socket.SOCK_RAW, int(proto)), (dst, 0)
    try:
        _bind(lab, sock, source)
        return _sent(sock, token, addr)
    finally:
        sock.close()


def _sent(sock: socket.socket, token: bytes, addr: tuple) -> str:
    """Send once: "sent", or "blocked" when the sender's firewall refuses it (EPERM)."""
    try:
        sock.sendto(token, addr)
        return "sent"
    except PermissionError:
        return "blocked"
    except OSError as exc:
        return f"error-{exc.errno}"


def multicast_probe(lab: Lab, src: Host, family: str, group: str, proto: int, token: bytes) -> str:
    """A raw IP packet of `proto` to a link-local multicast group, out of the host's eth0."""
    lab.check_target(group)
    sock = lab.socket(src, family, socket.SOCK_RAW, proto)
    try:
        with lab.inside(src):
            index = socket.if_nametoindex("eth0")
        if family == "IPv4":
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(str(src.v4)))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        _bind(lab, sock, str(src.addr(family)))
        return _sent(sock, token, (group, 0, 0, index) if family == "IPv6" else (group, 0))
    finally:
        sock.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_probe(lab: Lab, src: Host, family: str, dst: str, ident: int, token: bytes, timeout: float,
               source: str | None = None) -> str:
    """ICMP(v6) echo request over a raw socket; "open" when the matching reply arrives."""
    lab.check_target(dst)
    v4 = family == "IPv4"
    proto = socket.IPPROTO_ICMP if v4 else socket.IPPROTO_ICMPV6
    request_type, reply_type = (8, 0) if v4 else (128, 129)
    sock = lab.socket(src, family, socket.SOCK_RAW, proto)
    ident &= 0xFFFF
    header = struct.pack("!BBHHH", request_type, 0, 0, ident, 1)
    packet = header + token
    if v4:  # the kernel fills in the ICMPv6 checksum itself
        packet = struct.pack("!BBHHH", request_type, 0, _checksum(packet), ident, 1) + token
    try:
        _bind(lab, sock, source)
        sock.sendto(packet, (dst, 0))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            data, _ = sock.recvfrom(2048)
            if v4:
                data = data[(data[0] & 0x0F) * 4:]
            if len(data) >= 8 and data[0] == reply_type and struct.unpack("!H", data[4:6])[0] == ident \
                    and data[8:] == token:
                return "open"
        return "blocked"
    except (TimeoutError, PermissionError):
        return "blocked"
    except OSError as exc:
        return f"error-{exc.errno}"
    finally:
        sock.close()
