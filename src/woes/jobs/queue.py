"""The job queue interface used by every domain, and the backend chooser."""

from __future__ import annotations

import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class JobInfo:
    id: str
    name: str
    status: str
    attempts: int
    workspace_id: str | None
    last_error: str | None
    payload: dict[str, Any]


class JobQueue(ABC):
    """Enqueue inside the caller's transaction (the job exists iff the change commits); run workers."""

    backend: str

    @abstractmethod
    def enqueue(
        self,
        session: Session,
        name: str,
        payload: dict[str, Any],
        *,
        workspace_id: uuid.UUID | None = None,
        run_at: datetime | None = None,
    ) -> None: ...

    @abstractmethod
    def run_worker(self, stop: threading.Event, *, concurrency: int = 2, worker_name: str | None = None) -> None:
        """Process jobs until `stop` is set (blocking)."""

    @abstractmethod
    def list_jobs(self, *, status: str | None = None, workspace_id: uuid.UUID | None = None, limit: int = 100) -> list[JobInfo]: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise if the queue is not usable (readiness)."""


def make_queue(db: Any, backend: str) -> JobQueue:
    if backend == "procrastinate":
        from woes.jobs.procrastinate_backend import ProcrastinateQueue

        return ProcrastinateQueue(db)
    if backend == "embedded":
        from woes.jobs.embedded import EmbeddedQueue

        return EmbeddedQueue(db)
    raise ValueError(f"unknown job backend {backend!r}")
