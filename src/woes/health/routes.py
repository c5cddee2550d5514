from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from woes.health.service import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable, migrations current, queue reachable")
def readyz(request: Request) -> JSONResponse:
    checks = readiness(request.app.state.runtime)
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)
