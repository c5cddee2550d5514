"""Free text that people and integrations write is stored redacted.

`redact_on_write(Model.column, ...)`, declared next to a model, makes every assignment to those mapped
attributes pass through `woes.core.redaction` first: in a constructor, in a service's `setattr`, in a merge.
The record in the session holds the redacted value from that moment on, so whatever is built from it later in
the same transaction (its view, the event payload, a search index row, an AI prompt) never sees the raw
secret, and neither does the database. Rows read from the database are not touched.

Text columns go through `redact` and are cut to the column's length (a placeholder can be longer than the
secret it replaces); JSON columns (traits, lists of guardrails) through `redact_value`, which also replaces
the whole string under a key that names a secret (`{"apiKey": "..."}`).

Texts that have a legitimate unmasked reader are not declared here: messages are stored as sent, flagged
(`Message.contains_secrets`) and shown masked unless the caller asks for the unmasked view with the write
scope (`GET /api/v1/conversations/{id}/messages?unmasked=true`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, event
from sqlalchemy.orm import InstrumentedAttribute

from woes.core.redaction import redact, redact_value


def _text_setter(limit: int | None):
    def on_set(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        out = redact(value)
        return out[:limit] if limit and len(out) > limit else out

    return on_set


def _json_setter(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    return redact_value(value) if value else value


def redact_on_write(*attributes: InstrumentedAttribute[Any]) -> None:
    """Redact every value assigned to these mapped column attributes (text or JSON)."""
    for attr in attributes:
        column_type = attr.property.columns[0].type
        if isinstance(column_type, JSON):
            on_set = _json_setter
        elif isinstance(column_type, String):  # String, Text
            on_set = _text_setter(column_type.length)
        else:
            raise TypeError(f"{attr}: only text and JSON columns can be redacted on write")
        event.listen(attr, "set", on_set, retval=True)
