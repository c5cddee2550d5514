"""Request body of the lab API (camelCase, unknown fields rejected)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from woes.core.schemas import ApiInput

QUESTION_FIELDS = ("Each question: `question` (required, 1-4000 characters), `expected_operations` (e.g. "
                   "`[\"GET /pets/{petId}\"]`), `must_mention`, `answerable` (default: has expected operations), "
                   "`must_not_contain` (secrets that must never be echoed), `id` (optional, unique).")


class LabRunCreate(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=200)
    # Items are checked by woes.lab.evaluation (one set of messages for lists and JSON Lines alike).
    questions: list[Any] | None = Field(
        None, description="The question bank as a list of objects (give this or `jsonl`). " + QUESTION_FIELDS,
        json_schema_extra={"items": {"type": "object"}})
    jsonl: str | None = Field(
        None, description="The question bank as JSON Lines text, one object a line (give this or `questions`).")
