"""Service helpers other domains call: `validate_custom_field_values` (every type, null removal, merge,
provenance and the AI-never-overwrites-manual rule), `resolve_tag_names`, `valid_priority` and statuses."""

from __future__ import annotations

import copy
import math

import pytest
from sqlalchemy import select

from woes.core.errors import ProblemError
from woes.datasettings import service
from woes.datasettings.models import Tag
from woes.datasettings.schemas import CustomFieldCreate, PriorityCreate, StatusCreate, TagCreate
from woes.events.models import DomainEvent
from woes.events.service import SYSTEM, Actor

FIELDS = [
    ("about", "text", None, False),
    ("seats", "number", None, False),
    ("mrr", "decimal", None, False),
    ("vip", "boolean", None, False),
    ("renewal", "date", None, False),
    ("dashboard", "url", None, False),
    ("plan", "select", ["free", "pro", {"value": "ent", "label": "Enterprise"}], False),
    ("areas", "multi_select", ["api", "billing", "sdk"], False),
    ("region", "text", None, True),
]


@pytest.fixture
def fws(runtime, make_workspace):
    """A workspace with one conversation field of every type (+ a required one) and a customer field."""
    ws = make_workspace()
    with runtime.db.transaction() as s:
        for key, type_, options, required in FIELDS:
            service.do_create_custom_field(s, ws.id, CustomFieldCreate(
                key=key, label=key.title(), type=type_, options=options, required=required), SYSTEM)
        service.do_create_custom_field(s, ws.id, CustomFieldCreate(
            key="lifetime", label="Lifetime", type="number", target="customer"), SYSTEM)
    return ws


def run(runtime, ws, values, *, existing=None, source="manual", existing_sources=None, target="conversation", **kw):
    with runtime.db.reading() as s:
        return service.validate_custom_field_values(s, ws.id, target, values, existing=existing, source=source,
                                                    existing_sources=existing_sources, **kw)


def value_of(runtime, ws, key, raw):
    values, sources = run(runtime, ws, {key: raw})
    assert sources == {key: "manual"}
    return values[key]


def errors_of(runtime, ws, values, **kw) -> list[dict[str, str]]:
    with pytest.raises(ProblemError) as exc:
        run(runtime, ws, values, **kw)
    assert exc.value.status == 422 and exc.value.code == "validation_failed"
    return exc.value.errors


def rejects(runtime, ws, key, raw) -> str:
    errors = errors_of(runtime, ws, {key: raw})
    assert [e["field"] for e in errors] == [f"customFields.{key}"], errors
    return errors[0]["message"]


# -- each type ------------------------------------------------------------------------------------------

