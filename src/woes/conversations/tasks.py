"""Background jobs of the conversations domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from woes.conversations.service import UNSNOOZE_JOB, do_end_snooze
from woes.jobs.registry import JobContext, job_handler


@job_handler(UNSNOOZE_JOB, max_attempts=8)
def end_snooze(ctx: JobContext, payload: dict[str, Any]) -> None:
    with ctx.db.transaction() as session:
        do_end_snooze(session, uuid.UUID(payload["workspaceId"]), uuid.UUID(payload["conversationId"]),
                      datetime.fromisoformat(payload["until"]))
