"""Safe outbound HTTP: the one way Woes fetches a URL on behalf of a workspace (SPEC §7 "Safe fetch").

URL sources, website crawls, remote `$ref`s, guarded live API tests and webhooks all go through
`SafeFetcher`. The policy:

* **Schemes and URLs.** Only `http` and `https`; URLs with credentials (`user:pass@`) are refused; any
  port. Host names must be plain DNS names or canonical IP literals: numeric forms that C resolvers
  silently turn into addresses (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`) are refused outright, so a
  parser differential can never smuggle in a loopback address.
* **Addresses.** Every address a host resolves to is checked; the request is refused if ANY of them is
  loopback, private (RFC 1918), link-local, unique-local (fc00::/7), carrier-grade NAT (100.64/10),
  multicast, reserved, unspecified, or otherwise not globally routable, including IPv4-mapped / NAT64 /
  6to4 / Teredo IPv6 forms that embed such an IPv4 address, and the cloud metadata addresses
  (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200).
* **Allowlist** (`WOES_OUTBOUND_ALLOWLIST`, see `allowlist_from_env`): comma-separated `host`,
  `host:port`, `*.suffix`, IP, `IP:port` / `[v6]:port` or CIDR entries. A matching host (and port) or a
  resolved address inside an allowlisted network bypasses the address block; this is how self-hosters
  reach internal APIs and how the tests reach their own 127.0.0.1 servers. Metadata addresses are only
  reachable when their exact address is allowlisted (a broad CIDR or a host name does not unlock them).
* **Redirects** are followed by hand (default max 5) and every hop goes through the whole policy again.
  When a hop changes origin (scheme, host, port), `Authorization`, `Cookie` and every other caller
  header except a few harmless ones (Accept, Accept-Language, User-Agent, ...) are dropped for good, and
  a 307/308 that would re-send a request body to another origin is refused. No cookie jar is kept:
  `Set-Cookie` answers are never replayed, not even to the same origin.
* **Limits.** One deadline covers the whole call (DNS, connect, TLS, every redirect and every read;
  default 10 s); the body is streamed and aborted past `max_bytes` (default 10 MB). The limit applies to
  the bytes received and to the decoded bytes, which are inflated at most 64 kB per step
  (`woes.core.decompression.decode_content`), so a compression bomb stops at the limit, not after it.
* **No proxies** from the environment (`trust_env=False`): a proxy would resolve names itself and defeat
  the address check.

How the DNS pinning works (why there is no DNS-rebinding window)
-----------------------------------------------------------------
httpx never resolves names itself: its `HTTPTransport` drives an httpcore `ConnectionPool`, which asks a
*network backend* for `connect_tcp(host, port)` whenever it needs a new connection. `_PinnedTransport` is
an `httpx.HTTPTransport` whose pool is built with our own backend, `_PinnedBackend`. Its `connect_tcp`

1. calls `socket.getaddrinfo` exactly once for the host (bounded by the deadline),
2. checks every returned address against the policy (refusing if any one is blocked), and
3. opens the TCP socket itself with `socket.connect(sockaddr)` on one of those very addresses, so no
   second resolution happens anywhere (not even the one hidden inside `socket.create_connection`).

The pool keys connections by the URL's origin, so HTTP `Host`, TLS SNI and certificate verification all
use the original host name, while the bytes go to the address that was checked. A kept-alive connection
that is reused later is still the one that went to a vetted address. The static URL checks (scheme,
credentials, literal IPs, numeric forms) run again before every hop, so refusals name the URL early.

The deadline is kept in a thread-local that our socket stream consults on every read, write and TLS
handshake (each one is given `min(its own timeout, time left)`), so a server that drips one byte at a
time cannot stretch a call past the limit. Everything a call needs lives on its own stack or in that
thread-local, and httpcore's pool is thread-safe, so one `SafeFetcher` can be shared by all threads.
"""

from __future__ import annotations

import ipaddress
import json as _json
import os
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from woes.core.closing import ClosesOnExit
from woes.core.decompression import CorruptData, decode_content

