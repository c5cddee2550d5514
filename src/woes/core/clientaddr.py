"""The client's address: the socket peer, or what a configured proxy says it is (WOES_TRUSTED_PROXIES).

`X-Forwarded-For` is written by whoever sends it, so it is only believed when the direct peer is one
of the configured proxies. Then the address is the right-most entry that is not itself a trusted
proxy (each trusted hop appends the address it saw; everything left of the first untrusted hop is
client-supplied and ignored). `ClientAddressMiddleware` resolves it once per request and puts it in
`scope["client"]`; everything that needs the address (rate limits, sign-in throttling, key usage)
calls `client_ip(scope)`. uvicorn's own proxy-header handling is off (`woes serve`), so this is the
only place that reads forwarded headers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(value: str) -> tuple[Network, ...]:
    """'10.0.0.1, 10.1.0.0/16, ::1' -> networks. Raises ValueError on anything else (no names, no '*')."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"WOES_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _address(value: str) -> Address | None:
    """An IP from a peer or X-Forwarded-For entry ('1.2.3.4', '1.2.3.4:80', '[::1]:80', '::1'), else None."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: Address | None, trusted: Iterable[Network]) -> bool:
    return ip is not None and any(ip in net for net in trusted)


def resolve_client(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str | None:
    """The client address for a request from `peer` carrying these X-Forwarded-For header values."""
    peer_ip = _address(peer) if peer else None
    if not forwarded_for or not _trusted(peer_ip, trusted):
        return str(peer_ip) if peer_ip is not None else peer
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    last = peer_ip
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:  # garbage where an address should be: stop at the last hop we could vouch for
            break
        if not _trusted(ip, trusted):
            return str(ip)
        last = ip
    return str(last)


def client_ip(scope: Scope) -> str | None:
    """The client address of this request (after ClientAddressMiddleware), None when unknown."""
    client = scope.get("client")
    return client[0] if client else None


class ClientAddressMiddleware:
    """Outermost: replaces scope["client"] with the resolved client address (and scope["scheme"] with a
    trusted proxy's X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, trusted_proxies: str = "") -> None:
        self.app = app
        self.trusted = parse_trusted_proxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer = client[0] if client else None
            forwarded, proto = [], None
            if self.trusted and _trusted(_address(peer) if peer else None, self.trusted):
                for k, v in scope.get("headers", ()):
                    if k == b"x-forwarded-for":
                        forwarded.append(v.decode("latin-1"))
                    elif k == b"x-forwarded-proto":
                        proto = v.decode("latin-1").strip().lower()
            host = resolve_client(peer, forwarded, self.trusted)
            if host is not None and host != peer:
                scope["client"] = (host, client[1] if client and not forwarded else 0)
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        await self.app(scope, receive, send)