TYPE_CASES = {
    "about": {
        "valid": [("hello", "hello"), ("", ""), ("  spaced  ", "  spaced  "), ("x" * 10_000, "x" * 10_000),
                  ("ünïcødé ✓", "ünïcødé ✓")],
        "invalid": [5, 1.5, True, ["a"], {"a": 1}, "x" * 10_001],
    },
    "seats": {
        "valid": [(0, 0), (42, 42), (-7, -7), (3.0, 3), (2**53 - 1, 2**53 - 1), (-(2**53 - 1), -(2**53 - 1))],
        "invalid": [1.5, "42", True, False, math.nan, math.inf, -math.inf, 2**53, [1], {"n": 1}],
    },
    "mrr": {
        "valid": [(12.5, "12.5"), ("12.50", "12.50"), ("-3", "-3"), (7, "7"), ("+1.25", "1.25"), (0.1, "0.1"),
                  (1e20, "100000000000000000000"), (" 4.20 ", "4.20"), (-0.5, "-0.5")],
        "invalid": ["abc", "1.2.3", "1e5", "", ".5", "5.", "1,5", True, math.nan, math.inf, "9" * 65, [], {"v": 1},
                    "NaN", "Infinity"],
    },
    "vip": {
        "valid": [(True, True), (False, False)],
        "invalid": ["true", "false", 1, 0, "yes", []],
    },
    "renewal": {
        "valid": [("2026-02-28", "2026-02-28"), ("2024-02-29", "2024-02-29"), ("0001-01-01", "0001-01-01")],
        "invalid": ["2026-02-30", "2025-02-29", "2026-13-01", "2026-2-3", "2026-02-28T10:00:00Z", "28/02/2026",
                    "20260228", 20260228, "", "2026-W09", True],
    },
    "dashboard": {
        "valid": [("https://example.com", "https://example.com"), ("http://localhost:8000/x?y=1#z", "http://localhost:8000/x?y=1#z"),
                  ("HTTPS://Example.com/Path", "HTTPS://Example.com/Path"), (" https://a.io ", "https://a.io")],
        "invalid": ["ftp://example.com", "example.com", "https://", "javascript:alert(1)", "https://exa mple.com",
                    "mailto:a@b.c", 5, "https://" + "a" * 2050, "http://[::1", "", "https://a.io/\x00"],
    },
    "plan": {
        "valid": [("free", "free"), ("ent", "ent")],
        "invalid": ["Free", "Enterprise", "gold", "", 1, ["pro"], True],
    },
    "areas": {
        "valid": [(["api"], ["api"]), (["sdk", "api"], ["sdk", "api"]), ([], []), (["api", "billing", "sdk"], ["api", "billing", "sdk"])],
        "invalid": ["api", ["api", "api"], ["docs"], [1], ["API"], [None], {"api": True}, [["api"]]],
    },
}


@pytest.mark.parametrize("key", list(TYPE_CASES))
def test_each_type_valid_and_invalid(runtime, fws, key):
    for raw, stored in TYPE_CASES[key]["valid"]:
        assert value_of(runtime, fws, key, raw) == stored, (key, raw)
    for raw in TYPE_CASES[key]["invalid"]:
        message = rejects(runtime, fws, key, raw)
        assert message and len(message) < 400, (key, raw)


def test_error_messages_are_helpful(runtime, fws):
    assert "'free'" in rejects(runtime, fws, "plan", "gold")
    assert "more than once" in rejects(runtime, fws, "areas", ["api", "api"])
    assert "decimal" in rejects(runtime, fws, "seats", 1.5)
    assert "YYYY-MM-DD" in rejects(runtime, fws, "renewal", "2026-2-3")
    assert "not a valid calendar date" in rejects(runtime, fws, "renewal", "2026-02-30")
    assert "10,000" in rejects(runtime, fws, "about", "x" * 10_001)


def test_unknown_keys_and_all_errors_reported_together(runtime, fws):
    errors = errors_of(runtime, fws, {"nope": 1, "seats": "many", "plan": "pro", "Plan": "pro"})
    assert [e["field"] for e in errors] == ["customFields.nope", "customFields.seats", "customFields.Plan"]
    assert "nope" in errors[0]["message"] and "seats" in errors[0]["message"]  # lists the known keys
    # a customer field is not a conversation field, and vice versa
    assert [e["field"] for e in errors_of(runtime, fws, {"lifetime": 3})] == ["customFields.lifetime"]
    values, sources = run(runtime, fws, {"lifetime": 3}, target="customer")
    assert values == {"lifetime": 3} and sources == {"lifetime": "manual"}
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": 3}, target="customer")] == ["customFields.seats"]
    # the prefix is configurable for callers whose field has another name
    errors = errors_of(runtime, fws, {"nope": 1}, field_prefix="customer.customFields")
    assert errors[0]["field"] == "customer.customFields.nope"


def test_not_an_object(runtime, fws):
    for bad in (["seats"], "seats=1", 5):
        errors = errors_of(runtime, fws, bad)
        assert errors[0]["field"] == "customFields"
    assert run(runtime, fws, None) == ({}, {})
    assert run(runtime, fws, {}) == ({}, {})
    with pytest.raises(ValueError):
        run(runtime, fws, {}, source="robot")