__all__ = [
    "ALLOWLIST_ENV",
    "DEFAULT_USER_AGENT",
    "FetchError",
    "FetchFailed",
    "FetchRefused",
    "FetchResult",
    "SafeFetcher",
    "address_problem",
    "allowlist_from_env",
    "fetcher_callable",
    "parse_allowlist",
]

DEFAULT_USER_AGENT = "Woes/0.1 (+https://woes.dev)"
ALLOWLIST_ENV = "WOES_OUTBOUND_ALLOWLIST"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --------------------------------------------------------------------------------------------- errors


class FetchError(Exception):
    """Base class: `reason` is a sentence that can be shown to an operator as is.

    `kind` is a stable machine-readable tag. Refused: blocked_address, invalid_url, scheme, credentials,
    redirects, cross_origin_body. Failed: dns, network, timeout, tls, protocol, too_large, http_status.
    """

    def __init__(self, reason: str, url: str | None = None, kind: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.kind = kind


class FetchRefused(FetchError):
    """The policy forbids the request: blocked address, scheme, credentials in URL, too many redirects."""


class FetchFailed(FetchError):
    """The request was allowed but did not succeed: network error, timeout, too large, TLS."""


@dataclass(frozen=True)
class FetchResult:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    content: bytes
    url: str  # the final URL, after redirects
    elapsed_ms: int
    redirects: tuple[str, ...] = ()  # every URL that answered with a redirect, in order

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        m = re.search(r"charset\s*=\s*\"?([\w.:-]+)", self.headers.get("content-type", ""), re.I)
        return m.group(1) if m else None

    @property
    def text(self) -> str:
        encoding = self.charset or "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)


# ------------------------------------------------------------------------------ address classification

_METADATA: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "a link-local/metadata address",  # AWS, GCP, Azure, OCI, ...
    ipaddress.ip_address("169.254.170.2"): "a link-local/metadata address",  # AWS ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"): "a unique-local/metadata address",  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"): "a carrier-grade NAT/metadata address",  # Alibaba Cloud
}

_BLOCKED_NETWORKS: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(n), what)
    for n, what in [
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private (RFC 1918) address"),
        ("172.16.0.0/12", "a private (RFC 1918) address"),
        ("192.168.0.0/16", "a private (RFC 1918) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("100.64.0.0/10", "a carrier-grade NAT (RFC 6598) address"),
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("fc00::/7", "a unique-local address"),
        ("ff00::/8", "a multicast address"),
    ]
]
_NAT64 = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48")]


