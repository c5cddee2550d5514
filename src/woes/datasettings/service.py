"""Workspace data settings: tags, custom fields, statuses, priorities.

Every change goes through a `do_*` function that writes the change and its domain event in the caller's
transaction (services never commit). Helpers for other domains (conversations, issues, customers):

- `resolve_tag_names(...)`      names → Tag rows, checking scope, optionally creating missing tags
- `validate_custom_field_values(...)` typed validation + merge of `customFields`, with provenance
- `valid_priority(...)`, `default_priority(...)`   priority labels
- `list_statuses(...)`, `resolve_status(...)`, `default_status(...)`   status labels for lifecycles

Statuses and priorities are seeded lazily: a workspace without rows *reads* as if it had the defaults
(transient objects with deterministic ids, so ids are stable), and the defaults are written as real rows
the first time anything about that list is changed (`_materialize_*`, inside the writing transaction).
Reads never write.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from woes.core.errors import ProblemError, conflict, not_found, validation_error
from woes.core.hooks import Hooks
from woes.core.scoping import get_in_workspace
from woes.core.text import fold_name
from woes.datasettings.models import CustomField, Priority, Status, Tag
from woes.datasettings.schemas import (
    CustomFieldCreate,
    CustomFieldOut,
    CustomFieldPatch,
    FieldOption,
    PriorityCreate,
    PriorityOut,
    PriorityPatch,
    StatusCreate,
    StatusOut,
    StatusPatch,
    TagCreate,
    TagOut,
    TagPatch,
)
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.workspaces.models import Workspace

Source = Literal["manual", "ai"]
SELECT_TYPES = ("select", "multi_select")
MAX_STATUSES = 50
MAX_PRIORITIES = 50
MAX_FIELDS_PER_TARGET = 200
MAX_TAGS_PER_CALL = 100

_NAMESPACE = uuid.UUID("5f0c1d3e-4b7a-4c55-9a51-8f3e2d1c0b9a")  # for the deterministic ids of default rows


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _reject_nulls(changes: dict[str, Any], fields: Iterable[str]) -> None:
    for f in fields:
        if f in changes and changes[f] is None:
            raise validation_error(_camel(f), "cannot be null")


@contextmanager
def _unique_guard(session: Session, on_conflict: Callable[[], ProblemError]) -> Iterator[None]:
    """Run the body's changes and their flush inside a savepoint: a unique-constraint race with a concurrent
    transaction (PostgreSQL) becomes the same 409 the pre-check gives, instead of a 500 or an aborted
    transaction. (Make the changes inside the block: opening the savepoint flushes earlier pending state.)"""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise on_conflict() from None


def _workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise ProblemError(404, "workspace_not_found", "Workspace not found.")
    return ws


def _lock_workspace(session: Session, workspace_id: uuid.UUID) -> None:
    """Serialize changes to a workspace's ordered lists (statuses, priorities) on PostgreSQL.
    FOR NO KEY UPDATE does not block inserts that reference the workspace (their FK check takes KEY SHARE).
    On SQLite write transactions are already serialized (BEGIN IMMEDIATE); the clause is not rendered."""
    session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update(key_share=True))


def _renumber(rows: Sequence[Status | Priority]) -> None:
    for i, row in enumerate(rows):
        if row.position != i:
            row.position = i


# == tags ==============================================================================================

def tag_view(tag: Tag) -> dict[str, Any]:
    return TagOut.model_validate(tag).model_dump(mode="json", by_alias=True)


def get_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID) -> Tag:
    return get_in_workspace(session, Tag, workspace_id, tag_id, "Tag")


def list_tags_stmt(workspace_id: uuid.UUID, scope: str | None = None) -> Select[Any]:
    """Tags of a workspace; `scope` conversation/issue also includes tags usable on both."""
    stmt = select(Tag).where(Tag.workspace_id == workspace_id)
    if scope in ("conversation", "issue"):
        stmt = stmt.where(Tag.scope.in_((scope, "both")))
    elif scope == "both":
        stmt = stmt.where(Tag.scope == "both")
    return stmt


def _tag_by_name(session: Session, workspace_id: uuid.UUID, name: str) -> Tag | None:
    return session.scalar(select(Tag).where(Tag.workspace_id == workspace_id, Tag.name_key == fold_name(name)))


def _tag_conflict(session: Session, workspace_id: uuid.UUID, name: str) -> ProblemError:
    existing = _tag_by_name(session, workspace_id, name)
    return conflict(f"A tag named '{existing.name if existing else name}' already exists (names are case-insensitive).",
                    existingId=str(existing.id) if existing else None)


def _insert_tag(session: Session, workspace_id: uuid.UUID, *, name: str, color: str | None, description: str | None,
                scope: str, actor: Actor) -> Tag:
    if _tag_by_name(session, workspace_id, name) is not None:
        raise _tag_conflict(session, workspace_id, name)
    now = utcnow()
    tag = Tag(workspace_id=workspace_id, name=name, name_key=fold_name(name), color=color, description=description,
              scope=scope, created_at=now, updated_at=now)
    with _unique_guard(session, lambda: _tag_conflict(session, workspace_id, name)):
        session.add(tag)
    record_event(session, workspace_id=workspace_id, type="tag.created", resource_type="tag", resource_id=tag.id,
                 data=tag_view(tag), actor=actor)
    return tag


def do_create_tag(session: Session, workspace_id: uuid.UUID, body: TagCreate, actor: Actor) -> Tag:
    return _insert_tag(session, workspace_id, name=body.name, color=body.color, description=body.description,
                       scope=body.scope, actor=actor)


# Records that carry tags by name (conversations, issues) follow renames and deletions in the same
# transaction: hook(session, workspace_id, old_name, new_name_or_None), connected in woes.wiring.
TAG_RENAME_HOOKS: Hooks[Callable[[Session, uuid.UUID, str, str | None], None]] = Hooks("tag renamed or deleted")


def do_update_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID, body: TagPatch, actor: Actor) -> Tag:
    tag = get_tag(session, workspace_id, tag_id)
    changes = body.model_dump(exclude_unset=True)
    _reject_nulls(changes, ("name", "scope"))
    previous_name = tag.name
    if "name" in changes and fold_name(changes["name"]) != tag.name_key:
        other = _tag_by_name(session, workspace_id, changes["name"])
        if other is not None and other.id != tag.id:
            raise conflict(f"A tag named '{other.name}' already exists (names are case-insensitive).",
                           existingId=str(other.id))
    changed = [f for f, v in changes.items() if getattr(tag, f) != v]
    if not changed:
        return tag
    with _unique_guard(session, lambda: _tag_conflict(session, workspace_id, changes.get("name", tag.name))):
        for f in changed:
            setattr(tag, f, changes[f])
        if "name" in changed:
            tag.name_key = fold_name(tag.name)
        tag.updated_at = utcnow()
    data: dict[str, Any] = {**tag_view(tag), "changedFields": changed}
    if "name" in changed:
        data["previousName"] = previous_name
        for hook in TAG_RENAME_HOOKS:
            hook(session, workspace_id, previous_name, tag.name)
    record_event(session, workspace_id=workspace_id, type="tag.updated", resource_type="tag", resource_id=tag.id,
                 data=data, actor=actor)
    return tag


def do_delete_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID, actor: Actor) -> None:
    tag = get_tag(session, workspace_id, tag_id)
    data = tag_view(tag)
    for hook in TAG_RENAME_HOOKS:
        hook(session, workspace_id, tag.name, None)
    session.delete(tag)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="tag.deleted", resource_type="tag", resource_id=tag_id,
                 data=data, actor=actor)


def resolve_tag_names(
    session: Session,
    workspace_id: uuid.UUID,
    names: Sequence[str],
    scope: Literal["conversation", "issue"],
    *,
    create_missing: bool,
    actor: Actor,
    field: str = "tags",
) -> list[Tag]:
    """The Tag rows for `names` (case-insensitive, whitespace-trimmed, duplicates collapsed, input order kept).

    `scope` is where the tags are being used (conversation or issue): a tag whose scope is the other one
    → 422 naming `tags[i]`. An unknown name → 422 naming `tags[i]`, unless `create_missing`, in which case the
    tag is created (scope `both`, recording `tag.created`). `field` is the name used in errors."""
    if scope not in ("conversation", "issue"):
        raise ValueError(f"scope must be conversation or issue, not {scope!r}")
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise validation_error(field, "Must be a list of tag names.")
    if len(names) > MAX_TAGS_PER_CALL:
        raise validation_error(field, f"At most {MAX_TAGS_PER_CALL} tags.")
    wanted: dict[str, tuple[int, str]] = {}
    for i, raw in enumerate(names):
        if not isinstance(raw, str):
            raise validation_error(f"{field}[{i}]", "Must be a tag name (string).")
        name = raw.strip()
        if not 1 <= len(name) <= 64:
            raise validation_error(f"{field}[{i}]", "Tag names are 1-64 characters.")
        if re.search(r"[\x00-\x1f\x7f]", name):
            raise validation_error(f"{field}[{i}]", "Must not contain control characters.")
        wanted.setdefault(fold_name(name), (i, name))
    if not wanted:
        return []
    found = {t.name_key: t for t in session.scalars(
        select(Tag).where(Tag.workspace_id == workspace_id, Tag.name_key.in_(list(wanted))))}
    # Check everything before creating anything, so a bad name never leaves new tags behind.
    for key, (i, name) in wanted.items():
        tag = found.get(key)
        if tag is None and not create_missing:
            raise validation_error(f"{field}[{i}]", f"No tag named '{name}'. Create it first (POST /api/v1/tags).")
        if tag is not None and tag.scope not in (scope, "both"):
            raise validation_error(f"{field}[{i}]", f"Tag '{tag.name}' can only be used on {tag.scope}s.")
    out: list[Tag] = []
    for key, (i, name) in wanted.items():
        tag = found.get(key)
        if tag is None:
            try:
                tag = _insert_tag(session, workspace_id, name=name, color=None, description=None, scope="both",
                                  actor=actor)
            except ProblemError as exc:  # created by a concurrent transaction since we looked
                tag = _tag_by_name(session, workspace_id, name) if exc.status == 409 else None
                if tag is None:
                    raise
                if tag.scope not in (scope, "both"):
                    raise validation_error(f"{field}[{i}]", f"Tag '{tag.name}' can only be used on {tag.scope}s.") from None
        out.append(tag)
    return out


# == custom fields =====================================================================================

def custom_field_view(cf: CustomField) -> dict[str, Any]:
    return CustomFieldOut.model_validate(cf).model_dump(mode="json", by_alias=True)


def get_custom_field(session: Session, workspace_id: uuid.UUID, field_id: uuid.UUID) -> CustomField:
    return get_in_workspace(session, CustomField, workspace_id, field_id, "Custom field")


def list_custom_fields_stmt(workspace_id: uuid.UUID, target: str | None = None) -> Select[Any]:
    stmt = select(CustomField).where(CustomField.workspace_id == workspace_id)
    if target is not None:
        stmt = stmt.where(CustomField.target == target)
    return stmt


def custom_field_definitions(session: Session, workspace_id: uuid.UUID, target: str) -> dict[str, CustomField]:
    """key → definition, for one target (conversation | customer | issue)."""
    rows = session.scalars(select(CustomField).where(CustomField.workspace_id == workspace_id,
                                                     CustomField.target == target))
    return {cf.key: cf for cf in rows}


def _field_by_key(session: Session, workspace_id: uuid.UUID, target: str, key: str) -> CustomField | None:
    return session.scalar(select(CustomField).where(CustomField.workspace_id == workspace_id,
                                                    CustomField.target == target, CustomField.key == key))


def _field_conflict(session: Session, workspace_id: uuid.UUID, target: str, key: str) -> ProblemError:
    existing = _field_by_key(session, workspace_id, target, key)
    return conflict(f"A {target} custom field with key '{key}' already exists.",
                    existingId=str(existing.id) if existing else None)


def _options(type_: str, options: list[FieldOption] | None, *, creating: bool) -> list[dict[str, str]] | None:
    """Check options against the type; return them as stored ([{value, label}]) or None for non-selects."""
    if type_ not in SELECT_TYPES:
        if options is not None:
            raise validation_error("options", f"Only select and multi_select fields have options (this is {type_}).")
        return None
    if options is None:
        raise validation_error("options", f"A {type_} field needs a non-empty list of options."
                               if creating else "cannot be null for a select field")
    if not options:
        raise validation_error("options", f"A {type_} field needs at least one option.")
    seen: set[str] = set()
    out = []
    for i, opt in enumerate(options):
        if opt.value in seen:
            raise validation_error(f"options[{i}].value", f"Duplicate option value '{opt.value}'.")
        seen.add(opt.value)
        out.append({"value": opt.value, "label": opt.label or opt.value})
    return out


def do_create_custom_field(session: Session, workspace_id: uuid.UUID, body: CustomFieldCreate, actor: Actor) -> CustomField:
    options = _options(body.type, body.options, creating=True)
    if _field_by_key(session, workspace_id, body.target, body.key) is not None:
        raise _field_conflict(session, workspace_id, body.target, body.key)
    count = session.scalar(select(func.count()).select_from(CustomField).where(
        CustomField.workspace_id == workspace_id, CustomField.target == body.target)) or 0
    if count >= MAX_FIELDS_PER_TARGET:
        raise conflict(f"A workspace can have at most {MAX_FIELDS_PER_TARGET} {body.target} custom fields.")
    now = utcnow()
    cf = CustomField(workspace_id=workspace_id, key=body.key, label=body.label, type=body.type, options=options,
                     target=body.target, description=body.description, required=body.required,
                     created_at=now, updated_at=now)
    with _unique_guard(session, lambda: _field_conflict(session, workspace_id, body.target, body.key)):
        session.add(cf)
    record_event(session, workspace_id=workspace_id, type="custom_field.created", resource_type="custom_field",
                 resource_id=cf.id, data=custom_field_view(cf), actor=actor)
    return cf


_IMMUTABLE_FIELD_ATTRS = {
    "type": "Changing a custom field's type is not supported: values already stored on records were validated "
            "as {old} and would not be valid {new} values. Create a new field (with a new key) of type {new}, "
            "copy the values you need, then delete this one.",
    "key": "A custom field's key cannot be changed: records store their values under '{old}'. Create a new "
           "field with key '{new}' and delete this one instead.",
    "target": "A custom field's target cannot be changed ({old} → {new}): its values live on {old} records. "
              "Create a new field for {new} records instead.",
}


def do_update_custom_field(session: Session, workspace_id: uuid.UUID, field_id: uuid.UUID, body: CustomFieldPatch,
                           actor: Actor) -> CustomField:
    cf = get_custom_field(session, workspace_id, field_id)
    changes = body.model_dump(exclude_unset=True)
    for attr, message in _IMMUTABLE_FIELD_ATTRS.items():
        if attr in changes:
            new = changes.pop(attr)
            if new is not None and new != getattr(cf, attr):
                raise conflict(message.format(old=getattr(cf, attr), new=new), field=attr)
    _reject_nulls(changes, ("label", "required"))
    if "options" in changes:
        changes["options"] = _options(cf.type, body.options, creating=False)
    changed = [f for f, v in changes.items() if getattr(cf, f) != v]
    if not changed:
        return cf
    for f in changed:
        setattr(cf, f, changes[f])
    cf.updated_at = utcnow()
    session.flush()
    record_event(session, workspace_id=workspace_id, type="custom_field.updated", resource_type="custom_field",
                 resource_id=cf.id, data={**custom_field_view(cf), "changedFields": changed}, actor=actor)
    return cf


def do_delete_custom_field(session: Session, workspace_id: uuid.UUID, field_id: uuid.UUID, actor: Actor) -> None:
    cf = get_custom_field(session, workspace_id, field_id)
    data = custom_field_view(cf)
    session.delete(cf)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="custom_field.deleted", resource_type="custom_field",
                 resource_id=field_id, data=data, actor=actor)


# -- custom field values --------------------------------------------------------------------------------

MAX_TEXT = 10_000
MAX_SAFE_INT = 2**53 - 1  # survives every JSON parser
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
_WS_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def _coerce_value(cf: CustomField, raw: Any) -> Any:
    """The stored form of one value, or ValueError with a human message."""
    t = cf.type
    if t == "text":
        if not isinstance(raw, str):
            raise ValueError("Must be a string.")
        if len(raw) > MAX_TEXT:
            raise ValueError(f"At most {MAX_TEXT:,} characters.")
        return raw
    if t == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("Must be a whole number (JSON number).")
        if isinstance(raw, float):
            if not math.isfinite(raw) or not raw.is_integer():
                raise ValueError("Must be a whole number; use a decimal field for fractions.")
            raw = int(raw)
        if abs(raw) > MAX_SAFE_INT:
            raise ValueError(f"Must be between -{MAX_SAFE_INT} and {MAX_SAFE_INT}.")
        return raw
    if t == "decimal":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError("Must be a number or a decimal string like \"12.50\".")
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError("Must be a finite number.")
        if isinstance(raw, str) and not _DECIMAL.match(raw.strip()):
            raise ValueError("Must be a decimal string like \"12.50\" or \"-3\".")
        try:
            dec = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
        except InvalidOperation:
            raise ValueError("Must be a decimal number.") from None
        text = format(dec, "f")
        if text.startswith("+"):
            text = text[1:]
        if len(text) > 64:
            raise ValueError("Too many digits (at most 64 characters).")
        return text
    if t == "boolean":
        if not isinstance(raw, bool):
            raise ValueError("Must be true or false.")
        return raw
    if t == "date":
        if not isinstance(raw, str) or not _DATE.match(raw):
            raise ValueError("Must be a date in the form YYYY-MM-DD.")
        try:
            date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a valid calendar date.") from None
        return raw
    if t == "url":
        if not isinstance(raw, str):
            raise ValueError("Must be an http(s) URL string.")
        url = raw.strip()
        if len(url) > 2048:
            raise ValueError("At most 2048 characters.")
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise ValueError("Must be a valid http(s) URL.") from None
        if parts.scheme.lower() not in ("http", "https") or not host or _WS_OR_CONTROL.search(url):
            raise ValueError("Must be an http:// or https:// URL with a host.")
        return url
    values = [o["value"] for o in (cf.options or [])]
    allowed = ", ".join(f"'{v}'" for v in values[:20]) + (", ..." if len(values) > 20 else "")
    if t == "select":
        if not isinstance(raw, str):
            raise ValueError(f"Must be one of the option values: {allowed}.")
        if raw not in values:
            raise ValueError(f"'{raw}' is not an option; use one of: {allowed}.")
        return raw
    if t == "multi_select":
        if not isinstance(raw, list):
            raise ValueError(f"Must be a list of option values ({allowed}).")
        seen: set[str] = set()
        for item in raw:
            if not isinstance(item, str):
                raise ValueError("Every item must be an option value (string).")
            if item not in values:
                raise ValueError(f"'{item}' is not an option; use values from: {allowed}.")
            if item in seen:
                raise ValueError(f"'{item}' is listed more than once.")
            seen.add(item)
        return list(raw)
    raise ValueError(f"Unsupported field type {t}.")  # pragma: no cover - types are checked on definition


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def validate_custom_field_values(
    session: Session,
    workspace_id: uuid.UUID,
    target: Literal["conversation", "customer", "issue"],
    values: dict[str, Any] | None,
    *,
    existing: dict[str, Any] | None,
    source: Source,
    existing_sources: dict[str, str] | None,
    enforce_required: bool = False,
    field_prefix: str = "customFields",
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate `values` (a partial update) against the target's field definitions and merge them into
    `existing`. Returns `(merged_values, merged_sources)`; `merged_sources[key]` is "manual" or "ai" for
    every key in `merged_values`. Inputs are not mutated.

    - Each value is checked by type (stored forms: number → int, decimal → canonical string such as "12.50",
      date → "YYYY-MM-DD", multi_select → list in the given order, others as given).
    - `null` removes a value (and its source).
    - An unknown key → 422 naming `customFields.<key>`; all problems are reported together.
    - AI-suggested values never overwrite a manually set value: with `source="ai"`, a key whose existing
      value has source "manual" is skipped silently (value and null alike). An existing value whose source
      is unknown (missing from `existing_sources`) counts as manual.
    - Existing values of fields that no longer exist (deleted definitions) are dropped from the result.
    - `enforce_required=True` also requires every `required` field to have a non-empty value afterwards.
    """
    if source not in ("manual", "ai"):
        raise ValueError(f"source must be 'manual' or 'ai', not {source!r}")
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise validation_error(field_prefix, "Must be an object mapping custom field keys to values.")
    defs = custom_field_definitions(session, workspace_id, target)
    old_sources = existing_sources or {}
    merged = {k: v for k, v in (existing or {}).items() if k in defs}
    sources = {k: ("ai" if old_sources.get(k) == "ai" else "manual") for k in merged}
    errors: list[dict[str, str]] = []
    for key, raw in values.items():
        name = f"{field_prefix}.{key}"
        cf = defs.get(key)
        if cf is None:
            known = ", ".join(sorted(defs)[:20]) or "none defined"
            errors.append({"field": name, "message": f"No {target} custom field with key '{key}' (known: {known})."})
            continue
        if source == "ai" and key in merged and sources[key] == "manual":
            continue  # a person set this value; AI suggestions never replace it
        if raw is None:
            merged.pop(key, None)
            sources.pop(key, None)
            continue
        try:
            merged[key] = _coerce_value(cf, raw)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
            continue
        sources[key] = source
    if enforce_required:
        for key, cf in defs.items():
            if cf.required and _is_empty(merged.get(key)) and not any(e["field"] == f"{field_prefix}.{key}" for e in errors):
                errors.append({"field": f"{field_prefix}.{key}", "message": f"'{cf.label}' is required."})
    if errors:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise ProblemError(422, "validation_failed", summary, errors=errors)
    return merged, sources