def test_merge_null_removal_and_inputs_untouched(runtime, fws):
    existing = {"seats": 5, "plan": "pro", "about": "hi"}
    existing_sources = {"seats": "manual", "plan": "ai", "about": "manual"}
    values = {"seats": None, "vip": True, "about": "bye"}
    snapshot = copy.deepcopy((existing, existing_sources, values))
    merged, sources = run(runtime, fws, values, existing=existing, existing_sources=existing_sources)
    assert merged == {"plan": "pro", "about": "bye", "vip": True}
    assert sources == {"plan": "ai", "about": "manual", "vip": "manual"}
    assert (existing, existing_sources, values) == snapshot
    # null for a key that has no value is fine
    assert run(runtime, fws, {"renewal": None}, existing={"seats": 1}) == ({"seats": 1}, {"seats": "manual"})


def test_ai_never_overwrites_manual(runtime, fws):
    existing = {"plan": "pro", "seats": 10, "vip": False}
    existing_sources = {"plan": "manual", "seats": "ai", "vip": "manual"}
    merged, sources = run(runtime, fws, {"plan": "free", "seats": 12, "about": "suggested", "vip": None},
                          existing=existing, source="ai", existing_sources=existing_sources)
    assert merged == {"plan": "pro", "seats": 12, "about": "suggested", "vip": False}
    assert sources == {"plan": "manual", "seats": "ai", "about": "ai", "vip": "manual"}
    # an invalid AI value for a manually set key is ignored too (not an error)
    assert run(runtime, fws, {"plan": "gold"}, existing=existing, source="ai",
               existing_sources=existing_sources)[0]["plan"] == "pro"
    # but an invalid AI value elsewhere, or an unknown key, is still an error
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": "x"}, existing=existing, source="ai",
                                          existing_sources=existing_sources)] == ["customFields.seats"]
    assert [e["field"] for e in errors_of(runtime, fws, {"nope": 1}, source="ai",
                                          existing_sources=None)] == ["customFields.nope"]
    # AI may remove its own value
    merged, sources = run(runtime, fws, {"seats": None}, existing=existing, source="ai",
                          existing_sources=existing_sources)
    assert "seats" not in merged and "seats" not in sources


def test_manual_overwrites_ai_and_takes_over_provenance(runtime, fws):
    merged, sources = run(runtime, fws, {"seats": 3}, existing={"seats": 10}, existing_sources={"seats": "ai"})
    assert merged == {"seats": 3} and sources == {"seats": "manual"}
    # confirming the same value makes it manual, so the AI can no longer change it
    merged, sources = run(runtime, fws, {"plan": "pro"}, existing={"plan": "pro"}, existing_sources={"plan": "ai"})
    assert sources == {"plan": "manual"}
    merged, sources = run(runtime, fws, {"plan": "free"}, existing=merged, source="ai", existing_sources=sources)
    assert merged == {"plan": "pro"}


def test_existing_values_without_known_source_count_as_manual(runtime, fws):
    merged, sources = run(runtime, fws, {"seats": 99}, existing={"seats": 1}, source="ai", existing_sources=None)
    assert merged == {"seats": 1} and sources == {"seats": "manual"}
    merged, sources = run(runtime, fws, {"seats": 99}, existing={"seats": 1}, source="ai",
                          existing_sources={"seats": "bogus"})
    assert merged == {"seats": 1} and sources == {"seats": "manual"}


def test_values_of_deleted_fields_are_dropped(runtime, fws):
    with runtime.db.reading() as s:
        seats = service.custom_field_definitions(s, fws.id, "conversation")["seats"]
    with runtime.db.transaction() as s:
        service.do_delete_custom_field(s, fws.id, seats.id, SYSTEM)
    merged, sources = run(runtime, fws, {"vip": True}, existing={"seats": 4, "about": "x"},
                          existing_sources={"seats": "manual", "about": "ai"})
    assert merged == {"about": "x", "vip": True} and sources == {"about": "ai", "vip": "manual"}
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": 4})] == ["customFields.seats"]


