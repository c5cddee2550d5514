"""Create, read, update and delete of one kind of workspace record, and the routes that expose them: what the
settings domains (tags, custom fields, statuses, priorities) share.

- `Records`: look-up by id within the workspace, unique guards, insert + `<kind>.created`, update of the fields
  that changed + `<kind>.updated` (with `changedFields`), delete + `<kind>.deleted`. Its models have the columns
  of `woes.db.InWorkspace` and `woes.db.Timestamps`.
- `OrderedRecords`: a workspace's ordered list (`position`, one or more `is_default`, a unique label) that reads
  as built-in defaults until its first change writes them.
- `CrudRoutes`: the list / create / get / update / delete routes of one kind.

Core names no domain: a domain passes its model, its view (row → JSON dict), its kind (the event prefix and
resource type), the event recorder (`woes.events.service.record_event`) and, for routes, the access
dependencies (`woes.access.deps`). The domain's rules (what may change, what a conflict says, hooks, defaults)
stay in its service and run around these calls.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy import Boolean, Integer, Select, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from woes.core.errors import ProblemError, conflict, not_found, validation_error
from woes.core.pagination import Page, paginate
from woes.core.schemas import respond
from woes.core.scoping import get_in_workspace
from woes.core.text import fold_name
from woes.core.views import camel
from woes.db import InWorkspace, Timestamps, utcnow

M = TypeVar("M")
View = Callable[[Any], dict[str, Any]]
RecordEvent = Callable[..., object]  # woes.events.service.record_event

_DEFAULTS = uuid.UUID("5f0c1d3e-4b7a-4c55-9a51-8f3e2d1c0b9a")  # namespace of the deterministic ids of default rows


def reject_nulls(changes: dict[str, Any], fields: Sequence[str]) -> None:
    """422 naming the (camelCase) field when a patch sets one of `fields` to null."""
    for f in fields:
        if f in changes and changes[f] is None:
            raise validation_error(camel(f), "cannot be null")


def patch_changes(body: BaseModel, not_null: Sequence[str] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets; 422 when one of `not_null` is set to null."""
    changes = body.model_dump(exclude_unset=True)
    reject_nulls(changes, not_null)
    return changes


@contextmanager
def unique_guard(session: Session, on_conflict: Callable[[], ProblemError] | None) -> Iterator[None]:
    """Run the body's changes and flush them. With `on_conflict`, inside a savepoint: a unique-constraint race
    with a concurrent transaction (PostgreSQL) becomes the same 409 the pre-check gives, instead of a 500 or an
    aborted transaction. (Make the changes inside the block: opening the savepoint flushes earlier pending state.)"""
    if on_conflict is None:
        yield
        session.flush()
        return
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise on_conflict() from None


class ListColumns(InWorkspace, Timestamps):
    """Model mixin: the columns `OrderedRecords` relies on: id, workspace and timestamps (`woes.db`), a label unique
    case-insensitively (`label_key`), the place in the list and the default flag (the model's own columns stand
    between label and position)."""

    label: Mapped[str] = mapped_column(String(32), sort_order=-1)
    label_key: Mapped[str] = mapped_column(String(100), sort_order=-1)
    position: Mapped[int] = mapped_column(Integer, default=0, sort_order=1)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, sort_order=1)


