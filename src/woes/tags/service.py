"""Tags. Every change goes through a `do_*` function that writes the change and its domain event in the caller's
transaction (services never commit).

Records that carry tags by name (conversations, issues) follow renames and deletions in the same transaction
through `TAG_RENAME_HOOKS`; `resolve_tag_names(...)` turns the names they are given into Tag rows, checking
scope and optionally creating missing tags.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from woes.core.crud import Records, patch_changes
from woes.core.errors import ProblemError, validation_error
from woes.core.hooks import Hooks
from woes.core.text import fold_name
from woes.events.service import Actor, record_event
from woes.tags.models import Tag
from woes.tags.schemas import TagCreate, TagOut, TagPatch

MAX_TAGS_PER_CALL = 100


def tag_view(tag: Tag) -> dict[str, Any]:
    return TagOut.model_validate(tag).model_dump(mode="json", by_alias=True)


TAGS = Records(Tag, "tag", "Tag", tag_view, record_event, name="name")

# Records that carry tags by name (conversations, issues) follow renames and deletions in the same
# transaction: hook(session, workspace_id, old_name, new_name_or_None), connected in woes.wiring.
TAG_RENAME_HOOKS: Hooks[Callable[[Session, uuid.UUID, str, str | None], None]] = Hooks("tag renamed or deleted")


def get_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID) -> Tag:
    return TAGS.get(session, workspace_id, tag_id)


def list_tags_stmt(workspace_id: uuid.UUID, scope: str | None = None) -> Select[Any]:
    """Tags of a workspace; `scope` conversation/issue also includes tags usable on both."""
    stmt = select(Tag).where(Tag.workspace_id == workspace_id)
    if scope in ("conversation", "issue"):
        stmt = stmt.where(Tag.scope.in_((scope, "both")))
    elif scope == "both":
        stmt = stmt.where(Tag.scope == "both")
    return stmt


def _tag_by_name(session: Session, workspace_id: uuid.UUID, name: str) -> Tag | None:
    return TAGS.find(session, workspace_id, name_key=fold_name(name))


def _name_taken(other: Tag | None, name: str) -> ProblemError:
    return TAGS.taken(f"A tag named '{other.name if other else name}' already exists (names are case-insensitive).", other)


def _tag_conflict(session: Session, workspace_id: uuid.UUID, name: str) -> ProblemError:
    return _name_taken(_tag_by_name(session, workspace_id, name), name)


def _insert_tag(session: Session, workspace_id: uuid.UUID, *, name: str, color: str | None, description: str | None,
                scope: str, actor: Actor) -> Tag:
    if _tag_by_name(session, workspace_id, name) is not None:
        raise _tag_conflict(session, workspace_id, name)
    tag = Tag(workspace_id=workspace_id, name=name, color=color, description=description, scope=scope)
    return TAGS.insert(session, workspace_id, tag, actor, on_conflict=lambda: _tag_conflict(session, workspace_id, name))


def do_create_tag(session: Session, workspace_id: uuid.UUID, body: TagCreate, actor: Actor) -> Tag:
    return _insert_tag(session, workspace_id, name=body.name, color=body.color, description=body.description,
                       scope=body.scope, actor=actor)


def do_update_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID, body: TagPatch, actor: Actor) -> Tag:
    tag = get_tag(session, workspace_id, tag_id)
    changes = patch_changes(body, ("name", "scope"))
    previous_name = tag.name
    if "name" in changes and fold_name(changes["name"]) != tag.name_key:
        other = _tag_by_name(session, workspace_id, changes["name"])
        if other is not None and other.id != tag.id:
            raise _name_taken(other, changes["name"])
    changed = TAGS.apply(session, tag, changes,
                         on_conflict=lambda: _tag_conflict(session, workspace_id, changes.get("name", tag.name)))
    if not changed:
        return tag
    if "name" in changed:
        for hook in TAG_RENAME_HOOKS:
            hook(session, workspace_id, previous_name, tag.name)
    TAGS.updated(session, workspace_id, tag, changed, actor, previous_name=previous_name)
    return tag


def do_delete_tag(session: Session, workspace_id: uuid.UUID, tag_id: uuid.UUID, actor: Actor) -> None:
    tag = get_tag(session, workspace_id, tag_id)
    for hook in TAG_RENAME_HOOKS:
        hook(session, workspace_id, tag.name, None)
    TAGS.delete(session, workspace_id, tag, actor)


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
