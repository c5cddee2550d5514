"""Per-IP and per-key limits of the widget API (a public key invites floods)."""

from __future__ import annotations

import pytest
from widget_helpers import ORIGIN, Visitor, make_widget_key


@pytest.fixture
def key(client, ws):
    return make_widget_key(client, ws)


@pytest.fixture
def settings(settings):
    settings.widget_ip_rate_limit_per_minute = 30
    settings.widget_starts_per_hour = 3
    return settings


def test_floods_from_one_address_are_limited(client, key):
    for _ in range(3):
        assert Visitor(client, key).say("spam").status_code == 201
    r = Visitor(client, key).say("spam")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    statuses = [client.get("/api/widget/config", headers={"X-Woes-Public-Key": key, "Origin": ORIGIN}).status_code
                for _ in range(40)]
    assert statuses.count(429) > 0 and statuses[0] == 200