class Records(Generic[M]):
    """One kind of workspace record. `kind` names its events (`<kind>.created|updated|deleted`) and their resource
    type, `label` its 404 ("Tag not found."); `name` is the attribute that is unique case-insensitively: kept
    folded in `<name>_key`, and reported as `previous<Name>` when an update changes it."""

    def __init__(self, model: type[M], kind: str, label: str, view: View, record_event: RecordEvent, *,
                 name: str | None = None) -> None:
        self.model, self.kind, self.label, self.view, self.record_event, self.name = (
            model, kind, label, view, record_event, name)

    def get(self, session: Session, workspace_id: uuid.UUID, record_id: uuid.UUID) -> M:
        return get_in_workspace(session, self.model, workspace_id, record_id, self.label)

    def find(self, session: Session, workspace_id: uuid.UUID, **columns: Any) -> M | None:
        """The record of this workspace whose columns have these values (a unique key), or None."""
        m: Any = self.model
        return session.scalar(select(m).where(m.workspace_id == workspace_id,
                                              *(getattr(m, c) == v for c, v in columns.items())))

    def taken(self, error: str, existing: Any) -> ProblemError:
        """The 409 for a unique key already in use, naming the record that holds it (if it is still there)."""
        return conflict(error, existingId=str(existing.id) if existing else None)

    def event(self, session: Session, workspace_id: uuid.UUID, action: str, row: Any, actor: Any, *,
              data: dict[str, Any] | None = None, **extra: Any) -> None:
        """Record `<kind>.<action>` for `row`: its view (or `data`) and `extra`."""
        self.record_event(session, workspace_id=workspace_id, type=f"{self.kind}.{action}", resource_type=self.kind,
                          resource_id=row.id, data={**(self.view(row) if data is None else data), **extra}, actor=actor)

    def insert(self, session: Session, workspace_id: uuid.UUID, row: Any, actor: Any, *,
               on_conflict: Callable[[], ProblemError] | None = None) -> Any:
        """Add `row` (timestamps and folded name set here) and record `<kind>.created`."""
        row.created_at = row.updated_at = utcnow()
        if self.name:
            setattr(row, f"{self.name}_key", fold_name(getattr(row, self.name)))
        with unique_guard(session, on_conflict):
            session.add(row)
        self.event(session, workspace_id, "created", row, actor)
        return row

    def apply(self, session: Session, row: Any, changes: dict[str, Any], *,
              on_conflict: Callable[[], ProblemError] | None = None) -> list[str]:
        """Set the fields of `changes` whose values differ (and the folded name), stamp `updated_at` and flush.
        Returns the changed fields; [] when nothing differs, and then nothing is written."""
        changed = [f for f, v in changes.items() if getattr(row, f) != v]
        if changed:
            with unique_guard(session, on_conflict):
                for f in changed:
                    setattr(row, f, changes[f])
                if self.name in changed:
                    setattr(row, f"{self.name}_key", fold_name(changes[self.name]))
                row.updated_at = utcnow()
        return changed

    def updated(self, session: Session, workspace_id: uuid.UUID, row: Any, changed: list[str], actor: Any, *,
                previous_name: str | None = None) -> None:
        """Record `<kind>.updated` with `changedFields` (and `previous<Name>` when the name changed)."""
        extra: dict[str, Any] = {"changedFields": changed}
        if self.name and self.name in changed:
            extra[f"previous{self.name.capitalize()}"] = previous_name
        self.event(session, workspace_id, "updated", row, actor, **extra)

    def delete(self, session: Session, workspace_id: uuid.UUID, row: Any, actor: Any) -> None:
        """Delete `row` and record `<kind>.deleted` with its last view."""
        data = self.view(row)
        session.delete(row)
        session.flush()
        self.event(session, workspace_id, "deleted", row, actor, data=data)


