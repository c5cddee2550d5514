"""`resolve_tag_names` (the tags other domains attach by name) and concurrent tag creation: one tag per
name, and a unique-constraint race answered as 409 inside a savepoint."""

from __future__ import annotations

import pytest
from settings_helpers import in_threads
from sqlalchemy import select

from woes.core.errors import ProblemError
from woes.events.models import DomainEvent
from woes.events.service import SYSTEM, Actor
from woes.tags import service
from woes.tags.models import Tag
from woes.tags.schemas import TagCreate


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


def test_concurrent_tag_creation_from_conversations_makes_one_tag(runtime, make_workspace):
    ws = make_workspace()

    def resolve(i: int) -> str:
        with runtime.db.transaction() as s:
            return str(service.resolve_tag_names(s, ws.id, ["Shared", f"own-{i}"], "conversation",
                                                 create_missing=True, actor=SYSTEM)[0].id)

    results = in_threads(6, resolve)
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

    results = in_threads(6, create)
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
