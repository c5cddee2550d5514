from __future__ import annotations

import uuid
from typing import Any

from woes.jobs.registry import JobContext, job_handler
from woes.sources.service import SCAN_JOB


@job_handler(SCAN_JOB, max_attempts=3, base_backoff_seconds=5)
def scan_source(ctx: JobContext, payload: dict[str, Any]) -> None:
    from woes.scans.pipeline import run_scan

    run_scan(ctx.db, uuid.UUID(payload["workspaceId"]), uuid.UUID(payload["sourceId"]), uuid.UUID(payload["scanId"]))