def test_enforce_required(runtime, fws):
    errors = errors_of(runtime, fws, {"seats": 1}, enforce_required=True)
    assert [e["field"] for e in errors] == ["customFields.region"] and "required" in errors[0]["message"]
    for empty in ("", None):
        errors = errors_of(runtime, fws, {"region": empty}, existing={"region": "eu"}, enforce_required=True)
        assert [e["field"] for e in errors] == ["customFields.region"]
    merged, _ = run(runtime, fws, {}, existing={"region": "eu"}, enforce_required=True)
    assert merged == {"region": "eu"}
    # without enforce_required, required fields may be missing
    assert run(runtime, fws, {"seats": 1}) == ({"seats": 1}, {"seats": "manual"})


def test_other_workspaces_fields_are_invisible(runtime, fws, make_workspace):
    other = make_workspace("Other")
    assert [e["field"] for e in errors_of(runtime, other, {"seats": 1})] == ["customFields.seats"]


# -- tags ------------------------------------------------------------------------------------------------

def _tag_events(runtime, ws) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        return list(s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id,
                                                        DomainEvent.type == "tag.created").order_by(DomainEvent.seq)))


def test_resolve_tag_names(runtime, make_workspace):
    ws = make_workspace()
    actor = Actor("operator", "m1")
    with runtime.db.transaction() as s:
        bug = service.do_create_tag(s, ws.id, TagCreate(name="Bug"), SYSTEM)
        service.do_create_tag(s, ws.id, TagCreate(name="Roadmap", scope="issue"), SYSTEM)
        service.do_create_tag(s, ws.id, TagCreate(name="Chat", scope="conversation"), SYSTEM)
    with runtime.db.transaction() as s:
        tags = service.resolve_tag_names(s, ws.id, [" bug ", "BUG", "chat"], "conversation", create_missing=False, actor=actor)
        assert [t.name for t in tags] == ["Bug", "Chat"] and tags[0].id == bug.id
        assert service.resolve_tag_names(s, ws.id, [], "issue", create_missing=False, actor=actor) == []

    def fails(names, scope="conversation", create=False) -> dict:
        with runtime.db.transaction() as s, pytest.raises(ProblemError) as exc:
            service.resolve_tag_names(s, ws.id, names, scope, create_missing=create, actor=actor)
        assert exc.value.status == 422
        return exc.value.errors[0]

    err = fails(["bug", "nope"])
    assert err["field"] == "tags[1]" and "nope" in err["message"]
    assert fails(["roadmap"])["field"] == "tags[0]" and "issue" in fails(["roadmap"])["message"]
    assert fails(["chat"], scope="issue")["field"] == "tags[0]"
    assert fails(["ok", ""], create=True)["field"] == "tags[1]"
    assert fails(["x" * 65], create=True)["field"] == "tags[0]"
    assert fails(["a\nb"], create=True)["field"] == "tags[0]"
    assert fails([5], create=True)["field"] == "tags[0]"
    assert fails("bug")["field"] == "tags"
    assert fails(["t"] * 101)["field"] == "tags"
    # a bad name later in the list: the earlier new names are not created either (checked before writing)
    with runtime.db.transaction() as s:
        with pytest.raises(ProblemError) as exc:
            service.resolve_tag_names(s, ws.id, ["brand new", "roadmap"], "conversation", create_missing=True, actor=actor)
        assert exc.value.errors[0]["field"] == "tags[1]"
        assert s.scalar(select(Tag).where(Tag.workspace_id == ws.id, Tag.name_key == "brand new")) is None
    with runtime.db.reading() as s:  # the failed calls created nothing
        assert sorted(s.scalars(select(Tag.name).where(Tag.workspace_id == ws.id))) == ["Bug", "Chat", "Roadmap"]
    with pytest.raises(ValueError), runtime.db.reading() as s:
        service.resolve_tag_names(s, ws.id, ["bug"], "both", create_missing=False, actor=actor)  # type: ignore[arg-type]

    with runtime.db.transaction() as s:
        tags = service.resolve_tag_names(s, ws.id, ["Bug", "New one", "new ONE", "Another"], "issue",
                                         create_missing=True, actor=actor)
        assert [t.name for t in tags] == ["Bug", "New one", "Another"]
        assert all(t.scope == "both" for t in tags[1:])
    events = _tag_events(runtime, ws)
    created = [e for e in events if e.actor_type == "operator"]
    assert [e.payload["name"] for e in created] == ["New one", "Another"] and created[0].actor_id == "m1"
    with runtime.db.transaction() as s:  # idempotent: no new tags, no new events
        service.resolve_tag_names(s, ws.id, ["new one"], "conversation", create_missing=True, actor=actor)
    assert len(_tag_events(runtime, ws)) == len(events)


