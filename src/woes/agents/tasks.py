from __future__ import annotations

import uuid
from typing import Any

from woes.agents.responding import RESPOND_JOB, notice_customer_message, respond_to_message
from woes.events.relay import outbox_consumer
from woes.jobs.registry import JobContext, job_handler

outbox_consumer(notice_customer_message)


@job_handler(RESPOND_JOB, max_attempts=3, base_backoff_seconds=5)
def respond_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    respond_to_message(ctx.db, uuid.UUID(payload["workspaceId"]), uuid.UUID(payload["conversationId"]),
                       uuid.UUID(payload["messageId"]))


LEARN_ATTEMPTS = 3


@job_handler("agents.learn", max_attempts=LEARN_ATTEMPTS, base_backoff_seconds=5)
def learn_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Context learning for a pending request: a database error is retried; anything else (or the last
    attempt) ends it `failed`."""
    from woes.agents.learning import learn_agent

    learn_agent(ctx.db, uuid.UUID(payload["workspaceId"]), uuid.UUID(payload["agentId"]),
                retry_db_errors=ctx.attempt < LEARN_ATTEMPTS, only_pending=True)
