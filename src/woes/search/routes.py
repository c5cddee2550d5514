"""HTTP: hybrid search over a workspace's API context (`GET /api/v1/search`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.access.deps import ReadDB, require
from woes.access.principal import Principal
from woes.core.errors import ProblemError
from woes.search.engine import search as run_search
from woes.search.views import results_view
from woes.sources.models import Source

router = APIRouter(prefix="/api/v1", tags=["knowledge"])
Read = Annotated[Principal, Depends(require("knowledge:read"))]

AgentSources = Callable[[Session, uuid.UUID, uuid.UUID], list[uuid.UUID]]
_PROVIDERS: list[AgentSources] = []


def use_agent_sources(provider: AgentSources) -> None:
    """Wired at start-up (woes.wiring): how `?agentId=` finds an agent's sources (the agents domain sits above
    search, so search does not import it)."""
    _PROVIDERS[:] = [provider]


@router.get("/search", summary="Hybrid search over endpoint records and document chunks")
def search(p: Read, db: ReadDB,
           q: Annotated[str, Query(min_length=1, max_length=2000)],
           source_id: Annotated[list[uuid.UUID] | None, Query(alias="sourceId")] = None,
           agent_id: Annotated[uuid.UUID | None, Query(alias="agentId", description="Only that agent's sources")] = None,
           limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict:
    if source_id:
        found = set(db.scalars(select(Source.id).where(Source.workspace_id == p.workspace_id, Source.id.in_(source_id))))
        missing = [str(s) for s in source_id if s not in found]
        if missing:
            raise ProblemError(404, "not_found", f"Source not found: {', '.join(missing)}.")
    if agent_id is not None:
        source_id = _agent_sources(db, p.workspace_id, agent_id, source_id)
    hits, info = run_search(db, p.workspace_id, q, source_id, limit)
    return {"object": "list", "results": results_view(db, hits, q), "hasMore": False, "nextCursor": None,
            "tookMs": info["tookMs"], "query": info.get("analysis", {})}


def _agent_sources(db: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID,
                   source_ids: list[uuid.UUID] | None) -> list[uuid.UUID]:
    """The agent's sources (404 for an agent of another workspace), narrowed to `source_ids` when given."""
    allowed = _PROVIDERS[0](db, workspace_id, agent_id)
    return [s for s in source_ids if s in allowed] if source_ids else allowed
