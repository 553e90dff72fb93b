"""The shape of one `portspecs/*.yaml` file: a source document's port table as flows.

Rules of this file:
- it checks what one file can check alone (types, ranges, typos); names that refer
  to other files (named ports, CIDR sets, CNIs, add-ons) are checked by `catalog`;
- every message is one plain sentence; `catalog` adds `path:line: field:`;
- it is also the single source of `schema/portspec.schema.json`.
"""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from .errors import At

# Node roles kubeports knows. Components exist per role; `bastion` guards SSH.
ROLES = ("control-plane", "worker", "etcd", "load-balancer", "rancher-server", "registry", "bastion")
DISTRIBUTIONS = ("kubeadm", "k3s", "rke", "rke2")
# Peers that are not roles or CIDR sets: `self` is the listening role itself; `nodes`
# is every role that runs a kubelet (see resolver.KUBELET_ROLES).
PEER_ALIASES = ("self", "nodes")
PORTED_PROTOCOLS = ("tcp", "udp", "tcp+udp")
NAMED_PROTOCOLS = (*PORTED_PROTOCOLS, "icmp", "all")
# Numbers that have a name above: writing the name keeps rules readable.
_NAMED_NUMBERS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp"}
# ICMP messages by name, as (IPv4 type, IPv6 type, code): one spec row serves both families.
ICMP_TYPES = {
    "echo-request": (8, 128, 0),
    "echo-reply": (0, 129, 0),
    "destination-unreachable": (3, 1, None),
    "time-exceeded": (11, 3, None),
}
# IPv6 extension headers and the like (neutron-lib ipv6-encap 41, ipv6-route 43, ipv6-frag 44,
# ipv6-icmp 58, ipv6-nonxt 59, ipv6-opts 60): Neutron refuses them with ethertype IPv4
# (`_validate_ethertype_and_protocol`), so a flow with one of them is IPv6 only.
IPV6_ONLY_PROTOCOLS = ("41", "43", "44", "58", "59", "60")
SOURCE_RE = r"^(https?://|seed:)\S+$"
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a lowercase-kebab name")
    return value


Name = Annotated[str, AfterValidator(_name)]


