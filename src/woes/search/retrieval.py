"""Hybrid retrieval over endpoint records and document chunks, restricted to chosen sources.

query → analysis (literal paths, methods, identifiers, SDK-style method names, verbs) →
lexical ranking (SQLite FTS5 bm25 / PostgreSQL ts_rank) + dense ranking (MiniLM vectors, exact numpy
cosine over the sources' chunks, cached per scan) → reciprocal-rank fusion at the level of what is
cited (an endpoint, or a document chunk) → exact-match boosts (path, method + path, operation id)."""

from __future__ import annotations

import bisect
import functools
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import snowballstemmer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from woes.core.caching import remember
from woes.core.redaction import redact
from woes.search import vectors
from woes.sources.models import Chunk, Endpoint, Source

RRF_K = 60
ENDPOINT_LEXICAL_WEIGHT = 0.5  # the per-endpoint BM25 list counts half as much as the chunk lists
LEXICAL_CANDIDATES = 150
DENSE_CANDIDATES = 150
_PATH = re.compile(r"(?:(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+)?(/[A-Za-z0-9_{}\-.:~/]+)", re.I)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:]{1,2}[A-Za-z_][A-Za-z0-9_]*)*")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_STOP = set("""a an and are as at be been but by can could do does did for from get got has have how i if in into is it its
me my not of on or our should so than that the their them then there these they this to too us was we what when where
which while who why will with would you your yes no please help thanks hi hello want need trying try using use""".split())
VERB_METHODS = {
    "create": "POST", "add": "POST", "make": "POST", "send": "POST", "post": "POST", "new": "POST",
    "buy": "POST", "purchase": "POST", "pay": "POST", "book": "POST", "submit": "POST", "trigger": "POST",
    "register": "POST", "subscribe": "POST", "upload": "POST", "publish": "POST", "invite": "POST",
    "list": "GET", "get": "GET", "retrieve": "GET", "fetch": "GET", "read": "GET", "show": "GET", "search": "GET", "find": "GET",
    "update": "PATCH", "modify": "PATCH", "change": "PATCH", "edit": "PATCH", "set": "PUT", "replace": "PUT",
    "delete": "DELETE", "remove": "DELETE", "del": "DELETE", "destroy": "DELETE", "cancel": "DELETE",
}


# Words that point at one existing item rather than the collection.
ITEM_VERBS = {"update", "modify", "change", "edit", "cancel", "delete", "remove", "retrieve", "fetch", "end", "stop",
              "close", "hang", "void", "capture", "confirm", "refund", "merge", "archive", "restore", "replace"}
ITEM_WORDS = {"existing", "already", "specific", "earlier", "previously", "particular"}
# Verbs whose HTTP method varies by API: cancelling is a DELETE in some, a POST (status or action) in others.
ALSO_METHODS = {"cancel": "POST", "remove": "POST", "update": "POST", "modify": "POST", "change": "POST"}
ITEM_WEIGHT = 0.003
ACTION_WEIGHT = 0.002

COLLECTION_VERBS = {"create", "add", "new", "list", "listing", "place", "send", "upload", "make", "all"}


def _verb(word: str) -> str:
    """Base form of a verb-like word: creates/created/creating → create, lists/listing → list."""
    for base in (word, word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith(("es", "ed")) else None,
                 word[:-1] if word.endswith("d") else None, word[:-3] if word.endswith("ing") else None,
                 word[:-3] + "e" if word.endswith("ing") else None):
        if base and (base in VERB_METHODS or base in COLLECTION_VERBS):
            return base
    return word


@dataclass
class QueryAnalysis:
    text: str
    terms: list[str]
    paths: list[tuple[str | None, str]] = field(default_factory=list)  # (method, path)
    identifiers: list[str] = field(default_factory=list)
    methods: set[str] = field(default_factory=set)
    collection_intent: bool = False
    item_intent: bool = False
    names_an_item: bool = False  # carries a concrete object id (`we_1NZDS6zmtogHmHGLVwIiSyC2`, `CA0123…`)
    focus_terms: list[str] = field(default_factory=list)  # the words of the sentence(s) that ask
    focus_methods: set[str] = field(default_factory=set)
    objects: set[str] = field(default_factory=set)  # stems of what the asking verbs act on ("create an issue" → issue)
    verbs: set[str] = field(default_factory=set)  # the asking sentence's verbs, base form ("buy", "capture")


def _split_ident(token: str) -> list[str]:
    parts = re.split(r"[._:]+", token)
    out = []
    for p in parts:
        out += [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", p)]
    return out


def analyse(q: str) -> QueryAnalysis:
    a = QueryAnalysis(text=q, terms=[])
    for m in _PATH.finditer(q):
        path = m.group(2).rstrip(".,:;)'`\"")
        if path.startswith("//"):  # inside a URL: keep the path after the host
            path = "/" + path[2:].split("/", 1)[1] if "/" in path[2:] else ""
        if path.count("/") >= 1 and len(path) > 1:
            a.paths.append(((m.group(1) or "").upper() or None, path))
    for tok in _IDENT.findall(q):
        if _OBJECT_ID.match(tok):
            a.names_an_item = True  # an opaque id: one existing object, and no words to split out of it
            continue
        if any(sep in tok for sep in (".", "::")) or re.search(r"[a-z][A-Z]", tok) or "_" in tok:
            a.identifiers.append(tok)
    words, a.methods = _content_words(q)
    for w in _WORD.findall(q):
        lw = w.lower()
        verb = _verb(lw)
        a.collection_intent = a.collection_intent or verb in COLLECTION_VERBS
        a.item_intent = a.item_intent or verb in ITEM_VERBS or lw in ITEM_WORDS
    for ident in a.identifiers:
        words += [w for w in _split_ident(ident) if w not in _STOP and len(w) > 1]
        if ident.split(".")[-1].split("::")[-1].lower() in VERB_METHODS:
            a.methods.add(VERB_METHODS[ident.split(".")[-1].split("::")[-1].lower()])
    seen: set[str] = set()
    a.terms = [w for w in words if not (w in seen or seen.add(w))][:40]
    focus = focus_sentences(q)
    if focus != q:
        a.focus_terms, a.focus_methods = _content_words(focus)
        for ident in _IDENT.findall(focus):
            if ident in a.identifiers:
                a.focus_terms += [w for w in _split_ident(ident) if w not in _STOP and len(w) > 1]
    else:
        a.focus_terms, a.focus_methods = list(a.terms), set(a.methods)
    a.objects = verb_objects(focus)
    a.verbs = {_verb(w.lower()) for w in _WORD.findall(focus) if _verb(w.lower()) in _OBJECT_VERBS or w.lower() in ITEM_VERBS}
    for m in re.finditer(r"([A-Za-z]{3,})\s+[`'\"]?([A-Za-z0-9_]{14,})", q):
        if _OBJECT_ID.match(m.group(2)) and m.group(1).lower() not in _STOP:
            a.objects.add(_stem(m.group(1).lower()))  # "our endpoint we_1NZ…": the id's kind
    return a


def _content_words(text_: str) -> tuple[list[str], set[str]]:
    """The words that carry meaning (no stop words, no opaque ids) and the methods their verbs ask for."""
    words: list[str] = []
    methods: set[str] = set()
    for w in _WORD.findall(text_):
        if _OBJECT_ID.match(w):
            continue
        lw = w.lower()
        verb = _verb(lw)
        methods |= {table[verb] for table in (VERB_METHODS, ALSO_METHODS) if verb in table}
        if lw not in _STOP and len(lw) > 1:
            words.append(lw)
    return words, methods


_DETERMINERS = set("""a an the my our your their its his her this that these those some any all every each one two
several only new existing specific single multiple more another same given certain particular""".split())
_OBJECT_VERBS = set(VERB_METHODS) | ITEM_VERBS | COLLECTION_VERBS | {
    "iterate", "paginate", "page", "attach", "assign", "give", "open", "download", "query", "listing", "generate", "obtain",
    "produce", "build", "start", "run", "export", "import", "verify", "validate", "share", "schedule"}


_OBJECT_ID = re.compile(r"^(?:[a-z]{1,8}_[A-Za-z0-9]{12,}|[A-Z]{2}[0-9a-f]{32})$")
_DOTTED_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:[.:][A-Za-z0-9_]+)*")


def verb_objects(text_: str) -> set[str]:
    """What the verbs of a sentence act on: 'create an issue' → issue, 'listing customers' → customer,
    'capture the PaymentIntent' → paymentintent (the first two words after the verb and its determiners;
    an identifier such as `invoice.paid` names a value, not a resource)."""
    words = _DOTTED_TOKEN.findall(text_)
    out: set[str] = set()
    for i, w in enumerate(words):
        if _verb(w.lower()) not in _OBJECT_VERBS or (i and words[i - 1].lower() in ("a", "an", "the", "that", "which", "who")):
            continue  # "a new list" is a noun, not a verb; "the link that sends …" is not what is asked
        j = i + 1
        while j < len(words) and words[j].lower() in _DETERMINERS:
            j += 1
        for k in range(j, min(j + 2, len(words))):
            lw = words[k].lower()
            if (lw in _STOP or lw in _DETERMINERS or len(lw) < 3 or lw.isdigit() or _verb(lw) in _OBJECT_VERBS
                    or re.search(r"[._:]", lw)):
                break
            out.add(_stem(lw))
    return out


@functools.lru_cache(maxsize=100_000)
def resource_words(path: str | None) -> frozenset[str]:
    """The words of the resource an operation acts on: the last literal segment, or for an action on an item
    (`/payment_intents/{intent}/capture`) the collection before the item; its head noun and the whole name
    (`intent`, `paymentintent`)."""
    segs = [x for x in (path or "").split("#", 1)[0].split("?", 1)[0].strip("/").split("/") if x]
    static = [i for i, x in enumerate(segs) if "{" not in x and not x.startswith(":")]
    picks = static[-1:]
    last = re.sub(r"\.(json|xml)$", "", segs[-1]) if segs else ""
    if len(static) >= 2 and static[-1] == len(segs) - 1 and static[-1] - 1 not in static and not last.endswith("s"):
        picks.append(static[-2])  # an action (singular: capture, merge, detach), not a sub-collection
    out: set[str] = set()
    for i in picks:
        seg = re.sub(r"\.(json|xml)$", "", segs[i])
        parts = [p for p in _split_ident(seg) if p]
        if parts:  # the head noun and the whole name: `subscription_schedules` is a schedule, not a subscription
            out |= {_stem(parts[-1]), _stem("".join(parts))}
    return frozenset(out)


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z`'\"(])|\n+")
_ASKING = re.compile(r"^\W*(how|what|which|where|why|when|can|could|is|are|does|do|should|will|would|may|any|whats|what's)\b", re.I)


def focus_sentences(q: str) -> str:
    """The sentence(s) that ask, as opposed to those that set the scene: 'I create a session with line_items.
    After payment … `display_items` is undefined. How do I get the items that were just bought?' asks the
    last one. Sentences ending in '?' or opening with an interrogative; the whole text when none does."""
    sentences = [x.strip() for x in _SENTENCE_END.split(q) if x.strip()]
    asking = [x for x in sentences if x.endswith("?") or _ASKING.match(x)]
    return " ".join(asking) if asking and len(asking) < len(sentences) else q


@dataclass
class Hit:
    kind: str  # endpoint | chunk
    id: uuid.UUID
    source_id: uuid.UUID
    score: float = 0.0
    chunk_id: uuid.UUID | None = None  # the best chunk behind the hit (snippet)
    signals: dict[str, Any] = field(default_factory=dict)


class _VectorCache:
    """Per-source matrices of chunk vectors, rebuilt when the source's last scan changes."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, np.ndarray, list[tuple[uuid.UUID, uuid.UUID | None]]]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, source: Source) -> tuple[np.ndarray, list[tuple[uuid.UUID, uuid.UUID | None]]]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached[1], cached[2]
        rows = session.execute(select(Chunk.id, Chunk.endpoint_id, Chunk.embedding).where(
            Chunk.source_id == source.id, Chunk.embedding.is_not(None))).all()
        ids = [(r[0], r[1]) for r in rows]
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1) if rows else np.zeros((0, 384), np.float32)
        with self._lock:
            remember(self._data, source.id, (source.last_scan_id, matrix, ids))
        return matrix, ids


