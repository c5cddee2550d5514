from __future__ import annotations

from pydantic import Field

from woes.core.schemas import ApiInput

MAX_NOTE = 20000


class NoteCreate(ApiInput):
    body: str = Field(min_length=1, max_length=MAX_NOTE)
