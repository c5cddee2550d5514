"""Shared fixtures. Every database-touching test runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from WOES_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/); each
pytest worker uses its own database `woes_test_<worker>`, migrated once and truncated before each test.
"""

from __future__ import annotations

import atexit
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from woes.app import create_app
from woes.config import Settings
from woes.db import Database
from woes.events.service import SYSTEM
from woes.keys.schemas import ApiKeyCreate
from woes.keys.service import do_create_key
from woes.members.service import do_create_owner
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.workspaces.service import do_create_workspace

sys.path.insert(0, str(Path(__file__).parent))

PG_BASE = os.environ.get("WOES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")
_pg_ready: set[str] = set()


def _drop_database(name: str) -> None:
    try:
        with psycopg.connect(PG_BASE + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


def _pg_url(worker: str) -> str:
    # One database per pytest process (and xdist worker), so that concurrent runs never collide.
    name = f"woes_test_{worker}_{os.getpid()}"
    if name not in _pg_ready:
        atexit.register(_drop_database, name)
        with psycopg.connect(PG_BASE + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        db = Database("postgresql+psycopg://" + PG_BASE.split("://", 1)[1] + name)
        upgrade(db)
        db.dispose()
        _pg_ready.add(name)
    return PG_BASE + name


@pytest.fixture(params=["sqlite", "postgres"])
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(db_backend, tmp_path, worker_id) -> str | None:
    if db_backend == "sqlite":
        return None  # data_dir/woes.db
    url = _pg_url(worker_id)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")]
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_per_minute=100000,
        embedded_workers=0,
        job_lease_seconds=2.0,
        log_json=True,
    )


@pytest.fixture
def runtime(settings):
    rt = Runtime.build(settings)
    if rt.db.is_sqlite:
        upgrade(rt.db)
    yield rt
    rt.stop()
    rt.db.dispose()


@pytest.fixture
def app(settings, runtime):
    return create_app(settings, runtime, background=False, migrate=False)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@dataclass
class WorkspaceHandle:
    id: uuid.UUID
    key: str
    owner_email: str
    owner_password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_workspace(runtime):
    counter = [0]

    def make(name: str = "Acme", scopes: list[str] | None = None) -> WorkspaceHandle:
        counter[0] += 1
        email = f"owner{counter[0]}-{uuid.uuid4().hex[:6]}@example.com"
        with runtime.db.transaction() as session:
            ws = do_create_workspace(session, name=name, actor=SYSTEM)
            do_create_owner(session, ws.id, email, "correct horse battery", "Owner", SYSTEM)
            _key, secret = do_create_key(session, ws.id, ApiKeyCreate(name="root", scopes=scopes or ["*"]), SYSTEM)
        return WorkspaceHandle(ws.id, secret, email, "correct horse battery")

    return make


@pytest.fixture
def ws(make_workspace) -> WorkspaceHandle:
    return make_workspace()


def make_key(client: TestClient, ws: WorkspaceHandle, scopes: list[str], **extra) -> dict:
    r = client.post("/api/v1/keys", json={"name": "test", "scopes": scopes, **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def all_database_text(runtime) -> str:
    """Every value in every table, as text (to prove a secret is stored nowhere)."""
    from woes.db import Base

    out = []
    with runtime.db.reading() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                out.append(repr(tuple(row)))
        if not runtime.db.is_sqlite:
            out += [repr(r) for r in session.execute(text("SELECT * FROM procrastinate_jobs"))]
    return "\n".join(out)