class OrderedRecords(Records[M]):
    """A workspace's ordered list of labelled records (`position`, `is_default`, `label` unique case-insensitively).

    A workspace without rows reads as if it had the `defaults` (unsaved objects with deterministic ids, see
    `default_id`, so ids are stable), and the defaults are written as real rows the first time anything about the
    list changes (`materialize`, inside the writing transaction). Reads never write."""

    def __init__(self, model: type[M], kind: str, label: str, view: View, record_event: RecordEvent, *, plural: str,
                 limit: int, defaults: Callable[[Session, uuid.UUID], list[M]], parent: Any) -> None:
        super().__init__(model, kind, label, view, record_event, name="label")
        self.plural, self.limit, self.defaults, self.parent = plural, limit, defaults, parent

    def default_id(self, workspace_id: uuid.UUID, slug: str) -> uuid.UUID:
        """The stable id of a built-in default row (the same before and after it is written)."""
        return uuid.uuid5(_DEFAULTS, f"{workspace_id}/{self.kind}/{slug}")

    def stored(self, session: Session, workspace_id: uuid.UUID) -> list[M]:
        m: Any = self.model
        return list(session.scalars(select(m).where(m.workspace_id == workspace_id).order_by(m.position, m.created_at, m.id)))

    def all(self, session: Session, workspace_id: uuid.UUID) -> list[M]:
        """The whole list in order; the built-in defaults (unsaved objects) when none were ever written."""
        return self.stored(session, workspace_id) or self.defaults(session, workspace_id)

    def get(self, session: Session, workspace_id: uuid.UUID, record_id: uuid.UUID) -> M:
        for row in self.all(session, workspace_id):
            if row.id == record_id:
                return row
        raise not_found(self.label)

    def materialize(self, session: Session, workspace_id: uuid.UUID) -> list[M]:
        """Lock the workspace's list and make sure it exists as rows, writing the defaults on the first change.
        The lock serializes changes to the list on PostgreSQL: FOR NO KEY UPDATE on the parent (workspace) row
        does not block inserts that reference it (their FK check takes KEY SHARE). On SQLite write transactions
        are already serialized (BEGIN IMMEDIATE); the clause is not rendered."""
        parent = self.parent
        session.execute(select(parent.id).where(parent.id == workspace_id).with_for_update(key_share=True))
        rows = self.stored(session, workspace_id)
        if not rows:
            rows = self.defaults(session, workspace_id)
            session.add_all(rows)
            session.flush()
        return rows

    def writable(self, session: Session, workspace_id: uuid.UUID, record_id: uuid.UUID) -> tuple[list[M], Any]:
        """(the written list, the row with this id in it): 404 before anything is written."""
        self.get(session, workspace_id, record_id)
        rows = self.materialize(session, workspace_id)
        return rows, next(r for r in rows if r.id == record_id)

    def check_label(self, rows: Sequence[Any], label: str, exclude: uuid.UUID | None = None) -> None:
        for row in rows:
            if row.label_key == fold_name(label) and row.id != exclude:
                raise conflict(f"A {self.kind} labelled '{row.label}' already exists (labels are case-insensitive).",
                               existingId=str(row.id))

    def check_new(self, rows: Sequence[Any], label: str) -> None:
        """A new row's label is free and the list has room."""
        self.check_label(rows, label)
        if len(rows) >= self.limit:
            raise conflict(f"A workspace can have at most {self.limit} {self.plural}.")

    @staticmethod
    def place(rows: list[Any], row: Any, position: int | None) -> None:
        """Put `row` at `position` (None or past the end: last) and renumber the list."""
        if row in rows:
            rows.remove(row)
        rows.insert(len(rows) if position is None else min(position, len(rows)), row)
        OrderedRecords.renumber(rows)

    @staticmethod
    def renumber(rows: Sequence[Any]) -> None:
        for i, row in enumerate(rows):
            if row.position != i:
                row.position = i

    def add(self, session: Session, workspace_id: uuid.UUID, rows: list[Any], row: Any, position: int | None,
            actor: Any) -> None:
        """Insert a new `row` into the list at `position` (None: last) and record `<kind>.created`."""
        self.place(rows, row, position)
        self.insert(session, workspace_id, row, actor)

    def update(self, session: Session, workspace_id: uuid.UUID, rows: list[Any], row: Any, changes: dict[str, Any],
               actor: Any, *, values: dict[str, Any], fields: Sequence[str]) -> list[str]:
        """Change a row of the list: the attributes the domain decided (`values`), then the `label` and `position`
        of `changes`. Returns the `fields` whose view changed; when any did, `updated_at` is stamped and
        `<kind>.updated` recorded (with `previousLabel` for a new label)."""
        before = self.view(row)
        for attr, value in values.items():
            setattr(row, attr, value)
        if "label" in changes:
            row.label, row.label_key = changes["label"], fold_name(changes["label"])
        if "position" in changes:
            self.place(rows, row, changes["position"])
        after = self.view(row)
        changed = [f for f in fields if before[camel(f)] != after[camel(f)]]
        if changed:
            row.updated_at = utcnow()
            session.flush()
            self.updated(session, workspace_id, row, changed, actor, previous_name=before["label"])
        return changed

    def demote(self, session: Session, workspace_id: uuid.UUID, rows: Sequence[Any], keep: Any, actor: Any,
               among: Callable[[Any], bool] = lambda row: True) -> None:
        """Unset `is_default` on every other default row (of those `among` selects), recording each change."""
        for row in rows:
            if among(row) and row.is_default and row is not keep:
                row.is_default = False
                row.updated_at = utcnow()
                session.flush()
                self.event(session, workspace_id, "updated", row, actor, changedFields=["is_default"])

    def remove(self, session: Session, workspace_id: uuid.UUID, record_id: uuid.UUID, actor: Any, *,
               refuse: Callable[[Any], str | bool]) -> None:
        """Delete the row with this id from the list (404 before anything is written; a 409 with the reason
        `refuse(row)` gives, if it gives one); the rows after it move up."""
        rows, row = self.writable(session, workspace_id, record_id)
        reason = refuse(row)
        if reason:
            raise conflict(str(reason))
        rows.remove(row)
        self.renumber(rows)
        self.delete(session, workspace_id, row, actor)


