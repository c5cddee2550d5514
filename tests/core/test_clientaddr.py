"""Client address resolution: X-Forwarded-For only from WOES_TRUSTED_PROXIES, right-most untrusted hop."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from woes.config import Settings
from woes.core.clientaddr import ClientAddressMiddleware, parse_trusted_proxies, resolve_client

TRUSTED = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1, ::1")


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted():
    for peer in ("127.0.0.1", "::1", "203.0.113.5"):
        assert resolve_client(peer, ["198.51.100.1"], ()) == peer


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    assert resolve_client("203.0.113.5", ["198.51.100.1"], TRUSTED) == "203.0.113.5"
    assert resolve_client("127.0.0.2", ["198.51.100.1"], TRUSTED) == "127.0.0.2"  # only 127.0.0.1 is listed


def test_right_most_untrusted_hop_from_a_trusted_proxy():
    # the client wrote "6.6.6.6" itself; the first trusted proxy appended what it saw (198.51.100.7)
    assert resolve_client("10.0.0.5", ["6.6.6.6, 198.51.100.7, 10.0.0.7"], TRUSTED) == "198.51.100.7"
    # several header lines are one list, in order
    assert resolve_client("127.0.0.1", ["6.6.6.6", "198.51.100.8 , 10.1.2.3"], TRUSTED) == "198.51.100.8"
    assert resolve_client("::1", ["[2001:db8::1]:4711"], TRUSTED) == "2001:db8::1"
    assert resolve_client("127.0.0.1", ["198.51.100.9:1234"], TRUSTED) == "198.51.100.9"
    assert resolve_client("::ffff:10.0.0.5", ["::ffff:198.51.100.10"], TRUSTED) == "198.51.100.10"


def test_all_hops_trusted_or_garbage_stop_at_the_last_vouched_hop():
    assert resolve_client("10.0.0.5", ["10.0.0.9, 10.0.0.8"], TRUSTED) == "10.0.0.9"
    assert resolve_client("10.0.0.5", ["198.51.100.1, not-an-ip, 10.0.0.8"], TRUSTED) == "10.0.0.8"
    assert resolve_client("10.0.0.5", ["", " , "], TRUSTED) == "10.0.0.5"


def test_non_ip_peer_is_never_trusted():
    assert resolve_client("testclient", ["198.51.100.1"], TRUSTED) == "testclient"
    assert resolve_client(None, ["198.51.100.1"], TRUSTED) is None


def test_setting_accepts_ips_and_cidrs_only(tmp_path):
    assert Settings(data_dir=tmp_path, trusted_proxies=" 10.0.0.1, 192.168.0.0/16 ,::1").trusted_proxies
    assert Settings(data_dir=tmp_path).trusted_proxies == ""
    for bad in ("proxy.internal", "*", "10.0.0.0/33"):
        with pytest.raises(ValidationError, match="WOES_TRUSTED_PROXIES"):
            Settings(data_dir=tmp_path, trusted_proxies=bad)


def _through(mw: ClientAddressMiddleware, peer: tuple[str, int], headers: dict[str, str]) -> dict:
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(client=scope["client"], scheme=scope["scheme"])

    mw.app = app
    scope = {"type": "http", "scheme": "http", "client": peer, "path": "/",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(mw(scope, None, None))
    return seen


def test_middleware_rewrites_client_and_scheme_only_for_trusted_peers():
    mw = ClientAddressMiddleware(lambda *a: None, trusted_proxies="127.0.0.1")
    fwd = {"x-forwarded-for": "6.6.6.6, 198.51.100.7", "x-forwarded-proto": "https"}
    assert _through(mw, ("127.0.0.1", 5000), fwd) == {"client": ("198.51.100.7", 0), "scheme": "https"}
    assert _through(mw, ("203.0.113.5", 5000), fwd) == {"client": ("203.0.113.5", 5000), "scheme": "http"}
    untrusting = ClientAddressMiddleware(lambda *a: None)
    assert _through(untrusting, ("127.0.0.1", 5000), fwd) == {"client": ("127.0.0.1", 5000), "scheme": "http"}
