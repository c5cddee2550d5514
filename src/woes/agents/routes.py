"""Agents CRUD, read-only views over agent runs and their traces, and the drafts inbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from woes.access.deps import ReadDB, WriteDB, require, run_write
from woes.access.principal import Principal
from woes.agents import responding, service
from woes.agents.models import Agent, AgentRun, Draft
from woes.agents.runtime import do_record_run
from woes.agents.schemas import AgentCreate, AgentPatch, DraftApprove, DraftReject, DraftStatus, QuestionIn
from woes.conversations import service as conversations
from woes.core.pagination import Page, paginate

router = APIRouter(prefix="/api/v1", tags=["agents"])
Read = Annotated[Principal, Depends(require("agents:read"))]
Write = Annotated[Principal, Depends(require("agents:write"))]
InboxRead = Annotated[Principal, Depends(require("conversations:read"))]
InboxWrite = Annotated[Principal, Depends(require("conversations:write"))]


def _can_write(p: Principal) -> bool:
    return p.allows("agents:write")


# -- agents ------------------------------------------------------------------------------------------

@router.post("/agents/{agent_id}/answer", summary="Ask the agent a question directly (answer, clarify or handoff)")
async def answer(agent_id: uuid.UUID, body: QuestionIn, p: Read, request: Request) -> dict:
    """Decided with no transaction open (a remote provider may take seconds), then recorded in one short write."""
    db = request.app.state.runtime.db
    run = await run_in_threadpool(responding.decide_direct_answer, db, p.workspace_id, agent_id, body.question)
    return await run_write(request, lambda session: service.run_view(do_record_run(session, run)))


@router.get("/agents", summary="List agents, newest first (instructions only with agents:write)")
def list_agents(p: Read, db: ReadDB, page: Page) -> dict:
    return paginate(db, service.agents_stmt(p.workspace_id), Agent, page, "agents", None,
                    serialize_all=lambda rows: service.agent_views(db, rows, show_instructions=_can_write(p)))


@router.post("/agents", status_code=201, summary="Create an agent")
def create_agent(body: AgentCreate, p: Write, db: WriteDB) -> dict:
    return service.agent_view(db, service.do_create_agent(db, p.workspace_id, body, p.actor), show_instructions=True)


@router.get("/agents/{agent_id}")
def get_agent(agent_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.agent_view(db, service.get_agent(db, p.workspace_id, agent_id), show_instructions=_can_write(p))


@router.patch("/agents/{agent_id}", summary="Update an agent (learnedProfile and learningStatus are read-only)")
def update_agent(agent_id: uuid.UUID, body: AgentPatch, p: Write, db: WriteDB) -> dict:
    agent = service.do_update_agent(db, p.workspace_id, agent_id, body, p.actor)
    return service.agent_view(db, agent, show_instructions=True)


@router.delete("/agents/{agent_id}", status_code=204, summary="Delete an agent with its runs and drafts")
def delete_agent(agent_id: uuid.UUID, p: Write, db: WriteDB) -> Response:
    service.do_delete_agent(db, p.workspace_id, agent_id, p.actor)
    return Response(status_code=204)


# -- runs --------------------------------------------------------------------------------------------

@router.get("/conversations/{conversation_id}/agent-runs", summary="Agent runs on a conversation, oldest first")
def list_conversation_runs(conversation_id: uuid.UUID, p: Read, db: ReadDB, page: Page) -> dict:
    conversations.get_conversation(db, p.workspace_id, conversation_id)
    return paginate(db, service.runs_stmt(p.workspace_id, conversation_id), AgentRun, page, "agentRuns",
                    service.run_view, ascending=True)


@router.get("/agent-runs/{run_id}", summary="One agent run (the answer object)")
def get_run(run_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.run_view(service.get_run(db, p.workspace_id, run_id))


@router.get("/agent-runs/{run_id}/trace", summary="A run's trace (system prompts only with agents:write)")
def get_trace(run_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.trace_view(service.get_run(db, p.workspace_id, run_id), show_system_prompt=_can_write(p))


# -- drafts ------------------------------------------------------------------------------------------

@router.get("/drafts", tags=["drafts"], summary="Suggested replies, newest first")
def list_drafts(p: InboxRead, db: ReadDB, page: Page, status: DraftStatus | None = None,
                agent_id: Annotated[uuid.UUID | None, Query(alias="agentId")] = None,
                conversation_id: Annotated[uuid.UUID | None, Query(alias="conversationId")] = None) -> dict:
    stmt = service.drafts_stmt(p.workspace_id, status=status, agent_id=agent_id, conversation_id=conversation_id)
    return paginate(db, stmt, Draft, page, "drafts", service.draft_view)


@router.get("/drafts/{draft_id}", tags=["drafts"])
def get_draft(draft_id: uuid.UUID, p: InboxRead, db: ReadDB) -> dict:
    return service.draft_view(service.get_draft(db, p.workspace_id, draft_id))


@router.post("/drafts/{draft_id}/approve", tags=["drafts"],
             summary="Send the draft as the agent's reply; with `body`, send that text instead (edit-and-send)")
def approve_draft(draft_id: uuid.UUID, p: InboxWrite, db: WriteDB, body: DraftApprove | None = None) -> dict:
    text = body.body if body else None
    return service.draft_view(service.do_approve_draft(db, p.workspace_id, draft_id, text, p))


@router.post("/drafts/{draft_id}/reject", tags=["drafts"], summary="Reject the draft with a reason (kept for learning)")
def reject_draft(draft_id: uuid.UUID, body: DraftReject, p: InboxWrite, db: WriteDB) -> dict:
    return service.draft_view(service.do_reject_draft(db, p.workspace_id, draft_id, body.reason, p))


# -- context learning --------------------------------------------------------------------------------

@router.post("/agents/{agent_id}/learn", status_code=202,
             summary="Learn from the attached sources: queues a run (learningStatus pending → ready | failed)")
def learn(agent_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    from woes.agents.learning import do_request_learning

    return service.agent_view(db, do_request_learning(db, p.workspace_id, agent_id, p.actor), show_instructions=True)