VECTORS = _VectorCache()


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

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+")


def bm25_tokens(text_: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text_):
        parts = _split_ident(tok) if re.search(r"[a-z][A-Z]", tok) else [tok.lower()]
        out += [_stem(p) for p in parts if p and p.lower() not in _STOP]
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
        return {_stem(x) for x in terms}

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

    def _get(self, session: Session, source: Source) -> Any:
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
                _ids, _lengths, postings, n, _avg = self._get(session, src)
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
        ids, lengths, postings, n, avg = self._get(session, source)
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
        return [_porter(w) for w in _FT_WORD.findall(text_.lower()) if w not in _STOP]

    def query_tokens(self, terms: list[str]) -> set[str]:
        return {_porter(w) for t in terms for w in _FT_WORD.findall(t.lower()) if w not in _STOP}

    def _documents(self, session: Session, source: Source) -> Iterable[tuple[uuid.UUID, str]]:
        yield from session.execute(select(Chunk.id, Chunk.text).where(Chunk.source_id == source.id))


_FT_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=200_000)
def _porter(word: str) -> str:
    return _PORTER.stemWord(word)


_PORTER = snowballstemmer.stemmer("porter")
CHUNK_BM25 = _ChunkBM25()
ENDPOINT_BM25 = _EndpointBM25()