# == statuses ==========================================================================================

# (slug, label, lifecycle, waiting_on, is_default) in list order
DEFAULT_STATUSES: tuple[tuple[str, str, str, str | None, bool], ...] = (
    ("open", "Open", "open", None, True),
    ("waiting-customer", "Waiting on customer", "waiting", "customer", True),
    ("waiting-team", "Waiting on team", "waiting", "team", False),
    ("resolved", "Resolved", "solved", None, True),
)
DEFAULT_PRIORITIES = ("low", "medium", "high", "urgent")
DEFAULT_PRIORITY = "medium"


def default_row_id(workspace_id: uuid.UUID, kind: str, slug: str) -> uuid.UUID:
    """The stable id of a built-in default row (the same before and after it is written)."""
    return uuid.uuid5(_NAMESPACE, f"{workspace_id}/{kind}/{slug}")


def status_view(st: Status) -> dict[str, Any]:
    return StatusOut.model_validate(st).model_dump(mode="json", by_alias=True)


def _status_rows(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    return list(session.scalars(select(Status).where(Status.workspace_id == workspace_id)
                                .order_by(Status.position, Status.created_at, Status.id)))


def _default_statuses(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    created = _workspace(session, workspace_id).created_at
    return [
        Status(id=default_row_id(workspace_id, "status", slug), workspace_id=workspace_id, label=label,
               label_key=fold_name(label), lifecycle=lifecycle, waiting_on=waiting_on, position=i, is_default=is_default,
               created_at=created, updated_at=created)
        for i, (slug, label, lifecycle, waiting_on, is_default) in enumerate(DEFAULT_STATUSES)
    ]


def list_statuses(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    """All statuses in list order; the built-in defaults (unsaved objects) when none were ever written."""
    return _status_rows(session, workspace_id) or _default_statuses(session, workspace_id)


def get_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID) -> Status:
    for st in list_statuses(session, workspace_id):
        if st.id == status_id:
            return st
    raise not_found("Status")


def default_status(session: Session, workspace_id: uuid.UUID, lifecycle: str = "open") -> Status:
    """The default status of a lifecycle (open | waiting | solved)."""
    rows = list_statuses(session, workspace_id)
    return next((s for s in rows if s.lifecycle == lifecycle and s.is_default),
                next(s for s in rows if s.lifecycle == lifecycle))


def resolve_status(session: Session, workspace_id: uuid.UUID, lifecycle: str, waiting_on: str | None = None) -> Status:
    """The status that best describes a record in `lifecycle` (+ `waiting_on`), for display: the default of
    the lifecycle when it matches `waiting_on`, else the first status (by position) that matches exactly,
    else the lifecycle's default."""
    if lifecycle not in ("open", "waiting", "solved"):
        raise validation_error("status", "Must be one of: open, waiting, solved.")
    rows = [s for s in list_statuses(session, workspace_id) if s.lifecycle == lifecycle]
    default = next((s for s in rows if s.is_default), rows[0])
    if default.waiting_on == waiting_on:
        return default
    return next((s for s in rows if s.waiting_on == waiting_on), default)


def _check_waiting_on(lifecycle: str, waiting_on: str | None) -> None:
    if waiting_on is not None and lifecycle != "waiting":
        raise validation_error("waitingOn", f"Only 'waiting' statuses say who is waited on; this one is '{lifecycle}'. "
                                            "Leave waitingOn null.")


def _demote_status(session: Session, workspace_id: uuid.UUID, rows: Sequence[Status], lifecycle: str,
                   keep: Status, actor: Actor) -> None:
    for s in rows:
        if s.lifecycle == lifecycle and s.is_default and s is not keep:
            s.is_default = False
            s.updated_at = utcnow()
            session.flush()
            record_event(session, workspace_id=workspace_id, type="status.updated", resource_type="status",
                         resource_id=s.id, data={**status_view(s), "changedFields": ["is_default"]}, actor=actor)


def _materialize(session: Session, workspace_id: uuid.UUID, stored: Callable[[Session, uuid.UUID], list[Any]],
                 defaults: Callable[[Session, uuid.UUID], list[Any]]) -> list[Any]:
    """Lock the workspace's list (statuses or priorities) and make sure it exists as rows, writing the
    defaults on the first change."""
    _lock_workspace(session, workspace_id)
    rows = stored(session, workspace_id)
    if not rows:
        rows = defaults(session, workspace_id)
        session.add_all(rows)
        session.flush()
    return rows


def _materialize_statuses(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    return _materialize(session, workspace_id, _status_rows, _default_statuses)


def _materialize_priorities(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    return _materialize(session, workspace_id, _priority_rows, _default_priorities)


def _label_conflict(rows: Sequence[Status | Priority], label: str, what: str, exclude: uuid.UUID | None = None) -> None:
    for row in rows:
        if row.label_key == fold_name(label) and row.id != exclude:
            raise conflict(f"A {what} labelled '{row.label}' already exists (labels are case-insensitive).",
                           existingId=str(row.id))


def do_create_status(session: Session, workspace_id: uuid.UUID, body: StatusCreate, actor: Actor) -> Status:
    _check_waiting_on(body.lifecycle, body.waiting_on)
    rows = _materialize_statuses(session, workspace_id)
    _label_conflict(rows, body.label, "status")
    if len(rows) >= MAX_STATUSES:
        raise conflict(f"A workspace can have at most {MAX_STATUSES} statuses.")
    now = utcnow()
    is_default = body.is_default or not any(s.lifecycle == body.lifecycle for s in rows)
    st = Status(workspace_id=workspace_id, label=body.label, label_key=fold_name(body.label), lifecycle=body.lifecycle,
                waiting_on=body.waiting_on, position=len(rows), is_default=is_default, created_at=now, updated_at=now)
    rows.insert(len(rows) if body.position is None else min(body.position, len(rows)), st)
    _renumber(rows)
    session.add(st)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="status.created", resource_type="status", resource_id=st.id,
                 data=status_view(st), actor=actor)
    if is_default:
        _demote_status(session, workspace_id, rows, st.lifecycle, st, actor)
    return st


def do_update_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID, body: StatusPatch,
                     actor: Actor) -> Status:
    get_status(session, workspace_id, status_id)  # 404 before anything is written
    rows = _materialize_statuses(session, workspace_id)
    st = next(s for s in rows if s.id == status_id)
    changes = body.model_dump(exclude_unset=True)
    _reject_nulls(changes, ("label", "lifecycle", "position", "is_default"))
    lifecycle = changes.get("lifecycle", st.lifecycle)
    if "waiting_on" in changes:
        waiting_on = changes["waiting_on"]
    else:
        waiting_on = st.waiting_on if lifecycle == "waiting" else None
    _check_waiting_on(lifecycle, waiting_on)
    if "label" in changes:
        _label_conflict(rows, changes["label"], "status", exclude=st.id)
    wants_default = changes.get("is_default")
    if lifecycle != st.lifecycle and st.is_default:
        raise conflict(f"'{st.label}' is the default '{st.lifecycle}' status. Make another '{st.lifecycle}' status "
                       "the default before moving this one to another lifecycle.")
    if wants_default is False and st.is_default and lifecycle == st.lifecycle:
        raise conflict(f"Every lifecycle needs a default status. Make another '{st.lifecycle}' status the default "
                       f"(isDefault: true) instead of unsetting '{st.label}'.")
    before = status_view(st)
    if "label" in changes:
        st.label, st.label_key = changes["label"], fold_name(changes["label"])
    st.lifecycle, st.waiting_on = lifecycle, waiting_on
    if wants_default or not any(s.lifecycle == lifecycle and s.is_default for s in rows if s is not st):
        st.is_default = True
    if "position" in changes:
        rows.remove(st)
        rows.insert(min(changes["position"], len(rows)), st)
        _renumber(rows)
    after = status_view(st)
    changed = [f for f in ("label", "lifecycle", "waiting_on", "position", "is_default")
               if before[_camel(f)] != after[_camel(f)]]
    if not changed:
        return st
    st.updated_at = utcnow()
    session.flush()
    data: dict[str, Any] = {**status_view(st), "changedFields": changed}
    if "label" in changed:
        data["previousLabel"] = before["label"]
    record_event(session, workspace_id=workspace_id, type="status.updated", resource_type="status", resource_id=st.id,
                 data=data, actor=actor)
    if st.is_default:
        _demote_status(session, workspace_id, rows, st.lifecycle, st, actor)
    return st


def do_delete_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID, actor: Actor) -> None:
    get_status(session, workspace_id, status_id)
    rows = _materialize_statuses(session, workspace_id)
    st = next(s for s in rows if s.id == status_id)
    if st.is_default:
        raise conflict(f"'{st.label}' is the default '{st.lifecycle}' status and cannot be deleted. Make another "
                       f"'{st.lifecycle}' status the default first (every lifecycle keeps at least one status).")
    data = status_view(st)
    rows.remove(st)
    session.delete(st)
    session.flush()
    _renumber(rows)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="status.deleted", resource_type="status",
                 resource_id=status_id, data=data, actor=actor)


