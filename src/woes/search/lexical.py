"""The lexical stage: BM25 over each source's chunks and over one document per endpoint.

Both indexes are built in memory from the database, per source, and cached per scan (`CHUNK_BM25`,
`ENDPOINT_BM25`); scoring is vectorized with numpy, the same on SQLite and PostgreSQL. `rank_chunks` ranks
what can be cited (chunks) with the question's most selective words (`selective_terms`); `rank_endpoints`
ranks endpoint records with every word."""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import snowballstemmer
from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.caching import remember
from woes.search.analysis import STOP_WORDS, split_identifier, stem
from woes.sources.models import Chunk, Endpoint, Source

LEXICAL_CANDIDATES = 150
LEXICAL_MAX_TERMS = 18

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+")


def bm25_tokens(text_: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text_):
        parts = split_identifier(tok) if re.search(r"[a-z][A-Z]", tok) else [tok.lower()]
        out += [stem(p) for p in parts if p and p.lower() not in STOP_WORDS]
    return out


class _BM25:
    """BM25 over one source's documents, built in memory from the database and cached per scan; scoring is
    vectorized (numpy posting arrays), so a query costs a few milliseconds even with tens of thousands of
    documents, on SQLite and PostgreSQL alike."""

    K1, B = 1.2, 0.75

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, Any]] = {}
        self._df: dict[tuple[uuid.UUID, uuid.UUID | None], tuple[dict[str, int], int]] = {}
        self._merged: dict[tuple[Any, ...], tuple[dict[str, int], int]] = {}
        self._lock = threading.Lock()

    def _documents(self, session: Session, source: Source) -> Iterable[tuple[uuid.UUID, str]]:
        raise NotImplementedError

    def tokens(self, text_: str) -> list[str]:
        return bm25_tokens(text_)

    def query_tokens(self, terms: list[str]) -> set[str]:
        return {stem(x) for x in terms}

    def _build(self, session: Session, source: Source) -> Any:
        ids, lengths = [], []
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for doc_id, text_ in self._documents(session, source):
            toks = self.tokens(text_)
            doc = len(ids)
            ids.append(doc_id)
            lengths.append(len(toks))
            for t in toks:
                postings[t][doc] = postings[t].get(doc, 0) + 1
        n = len(ids)
        avg = (sum(lengths) / n) if n else 1.0
        arrays = {t: (np.fromiter(docs.keys(), dtype=np.int32, count=len(docs)),
                      np.fromiter(docs.values(), dtype=np.float32, count=len(docs))) for t, docs in postings.items()}
        return ids, np.array(lengths, dtype=np.float32), arrays, n, avg

    def load(self, session: Session, source: Source) -> Any:
        """The source's index, built on first use and again after each scan."""
        cached = self._data.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            built = self._build(session, source)
            with self._lock:
                cached = remember(self._data, source.id, (source.last_scan_id, built))
        return cached[1]

    def document_frequency(self, session: Session, sources: list[Source]) -> tuple[dict[str, int], int]:
        """How many documents of these sources use each (stemmed) word, and how many documents there are."""
        key_all = tuple(sorted((str(s.id), str(s.last_scan_id)) for s in sources))
        if key_all in self._merged:
            return self._merged[key_all]
        per_source = []
        for src in sources:
            key = (src.id, src.last_scan_id)
            if key not in self._df:
                _ids, _lengths, postings, n, _avg = self.load(session, src)
                remember(self._df, key, ({t: len(posting[0]) for t, posting in postings.items()}, n))
            per_source.append(self._df[key])
        if len(per_source) == 1:
            return per_source[0]
        df: dict[str, int] = defaultdict(int)
        for counts, _n in per_source:
            for term, c in counts.items():
                df[term] += c
        merged = (dict(df), sum(n for _c, n in per_source))
        with self._lock:
            if len(self._merged) > 256:
                self._merged.clear()
            self._merged[key_all] = merged
        return merged

    def search(self, session: Session, source: Source, terms: list[str], limit: int) -> list[tuple[uuid.UUID, float]]:
        ids, lengths, postings, n, avg = self.load(session, source)
        if not n:
            return []
        scores = np.zeros(n, dtype=np.float32)
        norm = self.K1 * (1 - self.B + self.B * lengths / avg)
        for t in self.query_tokens(terms):
            posting = postings.get(t)
            if posting is None:
                continue
            docs, tf = posting
            idf = np.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            scores[docs] += idf * tf * (self.K1 + 1) / (tf + norm[docs])
        top = np.argpartition(-scores, limit)[:limit] if n > limit else np.arange(n)
        top = top[np.argsort(-scores[top])]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]


