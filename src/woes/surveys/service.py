"""Survey answers (SPEC §11). Each function writes the change and its event in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from woes.core.errors import conflict, validation_error
from woes.core.views import iso
from woes.db import utcnow
from woes.events.service import Actor, record_change
from woes.surveys.models import SurveyResponse

SCORE_RANGES = {"csat": (1, 5), "nps": (0, 10)}


def response_view(r: SurveyResponse) -> dict[str, Any]:
    return {"object": "survey_response", "id": str(r.id), "conversationId": str(r.conversation_id),
            "customerId": str(r.customer_id) if r.customer_id else None, "survey": r.survey, "score": r.score,
            "comment": r.comment, "channel": r.channel, "createdAt": iso(r.created_at)}


def find_response(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, survey: str) -> SurveyResponse | None:
    return session.scalar(select(SurveyResponse).where(SurveyResponse.workspace_id == workspace_id,
                                                       SurveyResponse.conversation_id == conversation_id,
                                                       SurveyResponse.survey == survey))


def do_record_response(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, *, survey: str, score: int,
                       comment: str | None, channel: str, customer_id: uuid.UUID | None, actor: Actor) -> SurveyResponse:
    """One answer per survey and conversation: a second one is a 409, a score outside the survey's range a 422."""
    low, high = SCORE_RANGES[survey]
    if not low <= score <= high:
        raise validation_error("score", f"A {survey.upper()} score is a whole number from {low} to {high}.")
    if find_response(session, workspace_id, conversation_id, survey) is not None:
        raise conflict(f"This conversation's {survey.upper()} answer was already given.")
    response = SurveyResponse(workspace_id=workspace_id, conversation_id=conversation_id, customer_id=customer_id,
                              survey=survey, score=score, comment=comment, channel=channel, created_at=utcnow())
    try:
        with session.begin_nested():  # a concurrent answer to the same survey wins the unique constraint
            session.add(response)
    except IntegrityError:
        raise conflict(f"This conversation's {survey.upper()} answer was already given.") from None
    record_change(session, "survey_response", response, "survey.response_created", actor, response_view(response),
                  aggregate_id=conversation_id)
    return response