# == priorities ========================================================================================

def priority_view(pr: Priority) -> dict[str, Any]:
    return PriorityOut.model_validate(pr).model_dump(mode="json", by_alias=True)


def _priority_rows(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    return list(session.scalars(select(Priority).where(Priority.workspace_id == workspace_id)
                                .order_by(Priority.position, Priority.created_at, Priority.id)))


def _default_priorities(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    ws = _workspace(session, workspace_id)
    # Honor a workspace default set (PATCH /workspace) before the priority list was ever edited.
    default = fold_name(ws.default_priority or "")
    default = default if default in DEFAULT_PRIORITIES else DEFAULT_PRIORITY
    return [
        Priority(id=default_row_id(workspace_id, "priority", label), workspace_id=workspace_id, label=label,
                 label_key=label, position=i, is_default=label == default, created_at=ws.created_at,
                 updated_at=ws.created_at)
        for i, label in enumerate(DEFAULT_PRIORITIES)
    ]


def list_priorities(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    """All priorities, lowest first; the built-in defaults (unsaved objects) when none were ever written."""
    return _priority_rows(session, workspace_id) or _default_priorities(session, workspace_id)


def get_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID) -> Priority:
    for pr in list_priorities(session, workspace_id):
        if pr.id == priority_id:
            return pr
    raise not_found("Priority")


def default_priority(session: Session, workspace_id: uuid.UUID) -> str:
    """The label of the workspace's default priority (e.g. 'medium')."""
    rows = list_priorities(session, workspace_id)
    return next((p.label for p in rows if p.is_default), rows[0].label)


def valid_priority(session: Session, workspace_id: uuid.UUID, label: str | None, *, field: str = "priority") -> str:
    """The configured spelling of `label` (matched case-insensitively, trimmed); `None` → the default.
    A label that is not configured → 422 naming `priority` (or `field`)."""
    rows = list_priorities(session, workspace_id)
    if label is None:
        return next((p.label for p in rows if p.is_default), rows[0].label)
    if not isinstance(label, str):
        raise validation_error(field, "Must be a priority label (string).")
    key = fold_name(label.strip())
    for p in rows:
        if p.label_key == key:
            return p.label
    labels = ", ".join(p.label for p in rows)
    raise validation_error(field, f"'{label}' is not a configured priority; use one of: {labels}.")


def _after_priority_change(session: Session, workspace_id: uuid.UUID, rows: Sequence[Priority], keep: Priority,
                           actor: Actor) -> None:
    """Keep exactly one default (demoting others, with events) and mirror it into workspace.default_priority."""
    if keep.is_default:
        for p in rows:
            if p.is_default and p is not keep:
                p.is_default = False
                p.updated_at = utcnow()
                session.flush()
                record_event(session, workspace_id=workspace_id, type="priority.updated", resource_type="priority",
                             resource_id=p.id, data={**priority_view(p), "changedFields": ["is_default"]}, actor=actor)
    _sync_workspace_default(session, workspace_id, rows, actor)


def _sync_workspace_default(session: Session, workspace_id: uuid.UUID, rows: Sequence[Priority], actor: Actor) -> None:
    from woes.workspaces.service import workspace_view

    label = next(p.label for p in rows if p.is_default)
    ws = _workspace(session, workspace_id)
    if ws.default_priority != label:
        ws.default_priority = label
        session.flush()
        record_event(session, workspace_id=workspace_id, type="workspace.updated", resource_type="workspace",
                     resource_id=workspace_id, data={**workspace_view(ws), "changedFields": ["default_priority"]},
                     actor=actor)


def do_create_priority(session: Session, workspace_id: uuid.UUID, body: PriorityCreate, actor: Actor) -> Priority:
    rows = _materialize_priorities(session, workspace_id)
    _label_conflict(rows, body.label, "priority")
    if len(rows) >= MAX_PRIORITIES:
        raise conflict(f"A workspace can have at most {MAX_PRIORITIES} priorities.")
    now = utcnow()
    pr = Priority(workspace_id=workspace_id, label=body.label, label_key=fold_name(body.label), position=len(rows),
                  is_default=body.is_default or not rows, created_at=now, updated_at=now)
    rows.insert(len(rows) if body.position is None else min(body.position, len(rows)), pr)
    _renumber(rows)
    session.add(pr)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="priority.created", resource_type="priority",
                 resource_id=pr.id, data=priority_view(pr), actor=actor)
    _after_priority_change(session, workspace_id, rows, pr, actor)
    return pr


def do_update_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID, body: PriorityPatch,
                       actor: Actor) -> Priority:
    get_priority(session, workspace_id, priority_id)  # 404 before anything is written
    rows = _materialize_priorities(session, workspace_id)
    pr = next(p for p in rows if p.id == priority_id)
    changes = body.model_dump(exclude_unset=True)
    _reject_nulls(changes, ("label", "position", "is_default"))
    if "label" in changes:
        _label_conflict(rows, changes["label"], "priority", exclude=pr.id)
    if changes.get("is_default") is False and pr.is_default:
        raise conflict(f"Exactly one priority is the default. Make another priority the default (isDefault: true) "
                       f"instead of unsetting '{pr.label}'.")
    before = priority_view(pr)
    if "label" in changes:
        pr.label, pr.label_key = changes["label"], fold_name(changes["label"])
    if changes.get("is_default"):
        pr.is_default = True
    if "position" in changes:
        rows.remove(pr)
        rows.insert(min(changes["position"], len(rows)), pr)
        _renumber(rows)
    after = priority_view(pr)
    changed = [f for f in ("label", "position", "is_default") if before[_camel(f)] != after[_camel(f)]]
    if not changed:
        return pr
    pr.updated_at = utcnow()
    session.flush()
    data: dict[str, Any] = {**priority_view(pr), "changedFields": changed}
    if "label" in changed:
        data["previousLabel"] = before["label"]
    record_event(session, workspace_id=workspace_id, type="priority.updated", resource_type="priority",
                 resource_id=pr.id, data=data, actor=actor)
    _after_priority_change(session, workspace_id, rows, pr, actor)
    return pr


def do_delete_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID, actor: Actor) -> None:
    get_priority(session, workspace_id, priority_id)
    rows = _materialize_priorities(session, workspace_id)
    pr = next(p for p in rows if p.id == priority_id)
    if pr.is_default:
        raise conflict(f"'{pr.label}' is the default priority and cannot be deleted. Make another priority the "
                       "default first.")
    data = priority_view(pr)
    rows.remove(pr)
    session.delete(pr)
    session.flush()
    _renumber(rows)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="priority.deleted", resource_type="priority",
                 resource_id=priority_id, data=data, actor=actor)