class _EndpointBM25(_BM25):
    """One document per endpoint: every name a developer might type (path, operation id, parameters, body
    and response fields, enum values, descriptions)."""

    def _documents(self, session: Session, source: Source) -> Iterable[tuple[uuid.UUID, str]]:
        from woes.importers.evidence import search_text

        cols = (Endpoint.id, Endpoint.operation_key, Endpoint.operation_id, Endpoint.summary, Endpoint.description,
                Endpoint.tags, Endpoint.parameters, Endpoint.request_body, Endpoint.responses)
        for row in session.execute(select(*cols).where(Endpoint.source_id == source.id)):
            yield row[0], search_text({"operation_key": row[1], "operation_id": row[2], "summary": row[3],
                                       "description": row[4], "tags": row[5], "parameters": row[6],
                                       "request_body": row[7], "responses": row[8]})


class _ChunkBM25(_BM25):
    """One document per chunk (the lexical ranking of what can be cited). Words as a full-text engine sees
    them: split on anything not a letter or digit, lower-cased, Porter-stemmed."""

    def tokens(self, text_: str) -> list[str]:
        return [_porter(w) for w in _FT_WORD.findall(text_.lower()) if w not in STOP_WORDS]

    def query_tokens(self, terms: list[str]) -> set[str]:
        return {_porter(w) for t in terms for w in _FT_WORD.findall(t.lower()) if w not in STOP_WORDS}

    def _documents(self, session: Session, source: Source) -> Iterable[tuple[uuid.UUID, str]]:
        yield from session.execute(select(Chunk.id, Chunk.text).where(Chunk.source_id == source.id))


_FT_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=200_000)
def _porter(word: str) -> str:
    return _PORTER.stemWord(word)


_PORTER = snowballstemmer.stemmer("porter")
CHUNK_BM25 = _ChunkBM25()
ENDPOINT_BM25 = _EndpointBM25()


def selective_terms(session: Session, sources: list[Source], terms: list[str]) -> list[str]:
    """The question's most selective words for the chunk full-text query: a word most chunks contain costs
    the most to rank and separates the least (the per-endpoint BM25 still sees every word)."""
    if len(terms) <= LEXICAL_MAX_TERMS:
        return terms
    df, _n = ENDPOINT_BM25.document_frequency(session, sources)
    ranked = sorted(terms, key=lambda t: (df.get(stem(t), 0) == 0, df.get(stem(t), 0)))
    keep = set(ranked[:LEXICAL_MAX_TERMS])
    return [t for t in terms if t in keep]


def rank_chunks(session: Session, sources: list[Source], terms: list[str], limit: int) -> list[tuple[uuid.UUID, float]]:
    """Chunks of these sources ranked by BM25 (per-source statistics, in memory; the same on every database)."""
    if not terms:
        return []
    ranked: list[tuple[uuid.UUID, float]] = []
    for src in sources:
        ranked += CHUNK_BM25.search(session, src, terms, limit)
    ranked.sort(key=lambda x: -x[1])
    return ranked[:limit]


def rank_endpoints(session: Session, sources: list[Source], terms: list[str],
                   limit: int) -> list[tuple[uuid.UUID, uuid.UUID, float]]:
    """Endpoints of these sources ranked by BM25 over their records: (endpoint id, source id, score)."""
    ranked: list[tuple[uuid.UUID, uuid.UUID, float]] = []
    for src in sources:
        ranked += [(e, src.id, sc) for e, sc in ENDPOINT_BM25.search(session, src, terms, limit)]
    ranked.sort(key=lambda x: -x[2])
    return ranked[:limit]