LEXICAL_MAX_TERMS = 18


def _selective_terms(session: Session, sources: list[Source], terms: list[str]) -> list[str]:
    """The question's most selective words for the chunk full-text query: a word most chunks contain costs
    the most to rank and separates the least (the per-endpoint BM25 still sees every word)."""
    if len(terms) <= LEXICAL_MAX_TERMS:
        return terms
    df, _n = ENDPOINT_BM25.document_frequency(session, sources)
    ranked = sorted(terms, key=lambda t: (df.get(_stem(t), 0) == 0, df.get(_stem(t), 0)))
    keep = set(ranked[:LEXICAL_MAX_TERMS])
    return [t for t in terms if t in keep]


def _lexical(session: Session, sources: list[Source], terms: list[str], limit: int) -> list[tuple[uuid.UUID, float]]:
    """Chunks of these sources ranked by BM25 (per-source statistics, in memory; the same on every database)."""
    if not terms:
        return []
    ranked: list[tuple[uuid.UUID, float]] = []
    for src in sources:
        ranked += CHUNK_BM25.search(session, src, terms, limit)
    ranked.sort(key=lambda x: -x[1])
    return ranked[:limit]


def _dense(session: Session, sources: list[Source], query: str, limit: int) -> list[tuple[uuid.UUID, float]]:
    from woes.search.embedder import get_embedder

    qv = get_embedder().embed_one(query)
    if vectors.pgvector_enabled(session):
        return vectors.nearest(session, [s.id for s in sources], qv, limit)
    out: list[tuple[uuid.UUID, float]] = []
    for src in sources:
        matrix, ids = VECTORS.get(session, src)
        if not len(ids):
            continue
        scores = matrix @ qv
        top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit] if len(scores) > limit else np.arange(len(scores))
        out += [(ids[i][0], float(scores[i])) for i in top]
    out.sort(key=lambda x: -x[1])
    return out[:limit]


_VERSIONISH = re.compile(r"^(v\d+(\.\d+)*|\d{4}-\d{2}-\d{2}|json|xml|api)$")
NAME_WEIGHT = 0.012
NAME_RECALL_WEIGHT = 0.004
NAME_CANDIDATE_SCORE = 1.0 / (RRF_K + 30)
DOCUMENT_FACTOR = 0.85