# -- priorities and statuses -----------------------------------------------------------------------------

def test_valid_priority(runtime, make_workspace):
    ws = make_workspace()
    with runtime.db.reading() as s:
        assert service.valid_priority(s, ws.id, "medium") == "medium"
        assert service.valid_priority(s, ws.id, " URGENT ") == "urgent"
        assert service.valid_priority(s, ws.id, None) == "medium"
        assert service.default_priority(s, ws.id) == "medium"
        for bad in ("critical", "", 3):
            with pytest.raises(ProblemError) as exc:
                service.valid_priority(s, ws.id, bad)
            assert exc.value.status == 422 and exc.value.errors[0]["field"] == "priority"
        with pytest.raises(ProblemError) as exc:
            service.valid_priority(s, ws.id, "critical", field="initialPriority")
        assert exc.value.errors[0]["field"] == "initialPriority"
        assert "low, medium, high, urgent" in exc.value.errors[0]["message"]
    with runtime.db.transaction() as s:
        service.do_create_priority(s, ws.id, PriorityCreate(label="Critical", is_default=True), SYSTEM)
    with runtime.db.reading() as s:
        assert service.valid_priority(s, ws.id, "critical") == "Critical"
        assert service.valid_priority(s, ws.id, None) == "Critical"
        assert service.default_priority(s, ws.id) == "Critical"


def test_status_helpers(runtime, make_workspace):
    ws = make_workspace()
    with runtime.db.reading() as s:
        assert service.default_status(s, ws.id).label == "Open"
        assert service.default_status(s, ws.id, "solved").label == "Resolved"
        assert service.resolve_status(s, ws.id, "waiting", "customer").label == "Waiting on customer"
        assert service.resolve_status(s, ws.id, "waiting", "team").label == "Waiting on team"
        assert service.resolve_status(s, ws.id, "waiting", None).label == "Waiting on customer"
        assert service.resolve_status(s, ws.id, "open").label == "Open"
        with pytest.raises(ProblemError) as exc:
            service.resolve_status(s, ws.id, "closed")
        assert exc.value.errors[0]["field"] == "status"
    with runtime.db.transaction() as s:
        service.do_create_status(s, ws.id, StatusCreate(label="On hold", lifecycle="waiting", is_default=True), SYSTEM)
    with runtime.db.reading() as s:
        assert service.default_status(s, ws.id, "waiting").label == "On hold"
        assert service.resolve_status(s, ws.id, "waiting", None).label == "On hold"
        assert service.resolve_status(s, ws.id, "waiting", "customer").label == "Waiting on customer"


# -- races -----------------------------------------------------------------------------------------------

