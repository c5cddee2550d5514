"""What the settings domains share through woes.core.crud, over all four of them (tags, custom fields,
statuses, priorities): the scopes of their routes, workspace isolation of every id route, and concurrent first
writes to the ordered lists (statuses, priorities) that are written lazily."""

from __future__ import annotations

from conftest import make_key
from settings_helpers import in_threads, problem
from sqlalchemy import select

from woes.events.service import SYSTEM
from woes.priorities.models import Priority
from woes.priorities.schemas import PriorityCreate
from woes.priorities.service import do_create_priority
from woes.statuses.models import Status
from woes.statuses.schemas import StatusCreate
from woes.statuses.service import do_create_status

LIST_ROUTES = ["/api/v1/tags", "/api/v1/custom-fields", "/api/v1/statuses", "/api/v1/priorities"]
CREATE_BODIES = {
    "/api/v1/tags": {"name": "scoped"},
    "/api/v1/custom-fields": {"key": "scoped", "label": "Scoped", "type": "boolean"},
    "/api/v1/statuses": {"label": "Scoped", "lifecycle": "open"},
    "/api/v1/priorities": {"label": "scoped"},
}


def test_scopes(client, ws):
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['workspace:read'])['secret']}"}
    writer = {"Authorization": f"Bearer {make_key(client, ws, ['workspace:write'])['secret']}"}
    other = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:write'])['secret']}"}
    for path in LIST_ROUTES:
        assert client.get(path, headers=reader).status_code == 200
        body = problem(client.get(path, headers=other), 403, code="permission_denied")
        assert body["requiredScope"] == "workspace:read" and "workspace:read" in body["error"]
        body = problem(client.post(path, json=CREATE_BODIES[path], headers=reader), 403, code="permission_denied")
        assert body["requiredScope"] == "workspace:write"
        r = client.post(path, json=CREATE_BODIES[path], headers=writer)
        assert r.status_code == 201, r.text
        item = f"{path}/{r.json()['id']}"
        assert client.get(item, headers=reader).status_code == 200
        assert problem(client.patch(item, json={}, headers=reader), 403)["requiredScope"] == "workspace:write"
        assert problem(client.delete(item, headers=reader), 403)["requiredScope"] == "workspace:write"
        assert client.get(item, headers={}).status_code == 401


def test_cross_workspace_ids_are_404_and_untouched(client, make_workspace):
    """The generic isolation test restricted to these routes (it also runs in test_tenant_isolation.py)."""
    from tenancy import FACTORIES
    from test_tenant_isolation import PARAM, example_body, id_routes

    a, b = make_workspace("A"), make_workspace("B")
    doc = client.get("/api/v1/openapi.json").json()
    routes = [r for r in id_routes(doc) if r[0].split("/")[3] in ("tags", "custom-fields", "statuses", "priorities")]
    assert len(routes) == 12
    ids = {p: FACTORIES[p](client, a) for p in ("tag_id", "field_id", "status_id", "priority_id")}
    before = {p: client.get(PARAM.sub(ids[p], path), headers=a.headers).json()
              for path, method, _ in routes if method == "get" for p in PARAM.findall(path)}
    for path, method, op in routes:
        url = PARAM.sub(lambda m: ids[m.group(1)], path)
        kwargs = {"headers": b.headers}
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            kwargs["json"] = example_body(schema, doc)
        r = client.request(method.upper(), url, **kwargs)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path, r.text)
    for path, method, _ in routes:
        if method == "get":
            p = PARAM.findall(path)[0]
            assert client.get(PARAM.sub(ids[p], path), headers=a.headers).json() == before[p]
    # B's own lists do not show A's records
    assert client.get("/api/v1/tags", headers=b.headers).json()["tags"] == []
    assert client.get("/api/v1/custom-fields", headers=b.headers).json()["customFields"] == []
    assert ids["status_id"] not in {s["id"] for s in client.get("/api/v1/statuses", headers=b.headers).json()["statuses"]}
    assert ids["priority_id"] not in {p["id"] for p in client.get("/api/v1/priorities", headers=b.headers).json()["priorities"]}


def test_concurrent_first_writes_to_priorities_and_statuses(runtime, make_workspace):
    ws = make_workspace()

    def write(i: int) -> str:
        with runtime.db.transaction() as s:
            if i % 2:
                return str(do_create_priority(s, ws.id, PriorityCreate(label=f"p{i}", is_default=True), SYSTEM).id)
            return str(do_create_status(s, ws.id, StatusCreate(label=f"s{i}", lifecycle="open", is_default=True), SYSTEM).id)

    results = in_threads(8, write)
    assert all(isinstance(r, str) for r in results), results
    with runtime.db.reading() as s:
        prios = list(s.scalars(select(Priority).where(Priority.workspace_id == ws.id).order_by(Priority.position)))
        statuses = list(s.scalars(select(Status).where(Status.workspace_id == ws.id).order_by(Status.position)))
    assert len(prios) == 4 + 4 and [p.position for p in prios] == list(range(8))
    assert sum(p.is_default for p in prios) == 1
    assert len(statuses) == 4 + 4 and [st.position for st in statuses] == list(range(8))
    assert sum(st.is_default for st in statuses if st.lifecycle == "open") == 1