def _stem(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if w.endswith(suffix) and len(w) > len(suffix) + 2 and not w.endswith("ss"):
            return w[: -len(suffix)] + repl
    return w


def name_tokens(method: str | None, path: str | None, operation_id: str | None) -> list[str]:
    """The words that name an operation: static path segments and operation-id words, stemmed."""
    words: list[str] = []
    for seg in re.split(r"[/#]", (path or "").split("?", 1)[0]):
        if not seg or seg.startswith("{") or seg.startswith(":"):
            continue
        for part in re.split(r"[_\-.]+", seg):
            words += _split_ident(part) if part else []
    if not words and operation_id:
        words = _split_ident(operation_id)
    return [_stem(w) for w in words if w and not _VERSIONISH.match(w)]


class _NameIndex:
    """Document frequency of name tokens among a source's endpoints (a token every path shares names nothing)."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, int], int, list[tuple[Any, ...]]]] = {}
        self._tokens: dict[uuid.UUID, dict[uuid.UUID, list[str]]] = {}
        self._inverted: dict[uuid.UUID, tuple[list[str], dict[str, list[uuid.UUID]]]] = {}
        self._by_op_id: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, list[tuple[Any, ...]]]]] = {}
        self._by_last: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, list[tuple[Any, ...]]]]] = {}

    def _load(self, session: Session, source: Source) -> tuple[uuid.UUID | None, dict[str, int], int, list[tuple[Any, ...]]]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached
        df: dict[str, int] = defaultdict(int)
        rows = [tuple(r) for r in session.execute(select(Endpoint.id, Endpoint.method, Endpoint.path, Endpoint.operation_id)
                                                  .where(Endpoint.source_id == source.id))]
        remember(self._tokens, source.id, {r[0]: name_tokens(r[1], r[2], r[3]) for r in rows})
        inverted: dict[str, list[uuid.UUID]] = defaultdict(list)
        for e_id, toks in self._tokens[source.id].items():
            for t in set(toks):
                inverted[t].append(e_id)
        remember(self._inverted, source.id, (sorted(inverted), dict(inverted)))
        for e_id, *_rest in rows:
            for t in set(self._tokens[source.id][e_id]):
                df[t] += 1
        return remember(self._data, source.id, (source.last_scan_id, dict(df), len(rows), rows))

    def get(self, session: Session, source: Source) -> tuple[dict[str, int], int]:
        cached = self._load(session, source)
        return cached[1], cached[2]

    def tokens(self, session: Session, source: Source) -> dict[uuid.UUID, list[str]]:
        """Name tokens of every operation of the source, cached per scan."""
        self._load(session, source)
        return self._tokens[source.id]

    def named_by(self, session: Session, source: Source, stems: set[str]) -> list[uuid.UUID]:
        """Operations every name token of which the question uses (up to endings / abbreviations)."""
        self._load(session, source)
        vocab, inverted = self._inverted[source.id]
        said: set[str] = set()
        for w in stems:
            if len(w) < 3:
                continue
            i = bisect.bisect_left(vocab, w)
            while i < len(vocab) and vocab[i].startswith(w):  # the question's word starts the token
                if _stem_match(vocab[i], w):
                    said.add(vocab[i])
                i += 1
            for k in range(3, len(w)):  # the token is a shorter form of the question's word
                if w[:k] in inverted and _stem_match(w[:k], w):
                    said.add(w[:k])
        hits: dict[uuid.UUID, int] = defaultdict(int)
        for t in said:
            for e_id in inverted[t]:
                hits[e_id] += 1
        tokens = self._tokens[source.id]
        return [e_id for e_id, c in hits.items() if c == len(set(tokens[e_id]))]

    def by_operation_id(self, session: Session, source: Source) -> dict[str, list[tuple[Any, ...]]]:
        """Operations by lower-cased operation id, cached per scan."""
        cached = self._by_op_id.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            index: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for row in self.operations(session, source):
                if row[3]:
                    index[str(row[3]).lower()].append(row)
            cached = remember(self._by_op_id, source.id, (source.last_scan_id, dict(index)))
        return cached[1]

    def operations(self, session: Session, source: Source) -> list[tuple[Any, ...]]:
        """(endpoint id, method, path, operation id) of every operation of the source, cached per scan."""
        return self._load(session, source)[3]

    def by_last_literal(self, session: Session, source: Source) -> dict[str, list[tuple[Any, ...]]]:
        """Operations by the last literal segment of their path (`/Accounts/{Sid}/Calls/{CallSid}.json` →
        `calls`; '' when none), cached per scan: a path in a question is compared only with templates whose
        last literal segment it contains."""
        cached = self._by_last.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            index: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for row in self.operations(session, source):
                index[_last_literal(row[2])].append(row)
            cached = remember(self._by_last, source.id, (source.last_scan_id, dict(index)))
        return cached[1]


def _last_literal(path: str | None) -> str:
    literal = [x for x in _template_segments(path or "") if "{" not in x and not x.startswith(":")]
    return literal[-1].split(".", 1)[0].lower() if literal else ""


NAMES = _NameIndex()


def name_coverage(tokens: list[str], query_stems: set[str], df: dict[str, int], n: int) -> float:
    """Share (IDF-weighted) of an operation's name that the question mentions, in [0, 1]."""
    if not tokens:
        return 0.0
    weights = {t: np.log((n + 1) / (df.get(t, 0) + 0.5)) for t in set(tokens)}
    total = sum(max(w, 0.0) for w in weights.values())
    if total <= 0:
        return 0.0
    return sum(max(w, 0.0) for t, w in weights.items() if t in query_stems) / total


@functools.lru_cache(maxsize=200_000)
def _norm_path_cached(p: str) -> str:
    return _norm_path(p)


def _norm_path(p: str) -> str:
    p = p.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower()
    return re.sub(r"\{[^}]*\}|:[a-z_]+", "{}", p)


_FIELD_GENERIC = {"id", "ids", "object", "type", "data", "value", "string", "number", "integer", "boolean", "array",
                  "field", "param", "parameter", "request", "response", "body", "item", "result", "true", "false",
                  "null", "new", "set", "get", "post", "put", "patch", "delete", "api", "the", "a", "an", "of", "to",
                  "at", "by", "for", "in", "on", "is"}


FieldEntry = tuple[str, str, frozenset[str], frozenset[str], bool]


def flat_name(name: str) -> str:
    """An identifier without case or separators: `status_callback_event`, `StatusCallbackEvent` and
    `status-callback-event` are one name (SDKs rename parameters to their language's convention)."""
    return name.lower().replace("_", "").replace("-", "")


class _FieldIndex:
    """Per source: each operation's input names (parameters and request-body fields, nested ones dotted) as
    word sets, plus their enum values, and how many operations share each, cached per scan. Lets a question
    that names a parameter ("cancel at the end of the period", `transfer_data.destination`, "canceled") find
    the operation that has it, even when the operation itself is named differently; a name every operation
    shares (`payment_method`) counts for little."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[uuid.UUID, list[FieldEntry]], dict[Any, int], int]] = {}

    def get(self, session: Session, source: Source) -> tuple[dict[uuid.UUID, list[FieldEntry]], dict[Any, int], int]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached[1], cached[2], cached[3]
        out: dict[uuid.UUID, list[FieldEntry]] = {}
        df: dict[Any, int] = defaultdict(int)
        for e_id, params, body in session.execute(select(Endpoint.id, Endpoint.parameters, Endpoint.request_body)
                                                  .where(Endpoint.source_id == source.id)):
            fields = []
            keys: set[Any] = set()
            for f in list(params or []) + list((body or {}).get("fields") or []):
                name = str(f.get("name") or "")
                if not name or f.get("location") == "path":  # a path parameter names the resource, not an option
                    continue
                leaf = re.split(r"[.\[\]]+", name.strip("[]"))[-1] if ("." in name or "[" in name) else name
                words = frozenset(_stem(w) for w in _split_ident(re.sub(r"[\[\]]", ".", name)) if w) - _FIELD_GENERIC
                enums = frozenset(str(v).lower() for v in (f.get("enum") or [])[:60]
                                  if len(str(v)) > 3 and str(v).lower() not in _ENUM_NOISE)
                ident_like = "_" in leaf or "-" in leaf or any(c.isupper() for c in leaf) or len(leaf) > 6
                fields.append((flat_name(name), flat_name(leaf), words, enums, ident_like))
                keys |= {flat_name(name), flat_name(leaf), words} | {("enum", v) for v in enums}
            out[e_id] = fields
            for k in keys:
                df[k] += 1
        remember(self._data, source.id, (source.last_scan_id, out, dict(df), len(out)))
        return out, dict(df), len(out)


FIELDS = _FieldIndex()


_ASSIGNED = re.compile(r"(?<![A-Za-z0-9_.\[\]])([A-Za-z][A-Za-z0-9_]*(?:[.\[][A-Za-z0-9_\]]+)*)(?=[<>]?=[^=\s])")  # From=+1555…, limit=100
_TITLE_STOP = _STOP | {"api", "endpoint", "operation", "request", "new", "one", "all", "given", "specified", "via"}


def title_tokens(summary: str | None) -> list[str]:
    """Content words of an operation's title ('Create an issue' → create, issue), stemmed."""
    return [_stem(w) for w in dict.fromkeys(w.lower() for w in _WORD.findall(summary or "")[:12])
            if w not in _TITLE_STOP and len(w) > 1 and not w.isdigit()]


class _TitleIndex:
    """Per source: each operation's title words and how many titles share each word, cached per scan. The
    title is how the API itself names an operation ('Upload file', 'Create a customer'), often in the very
    words a developer uses."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[uuid.UUID, list[str]], dict[str, int], int]] = {}

    def get(self, session: Session, source: Source) -> tuple[dict[uuid.UUID, list[str]], dict[str, int], int]:
        cached = self._data.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            titles = {e_id: title_tokens(summary) for e_id, summary in session.execute(
                select(Endpoint.id, Endpoint.summary).where(Endpoint.source_id == source.id))}
            df: dict[str, int] = defaultdict(int)
            for toks in titles.values():
                for t in toks:
                    df[t] += 1
            cached = remember(self._data, source.id, (source.last_scan_id, titles, dict(df), len(titles)))
        return cached[1], cached[2], cached[3]


TITLES = _TitleIndex()
TITLE_WEIGHT = 0.012
FOCUS_NAME_WEIGHT = 0.006
METHOD_WEIGHT = 0.006
NESTED_DUPLICATE_PENALTY = 0.003
OBJECT_WEIGHT = 0.006
FIELD_NAMED_WEIGHT = 0.01
FIELD_PHRASE_WEIGHT = 0.005
ENUM_WEIGHT = 0.005
SINGLE_WORD_FACTOR = 0.6
_ENUM_NOISE = {"get", "post", "put", "patch", "delete", "head", "true", "false", "none", "null", "json", "xml", "auto",
               "default", "enabled", "disabled", "other", "unknown", "all"}


class _QueryMatcher:
    """`asked(token)`: does the question use this word (up to an ending / abbreviation)? Memoized per query."""

    def __init__(self, stems: set[str]) -> None:
        self.stems = stems
        self.memo: dict[str, bool] = {}

    def __call__(self, token: str) -> bool:
        hit = self.memo.get(token)
        if hit is None:
            hit = self.memo[token] = token in self.stems or any(_stem_match(token, w) for w in self.stems)
        return hit


def _stem_match(a: str, b: str) -> bool:
    """Same word up to an ending or an abbreviation: org ~ organization, review ~ reviewer, cancel ~ canceled."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 3 and long_.startswith(short) and (len(short) >= 5 or len(long_) - len(short) <= 9)


def field_signals(fields: list[FieldEntry], df: dict[Any, int], n: int, query_stems: set[str], literals: set[str],
                  raw_words: set[str], asked: Any = None) -> tuple[float, dict[str, Any]]:
    """Boost for an operation whose inputs the question names (literally, by all their words, or by an enum
    value), weighted by how rare each is in the source."""
    asked = asked or _QueryMatcher(query_stems)
    def rarity(key: Any) -> float:
        return float(np.log((n + 1) / (df.get(key, 0) + 0.5)) / np.log(n + 2)) if n else 1.0

    named: dict[str, float] = {}
    phrases: dict[str, float] = {}
    enums: dict[str, float] = {}
    for name, leaf, words, enum_values, ident_like in fields:
        if name in literals or (leaf in literals and ident_like):
            named[name] = rarity(name if name in literals else leaf)
        elif len(words) >= 2 and all(asked(w) for w in words):
            phrases[name] = rarity(words) * min(2.0, 1 + 0.5 * (len(words) - 2))
        elif len(words) == 1 and len(next(iter(words))) >= 6 and next(iter(words)) in query_stems:
            phrases[name] = SINGLE_WORD_FACTOR * rarity(words)
        for v in enum_values:
            if v in raw_words or (v.isalpha() and any(v[:k] in raw_words for k in range(max(5, len(v) - 3), len(v)))):
                enums[v] = rarity(("enum", v))
    boost = FIELD_NAMED_WEIGHT * sum(sorted(named.values(), reverse=True)[:2])
    boost += FIELD_PHRASE_WEIGHT * max(phrases.values(), default=0.0)
    boost += ENUM_WEIGHT * sum(sorted(enums.values(), reverse=True)[:2])
    info = {k: v for k, v in (("fieldNamed", sorted(named, key=lambda x: -named[x])[:3]),
                               ("fieldPhrase", sorted(phrases, key=lambda x: -phrases[x])[:3]),
                               ("enumValue", sorted(enums, key=lambda x: -enums[x])[:3])) if v}
    return boost, info


@functools.lru_cache(maxsize=200_000)
def _template_segments(template: str) -> tuple[str, ...]:
    return tuple(x for x in template.split("#", 1)[0].split("?", 1)[0].strip("/").split("/") if x)


def _concrete_path_matches(template: str, concrete: str) -> bool:
    """`/repos/{owner}/{repo}/branches/{branch}/protection` matches `/repos/acme/widgets/branches/main/protection`
    (also when the concrete path carries the server's base path in front)."""
    t = _template_segments(template)
    c = concrete.split("?", 1)[0].strip("/").split("/")
    if not t or len(c) < len(t):
        return False
    c = c[len(c) - len(t):]
    for ts, cs in zip(t, c, strict=True):
        if (ts.startswith("{") and ts.endswith("}")) or ts.startswith(":"):
            continue  # a path parameter, even left empty (`/Accounts//Messages.json`)
        if not cs:
            return False
        if "{" in ts:  # `{Sid}.json`
            pre, _, rest = ts.partition("{")
            post = rest.split("}", 1)[1] if "}" in rest else ""
            if not (cs.lower().startswith(pre.lower()) and cs.lower().endswith(post.lower())):
                return False
        elif ts.lower() != cs.lower():
            return False
    return True


def warm(session: Session, sources: list[Source]) -> None:
    """Build every per-source cache now (a source's first question would otherwise pay for them)."""
    for src in sources:
        VECTORS.get(session, src)
        CHUNK_BM25._get(session, src)
        ENDPOINT_BM25._get(session, src)
        CHUNK_OWNERS.get(session, src)
        NAMES.tokens(session, src)
        NAMES.by_operation_id(session, src)
        NAMES.by_last_literal(session, src)
        FIELDS.get(session, src)
        TITLES.get(session, src)
    if sources:
        ENDPOINT_BM25.document_frequency(session, sources)


def search(session: Session, workspace_id: uuid.UUID, q: str, source_ids: list[uuid.UUID] | None = None,
           limit: int = 10) -> tuple[list[Hit], dict[str, Any]]:
    t0 = time.perf_counter()
    q = redact(q)  # a secret in a question is never searched for (the evidence holds none) nor echoed back
    stmt = select(Source).where(Source.workspace_id == workspace_id)
    if source_ids is not None:
        stmt = stmt.where(Source.id.in_(source_ids))
    sources = list(session.scalars(stmt))
    if not sources:
        return [], {"tookMs": 0.0}
    a = analyse(q)
    lexical = _lexical(session, sources, _selective_terms(session, sources, a.terms), LEXICAL_CANDIDATES)
    t_lex = time.perf_counter()
    dense = _dense(session, sources, q, DENSE_CANDIDATES)
    t_dense = time.perf_counter()
    chunk_ids = {cid for cid, _ in lexical} | {cid for cid, _ in dense}
    owners: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID]] = {}
    for src in sources:
        by_chunk = CHUNK_OWNERS.get(session, src)
        owners.update({cid: (*by_chunk[cid], src.id) for cid in chunk_ids if cid in by_chunk})

    fused: dict[tuple[str, uuid.UUID], Hit] = {}

    def add(ranking: list[tuple[uuid.UUID, float]], name: str) -> None:
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

    add(lexical, "lexical")
    add(dense, "dense")
    endpoint_lex: list[tuple[uuid.UUID, uuid.UUID, float]] = []
    for src in sources:
        endpoint_lex += [(e, src.id, sc) for e, sc in ENDPOINT_BM25.search(session, src, a.terms, LEXICAL_CANDIDATES)]
    endpoint_lex.sort(key=lambda x: -x[2])
    for rank, (e_id, s_id, _sc) in enumerate(endpoint_lex[:LEXICAL_CANDIDATES], start=1):
        hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=s_id))
        hit.score += ENDPOINT_LEXICAL_WEIGHT / (RRF_K + rank)
        hit.signals["endpointLexicalRank"] = rank
    # Operations the question names outright (every word of the operation's name is in the question) are
    # candidates even when long prose buries them in both rankings.
    said = _QueryMatcher({_stem(w) for w in a.terms})
    for src in sources:
        for e_id in NAMES.named_by(session, src, said.stems):
            hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=src.id))
            hit.score = max(hit.score, NAME_CANDIDATE_SCORE)
            hit.signals["nameCandidate"] = True
    # Exact matches the bag of words cannot see: literal paths, method + path, operation ids.
    wanted_paths = [(m, _norm_path(p)) for m, p in a.paths]
    idents = {i.lower() for i in a.identifiers} | {w for w in a.terms if len(w) > 3}
    if wanted_paths or a.identifiers:
        # operation ids are looked up; paths are compared with the templates whose last literal segment
        # the question's path contains
        operations = [(e_id, src.id, method, path, op_id) for src in sources for ident in idents
                      for e_id, method, path, op_id in NAMES.by_operation_id(session, src).get(ident, ())]
        if wanted_paths:
            segments = {x.lower() for _m, raw in a.paths for x in re.split(r"[/.?]", raw) if x} | {""}
            for src in sources:
                by_last = NAMES.by_last_literal(session, src)
                operations += [(e_id, src.id, method, path, op_id) for seg in segments
                               for e_id, method, path, op_id in by_last.get(seg, ())]
            operations = list({row[0]: row for row in operations}.values())
        for e_id, s_id, method, path, op_id in operations:
            boost = 0.0
            if path and wanted_paths:
                np_ = _norm_path_cached(path)
                for (m, wp), (_m, raw) in zip(wanted_paths, a.paths, strict=True):
                    if np_ == wp or (len(wp) > 4 and np_.endswith(wp)):
                        boost = max(boost, 0.05 if (m is None or m == method) else 0.02)
                    elif len(raw) > 4 and _concrete_path_matches(path, raw):
                        # a concrete URL: the template with more literal segments is the better match
                        segs = [x for x in path.split("#", 1)[0].strip("/").split("/") if x]
                        literal = sum(1 for x in segs if "{" not in x and not x.startswith(":")) / max(1, len(segs))
                        boost = max(boost, (0.02 + 0.03 * literal) if (m is None or m == method) else 0.015)
            if op_id and op_id.lower() in idents:
                boost = max(boost, 0.04)
            if boost:
                hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=s_id))
                hit.score += boost
                hit.signals["exactMatch"] = boost
    # How much of each candidate operation's name the question actually mentions (IDF-weighted):
    # separates `GET /v1/subscriptions` from `GET /v1/customers/{customer}/subscriptions` when the
    # question is about subscriptions, and siblings such as `/pulls/{n}` vs `/pulls/{n}/merge`.
    query_stems = {_stem(w) for w in a.terms}
    ranked = sorted((h for h in fused.values() if h.kind == "endpoint"), key=lambda h: -h.score)
    candidates = ranked[:40] + [h for h in ranked[40:] if h.signals.get("nameCandidate")][:20]
    by_source = {src.id: src for src in sources}
    rows = {r[0]: r[1:] for r in session.execute(select(Endpoint.id, Endpoint.method, Endpoint.path, Endpoint.operation_id,
                                                        func.substr(Endpoint.description, 1, 240))
                                                 .where(Endpoint.id.in_([h.id for h in candidates])))} if candidates else {}
    literals = {flat_name(t) for t in a.identifiers + re.findall(r"`([^`\s]{2,80})`", q) + _ASSIGNED.findall(q)}
    raw_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-]+", q)} | {i.lower() for i in a.identifiers}
    focus_said = _QueryMatcher({_stem(w) for w in a.focus_terms}) if a.focus_terms != a.terms else None
    verb_words = {w for w in raw_words if _verb(w) in VERB_METHODS}
    wanted_methods = a.focus_methods or a.methods
    for h in candidates:
        method, path, op_id, _desc = rows.get(h.id, (None, None, None, None))
        src = by_source[h.source_id]
        df, n = NAMES.get(session, src)
        tokens = NAMES.tokens(session, src).get(h.id) or name_tokens(method, path, op_id)
        covered = {t for t in tokens if said(t)}
        cov = name_coverage(tokens, covered, df, n)
        # recall: the question's words that name resources in this source, covered by this operation's name
        asked = {w for w in query_stems if df.get(w) and df[w] < n * 0.5}
        recall = (len({w for w in asked if any(_stem_match(w, t) for t in tokens)}) / len(asked)) if asked else 1.0
        h.score += NAME_WEIGHT * cov + NAME_RECALL_WEIGHT * recall
        h.signals["nameCoverage"] = round(cov, 3)
        h.signals["nameRecall"] = round(recall, 3)
        if focus_said is not None:
            fcov = name_coverage(tokens, {t for t in tokens if focus_said(t)}, df, n)
            h.score += FOCUS_NAME_WEIGHT * fcov
            h.signals["focusNameCoverage"] = round(fcov, 3)
        titles, title_df, n_titles = TITLES.get(session, src)
        title = titles.get(h.id) or []
        tcov = name_coverage(title, {t for t in title if said(t)}, title_df, n_titles)
        if tcov:
            h.score += TITLE_WEIGHT * tcov
            h.signals["titleCoverage"] = round(tcov, 3)
        fields_by_op, field_df, n_ops = FIELDS.get(session, src)
        # the question's own verbs ("create", "cancel") name an enum value (`created`, `canceled`) only of an
        # operation that does what the verb asks, not of a list filtered by that state
        words_here = raw_words if not wanted_methods or method in wanted_methods else raw_words - verb_words
        boost, info = field_signals(fields_by_op.get(h.id, []), field_df, n_ops, query_stems, literals, words_here, said)
        if boost:
            h.score += boost
            h.signals.update(info)
        if a.objects and any(_stem_match(o, r) and len(r) <= len(o) + 3 for o in a.objects for r in resource_words(path)):
            h.score += OBJECT_WEIGHT
            h.signals["objectNamed"] = True
        if wanted_methods and method in wanted_methods:
            h.score += METHOD_WEIGHT
            h.signals["methodMatch"] = True
        # "create …" and "list …" ask for the collection, not one item: prefer paths that do not end in a
        # path parameter (`POST /calls`, not `POST /calls/{sid}`).
        segments = [x for x in (path or "").split("#", 1)[0].strip("/").split("/") if x]
        last = segments[-1] if segments else ""
        item = last.startswith("{") or last.startswith(":") or re.search(r"\{[^}]+\}\.\w+$", last) is not None
        if a.collection_intent and path and not item:
            h.score += 0.003
            h.signals["collectionPath"] = True
        elif (a.names_an_item or (a.item_intent and not a.collection_intent)) and path and item:
            h.score += ITEM_WEIGHT
            h.signals["itemPath"] = True
        # An action on one item (`POST /payment_intents/{id}/capture`, `/labels/{id}/void`) that the question
        # names: the action word is the most specific part of the operation's name.
        if len(segments) >= 2 and not item and (segments[-2].startswith("{") or segments[-2].startswith(":")):
            action = _stem(re.split(r"[._\-]", last)[0].lower())
            if len(action) >= 4 and said(action):
                h.score += ACTION_WEIGHT
                h.signals["actionNamed"] = action
            if len(action) >= 3 and action == last.lower() and any(_stem_match(action, v) for v in a.verbs):
                h.score += OBJECT_WEIGHT  # "buy a label" → `POST /shipments/{id}/buy`: the verb is the action
                h.signals["verbIsAction"] = action
    _demote_nested_duplicates(candidates, rows)
    for h in fused.values():
        if h.kind == "chunk":
            h.score *= DOCUMENT_FACTOR
    hits = sorted(fused.values(), key=lambda h: -h.score)[:limit]
    timings = {"lexicalMs": round((t_lex - t0) * 1000, 2), "denseMs": round((t_dense - t_lex) * 1000, 2),
               "tookMs": round((time.perf_counter() - t0) * 1000, 2)}
    return hits, {**timings, "analysis": {"terms": a.terms, "paths": a.paths, "identifiers": a.identifiers,
                                          "methods": sorted(a.methods)}}


