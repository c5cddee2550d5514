"""Custom fields: typed field definitions for conversations, customers and issues, and the validation of the
values those records carry (`validate_custom_field_values`: typed coercion + merge of `customFields`, with
provenance). Every change goes through a `do_*` function that writes the change and its domain event in the
caller's transaction (services never commit).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from woes.core.crud import Records, patch_changes, reject_nulls
from woes.core.errors import ProblemError, conflict, validation_error
from woes.customfields.models import CustomField
from woes.customfields.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldPatch, FieldOption
from woes.events.service import Actor, record_event

Source = Literal["manual", "ai"]
SELECT_TYPES = ("select", "multi_select")
MAX_FIELDS_PER_TARGET = 200


def custom_field_view(cf: CustomField) -> dict[str, Any]:
    return CustomFieldOut.model_validate(cf).model_dump(mode="json", by_alias=True)


FIELDS = Records(CustomField, "custom_field", "Custom field", custom_field_view, record_event)


def get_custom_field(session: Session, workspace_id: uuid.UUID, field_id: uuid.UUID) -> CustomField:
    return FIELDS.get(session, workspace_id, field_id)


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


def _field_conflict(session: Session, workspace_id: uuid.UUID, target: str, key: str) -> ProblemError:
    return FIELDS.taken(f"A {target} custom field with key '{key}' already exists.",
                        FIELDS.find(session, workspace_id, target=target, key=key))


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
    if FIELDS.find(session, workspace_id, target=body.target, key=body.key) is not None:
        raise _field_conflict(session, workspace_id, body.target, body.key)
    count = session.scalar(select(func.count()).select_from(CustomField).where(
        CustomField.workspace_id == workspace_id, CustomField.target == body.target)) or 0
    if count >= MAX_FIELDS_PER_TARGET:
        raise conflict(f"A workspace can have at most {MAX_FIELDS_PER_TARGET} {body.target} custom fields.")
    cf = CustomField(workspace_id=workspace_id, key=body.key, label=body.label, type=body.type, options=options,
                     target=body.target, description=body.description, required=body.required)
    return FIELDS.insert(session, workspace_id, cf, actor,
                         on_conflict=lambda: _field_conflict(session, workspace_id, body.target, body.key))


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
    changes = patch_changes(body)
    for attr, message in _IMMUTABLE_FIELD_ATTRS.items():
        if attr in changes:
            new = changes.pop(attr)
            if new is not None and new != getattr(cf, attr):
                raise conflict(message.format(old=getattr(cf, attr), new=new), field=attr)
    reject_nulls(changes, ("label", "required"))
    if "options" in changes:
        changes["options"] = _options(cf.type, body.options, creating=False)
    changed = FIELDS.apply(session, cf, changes)
    if changed:
        FIELDS.updated(session, workspace_id, cf, changed, actor)
    return cf


def do_delete_custom_field(session: Session, workspace_id: uuid.UUID, field_id: uuid.UUID, actor: Actor) -> None:
    FIELDS.delete(session, workspace_id, get_custom_field(session, workspace_id, field_id), actor)


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
