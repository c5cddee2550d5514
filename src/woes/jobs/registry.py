"""Job handlers by name. Domains register theirs with `@job_handler("domain.action")`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from woes.db import Database


@dataclass
class JobContext:
    db: Database
    job_id: str
    attempt: int


JobFunc = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    max_attempts: int
    base_backoff_seconds: float


HANDLERS: dict[str, JobSpec] = {}


def job_handler(name: str, *, max_attempts: int = 5, base_backoff_seconds: float = 2.0) -> Callable[[JobFunc], JobFunc]:
    def register(func: JobFunc) -> JobFunc:
        HANDLERS[name] = JobSpec(name, func, max_attempts, base_backoff_seconds)
        return func

    return register


def get_spec(name: str) -> JobSpec:
    try:
        return HANDLERS[name]
    except KeyError:
        raise LookupError(f"no job handler named {name!r}") from None
