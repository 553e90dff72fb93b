"""The resolver's output: one frozen value per security-group rule.

Rules of this file:
- a rule's `key` is built from its content only (role, direction, protocol, ports,
  peer, family), never from a position, so it can name a cloud resource: an edit
  elsewhere in the catalog never renames it;
- `sources` (file:line) are for people and never reach a cloud resource, because a
  line number moves whenever someone edits the file above it;
- a `set` peer (one rule per flow and CIDR set: `resolve(..., sets=True)`) is named by the
  set, never by its entries, and carries them in `members` (not part of its identity), so
  an entry added to the set changes the set's address group or prefix list, not the rule.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["ingress", "egress"]
Ethertype = Literal["IPv4", "IPv6"]
ANYWHERE_BY_FAMILY = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}


@dataclass(frozen=True)
class Rule:
    role: str
    direction: Direction
    protocol: str  # tcp | udp | icmp | icmpv6 | all | an IP protocol number as digits
    from_port: int | None  # ICMP: the type
    to_port: int | None  # ICMP: the code
    peer_kind: Literal["role", "cidr", "set"]
    peer: str
    ethertype: Ethertype
    description: str
    sources: tuple[str, ...]
    members: tuple[str, ...] = ()  # a set peer's CIDRs of this family, sorted; empty for the others

    # key and identity are asked for again and again (collapsing, quota, placement, names):
    # computed once per rule (a frozen rule's fields never change; equality and hash stay
    # the fields')
    @functools.cached_property
    def key(self) -> str:
        return rule_key(self.role, self.direction, self.protocol, self.from_port, self.to_port,
                        self.peer_kind, self.peer, self.ethertype)

    @functools.cached_property
    def identity(self) -> tuple:
        """Everything but description and sources: two rules with one identity are one rule."""
        return (self.role, self.direction, self.protocol, self.from_port, self.to_port,
                self.peer_kind, self.peer, self.ethertype)

    def sort_key(self) -> tuple:
        proto = (0, int(self.protocol), "") if self.protocol.isdigit() else (1, 0, self.protocol)
        return (self.role, self.direction != "ingress", self.from_port is None, self.from_port or 0, self.to_port or 0,
                proto, self.peer_kind, self.peer, self.ethertype)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "role": self.role,
            "direction": self.direction,
            "protocol": int(self.protocol) if self.protocol.isdigit() else self.protocol,
            "from_port": self.from_port,
            "to_port": self.to_port,
            "peer": {self.peer_kind: self.peer},
            "ethertype": self.ethertype,
            "description": self.description,
            "sources": list(self.sources),
            **({"members": list(self.members)} if self.peer_kind == "set" else {}),
        }

    @property
    def is_icmp(self) -> bool:
        return self.protocol in ("icmp", "icmpv6")

    @property
    def is_anywhere(self) -> bool:
        return self.peer_kind == "cidr" and self.peer == ANYWHERE_BY_FAMILY[self.ethertype]


def rule_key(role: str, direction: str, protocol: str, from_port: int | None, to_port: int | None,
             peer_kind: str, peer: str, ethertype: str) -> str:
    """e.g. `control-plane-in-tcp-6443-from-anywhere-v4`, `worker-out-proto4-to-worker-v6`,
    `control-plane-in-tcp-6443-from-api-clients-v4` (the CIDR set `api-clients` as one peer)."""
    parts = [role, "in" if direction == "ingress" else "out"]
    parts.append(f"proto{protocol}" if protocol.isdigit() else protocol)
    if protocol in ("icmp", "icmpv6"):
        if from_port is not None:
            parts.append(f"type{from_port}" + (f"-code{to_port}" if to_port is not None else ""))
    elif from_port is not None:
        parts.append(str(from_port) if from_port == to_port else f"{from_port}-{to_port}")
    parts.append("from" if direction == "ingress" else "to")
    parts.append(cidr_label(peer) if peer_kind == "cidr" else peer)  # a set's name: never a role's (catalog.py)
    parts.append("v4" if ethertype == "IPv4" else "v6")
    return "-".join(parts)


@functools.lru_cache(maxsize=4096)  # pure; a stack names few CIDRs, many times each
def cidr_label(cidr: str) -> str:
    """A CIDR as a name part: `anywhere`, `198.51.100.0-24`, `2001.db8..-32`."""
    net = ipaddress.ip_network(cidr)
    if net.prefixlen == 0:
        return "anywhere"
    return f"{net.network_address}".replace(":", ".") + f"-{net.prefixlen}"
