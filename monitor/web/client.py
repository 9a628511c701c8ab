"""Which address a request comes from: the socket's peer, or what a trusted reverse proxy says.

``X-Forwarded-For`` and ``X-Real-IP`` are plain request headers: anyone can send them. They are
believed only when the connection itself comes from an address in ``web.trusted_proxies``;
otherwise the peer address is the client (for login throttling and the audit log alike).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``["10.0.0.1", "172.16.0.0/12"]`` as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)


def _ip(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPAddress | None, trusted: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str | None, headers: Mapping[str, str], trusted: tuple[IPNetwork, ...]) -> str:
    """The client's address for a request whose socket peer is ``peer``.

    Only when ``peer`` is a trusted proxy are the forwarding headers read: ``X-Forwarded-For`` from
    the right (each proxy appends the address it saw), skipping further trusted proxies; the first
    address that is not one is the client. Without that header, ``X-Real-IP``. A malformed entry
    ends the walk at the last address known good, so a forged value cannot hide the sender.
    """
    peer = peer or "unknown"
    peer_ip = _ip(peer)
    if not _trusted(peer_ip, trusted):
        return peer
    known = str(peer_ip)
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        for hop in reversed(forwarded.split(",")):
            ip = _ip(hop)
            if ip is None:
                return known
            known = str(ip)
            if not _trusted(ip, trusted):
                return known
        return known
    real = _ip(headers.get("x-real-ip") or "")
    return str(real) if real is not None else known
