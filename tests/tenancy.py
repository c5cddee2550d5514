"""Factories for the generic tenant-isolation test: one per path parameter that names a resource.

Every `{param}` in an /api/v1 route of the OpenAPI document must have a factory here that creates such a
resource in a workspace and returns its id; the isolation test fails for a route whose parameter has
none, so new domains cannot forget to be covered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Factory = Callable[[TestClient, Any], str]
FACTORIES: dict[str, Factory] = {}


def factory(*params: str) -> Callable[[Factory], Factory]:
    def register(fn: Factory) -> Factory:
        for p in params:
            FACTORIES[p] = fn
        return fn

    return register


def _post(client: TestClient, ws: Any, path: str, body: dict) -> dict:
    r = client.post(path, json=body, headers=ws.headers)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


@factory("key_id")
def make_api_key(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/keys", {"name": "victim", "scopes": ["workspace:read"]})["id"]


@factory("widget_key_id")
def make_widget_key(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/widget-keys", {"name": "victim"})["id"]


@factory("member_id")
def make_member(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/members", {"email": "victim-member@example.com", "role": "member"})["id"]


def _load_domain_factories() -> None:
    """Each domain keeps its factories in tests/tenancy_<domain>.py; import them all."""
    import importlib
    from pathlib import Path

    for path in sorted(Path(__file__).parent.glob("tenancy_*.py")):
        importlib.import_module(path.stem)


_load_domain_factories()
