"""`search()`: hybrid retrieval over endpoint records and document chunks, restricted to chosen sources.

The pipeline, one module per stage:

1. `analysis`: the question's literal paths, methods, identifiers, SDK-style method names, verbs, the
   sentence that asks and what its verbs act on.
2. `lexical`: in-memory per-source BM25 over chunk texts (the question's most selective words), and over
   one document per endpoint record (every word).
3. `dense`: MiniLM vectors; pgvector on PostgreSQL with the extension, exact numpy cosine over per-source
   matrices cached per scan otherwise.
4. `fusion`: reciprocal-rank fusion at the level of what is cited (an endpoint, or a document chunk).
5. `rerank`: operations named outright, exact path / method + path / operation-id matches, name, title and
   input coverage, resource, method and path shape, nested duplicates, documents discounted.

`warm()` builds every per-source cache up front; `views.results_view` renders the hits."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.redaction import redact
from woes.search import dense, lexical, rerank
from woes.search.analysis import QueryMatcher, analyse, stem
from woes.search.dense import DENSE_CANDIDATES, VECTORS
from woes.search.fusion import CHUNK_OWNERS, Hit, add_endpoint_ranking, fuse_chunk_rankings
from woes.search.lexical import CHUNK_BM25, ENDPOINT_BM25, LEXICAL_CANDIDATES
from woes.search.names import FIELDS, NAMES, TITLES
from woes.sources.models import Source


def search(session: Session, workspace_id: uuid.UUID, q: str, source_ids: list[uuid.UUID] | None = None,
           limit: int = 10) -> tuple[list[Hit], dict[str, Any]]:
    """The `limit` best endpoints and chunks of the workspace's sources (all, or those of `source_ids`) for
    the question, and how the search went (timings, the analysis)."""
    t0 = time.perf_counter()
    q = redact(q)  # a secret in a question is never searched for (the evidence holds none) nor echoed back
    sources = _sources(session, workspace_id, source_ids)
    if not sources:
        return [], {"tookMs": 0.0}
    a = analyse(q)
    lexical_chunks = lexical.rank_chunks(session, sources, lexical.selective_terms(session, sources, a.terms),
                                         LEXICAL_CANDIDATES)
    t_lex = time.perf_counter()
    dense_chunks = dense.rank_chunks(session, sources, q, DENSE_CANDIDATES)
    t_dense = time.perf_counter()
    fused = fuse_chunk_rankings(session, sources, {"lexical": lexical_chunks, "dense": dense_chunks})
    add_endpoint_ranking(fused, lexical.rank_endpoints(session, sources, a.terms, LEXICAL_CANDIDATES))
    said = QueryMatcher({stem(w) for w in a.terms})
    rerank.add_named_operations(session, sources, said, fused)
    rerank.boost_exact_matches(session, sources, a, fused)
    candidates, rows = rerank.score_candidates(session, sources, a, q, said, fused)
    rerank.demote_nested_duplicates(candidates, rows)
    rerank.discount_documents(fused)
    hits = sorted(fused.values(), key=lambda h: -h.score)[:limit]
    timings = {"lexicalMs": round((t_lex - t0) * 1000, 2), "denseMs": round((t_dense - t_lex) * 1000, 2),
               "tookMs": round((time.perf_counter() - t0) * 1000, 2)}
    return hits, {**timings, "analysis": {"terms": a.terms, "paths": a.paths, "identifiers": a.identifiers,
                                          "methods": sorted(a.methods)}}


def _sources(session: Session, workspace_id: uuid.UUID, source_ids: list[uuid.UUID] | None) -> list[Source]:
    stmt = select(Source).where(Source.workspace_id == workspace_id)
    if source_ids is not None:
        stmt = stmt.where(Source.id.in_(source_ids))
    return list(session.scalars(stmt))


def warm(session: Session, sources: list[Source]) -> None:
    """Build every per-source cache now (a source's first question would otherwise pay for them)."""
    for src in sources:
        VECTORS.get(session, src)
        CHUNK_BM25.load(session, src)
        ENDPOINT_BM25.load(session, src)
        CHUNK_OWNERS.get(session, src)
        NAMES.tokens(session, src)
        NAMES.by_operation_id(session, src)
        NAMES.by_last_literal(session, src)
        FIELDS.get(session, src)
        TITLES.get(session, src)
    if sources:
        ENDPOINT_BM25.document_frequency(session, sources)