def address_problem(ip: IPAddress | str) -> str | None:
    """Why `ip` must not be contacted ("a loopback address", ...), or None for a public address."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip.split("%", 1)[0])
    if ip in _METADATA:
        return _METADATA[ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[tuple[ipaddress.IPv4Address, str]] = []
        if ip.ipv4_mapped is not None:
            embedded.append((ip.ipv4_mapped, "an IPv4-mapped IPv6 form of"))
        if ip.sixtofour is not None:
            embedded.append((ip.sixtofour, "a 6to4 IPv6 form of"))
        if ip.teredo is not None:
            embedded.extend((v4, "a Teredo IPv6 form of") for v4 in ip.teredo)
        if any(ip in n for n in _NAT64):
            embedded.append((ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "a NAT64 IPv6 form of"))
        for v4, form in embedded:
            inner = address_problem(v4)
            if inner is not None:
                return f"{form} {v4}, which is {inner}"
    for net, what in _BLOCKED_NETWORKS:
        if ip.version == net.version and ip in net:
            return what
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a special-purpose address that is not publicly routable"
    return None


def _is_metadata(ip: IPAddress) -> bool:
    if ip in _METADATA:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped in _METADATA
    return False


# ---------------------------------------------------------------------------------------- allowlist

_HOST_RE = re.compile(r"^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class _Entry:
    text: str
    host: str | None = None  # exact host name
    suffix: str | None = None  # ".example.com" (from "*.example.com")
    network: IPNetwork | None = None
    port: int | None = None  # None: any port


def _parse_port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{ALLOWLIST_ENV} entry {entry!r} has an invalid port {text!r}")
    return int(text)


def _parse_entry(raw: str) -> _Entry:
    s = raw.strip().lower()
    if "/" in s:
        try:
            return _Entry(raw, network=ipaddress.ip_network(s, strict=False))
        except ValueError:
            raise ValueError(f"{ALLOWLIST_ENV} entry {raw!r} is not a valid CIDR network") from None
    m = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d*))?", s)
    if m:
        try:
            ip = ipaddress.IPv6Address(m.group(1))
        except ValueError:
            raise ValueError(f"{ALLOWLIST_ENV} entry {raw!r} is not a valid IPv6 address") from None
        port = _parse_port(m.group(2), raw) if m.group(2) is not None else None
        return _Entry(raw, network=ipaddress.ip_network(ip), port=port)
    try:
        return _Entry(raw, network=ipaddress.ip_network(ipaddress.ip_address(s)))
    except ValueError:
        pass
    port = None
    if s.count(":") == 1:
        s, port_text = s.split(":")
        port = _parse_port(port_text, raw)
    try:
        return _Entry(raw, network=ipaddress.ip_network(ipaddress.IPv4Address(s)), port=port)
    except ValueError:
        pass
    if s.startswith("*."):
        if not _HOST_RE.match(s[2:]):
            raise ValueError(f"{ALLOWLIST_ENV} entry {raw!r} is not a valid host pattern")
        return _Entry(raw, suffix="." + s[2:].rstrip("."), port=port)
    if not _HOST_RE.match(s) or _looks_numeric(s):
        raise ValueError(f"{ALLOWLIST_ENV} entry {raw!r} is not a host, host:port, IP or CIDR")
    return _Entry(raw, host=s.rstrip("."), port=port)


class _Allowlist:
    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = [_parse_entry(e) for e in entries if e and e.strip()]

    def host_allowed(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        for e in self.entries:
            if e.port is not None and e.port != port:
                continue
            if e.host is not None and e.host == host:
                return True
            if e.suffix is not None and host.endswith(e.suffix):
                return True
        return False

    def ip_allowed(self, ip: IPAddress, port: int) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        metadata = _is_metadata(ip)
        for e in self.entries:
            if e.network is None or (e.port is not None and e.port != port):
                continue
            if metadata and e.network.num_addresses != 1:
                continue  # metadata endpoints only open up when their exact address is listed
            if any(c.version == e.network.version and c in e.network for c in candidates):
                return True
        return False


def parse_allowlist(value: str) -> tuple[str, ...]:
    """Split and validate a `WOES_OUTBOUND_ALLOWLIST` value; raises ValueError naming a bad entry."""
    entries = tuple(p.strip() for p in value.split(",") if p.strip())
    _Allowlist(entries)  # validate
    return entries


def allowlist_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The allowlist configured in `WOES_OUTBOUND_ALLOWLIST` (comma-separated hosts, host:port, CIDRs)."""
    env = os.environ if environ is None else environ
    return parse_allowlist(env.get(ALLOWLIST_ENV, ""))


# -------------------------------------------------------------------------------------- URL checks


def _looks_numeric(host: str) -> bool:
    """True for host names a C resolver would read as an IPv4 address (2130706433, 0x7f.1, 127.1, ...)."""
    labels = host.rstrip(".").split(".")
    return 1 <= len(labels) <= 4 and all(_NUMERIC_LABEL.match(label) for label in labels)


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_host_syntax(host: str, url: str) -> None:
    if not host:
        raise FetchRefused(f"The URL {url!r} has no host.", url, kind="invalid_url")
    if _literal_ip(host) is not None:
        return
    if _looks_numeric(host):
        raise FetchRefused(
            f"{host} is a non-standard numeric IP address form; write the address in dotted-decimal form.", url,
            kind="invalid_url",
        )
    if not _HOST_RE.match(host.lower()):
        raise FetchRefused(f"{host!r} is not a valid host name.", url, kind="invalid_url")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return (url.scheme, url.host.lower().rstrip("."), url.port or _default_port(url.scheme))