def _demote_nested_duplicates(candidates: list[Hit], rows: dict[uuid.UUID, Any]) -> None:
    """One operation published at two paths (`/v1/subscriptions/{id}` and the legacy
    `/v1/customers/{customer}/subscriptions/{id}`, same method and description): the shorter path is the
    canonical one, the nested copy steps back."""
    groups: dict[tuple[str, str], list[tuple[str, Hit]]] = defaultdict(list)
    for h in candidates:
        method, path, _op, desc = rows.get(h.id, (None, None, None, None))
        if method and path and desc and len(desc) >= 40:
            groups[(method, " ".join(desc.split()))].append((_norm_path_cached(path), h))
    for members in groups.values():
        if len(members) < 2:
            continue
        for path, h in members:
            if any(other != path and path.endswith(other.split("/", 2)[-1]) for other, _ in members):
                h.score -= NESTED_DUPLICATE_PENALTY
                h.signals["nestedDuplicate"] = True


def _snippet(text_: str, terms: list[str], width: int = 240) -> str:
    flat = " ".join(text_.split())
    low = flat.lower()
    pos = min((low.find(t) for t in terms if low.find(t) >= 0), default=0)
    start = max(0, pos - 60)
    out = flat[start:start + width]
    return ("…" if start else "") + out + ("…" if start + width < len(flat) else "")


