"""Per-IP and per-key limits of the widget API (a public key invites floods)."""

from __future__ import annotations

import httpx
import pytest
from support.live_server import serving
from support.waiting import wait_for
from widget_helpers import ORIGIN, Visitor, make_widget_key

from woes.app import create_app


@pytest.fixture
def key(client, ws):
    return make_widget_key(client, ws)


@pytest.fixture
def settings(settings):
    settings.widget_ip_rate_limit_per_minute = 30
    settings.widget_starts_per_hour = 3
    settings.widget_streams_per_ip = 2
    return settings


def test_floods_from_one_address_are_limited(client, key):
    for _ in range(3):
        assert Visitor(client, key).say("spam").status_code == 201
    r = Visitor(client, key).say("spam")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    statuses = [client.get("/api/widget/config", headers={"X-Woes-Public-Key": key, "Origin": ORIGIN}).status_code
                for _ in range(40)]
    assert statuses.count(429) > 0 and statuses[0] == 200


def test_one_address_holds_a_bounded_number_of_streams(settings, runtime, client, key):
    v = Visitor(client, key)
    v.say("hello")
    with serving(create_app(settings, runtime, background=True, migrate=False)) as base:
        url = f"{base}/api/widget/conversations/{v.conversation_id}/stream"
        with httpx.Client(timeout=httpx.Timeout(5, read=30)) as c:
            first, second = c.stream("GET", url, headers=v.headers()), c.stream("GET", url, headers=v.headers())
            held = [first.__enter__(), second.__enter__()]
            assert [r.status_code for r in held] == [200, 200]
            lines = [r.iter_lines() for r in held]  # kept: a dropped line iterator closes its stream
            assert [next(it) for it in lines] == ["retry: 3000", "retry: 3000"]  # running: each holds its slot
            third = c.get(url, headers=v.headers(), timeout=httpx.Timeout(5, read=5))  # a 429, or a read timeout
            assert third.status_code == 429 and third.json()["code"] == "rate_limited"
            second.__exit__(None, None, None)  # a closed stream gives its slot back

            def room() -> bool:
                with c.stream("GET", url, headers=v.headers()) as r:
                    return r.status_code == 200

            assert wait_for(room, 10)
            first.__exit__(None, None, None)