# -- routes ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """What the routes depend on, given by the domain (core names no domain): `require(scope)` (the caller with
    that scope), the read and write sessions and the decorator for cheap reads (`woes.access.deps`)."""

    require: Callable[[str], Callable[..., Any]]
    read_scope: str
    write_scope: str
    read_db: Any
    write_db: Any
    fast_read: Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class Narrow:
    """An optional query parameter that narrows a list (`?scope=issue`)."""

    name: str
    type: Any
    description: str


class CrudRoutes:
    """The list / create / get / update / delete routes of one kind of record: `path` and `path/{id_param}`.
    Handlers are named `list_<plural>` and `<verb>_<noun>` (the OpenAPI operation ids and default summaries);
    each calls the domain's service function and serializes through `out`."""

    def __init__(self, router: APIRouter, access: Access, path: str, id_param: str, out: type[BaseModel], *,
                 noun: str, plural: str) -> None:
        self.router, self.access, self.path, self.id_param, self.out = router, access, path, id_param, out
        self.noun, self.plural, self.item = noun, plural, f"{path}/{{{id_param}}}"
        self.reader = ("p", Annotated[Any, Depends(access.require(access.read_scope))])
        self.writer = ("p", Annotated[Any, Depends(access.require(access.write_scope))])

    def _add(self, method: str, path: str, name: str, params: list[tuple[str, Any]], call: Callable[..., Any], *,
             narrow: Narrow | None = None, returns: Any = inspect.Signature.empty, **options: Any) -> None:
        def endpoint(**kwargs: Any) -> Any:
            return call(**kwargs)

        parameters = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a) for n, a in params]
        if narrow:
            parameters.append(inspect.Parameter(
                narrow.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                annotation=Annotated[narrow.type | None, Query(description=narrow.description)]))
        endpoint.__name__ = endpoint.__qualname__ = name
        endpoint.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
        handler = self.access.fast_read(endpoint) if method == "GET" else endpoint
        self.router.add_api_route(path, handler, methods=[method], **options)

    def _id(self) -> tuple[str, Any]:
        return (self.id_param, uuid.UUID)

    def paginated(self, summary: str, stmt: Callable[..., Select[Any]], model: Any, view: View,
                  narrow: Narrow | None = None) -> None:
        """GET path: one page of `stmt(workspace_id[, narrowing value])`, newest first."""
        def call(p: Any, db: Session, page: Any, **value: Any) -> dict[str, Any]:
            return paginate(db, stmt(p.workspace_id, *value.values()), model, page, camel(self.plural), view)

        params = [self.reader, ("db", self.access.read_db), ("page", Page)]
        self._add("GET", self.path, f"list_{self.plural}", params, call, narrow=narrow, returns=dict, summary=summary)

    def whole(self, summary: str, rows: Callable[[Session, uuid.UUID], list[Any]], view: View,
              narrow: Narrow | None = None) -> None:
        """GET path: the whole list in one answer (`hasMore` always false); `narrow` keeps rows whose attribute of
        that name equals the value."""
        def call(p: Any, db: Session, **value: Any) -> dict[str, Any]:
            kept = [r for r in rows(db, p.workspace_id) if all(v in (None, getattr(r, k)) for k, v in value.items())]
            return {"object": "list", camel(self.plural): [view(r) for r in kept], "hasMore": False, "nextCursor": None}

        params = [self.reader, ("db", self.access.read_db)]
        self._add("GET", self.path, f"list_{self.plural}", params, call, narrow=narrow, returns=dict, summary=summary)

    def create(self, body: type[BaseModel], do: Callable[..., Any], summary: str) -> None:
        def call(body: Any, p: Any, db: Session) -> Response:
            return respond(self.out, do(db, p.workspace_id, body, p.actor), 201)

        params = [("body", body), self.writer, ("db", self.access.write_db)]
        self._add("POST", self.path, f"create_{self.noun}", params, call, status_code=201, response_model=self.out,
                  summary=summary)

    def get(self, get: Callable[[Session, uuid.UUID, uuid.UUID], Any]) -> None:
        def call(p: Any, db: Session, **record_id: uuid.UUID) -> Response:
            return respond(self.out, get(db, p.workspace_id, *record_id.values()))

        params = [self._id(), self.reader, ("db", self.access.read_db)]
        self._add("GET", self.item, f"get_{self.noun}", params, call, response_model=self.out)

    def update(self, body: type[BaseModel], do: Callable[..., Any], summary: str) -> None:
        def call(body: Any, p: Any, db: Session, **record_id: uuid.UUID) -> Response:
            return respond(self.out, do(db, p.workspace_id, *record_id.values(), body, p.actor))

        params = [self._id(), ("body", body), self.writer, ("db", self.access.write_db)]
        self._add("PATCH", self.item, f"update_{self.noun}", params, call, response_model=self.out, summary=summary)

    def delete(self, do: Callable[..., None], summary: str) -> None:
        def call(p: Any, db: Session, **record_id: uuid.UUID) -> Response:
            do(db, p.workspace_id, *record_id.values(), p.actor)
            return Response(status_code=204)

        params = [self._id(), self.writer, ("db", self.access.write_db)]
        self._add("DELETE", self.item, f"delete_{self.noun}", params, call, status_code=204, summary=summary)
