"""Sign-in abuse: failures are throttled per email + address and per address, never into a lockout of the
owner; the address is the socket peer unless the peer is a configured proxy (WOES_TRUSTED_PROXIES)."""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from woes.app import create_app
from woes.auth import throttle
from woes.runtime import Runtime

LOGIN = "/api/v1/auth/login"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _from(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def _login(app, address: str, email: str, password: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return _from(app, address).post(LOGIN, json={"email": email, "password": password}, headers=headers)


@pytest.fixture
def clock(runtime) -> Clock:
    c = Clock()
    runtime.login_guard.clock = c
    return c


def test_failures_from_rotating_addresses_do_not_lock_the_owner_out(app, ws, clock):
    # well past the old per-email limit of 10, all within one window
    codes = [_login(app, f"198.51.100.{i}", ws.owner_email, "wrong").status_code for i in range(1, 26)]
    assert codes == [401] * 25
    assert _login(app, "203.0.113.77", ws.owner_email, ws.owner_password).status_code == 200
    # the owner's own address, throttled for nobody else's failures
    assert _login(app, "198.51.100.3", ws.owner_email, ws.owner_password).status_code == 200


def test_pair_is_throttled_until_its_failures_leave_the_window(app, ws, clock):
    a, b = "198.51.100.20", "203.0.113.20"
    for _ in range(5):
        assert _login(app, a, ws.owner_email, "wrong").status_code == 401
    clock.now += 100
    for _ in range(5):
        assert _login(app, a, ws.owner_email, "wrong").status_code == 401
    clock.now += 20
    r = _login(app, a, ws.owner_email, ws.owner_password)  # the right password, from the throttled pair
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.headers["Retry-After"] == "180"  # the oldest five leave at +300
    # same address, another email: not this pair (and far from the per-address limit)
    assert _login(app, a, "someone-else@example.com", "wrong").status_code == 401
    # same email, another address: signs in
    assert _login(app, b, ws.owner_email, ws.owner_password).status_code == 200
    clock.now += 179
    r = _login(app, a, ws.owner_email, ws.owner_password)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    clock.now += 1  # the first five are out of the window: five failures left, the pair may try again
    assert _login(app, a, ws.owner_email, ws.owner_password).status_code == 200
    # a success clears the pair's failures: ten more tries before the next 429
    codes = [_login(app, a, ws.owner_email, "wrong").status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]


def test_refused_attempts_do_not_extend_the_block(app, ws, clock):
    a = "198.51.100.30"
    for _ in range(throttle.PAIR_LIMIT):
        assert _login(app, a, ws.owner_email, "wrong").status_code == 401
    for _ in range(5):  # hammering while refused counts for nothing
        clock.now += 50
        assert _login(app, a, ws.owner_email, "wrong").status_code == 429
    clock.now += 50  # 300 s after the failures
    assert _login(app, a, ws.owner_email, ws.owner_password).status_code == 200


def test_many_failures_for_one_email_refuse_only_addresses_that_failed(app, ws, clock, runtime):
    runtime.login_guard.email_limit = 5  # (100 by default) a distributed guess at one account
    for i in range(6):
        assert _login(app, f"198.51.100.{40 + i}", ws.owner_email, "wrong").status_code == 401
    r = _login(app, "198.51.100.40", ws.owner_email, ws.owner_password)  # failed before: refused
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert _login(app, "203.0.113.40", ws.owner_email, "wrong").status_code == 401  # clean: may try
    r = _login(app, "203.0.113.40", ws.owner_email, ws.owner_password)  # and now it has failed once
    assert r.status_code == 429
    assert _login(app, "203.0.113.41", ws.owner_email, ws.owner_password).status_code == 200
    clock.now += throttle.WINDOW
    assert _login(app, "198.51.100.40", ws.owner_email, ws.owner_password).status_code == 200


def test_per_address_limit_across_emails(app, ws, clock, runtime):
    guard = runtime.login_guard
    assert guard.address_limit == throttle.ADDRESS_LIMIT
    guard.address_limit = 6  # (50 by default) keeps the test short: each attempt is an argon2 hash
    a = "198.51.100.50"
    codes = [_login(app, a, f"user{i}@example.com", "guess").status_code for i in range(7)]
    assert codes == [401] * 6 + [429]
    assert _login(app, a, ws.owner_email, ws.owner_password).status_code == 429  # stuffing source: refused
    assert _login(app, "203.0.113.50", ws.owner_email, ws.owner_password).status_code == 200


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "203.0.113.60"])
def test_rotating_forwarded_for_from_an_untrusted_peer_changes_nothing(app, ws, clock, runtime, peer):
    runtime.login_guard.address_limit = 6
    codes = [_login(app, peer, f"user{i}@example.com", "guess",
                    headers={"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}).status_code
             for i in range(7)]
    assert codes == [401] * 6 + [429]
    # and the same owner pair, behind rotating headers, is one pair
    runtime.login_guard.address_limit = 1000
    codes = [_login(app, peer, ws.owner_email, "wrong", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
             for i in range(throttle.PAIR_LIMIT + 1)]
    assert codes == [401] * throttle.PAIR_LIMIT + [429]


def test_general_rate_limit_and_key_usage_ignore_untrusted_forwarded_for(settings, runtime, ws):
    settings.rate_limit_per_minute = 3
    app = create_app(settings, runtime, background=False, migrate=False)
    c = _from(app, "127.0.0.1")
    codes = [c.get("/api/v1/auth/me", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(4)]
    assert codes[-1] == 429, codes
    c.get("/api/v1/workspace", headers={**ws.headers, "X-Forwarded-For": "198.51.100.99"})
    runtime.usage.flush()
    keys = c.get("/api/v1/keys", headers=ws.headers).json()["keys"]
    assert {k["lastUsedIp"] for k in keys} == {"127.0.0.1"}


def test_forwarded_for_from_a_trusted_proxy_is_honoured(settings, runtime, ws):
    settings.trusted_proxies = "127.0.0.1, 10.0.0.0/8"
    app = create_app(settings, runtime, background=False, migrate=False)
    runtime.login_guard.clock = Clock()
    # different clients behind the proxy are different addresses: no 429 for the pair
    codes = [_login(app, "127.0.0.1", ws.owner_email, "wrong",
                    headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(15)]
    assert codes == [401] * 15
    # one client (the right-most untrusted hop) that rewrites the left part of the header is one address
    codes = [_login(app, "127.0.0.1", ws.owner_email, "wrong",
                    headers={"X-Forwarded-For": f"192.0.2.{i}, 203.0.113.70, 10.1.1.1"}).status_code
             for i in range(throttle.PAIR_LIMIT + 1)]
    assert codes == [401] * throttle.PAIR_LIMIT + [429]
    r = _login(app, "127.0.0.1", ws.owner_email, ws.owner_password, headers={"X-Forwarded-For": "203.0.113.70"})
    assert r.status_code == 429
    r = _login(app, "127.0.0.1", ws.owner_email, ws.owner_password, headers={"X-Forwarded-For": "203.0.113.71"})
    assert r.status_code == 200
    # key usage records the client, not the proxy
    c = _from(app, "10.9.9.9")
    c.get("/api/v1/workspace", headers={**ws.headers, "X-Forwarded-For": "198.51.100.200"})
    runtime.usage.flush()
    assert {k["lastUsedIp"] for k in c.get("/api/v1/keys", headers=ws.headers).json()["keys"]} == {"198.51.100.200"}


def _redis_url() -> str:
    # one Redis database per parallel test worker (as in test_rate_limit_shared_through_redis); the keys are
    # this test's own (a fresh email and address), so nothing needs flushing
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    return f"redis://127.0.0.1:6379/{15 - worker % 8}"


def test_failure_counts_shared_through_redis(settings, runtime, ws):
    settings.redis_url = _redis_url()
    replicas = [Runtime.build(settings) for _ in range(2)]
    try:
        clock = Clock(time.time())
        for rt in replicas:
            assert isinstance(rt.login_guard.store, throttle.RedisFailureStore)
            rt.login_guard.clock = clock
        a, b = (create_app(settings, rt, background=False, migrate=False) for rt in replicas)
        addr = f"198.51.100.{os.getpid() % 250 + 1}"
        codes = [_login(app, addr, ws.owner_email, "wrong").status_code for app in (a, b) * 5]
        assert codes == [401] * 10
        assert _login(a, addr, ws.owner_email, ws.owner_password).status_code == 429
        assert _login(b, addr, ws.owner_email, ws.owner_password).status_code == 429
        assert _login(b, "203.0.113.80", ws.owner_email, ws.owner_password).status_code == 200
        # the stored keys name neither the email nor the address
        keys = [k.decode() for k in replicas[0].login_guard.store.redis.scan_iter("woes:login:*")]
        assert keys and not any(ws.owner_email in k or addr in k for k in keys)
        clock.now += throttle.WINDOW
        assert _login(a, addr, ws.owner_email, ws.owner_password).status_code == 200
    finally:
        for rt in replicas:
            rt.bus.close()
            rt.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_woes_serve_does_not_believe_forwarded_for_from_loopback(app, ws, monkeypatch, tmp_path):
    """uvicorn, as `woes serve` starts it, must not rewrite the client from X-Forwarded-For (uvicorn's
    own default trusts 127.0.0.1): a real server, a loopback peer, rotating headers, one address."""
    import uvicorn

    from woes import cli
    from woes.config import reset_settings_cache

    captured: dict = {}

    def fake_run(served_app, **kwargs):
        captured.update(kwargs)
        served_app.state.runtime.db.dispose()

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr("woes.core.logging.configure_logging", lambda *a, **k: None)
    monkeypatch.setenv("WOES_DATA_DIR", str(tmp_path / "serve"))
    monkeypatch.setenv("WOES_EMBEDDED_WORKERS", "0")
    monkeypatch.delenv("WOES_DATABASE_URL", raising=False)
    monkeypatch.delenv("WOES_REDIS_URL", raising=False)
    port = _free_port()
    try:
        cli.cmd_serve(argparse.Namespace(host="127.0.0.1", port=port, data_dir=None, database_url=None))
    finally:
        reset_settings_cache()
    assert captured["host"] == "127.0.0.1" and captured["port"] == port

    server = uvicorn.Server(uvicorn.Config(app, **captured))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        with httpx.Client(base_url=base, timeout=10) as c:
            codes = [c.post(LOGIN, json={"email": ws.owner_email, "password": "wrong"},
                            headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                     for i in range(throttle.PAIR_LIMIT + 1)]
        assert codes == [401] * throttle.PAIR_LIMIT + [429]
    finally:
        server.should_exit = True
        thread.join(20)
