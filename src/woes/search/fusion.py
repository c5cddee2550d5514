"""Fusion: the stages' rankings combined by reciprocal rank (RRF) at the level of what is cited, an endpoint
or a document chunk. Ranked chunks that belong to one endpoint count once, as that endpoint (the best of
them gives the snippet); the per-endpoint BM25 ranking adds at half weight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.caching import remember
from woes.sources.models import Chunk, Source

RRF_K = 60
ENDPOINT_LEXICAL_WEIGHT = 0.5  # the per-endpoint BM25 list counts half as much as the chunk lists


@dataclass
class Hit:
    kind: str  # endpoint | chunk
    id: uuid.UUID
    source_id: uuid.UUID
    score: float = 0.0
    chunk_id: uuid.UUID | None = None  # the best chunk behind the hit (snippet)
    signals: dict[str, Any] = field(default_factory=dict)


Fused = dict[tuple[str, uuid.UUID], Hit]  # ("endpoint" | "chunk", id) → hit, in the order first ranked


class _ChunkOwners:
    """Per source: which endpoint or document each chunk belongs to, cached per scan (ranked chunks are
    grouped by what they cite without a database round trip)."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]]]] = {}

    def get(self, session: Session, source: Source) -> dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]]:
        cached = self._data.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            owners = {r[0]: (r[1], r[2]) for r in session.execute(
                select(Chunk.id, Chunk.endpoint_id, Chunk.document_id).where(Chunk.source_id == source.id))}
            cached = remember(self._data, source.id, (source.last_scan_id, owners))
        return cached[1]


CHUNK_OWNERS = _ChunkOwners()


def fuse_chunk_rankings(session: Session, sources: list[Source],
                        rankings: dict[str, list[tuple[uuid.UUID, float]]]) -> Fused:
    """Chunk rankings by name ("lexical", "dense"), fused in that order: each adds 1 / (RRF_K + rank) to what
    its chunks cite, and records `<name>Rank` and `<name>Score` among the hit's signals."""
    chunk_ids = set().union(*({cid for cid, _ in ranking} for ranking in rankings.values()))
    owners: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID]] = {}
    for src in sources:
        by_chunk = CHUNK_OWNERS.get(session, src)
        owners.update({cid: (*by_chunk[cid], src.id) for cid in chunk_ids if cid in by_chunk})

    fused: Fused = {}
    for name, ranking in rankings.items():
        seen: set[tuple[str, uuid.UUID]] = set()
        rank = 0
        for cid, score in ranking:
            if cid not in owners:
                continue
            endpoint_id, _doc, source_id = owners[cid]
            key = ("endpoint", endpoint_id) if endpoint_id else ("chunk", cid)
            if key in seen:
                continue
            seen.add(key)
            rank += 1
            hit = fused.setdefault(key, Hit(kind=key[0], id=key[1], source_id=source_id, chunk_id=cid))
            hit.score += 1.0 / (RRF_K + rank)
            hit.signals[f"{name}Rank"] = rank
            hit.signals[f"{name}Score"] = round(score, 4)
    return fused


def add_endpoint_ranking(fused: Fused, ranking: list[tuple[uuid.UUID, uuid.UUID, float]]) -> None:
    """The per-endpoint lexical ranking ((endpoint id, source id, score), best first), at
    ENDPOINT_LEXICAL_WEIGHT."""
    for rank, (e_id, s_id, _sc) in enumerate(ranking, start=1):
        hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=s_id))
        hit.score += ENDPOINT_LEXICAL_WEIGHT / (RRF_K + rank)
        hit.signals["endpointLexicalRank"] = rank