def _in_threads(n: int, fn) -> list:
    import threading

    barrier = threading.Barrier(n)
    results: list = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_tag_creation_from_conversations_makes_one_tag(runtime, make_workspace):
    ws = make_workspace()

    def resolve(i: int) -> str:
        with runtime.db.transaction() as s:
            return str(service.resolve_tag_names(s, ws.id, ["Shared", f"own-{i}"], "conversation",
                                                 create_missing=True, actor=SYSTEM)[0].id)

    results = _in_threads(6, resolve)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    with runtime.db.reading() as s:
        names = list(s.scalars(select(Tag.name).where(Tag.workspace_id == ws.id)))
    assert sorted(names) == sorted(["Shared"] + [f"own-{i}" for i in range(6)])
    assert len(_tag_events(runtime, ws)) == 7


def test_concurrent_api_style_tag_creation_conflicts_cleanly(runtime, make_workspace):
    ws = make_workspace()

    def create(i: int) -> str:
        with runtime.db.transaction() as s:
            return str(service.do_create_tag(s, ws.id, TagCreate(name="dup" if i % 2 else "DUP"), SYSTEM).id)

    results = _in_threads(6, create)
    ok = [r for r in results if isinstance(r, str)]
    errors = [r for r in results if not isinstance(r, str)]
    assert len(ok) == 1 and len(errors) == 5
    assert all(isinstance(e, ProblemError) and e.status == 409 and e.extra["existingId"] == ok[0] for e in errors)


def test_unique_guard_turns_a_missed_precheck_into_409(runtime, make_workspace, monkeypatch):
    """If the pre-check misses a row (another transaction committed it meanwhile), the unique constraint
    answers inside a savepoint: a 409, and the rest of the transaction stays usable."""
    ws = make_workspace()
    with runtime.db.transaction() as s:
        existing = service.do_create_tag(s, ws.id, TagCreate(name="Late"), SYSTEM)
    real = service._tag_by_name
    calls = {"n": 0}

    def blind_once(session, workspace_id, name):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(session, workspace_id, name)

    monkeypatch.setattr(service, "_tag_by_name", blind_once)
    with runtime.db.transaction() as s:
        with pytest.raises(ProblemError) as exc:
            service.do_create_tag(s, ws.id, TagCreate(name="late"), SYSTEM)
        assert exc.value.status == 409 and exc.value.extra["existingId"] == str(existing.id)
        service.do_create_tag(s, ws.id, TagCreate(name="after"), SYSTEM)  # the transaction goes on
    calls["n"] = 0
    with runtime.db.transaction() as s:
        tags = service.resolve_tag_names(s, ws.id, ["LATE"], "issue", create_missing=True, actor=SYSTEM)
        assert [t.id for t in tags] == [existing.id]
    with runtime.db.reading() as s:
        assert sorted(s.scalars(select(Tag.name).where(Tag.workspace_id == ws.id))) == ["Late", "after"]


def test_concurrent_first_writes_to_priorities_and_statuses(runtime, make_workspace):
    from woes.datasettings.models import Priority, Status

    ws = make_workspace()

    def write(i: int) -> str:
        with runtime.db.transaction() as s:
            if i % 2:
                return str(service.do_create_priority(s, ws.id, PriorityCreate(label=f"p{i}", is_default=True), SYSTEM).id)
            return str(service.do_create_status(s, ws.id, StatusCreate(label=f"s{i}", lifecycle="open",
                                                                         is_default=True), SYSTEM).id)

    results = _in_threads(8, write)
    assert all(isinstance(r, str) for r in results), results
    with runtime.db.reading() as s:
        prios = list(s.scalars(select(Priority).where(Priority.workspace_id == ws.id).order_by(Priority.position)))
        statuses = list(s.scalars(select(Status).where(Status.workspace_id == ws.id).order_by(Status.position)))
    assert len(prios) == 4 + 4 and [p.position for p in prios] == list(range(8))
    assert sum(p.is_default for p in prios) == 1
    assert len(statuses) == 4 + 4 and [st.position for st in statuses] == list(range(8))
    assert sum(st.is_default for st in statuses if st.lifecycle == "open") == 1
