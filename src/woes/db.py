"""Database engine, sessions and column types shared by every domain.

One code path for SQLite (embedded default) and PostgreSQL (scale-out). Handlers and services get a
`Session`; write transactions on SQLite start with BEGIN IMMEDIATE so that concurrent writers queue on
the busy timeout instead of failing on a lock upgrade.

Write turns: the server's request handlers take a turn (`Database.write_turns.turn()`) on the event loop
*before* they take a thread from the pool for a write transaction. On SQLite one turn at a time (SQLite has
one writer); on PostgreSQL a few more than the connection pool can serve at once. Waiting for a turn holds
no thread, so the transaction that holds SQLite's write lock always finds a thread to commit on; before,
hundreds of writers each held a pool thread while waiting on the busy timeout and the holder's commit
could not get one (`database is locked` after 30 s). A request that cannot get a turn within the wait
budget, or arrives when the queue is full, is refused with 503 and Retry-After.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, MetaData, TypeDecorator, Uuid, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


# -- the columns most tables share --------------------------------------------------------------------
# Model mixins. Their `sort_order`s keep each table's columns in the order its migration created them: id (-3) and
# workspace (-2) first, the model's own columns (0) in between, created (2) and updated (3) last.

class RowId:
    """`id`: a random UUID, the primary key (first column)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id, sort_order=-3)


class InWorkspace(RowId):
    """`id` and `workspace_id`, the workspace the row belongs to (deleted with it). The workspace column has an
    index of its own unless the model sets `workspace_index = False` (tables whose composite indexes lead with
    workspace_id)."""

    workspace_index: ClassVar[bool] = True

    @declared_attr
    def workspace_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=cls.workspace_index or None,
                             sort_order=-2)


class CreatedAt:
    """`created_at` (last column), set on insert."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, sort_order=2)


class Timestamps(CreatedAt):
    """`created_at` and `updated_at` (last columns), both set on insert. `updated_at` is stamped again by every
    UPDATE of the row, unless the model sets `updated_by_service = True`: then it changes only where the service
    sets it."""

    updated_by_service: ClassVar[bool] = False

    @declared_attr
    def updated_at(cls) -> Mapped[datetime]:
        return mapped_column(UTCDateTime, default=utcnow, onupdate=None if cls.updated_by_service else utcnow,
                             sort_order=3)


class WritesOverloaded(Exception):
    """No write turn could be had in time: the caller answers 503 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the database is busy with other writes")
        self.retry_after = retry_after


class WriteTurns:
    """Admission of request handlers to write transactions, on the event loop (see the module docstring)."""

    def __init__(self, slots: int, *, wait_seconds: float = 20.0, max_waiting: int = 5000) -> None:
        self.slots, self.wait_seconds, self.max_waiting = slots, wait_seconds, max_waiting
        self.waiting = 0
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._per_loop.get(loop)
        if sem is None:
            sem = self._per_loop[loop] = asyncio.Semaphore(self.slots)
        return sem

    @asynccontextmanager
    async def turn(self, *, patient: bool = False) -> AsyncIterator[None]:
        """Hold a write turn. `patient`: wait as long as it takes (to record what an answered request did)."""
        sem = self._semaphore()
        if self.waiting >= self.max_waiting and not patient:
            raise WritesOverloaded(retry_after=max(1, round(self.wait_seconds / 4)))
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), timeout=None if patient else self.wait_seconds)
        except TimeoutError:
            raise WritesOverloaded(retry_after=max(1, round(self.wait_seconds / 4))) from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            sem.release()


class Database:
    """Engine + session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 40, write_wait_seconds: float = 20.0,
                 max_waiting_writes: int = 5000) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # SQLite has one writer; PostgreSQL gets a share of the pool (reads, workers and the relay need the rest).
        self.write_turns = WriteTurns(1 if self.is_sqlite else max(4, min(pool_size, 20) // 2),
                                      wait_seconds=write_wait_seconds, max_waiting=max_waiting_writes)
        self.queue: Any = None  # the JobQueue, attached by Runtime.build
        self.files_dir: str = "files"  # where stored files live, set by Runtime.build
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size,  # every worker thread keeps its connection: opening one costs PRAGMAs
                max_overflow=10,
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=min(pool_size, 20), max_overflow=20, pool_pre_ping=True)
        # Reads on PostgreSQL run in autocommit: one round trip per query instead of BEGIN/SELECT/ROLLBACK.
        read_bind = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(bind=read_bind, expire_on_commit=False)
        self._write = sessionmaker(
            bind=self.engine.execution_options(woes_write=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, write: bool = False) -> Session:
        session = (self._write if write else self._read)()
        session.info["woes_db"] = self  # services reach the job queue through it (woes.jobs.enqueue)
        return session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self.session()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay usable (detached)

    def dispose(self) -> None:
        self.engine.dispose()


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; SQLAlchemy's begin event issues BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL's folds every letter. Same results on both.
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("woes_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
