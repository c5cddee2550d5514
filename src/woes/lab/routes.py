"""Lab runs: a question bank through an agent, per-question evaluations, aggregates, comparisons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.agents.service import get_agent
from woes.core.pagination import Page, paginate
from woes.lab import service
from woes.lab.models import LabRun
from woes.lab.schemas import LabRunCreate

router = APIRouter(prefix="/api/v1", tags=["lab"])
Read = Annotated[Principal, Depends(require("agents:read"))]
Write = Annotated[Principal, Depends(require("agents:write"))]


@router.post("/agents/{agent_id}/lab-runs", status_code=202,
             summary="Run a question bank through the agent (queued; poll the lab run for results)")
def create_lab_run(agent_id: uuid.UUID, body: LabRunCreate, p: Write, db: WriteDB) -> dict:
    run = service.do_create_lab_run(db, p.workspace_id, agent_id, actor=p.actor, questions=body.questions,
                                    jsonl=body.jsonl, name=body.name)
    return service.lab_run_view(run)


@router.get("/agents/{agent_id}/lab-runs", summary="The agent's lab runs, newest first (without per-question results)")
def list_lab_runs(agent_id: uuid.UUID, p: Read, db: ReadDB, page: Page) -> dict:
    get_agent(db, p.workspace_id, agent_id)
    return paginate(db, service.lab_runs_stmt(p.workspace_id, agent_id), LabRun, page, "labRuns",
                    service.lab_run_summary)


@router.get("/lab-runs/{lab_run_id}", summary="One lab run with its per-question results and aggregates")
def get_lab_run(lab_run_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.lab_run_view(service.get_lab_run(db, p.workspace_id, lab_run_id))


@router.get("/lab-runs/{lab_run_id}/compare",
            summary="Compare this lab run against an earlier one: aggregate deltas, fixed and regressed questions")
def compare_lab_runs(lab_run_id: uuid.UUID, p: Read, db: ReadDB,
                     against: Annotated[uuid.UUID | None, Query(description="Id of the lab run to compare against "
                                                                "(the before side; required).")] = None) -> dict:
    return service.compare_lab_runs(db, p.workspace_id, lab_run_id, against)