def results_view(session: Session, hits: list[Hit], q: str) -> list[dict[str, Any]]:
    from woes.sources.models import Document

    terms = analyse(redact(q)).terms
    ep_ids = [h.id for h in hits if h.kind == "endpoint"]
    eps = {e.id: e for e in session.scalars(select(Endpoint).options(load_only(
        Endpoint.id, Endpoint.source_id, Endpoint.operation_key, Endpoint.method, Endpoint.path, Endpoint.summary,
        Endpoint.description)).where(Endpoint.id.in_(ep_ids)))} if ep_ids else {}
    chunk_ids = [h.chunk_id for h in hits if h.chunk_id]
    chunks = {c.id: c for c in session.scalars(select(Chunk).where(Chunk.id.in_(chunk_ids)))} if chunk_ids else {}
    doc_ids = [c.document_id for c in chunks.values() if c.document_id]
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(doc_ids)))} if doc_ids else {}
    out = []
    for h in hits:
        chunk = chunks.get(h.chunk_id) if h.chunk_id else None
        if h.kind == "endpoint":
            e = eps.get(h.id)
            if e is None:
                continue
            out.append({"kind": "endpoint", "id": str(e.id), "sourceId": str(e.source_id), "operationKey": e.operation_key,
                        "method": e.method, "path": e.path, "title": e.summary or e.operation_key,
                        "snippet": _snippet(chunk.text if chunk else (e.description or e.summary or ""), terms),
                        "score": round(h.score, 6), "signals": h.signals})
        elif chunk is not None:
            d = docs.get(chunk.document_id) if chunk.document_id else None
            out.append({"kind": "chunk", "id": str(chunk.id), "sourceId": str(chunk.source_id), "operationKey": None,
                        "method": None, "path": d.path if d else None, "title": chunk.heading or (d.title if d else None),
                        "documentId": str(chunk.document_id) if chunk.document_id else None,
                        "snippet": _snippet(chunk.text, terms), "score": round(h.score, 6), "signals": h.signals})
    return out
