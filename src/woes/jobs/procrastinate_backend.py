"""Scale-out queue on PostgreSQL through procrastinate (a maintained queue engine).

Jobs are deferred with procrastinate's own SQL function on the caller's SQLAlchemy session, so a job
exists exactly when the change that asked for it commits. `woes worker` (and `woes serve`) run
procrastinate workers; a worker killed mid-job stops sending heartbeats and its jobs are put back to
`todo` by the stalled-job sweeper of any live worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from typing import Any

import procrastinate
from sqlalchemy import text

from woes.config import get_settings
from woes.db import Database, utcnow
from woes.jobs.queue import JobInfo, JobQueue
from woes.jobs.registry import HANDLERS, JobContext

log = logging.getLogger("woes.jobs")

QUEUE_NAME = "woes"
_STATUS = {"todo": "queued", "doing": "running", "succeeded": "succeeded", "failed": "failed",
           "cancelled": "cancelled", "aborting": "running", "aborted": "cancelled"}
_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), :scheduled_at)"
    "::procrastinate_job_to_defer_v1])"
)


def libpq_url(db: Database) -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def schema_sql() -> str:
    """procrastinate's schema for the pinned version (applied by our Alembic migration on PostgreSQL)."""
    return procrastinate.schema.SchemaManager.get_schema()


class ProcrastinateQueue(JobQueue):
    backend = "procrastinate"

    def __init__(self, db: Database, *, stall_seconds: float | None = None) -> None:
        if db.is_sqlite:
            raise ValueError("the procrastinate job backend needs PostgreSQL")
        self.db = db
        self.stall_seconds = stall_seconds or get_settings().job_lease_seconds

    def enqueue(self, session, name, payload, *, workspace_id=None, run_at=None) -> None:
        args = {"payload": payload, "workspace_id": str(workspace_id) if workspace_id else None}
        session.execute(_DEFER, {"queue": QUEUE_NAME, "task": name, "args": json.dumps(args), "scheduled_at": run_at})

    def _build_app(self) -> procrastinate.App:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(self.db)))
        for spec in HANDLERS.values():
            self._register(app, spec)
        return app

    def _register(self, app: procrastinate.App, spec: Any) -> None:
        db = self.db

        def run(context: procrastinate.JobContext, payload: dict[str, Any], workspace_id: str | None = None) -> None:
            job = context.job
            spec.func(JobContext(db, str(job.id), (job.attempts or 0) + 1), payload)

        app.task(
            name=spec.name,
            queue=QUEUE_NAME,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=max(spec.max_attempts - 1, 0), exponential_wait=int(max(spec.base_backoff_seconds, 1))
            ),
        )(run)

    async def _sweep_stalled(self, app: procrastinate.App, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=self.stall_seconds):
                    log.warning("re-queueing job of a stalled worker", extra={"jobId": job.id, "job": job.task_name})
                    await app.job_manager.retry_job(job)
            except Exception:
                log.exception("stalled-job sweep failed")
            await asyncio.sleep(min(self.stall_seconds / 3, 5.0))

    def run_worker(self, stop: threading.Event, *, concurrency: int = 2, worker_name: str | None = None) -> None:
        app = self._build_app()

        async def main() -> None:
            async with app.open_async():
                worker = asyncio.create_task(
                    app.run_worker_async(
                        queues=[QUEUE_NAME],
                        concurrency=concurrency,
                        name=worker_name,
                        wait=True,
                        install_signal_handlers=False,
                        update_heartbeat_interval=max(self.stall_seconds / 3, 0.5),
                        stalled_worker_timeout=self.stall_seconds,
                        fetch_job_polling_interval=1.0,
                    )
                )
                sweeper = asyncio.create_task(self._sweep_stalled(app, stop))
                await asyncio.to_thread(stop.wait)
                sweeper.cancel()
                worker.cancel()
                for t in (sweeper, worker):
                    try:
                        await t
                    except (asyncio.CancelledError, Exception):
                        pass

        asyncio.run(main())

    def list_jobs(self, *, status=None, workspace_id=None, limit=100) -> list[JobInfo]:
        back = {v: k for k, v in _STATUS.items() if k in ("todo", "doing", "succeeded", "failed", "cancelled")}
        sql = "SELECT id, task_name, status, attempts, args FROM procrastinate_jobs WHERE queue_name = :q"
        params: dict[str, Any] = {"q": QUEUE_NAME, "limit": limit}
        if status:
            sql += " AND status = CAST(:status AS procrastinate_job_status)"
            params["status"] = back.get(status, status)
        if workspace_id:
            sql += " AND args->>'workspace_id' = :ws"
            params["ws"] = str(workspace_id)
        sql += " ORDER BY id DESC LIMIT :limit"
        out = []
        with self.db.reading() as session:
            for row in session.execute(text(sql), params).mappings():
                args = row["args"] or {}
                out.append(JobInfo(str(row["id"]), row["task_name"], _STATUS.get(row["status"], row["status"]),
                                   row["attempts"], args.get("workspace_id"), None, args.get("payload") or {}))
        return out

    def ping(self) -> None:
        with self.db.reading() as session:
            session.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))


__all__ = ["ProcrastinateQueue", "schema_sql", "utcnow", "uuid"]
