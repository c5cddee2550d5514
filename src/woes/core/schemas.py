"""Base classes for request/response bodies: camelCase JSON, unknown input fields rejected."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, PlainSerializer, field_validator
from pydantic.alias_generators import to_camel

from woes.core.views import iso


class ApiInput(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text; refuse it as bad input instead of failing later.
        items = value if isinstance(value, list) else [value]
        if any(isinstance(x, str) and "\x00" in x for x in items):
            raise ValueError("Text must not contain NUL (\\u0000) characters.")
        return value


class ApiOutput(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def respond(model: type[BaseModel], obj: Any, status_code: int = 200, **extra: Any) -> Response:
    """Serialize `obj` through the response model in the handler's own thread and return the Response.
    (Returning a Response lets FastAPI skip a second validation pass and an extra thread hop, while the
    route's `response_model` still documents the shape.)"""
    data = model.model_validate(obj).model_dump(mode="json", by_alias=True)
    data.update(extra)
    return Response(json.dumps(data, separators=(",", ":")).encode(), status_code=status_code, media_type="application/json")


Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str)]