# --------------------------------------------------------------------------------- deadline control

_local = threading.local()


def _time_left(timeout: float | None, exc: type[Exception]) -> float | None:
    """`timeout` shortened to what is left of the current call's deadline (raises `exc` when none is)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise exc("the time limit for the request was reached")
    return remaining if timeout is None else min(timeout, remaining)


# ------------------------------------------------------------------------------- pinned network I/O


class _Policy:
    def __init__(self, allowlist: _Allowlist) -> None:
        self.allowlist = allowlist

    def vet(self, host: str, port: int, ips: Sequence[IPAddress]) -> None:
        literal = _literal_ip(host) is not None
        host_ok = not literal and self.allowlist.host_allowed(host, port)
        for ip in ips:
            problem = address_problem(ip)
            if problem is None or self.allowlist.ip_allowed(ip, port):
                continue
            if host_ok and not _is_metadata(ip):
                continue
            if literal:
                raise FetchRefused(f"{ip} is {problem}; outbound requests to it are blocked.", kind="blocked_address")
            raise FetchRefused(f"{host} resolves to {ip}, which is {problem}; outbound requests to it are blocked.", kind="blocked_address")

    def resolve(self, host: str, port: int, timeout: float | None) -> list[tuple[int, Any, IPAddress]]:
        """Resolve once and vet every answer: [(family, sockaddr, ip)] to connect to, in resolver order."""
        literal = _literal_ip(host)
        if literal is not None:
            self.vet(host, port, [literal])
            if isinstance(literal, ipaddress.IPv6Address):
                return [(socket.AF_INET6, (str(literal), port, 0, 0), literal)]
            return [(socket.AF_INET, (str(literal), port), literal)]
        if _looks_numeric(host) or not _HOST_RE.match(host.lower()):
            raise FetchRefused(f"{host!r} is not a valid host name.", kind="invalid_url")
        infos = _getaddrinfo(host, port, timeout)
        targets: list[tuple[int, Any, IPAddress]] = []
        seen: set[tuple[int, Any]] = set()
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            key = (family, tuple(sockaddr))
            if key not in seen:
                seen.add(key)
                targets.append((family, sockaddr, ip))
        if not targets:
            raise FetchFailed(f"Could not resolve host {host}: no IPv4 or IPv6 address found.", kind="dns")
        self.vet(host, port, [t[2] for t in targets])
        return targets


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[tuple[Any, ...]]:
    """One `socket.getaddrinfo` call, abandoned (not retried) when the deadline passes first."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="safefetch-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"DNS lookup for {host} timed out")
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, socket.gaierror):
            raise FetchFailed(f"Could not resolve host {host}: {exc.strerror or exc}.", kind="dns") from exc
        raise exc
    return list(box["result"])


def _socket_readable(sock: socket.socket) -> bool:
    if sock.fileno() < 0:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every operation also respects the call's overall deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._sock.settimeout(_time_left(timeout, httpcore.ReadTimeout))
        try:
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        while view:
            self._sock.settimeout(_time_left(timeout, httpcore.WriteTimeout))
            try:
                sent = self._sock.send(view)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
            except OSError as exc:
                raise httpcore.WriteError(str(exc)) from exc
            view = view[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        try:
            self._sock.settimeout(_time_left(timeout, httpcore.ConnectTimeout))
            tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except TimeoutError as exc:
            self.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError is an OSError
            self.close()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:
            self.close()
            raise
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # same as httpcore's own stream
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _socket_readable(self._sock)
        return None


def _open_connection(family: int, sockaddr: Any, timeout: float | None, socket_options: Iterable[Any] | None) -> socket.socket:
    """Open a TCP connection to an already vetted socket address (never a name: nothing is resolved here)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.settimeout(timeout)
        sock.connect(sockaddr)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedBackend(httpcore.NetworkBackend):
    """httpcore network backend: resolve once, vet every address, connect to a vetted address."""

    def __init__(self, policy: _Policy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        targets = self._policy.resolve(host, port, _time_left(timeout, httpcore.ConnectTimeout))
        failures: list[str] = []
        for family, sockaddr, ip in targets:
            try:
                sock = _open_connection(family, sockaddr, _time_left(timeout, httpcore.ConnectTimeout), socket_options)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"connecting to {ip} port {port} timed out") from exc
            except OSError as exc:
                failures.append(f"{ip}: {exc.strerror or exc}")
                continue
            return _Stream(sock)
        raise httpcore.ConnectError(f"could not connect to {host} port {port} ({'; '.join(failures)})")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise FetchRefused("Unix sockets are not allowed for outbound requests.", kind="scheme")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` (request/response and error mapping) over a pool that uses `_PinnedBackend`."""

    def __init__(self, policy: _Policy, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100) -> None:
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, http1=True, http2=False)
        if not hasattr(self, "_pool"):  # pragma: no cover - guards an httpx upgrade
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in `_pool`; update woes.core.safefetch")
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(policy),
        )


