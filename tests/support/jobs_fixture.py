"""Job handlers used by the job-queue tests; loaded in worker subprocesses via WOES_JOB_MODULES."""

from __future__ import annotations

import os
import time
from pathlib import Path

from woes.jobs.registry import JobContext, job_handler


@job_handler("test.slow_record", max_attempts=5, base_backoff_seconds=0.2)
def slow_record(ctx: JobContext, payload: dict) -> None:
    """Marks that it started (with the pid), works for a while, then records completion exactly once."""
    folder = Path(payload["dir"])
    (folder / f"started.{os.getpid()}").write_text(str(ctx.attempt))
    time.sleep(payload.get("seconds", 3))
    with open(folder / "done", "a") as fh:
        fh.write(f"{payload['value']}:{os.getpid()}\n")


@job_handler("test.always_fails", max_attempts=3, base_backoff_seconds=0.05)
def always_fails(ctx: JobContext, payload: dict) -> None:
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


@job_handler("test.flaky", max_attempts=4, base_backoff_seconds=0.05)
def flaky(ctx: JobContext, payload: dict) -> None:
    folder = Path(payload["dir"])
    attempts = folder / "flaky_attempts"
    n = int(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text(str(n))
    if n < 3:
        raise ConnectionError("upstream not there yet")
    (folder / "flaky_done").write_text("ok")
