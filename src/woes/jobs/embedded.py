"""Embedded queue on the application's own database (the SQLite default; not distributed).

A worker claims one job at a time with a single UPDATE ... RETURNING that sets a lease; while the job
runs a heartbeat extends the lease. A worker that dies (SIGKILL, power loss) stops renewing, the lease
lapses and any other worker, in this process or another, claims the job again. Failures retry with
exponential backoff and jitter; after `max_attempts` the job ends `failed` and stays listed.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import traceback
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from woes.config import get_settings
from woes.db import Database, utcnow
from woes.jobs.models import EmbeddedJob
from woes.jobs.queue import JobInfo, JobQueue
from woes.jobs.registry import HANDLERS, JobContext

log = logging.getLogger("woes.jobs")

_CLAIM = """
UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = :lease, locked_by = :worker
WHERE id = (
  SELECT id FROM jobs
  WHERE (status = 'queued' AND run_at <= :now) OR (status = 'running' AND locked_until < :now)
  ORDER BY run_at, id LIMIT 1 {lock}
)
RETURNING id, name, payload, attempts, max_attempts
"""


def _db_time(db: Database, value: datetime) -> Any:
    return value.replace(tzinfo=None) if db.is_sqlite else value


class EmbeddedQueue(JobQueue):
    backend = "embedded"

    def __init__(self, db: Database, *, lease_seconds: float | None = None, poll_seconds: float = 0.5) -> None:
        self.db = db
        self.lease_seconds = lease_seconds or get_settings().job_lease_seconds
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._claim_sql = text(_CLAIM.format(lock="" if db.is_sqlite else "FOR UPDATE SKIP LOCKED"))

    def enqueue(self, session, name, payload, *, workspace_id=None, run_at=None) -> None:
        spec = HANDLERS.get(name)
        session.add(
            EmbeddedJob(
                name=name,
                payload=payload,
                workspace_id=workspace_id,
                max_attempts=spec.max_attempts if spec else 5,
                run_at=run_at or utcnow(),
            )
        )
        self._wake.set()

    # -- worker ---------------------------------------------------------------------------------
    def claim(self, worker: str) -> dict[str, Any] | None:
        now = utcnow()
        with self.db.transaction() as session:
            row = session.execute(
                self._claim_sql,
                {
                    "now": _db_time(self.db, now),
                    "lease": _db_time(self.db, now + timedelta(seconds=self.lease_seconds)),
                    "worker": worker,
                },
            ).mappings().first()
            return dict(row) if row else None

    def _extend_lease(self, job_id: int, worker: str) -> None:
        with self.db.transaction() as session:
            job = session.get(EmbeddedJob, job_id)
            if job and job.status == "running" and job.locked_by == worker:
                job.locked_until = utcnow() + timedelta(seconds=self.lease_seconds)

    def _finish(self, job_id: int, worker: str, error: str | None) -> None:
        with self.db.transaction() as session:
            job = session.get(EmbeddedJob, job_id)
            if job is None or job.locked_by != worker:
                return  # lease lost to another worker; its outcome wins
            job.locked_until = None
            if error is None:
                job.status, job.finished_at, job.last_error = "succeeded", utcnow(), None
            elif job.attempts >= job.max_attempts:
                job.status, job.finished_at, job.last_error = "failed", utcnow(), error
                log.error("job failed permanently", extra={"job": job.name, "jobId": job_id, "attempts": job.attempts})
            else:
                spec = HANDLERS.get(job.name)
                base = spec.base_backoff_seconds if spec else 2.0
                delay = base * (2 ** (job.attempts - 1)) * random.uniform(0.8, 1.2)
                job.status, job.run_at, job.last_error = "queued", utcnow() + timedelta(seconds=delay), error

    def run_one(self, worker: str) -> bool:
        """Claim and run one job; returns False when nothing was ready."""
        row = self.claim(worker)
        if row is None:
            return False
        job_id = row["id"]
        payload = row["payload"]
        if isinstance(payload, str):  # SQLite JSON through text() comes back as text
            import json

            payload = json.loads(payload)
        spec = HANDLERS.get(row["name"])
        if row["attempts"] > row["max_attempts"]:
            self._finish(job_id, worker, "gave up: the job's worker stopped mid-run too many times")
            return True
        if spec is None:
            self._finish(job_id, worker, f"no handler registered for {row['name']!r}")
            return True
        stop_beat = threading.Event()

        def heartbeat() -> None:
            while not stop_beat.wait(self.lease_seconds / 3):
                try:
                    self._extend_lease(job_id, worker)
                except Exception:
                    log.warning("lease renewal failed", exc_info=True)

        beat = threading.Thread(target=heartbeat, daemon=True, name=f"woes-lease-{job_id}")
        beat.start()
        error = None
        try:
            spec.func(JobContext(self.db, str(job_id), row["attempts"]), payload)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_tb(exc.__traceback__))[-2000:]
            log.warning("job attempt failed", extra={"job": row["name"], "jobId": job_id, "attempt": row["attempts"]})
        finally:
            stop_beat.set()
            beat.join()
        self._finish(job_id, worker, error)
        return True

    def _worker_loop(self, stop: threading.Event, worker: str) -> None:
        while not stop.is_set():
            try:
                if self.run_one(worker):
                    continue
            except Exception:
                log.exception("embedded worker loop error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def run_worker(self, stop: threading.Event, *, concurrency: int = 2, worker_name: str | None = None) -> None:
        base = worker_name or f"{os.uname().nodename}:{os.getpid()}"
        threads = [
            threading.Thread(target=self._worker_loop, args=(stop, f"{base}:{i}"), daemon=True, name=f"woes-job-{i}")
            for i in range(concurrency)
        ]
        for t in threads:
            t.start()
        stop.wait()
        self._wake.set()
        for t in threads:
            t.join(timeout=10)

    def list_jobs(self, *, status=None, workspace_id=None, limit=100) -> list[JobInfo]:
        with self.db.reading() as session:
            stmt = select(EmbeddedJob).order_by(EmbeddedJob.id.desc()).limit(limit)
            if status:
                stmt = stmt.where(EmbeddedJob.status == status)
            if workspace_id:
                stmt = stmt.where(EmbeddedJob.workspace_id == workspace_id)
            return [
                JobInfo(str(j.id), j.name, j.status, j.attempts, str(j.workspace_id) if j.workspace_id else None, j.last_error, j.payload)
                for j in session.scalars(stmt)
            ]

    def ping(self) -> None:
        with self.db.reading() as session:
            session.execute(text("SELECT 1 FROM jobs LIMIT 1"))

