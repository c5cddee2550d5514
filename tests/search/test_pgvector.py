"""pgvector on PostgreSQL: with the extension (a throwaway PostgreSQL from the `pgserver` wheel, which ships
pgvector), migration 0009 adds `chunks.embedding_vec`, scans fill it, and dense search runs in SQL with the
same ranking as the numpy path; without the extension nothing changes."""

from __future__ import annotations

import tempfile
import uuid

import numpy as np
import pytest
import yaml
from sqlalchemy import select, text

from woes.config import Settings
from woes.events.service import SYSTEM
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.scans.pipeline import run_scan
from woes.search import dense, search, vectors
from woes.search.embedder import get_embedder
from woes.sources.models import Chunk
from woes.sources.service import do_create_source
from woes.workspaces.service import do_create_workspace

SPEC = {"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"}, "paths": {
    f"/{noun}s": {"get": {"operationId": f"list{noun.title()}s", "summary": f"List {noun}s",
                          "description": f"Returns every {noun} you own, newest first.",
                          "responses": {"200": {"description": "OK"}}}}
    for noun in ("pet", "owner", "vet", "visit", "invoice", "toy")}}


@pytest.fixture(scope="module")
def pg_with_vector():
    import pgserver

    folder = tempfile.mkdtemp(prefix="woes-pgvector-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
    yield uri
    server.cleanup()


@pytest.fixture
def rt(pg_with_vector):
    runtime = Runtime.build(Settings(database_url=pg_with_vector, embedded_workers=0, log_level="WARNING",
                                     data_dir=tempfile.mkdtemp(prefix="woes-pgv-data-")))
    upgrade(runtime.db)
    yield runtime
    runtime.db.dispose()


def _scan(rt, name: str):
    with rt.db.transaction() as s:
        ws = do_create_workspace(s, name=f"pgv {name} {uuid.uuid4().hex[:6]}", actor=SYSTEM)
        src, scan = do_create_source(s, ws.id, name=name, type_="openapi", actor=SYSTEM,
                                     files=[("pets.yaml", yaml.safe_dump(SPEC).encode())])
    run_scan(rt.db, ws.id, src.id, scan.id)
    return ws.id, src.id


def test_migration_enables_pgvector_and_scans_fill_the_column(rt):
    _ws, src = _scan(rt, "fill")
    with rt.db.reading() as s:
        assert vectors.pgvector_enabled(s)
        assert s.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
        total, filled = s.execute(text("SELECT count(embedding), count(embedding_vec) FROM chunks WHERE source_id = :s"),
                                  {"s": src}).one()
        assert total > 0 and filled == total


def test_sql_dense_ranking_equals_the_numpy_ranking(rt):
    ws, src = _scan(rt, "rank")
    question = "how do I see all the veterinarians"
    with rt.db.reading() as s:
        from woes.sources.models import Source

        source = s.get(Source, src)
        in_sql = dense.rank_chunks(s, [source], question, 5)
        rows = s.execute(select(Chunk.id, Chunk.embedding).where(Chunk.source_id == src, Chunk.embedding.is_not(None))).all()
    matrix = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    sims = matrix @ get_embedder().embed_one(question)
    order = np.argsort(-sims)[:5]
    assert [cid for cid, _ in in_sql] == [rows[i][0] for i in order]
    assert np.allclose([sc for _, sc in in_sql], sims[order], atol=1e-4)
    with rt.db.reading() as s:
        hits, _ = search(s, ws, question, [src], limit=3)
        assert hits and hits[0].signals.get("denseRank") == 1


def test_a_rescan_keeps_the_column_in_step(rt):
    ws, src = _scan(rt, "rescan")
    changed = dict(SPEC, paths={**SPEC["paths"], "/cats": {"get": {"operationId": "listCats", "summary": "List cats",
                                                                     "responses": {"200": {"description": "OK"}}}}})
    from woes.sources.service import do_replace_files

    with rt.db.transaction() as s:
        _src, scan = do_replace_files(s, ws, src, [("pets.yaml", yaml.safe_dump(changed).encode())], SYSTEM)
    run_scan(rt.db, ws, src, scan.id)
    with rt.db.reading() as s:
        missing = s.execute(text("SELECT count(*) FROM chunks WHERE source_id = :s AND embedding IS NOT NULL "
                                 "AND embedding_vec IS NULL"), {"s": src}).scalar()
        assert missing == 0


def test_without_the_extension_postgres_stays_on_numpy(runtime, db_backend):
    if db_backend != "postgres":
        pytest.skip("the PostgreSQL at 127.0.0.1 is the one without pgvector")
    with runtime.db.reading() as s:
        available = s.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
        assert vectors.pgvector_enabled(s) is bool(available)