def _no_controls(value: str) -> str:
    """Refuse what rewrites a terminal or a file kubeports writes (notes; one-line texts
    check the same below): CR, ESC sequences, U+2028, U+0085, every non-printable character."""
    bad = next((c for c in value if not c.isprintable() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")),
               None)
    if bad is not None:
        raise ValueError(f"contains the control character U+{ord(bad):04X}")
    return value


def _one_line(value: str) -> str:
    if not value.strip() or "\n" in value.strip():
        raise ValueError("must be one non-empty line")
    if len(value) > 120:
        raise ValueError("must be at most 120 characters")
    control = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if control is not None:  # a terminal escape or an invisible character in a review or a cloud field
        raise ValueError(f"contains the control character U+{ord(control):04X}")
    return value.strip()


OneLine = Annotated[str, AfterValidator(_one_line)]

# A purpose becomes a rule's description, and AWS refuses a rule description with any
# other character than these (EC2 API reference, IpRange/Ipv6Range Description), failing
# at `pulumi up`: checked here, for the strictest cloud, so every cloud gets the same text.
AWS_DESCRIPTION_CHARS = "a-zA-Z0-9. _\\-:/()#,@\\[\\]+=&;{}!$*"
_AWS_DESCRIPTION = re.compile(f"[{AWS_DESCRIPTION_CHARS}]*")


def _purpose(value: str) -> str:
    text = _one_line(value)
    bad = next((c for c in text if not _AWS_DESCRIPTION.fullmatch(c)), None)
    if bad is not None:
        raise ValueError(f"character {bad!r} is refused in AWS rule descriptions; use letters, digits, space "
                         "and ._-:/()#,@[]+=&;{}!$*")
    return text


Purpose = Annotated[str, AfterValidator(_purpose),
                    WithJsonSchema({"type": "string", "pattern": f"^[{AWS_DESCRIPTION_CHARS}]+$", "maxLength": 120})]


def parse_port_range(value: Any) -> tuple[int, int] | str:
    """An int, "lo-hi", or a named port (returned as its name, resolved by the catalog)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a port, a range 'lo-hi' or a named port")
    if isinstance(value, str) and NAME_RE.match(value):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
    if not match:
        raise ValueError(f"{value!r} is not a port, a range 'lo-hi' or a named port")
    low, high = int(match[1]), int(match[2] or match[1])
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is out of range 1-65535")
    if low > high:
        raise ValueError(f"range {low}-{high} is reversed")
    return (low, high)


def _ports(value: Any) -> tuple[tuple[int, int] | str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("must list at least one port")
    return tuple(parse_port_range(item) for item in items)


PORT_ITEM_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "pattern": r"^\s*\d+(\s*-\s*\d+)?\s*$"},
        {"type": "string", "pattern": NAME_RE.pattern},
    ]
}
PortList = Annotated[
    tuple[tuple[int, int] | str, ...],
    BeforeValidator(_ports),
    WithJsonSchema({
        "description": "A port (6443), a range ('2379-2380'), a named port, or a list of these.",
        "anyOf": [PORT_ITEM_SCHEMA, {"type": "array", "items": PORT_ITEM_SCHEMA, "minItems": 1}],
    }),
]


def _protocol(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"unknown protocol {value!r}")
    if isinstance(value, int):
        if value in _NAMED_NUMBERS:
            raise ValueError(f"write {_NAMED_NUMBERS[value]!r} instead of protocol number {value}")
        if value == 0:  # AWS and the policy pack read 0 as every protocol; Neutron as HOPOPT
            raise ValueError("protocol 0 means all protocols to some clouds; write 'all' if that is meant")
        if not 1 <= value <= 255:
            raise ValueError(f"IP protocol number {value} is out of range 1-255")
        return str(value)
    if value in NAMED_PROTOCOLS:
        return value
    raise ValueError(f"unknown protocol {value!r}; use tcp, udp, tcp+udp, icmp, all or an IP protocol number")


Protocol = Annotated[
    str,
    BeforeValidator(_protocol),
    WithJsonSchema({
        "description": "tcp, udp, tcp+udp, icmp, all, or a raw IP protocol number (4 IP-in-IP, 50 ESP, 112 VRRP).",
        "anyOf": [{"enum": list(NAMED_PROTOCOLS)}, {"type": "integer", "minimum": 1, "maximum": 255}],
    }),
]


def _cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=True))
    except ValueError:
        try:
            loose = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not a CIDR") from None
        raise ValueError(f"{value!r} has host bits set; did you mean {loose}?") from None


Cidr = Annotated[str, BeforeValidator(_cidr), WithJsonSchema({"type": "string", "description": "a.b.c.d/n or x::/n"})]


def _specifier(value: Any) -> str:
    try:
        SpecifierSet(str(value))
    except InvalidSpecifier:
        raise ValueError(f"{value!r} is not a version range like '>=1.20,<1.23'") from None
    return str(value)


VersionRange = Annotated[str, AfterValidator(_specifier)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class When(_Model):
    """All given conditions must hold (lists: any of; addons and cni-features: all of)."""

    distribution: list[Literal[DISTRIBUTIONS]] | None = None  # type: ignore[valid-type]
    cni: list[Name] | None = None
    cni_mode: list[Name] | None = Field(None, alias="cni-mode")
    cni_features: list[Name] | None = Field(None, alias="cni-features")
    kubernetes: VersionRange | None = Field(None, description="PEP 440 range, e.g. '<1.23'")
    addons: list[Name] | None = None


class NamedPort(_Model):
    port: Annotated[
        tuple[int, int],
        BeforeValidator(lambda v: _fixed(parse_port_range(v))),
        WithJsonSchema({"description": "the default: a port (6443) or a range ('30000-32767')",
                        "anyOf": PORT_ITEM_SCHEMA["anyOf"][:2]}),
    ]
    purpose: Purpose


def _fixed(value: tuple[int, int] | str) -> tuple[int, int]:
    if isinstance(value, str):
        raise ValueError("a named port's default must be a number or a range")
    return value


class CidrSet(_Model):
    purpose: Purpose
    default: list[Cidr] = Field(default_factory=list, description="empty means closed until a stack sets it")
    if_closed: OneLine | None = Field(None, alias="if-closed", description=(
        "what stops working when egress is strict and this set is empty (a note says it)"))


class CniMode(_Model):
    purpose: Purpose
    routes_pod_ips: bool | list[Literal["IPv4", "IPv6"]] = Field(False, alias="routes-pod-ips", description=(
        "pod IPs leave the node unencapsulated: true (every family) or the families that do (Calico IP-in-IP: "
        "[IPv6], since IP-in-IP carries IPv4 only)"))

    def routed_families(self, families: list[str]) -> list[str]:
        """The families among `families` whose pod addresses this mode routes natively."""
        if self.routes_pod_ips is True:
            return list(families)
        return [f for f in families if f in (self.routes_pod_ips or [])]


class Cni(_Model):
    name: Name
    purpose: Purpose
    modes: dict[Name, CniMode] = Field(min_length=1)
    features: dict[Name, OneLine] = Field(default_factory=dict)


class Flow(_Model):
    """Peers in `from` connect to roles in `to` on `protocol`/`ports`."""

    name: Name
    purpose: Purpose
    protocol: Protocol
    ports: PortList | None = None
    icmp: Literal[tuple(ICMP_TYPES)] | None = None  # type: ignore[valid-type]
    to: list[Name] = Field(min_length=1)
    from_: list[Name] = Field(alias="from", min_length=1)
    bidirectional: bool = Field(False, description="the seeds' 双向: also derive the reverse flow")
    sensitive: bool = Field(False, description="control-plane internals (etcd, kubelet, scheduler, controller-manager): "
                            "no stack may let a CIDR set reach these ports, whatever overrides it sets")
    when: When | None = None
    family: Literal["IPv4", "IPv6"] | None = Field(None, description="only this address family (WireGuard ports)")
    source: str | None = Field(None, pattern=SOURCE_RE, description="a more precise source than the file's")
    within: Name | None = Field(None, description=(
        "a named port range these ports must lie in, as the stack sets it (add-on NodePorts: nodeport-range)"))

    @model_validator(mode="after")
    def _ports_fit_protocol(self) -> Flow:
        if self.protocol in PORTED_PROTOCOLS and self.ports is None:
            raise At(("protocol",), f"protocol {self.protocol} needs ports")
        if self.protocol not in PORTED_PROTOCOLS and self.ports is not None:
            raise At(("ports",), f"protocol {self.protocol} has no ports")
        if self.icmp is not None and self.protocol != "icmp":
            raise At(("icmp",), "icmp is only for protocol icmp")
        if "self" in self.to:
            raise At(("to", self.to.index("self")), "'self' belongs in from, not to")
        if self.protocol in IPV6_ONLY_PROTOCOLS and self.family != "IPv6":
            raise At(("family",) if self.family else ("protocol",),
                     f"protocol {self.protocol} is an IPv6 protocol and Neutron refuses it with IPv4; set family: IPv6")
        return self


class LocalOnly(_Model):
    """Documented by a source, but bound to loopback (or chosen at run time): no rule."""

    name: Name
    purpose: Purpose
    protocol: Protocol
    ports: PortList
    roles: list[Name] = Field(min_length=1, description="roles where it listens (not `on`: YAML 1.1 reads that as true)")
    sensitive: bool = Field(False, description="control-plane internals: no rule of another flow may let a CIDR "
                            "reach these ports (a NodePort range moved over them)")


class SpecFile(_Model):
    source: str = Field(pattern=SOURCE_RE, description="the upstream URL, or seed:<file> for ../shared/seeds")
    title: OneLine
    notes: list[Annotated[str, AfterValidator(_no_controls)]] = Field(default_factory=list)
    when: When | None = None
    ports: dict[Name, NamedPort] = Field(default_factory=dict)
    cidr_sets: dict[Name, CidrSet] = Field(default_factory=dict, alias="cidr-sets")
    cni: Cni | None = None
    addons: dict[Name, OneLine] = Field(default_factory=dict, description="add-ons this file declares")
    flows: list[Flow] = Field(default_factory=list)
    local_only: list[LocalOnly] = Field(default_factory=list, alias="local-only")


def json_schema() -> dict[str, Any]:
    schema = SpecFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/kubeports/kubeports/schema/portspec.schema.json"
    return schema
