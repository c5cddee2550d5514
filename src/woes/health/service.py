from __future__ import annotations

from typing import Any

from sqlalchemy import text

from woes.migrate import current_revision, head_revision


def readiness(runtime: Any) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with runtime.db.reading() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": runtime.db.dialect}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        return checks
    try:
        current, head = current_revision(runtime.db), head_revision()
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
    except Exception as exc:
        checks["migrations"] = {"ok": False, "error": type(exc).__name__}
    try:
        runtime.queue.ping()
        checks["queue"] = {"ok": True, "backend": runtime.queue.backend}
    except Exception as exc:
        checks["queue"] = {"ok": False, "backend": runtime.queue.backend, "error": type(exc).__name__}
    return checks