# ------------------------------------------------------------------------------------------ fetcher

_REDIRECTS = {301, 302, 303, 307, 308}
# Headers that may follow a redirect to another origin; everything else (Authorization, Cookie, API keys
# in custom headers, ...) is dropped for good at the first cross-origin hop.
_CROSS_ORIGIN_SAFE = {"accept", "accept-language", "accept-encoding", "user-agent", "cache-control", "pragma"}
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _human_bytes(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


class SafeFetcher(ClosesOnExit):
    """Fetch URLs under the outbound policy (see the module docstring). Thread-safe; share one instance.

    >>> with SafeFetcher(allowlist=allowlist_from_env()) as f:
    ...     page = f.get("https://docs.example.com/")
    """

    def __init__(
        self,
        allowlist: Sequence[str] = (),
        timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if isinstance(allowlist, str):
            allowlist = parse_allowlist(allowlist)
        if timeout <= 0 or max_bytes < 0 or max_redirects < 0:
            raise ValueError("timeout must be positive; max_bytes and max_redirects must not be negative")
        self.allowlist = tuple(allowlist)
        self.timeout = float(timeout)
        self.max_bytes = int(max_bytes)
        self.max_redirects = int(max_redirects)
        self.user_agent = user_agent
        self._policy = _Policy(_Allowlist(self.allowlist))
        self._transport = _PinnedTransport(self._policy, verify=verify)

    # -- lifecycle
    def close(self) -> None:
        self._transport.close()

    # -- public API
    def get(self, url: str, **kw: Any) -> FetchResult:
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw: Any) -> FetchResult:
        return self.request("HEAD", url, **kw)

    def post(self, url: str, **kw: Any) -> FetchResult:
        return self.request("POST", url, **kw)

    def fetch_bytes(self, url: str) -> bytes:
        """GET that raises `FetchFailed` on a non-2xx answer: fits `ImportContext.fetch`."""
        result = self.get(url)
        if not result.ok:
            raise FetchFailed(f"{url} answered HTTP {result.status}.", url, kind="http_status")
        return result.content

    def check_url(self, url: str) -> None:
        """Static policy checks only (scheme, credentials, host syntax, literal IPs); raises FetchRefused."""
        self._parse(url)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        max_redirects: int | None = None,
    ) -> FetchResult:
        method = method.upper()
        if not _TOKEN_RE.match(method):
            raise ValueError(f"invalid HTTP method {method!r}")
        if content is not None and json is not None:
            raise ValueError("pass either content or json, not both")
        limit_s = self.timeout if timeout is None else float(timeout)
        limit_b = self.max_bytes if max_bytes is None else int(max_bytes)
        hops_allowed = self.max_redirects if max_redirects is None else int(max_redirects)

        hdrs = httpx.Headers(headers or {})
        body: bytes | None
        if json is not None:
            body = _json.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            hdrs.setdefault("content-type", "application/json")
        elif isinstance(content, str):
            body = content.encode()
        else:
            body = content
        hdrs.pop("host", None)  # Host always follows the URL (the address that was vetted)
        hdrs.setdefault("user-agent", self.user_agent)
        hdrs.setdefault("accept", "*/*")
        hdrs.setdefault("accept-encoding", "gzip, deflate")  # only what httpx decodes without extra packages

        started = time.monotonic()
        previous_deadline = getattr(_local, "deadline", None)
        _local.deadline = started + limit_s
        redirects: list[str] = []
        current = url
        try:
            for hop in range(hops_allowed + 1):
                target = self._parse(current)
                response = self._send(method, target, hdrs, body, limit_s)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        if hop >= hops_allowed:
                            raise FetchRefused(
                                f"Too many redirects: {url} redirected more than {hops_allowed} times.", url, kind="redirects"
                            )
                        try:
                            nxt = target.join(location.strip()).copy_with(fragment=None)
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise FetchRefused(f"{target.host} redirected to an invalid URL {location!r}: {exc}", url, kind="invalid_url") from exc
                        method, body, hdrs = self._follow(response.status_code, method, body, hdrs, target, nxt)
                        redirects.append(str(target))
                        current = str(nxt)
                        continue
                    data = self._read_body(response, target, limit_b, limit_s, method)
                    return FetchResult(
                        status=response.status_code,
                        headers=self._flatten(response.headers),
                        content=data,
                        url=str(target),
                        elapsed_ms=int(round((time.monotonic() - started) * 1000)),
                        redirects=tuple(redirects),
                    )
                finally:
                    response.close()
            raise AssertionError("unreachable")  # pragma: no cover
        except FetchError as exc:
            if exc.url is None:
                exc.url = current
            raise
        finally:
            _local.deadline = previous_deadline

    # -- internals
    def _parse(self, url: str) -> httpx.URL:
        if not isinstance(url, str):
            url = str(url)
        try:
            parts = urlsplit(url.strip())
            pre_host = parts.hostname or ""
        except ValueError as exc:
            raise FetchRefused(f"{url!r} is not a valid URL: {exc}.", url, kind="invalid_url") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            shown = f"{scheme}://" if scheme else "a URL without a scheme"
            raise FetchRefused(f"Only http and https URLs can be fetched, not {shown} ({url}).", url, kind="scheme")
        if "@" in parts.netloc:
            raise FetchRefused("URLs with embedded credentials (user:password@host) are not allowed.", url, kind="credentials")
        if pre_host and _literal_ip(pre_host) is None and _looks_numeric(pre_host):
            _check_host_syntax(pre_host, url)
        try:
            parsed = httpx.URL(url.strip())
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise FetchRefused(f"{url!r} is not a valid URL: {exc}.", url, kind="invalid_url") from exc
        if parsed.scheme not in ("http", "https"):
            raise FetchRefused(f"Only http and https URLs can be fetched, not {parsed.scheme}:// ({url}).", url, kind="scheme")
        if parsed.userinfo:
            raise FetchRefused("URLs with embedded credentials (user:password@host) are not allowed.", url, kind="credentials")
        host = parsed.raw_host.decode("ascii")
        _check_host_syntax(host, url)
        literal = _literal_ip(host)
        if literal is not None:
            try:
                self._policy.vet(host, parsed.port or _default_port(parsed.scheme), [literal])
            except FetchRefused as exc:
                exc.url = url
                raise
        return parsed.copy_with(fragment=None)

    def _send(self, method: str, url: httpx.URL, hdrs: httpx.Headers, body: bytes | None, limit_s: float) -> httpx.Response:
        try:
            remaining = _time_left(limit_s, httpcore.ConnectTimeout)
            request = httpx.Request(method, url, headers=hdrs, content=body)
            request.extensions["timeout"] = {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
            response = self._transport.handle_request(request)
            response.request = request
            return response
        except httpcore.TimeoutException as exc:  # raised by _time_left before httpx could map it
            raise FetchFailed(f"The request to {url.host} timed out (limit {limit_s:g} s).", str(url), kind="timeout") from exc
        except httpx.TransportError as exc:
            raise self._failure(exc, url, limit_s) from exc

    def _read_body(self, response: httpx.Response, url: httpx.URL, limit_b: int, limit_s: float, method: str) -> bytes:
        if method == "HEAD":
            return b""
        too_large = f"The response from {url.host} is larger than the {_human_bytes(limit_b)} limit; the download was stopped."
        declared = response.headers.get("content-length")
        if declared and declared.strip().isdigit() and int(declared) > limit_b:
            raise FetchFailed(too_large, str(url), kind="too_large")
        received = 0

        def raw_body() -> Iterator[bytes]:
            nonlocal received
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > limit_b:  # the bytes on the wire count too (what Content-Length would have said)
                    raise FetchFailed(too_large, str(url), kind="too_large")
                yield chunk

        buf = bytearray()
        try:
            # Decoded here rather than by httpx: its decoders inflate a whole network read at once (64 kB of
            # gzip can be 64 MB); decode_content never produces more than CHUNK bytes per step.
            for piece in decode_content(raw_body(), response.headers.get_list("content-encoding", split_commas=True)):
                buf += piece
                if len(buf) > limit_b:
                    raise FetchFailed(too_large, str(url), kind="too_large")
        except httpcore.TimeoutException as exc:
            raise FetchFailed(f"The request to {url.host} timed out (limit {limit_s:g} s).", str(url), kind="timeout") from exc
        except httpx.TransportError as exc:
            raise self._failure(exc, url, limit_s) from exc
        except CorruptData as exc:
            raise FetchFailed(f"The response from {url.host} could not be decoded: {exc.reason}.", str(url), kind="protocol") from exc
        return bytes(buf)

    @staticmethod
    def _failure(exc: httpx.TransportError, url: httpx.URL, limit_s: float) -> FetchFailed:
        host = url.host
        if isinstance(exc, httpx.TimeoutException):
            return FetchFailed(f"The request to {host} timed out (limit {limit_s:g} s).", str(url), kind="timeout")
        tls = _ssl_cause(exc)
        if tls is not None:
            detail = getattr(tls, "verify_message", None) or str(tls)
            return FetchFailed(f"The TLS connection to {host} failed: {detail}.", str(url), kind="tls")
        if isinstance(exc, httpx.ConnectError):
            return FetchFailed(f"Could not connect to {host}: {exc}.", str(url), kind="network")
        if isinstance(exc, httpx.RemoteProtocolError):
            return FetchFailed(f"{host} sent an invalid HTTP response: {exc}.", str(url), kind="protocol")
        return FetchFailed(f"The request to {host} failed: {exc or type(exc).__name__}.", str(url), kind="network")

    def _follow(
        self, status: int, method: str, body: bytes | None, hdrs: httpx.Headers, current: httpx.URL, nxt: httpx.URL
    ) -> tuple[str, bytes | None, httpx.Headers]:
        new_headers = httpx.Headers(hdrs)
        if status == 303 and method != "HEAD" or status in (301, 302) and method == "POST":
            method, body = "GET", None
        if body is None:
            for name in ("content-type", "content-length", "transfer-encoding"):
                new_headers.pop(name, None)
        if _origin(current) != _origin(nxt):
            if body is not None:
                raise FetchRefused(
                    f"{current.host} answered HTTP {status} to {nxt.scheme}://{nxt.host}, which would re-send the "
                    "request body to a different origin.",
                    str(current),
                    kind="cross_origin_body",
                )
            for name in list(new_headers.keys()):
                if name.lower() not in _CROSS_ORIGIN_SAFE:
                    del new_headers[name]
        return method, body, new_headers

    @staticmethod
    def _flatten(headers: httpx.Headers) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.multi_items():
            key = name.lower()
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out


def fetcher_callable(fetcher: SafeFetcher) -> Callable[[str], bytes]:
    """Adapter for `woes.importers.base.ImportContext.fetch`."""
    return fetcher.fetch_bytes

