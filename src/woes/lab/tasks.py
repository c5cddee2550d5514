from __future__ import annotations

import uuid
from typing import Any

from woes.jobs.registry import JobContext, job_handler
from woes.lab.service import LAB_JOB

MAX_ATTEMPTS = 3


@job_handler(LAB_JOB, max_attempts=MAX_ATTEMPTS, base_backoff_seconds=5)
def run_lab_run(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Answer and score a lab run's questions; after the last failed attempt the run ends `failed`."""
    from woes.lab.service import do_fail_lab_run, run_lab

    workspace_id, lab_run_id = uuid.UUID(payload["workspaceId"]), uuid.UUID(payload["labRunId"])
    try:
        run_lab(ctx.db, workspace_id, lab_run_id)
    except Exception as exc:
        if ctx.attempt >= MAX_ATTEMPTS:
            with ctx.db.transaction() as s:
                do_fail_lab_run(s, workspace_id, lab_run_id, f"The lab run stopped: {type(exc).__name__}: {exc}")
        raise
