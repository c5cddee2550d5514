"""List and full-text search latency with a large inbox, on SQLite and PostgreSQL.

    python bench/conversations.py [--conversations 100000] [--messages 5] [--database-url postgresql://...]

Seeds one workspace with N conversations of M messages each (bulk inserts into the real schema, FTS rows
included), then measures through the full HTTP stack (in-process client, authenticated):
  list first page, page 50 with a status filter (walking the cursors), and full-text `q` searches.
Prints p50/p95 in ms. Goal: p95 < 50 ms for list pages.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from woes.app import create_app
from woes.config import Settings
from woes.conversations.models import Conversation, Message
from woes.customers.models import Customer
from woes.events.service import SYSTEM
from woes.keys.schemas import ApiKeyCreate
from woes.keys.service import do_create_key
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.workspaces.service import do_create_workspace

WORDS = ("charge refund webhook signature invoice customer subscription payout dispute token idempotency "
         "pagination cursor limit header request response timeout retry error status event payload api key "
         "secret endpoint version sandbox live mode balance transfer account session checkout price product").split()
RARE = ["xylophone", "quasar", "zeppelin", "marmalade", "obsidian"]


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def seed(runtime: Runtime, n_conv: int, n_msg: int) -> tuple[uuid.UUID, str]:
    rng = random.Random(7)
    with runtime.db.transaction() as s:
        ws = do_create_workspace(s, name="Bench", actor=SYSTEM)
        _k, secret = do_create_key(s, ws.id, ApiKeyCreate(name="bench", scopes=["*"]), SYSTEM)
    ws_id = ws.id
    customers = [uuid.uuid4() for _ in range(1000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sqlite = runtime.db.is_sqlite
    t0 = time.perf_counter()
    with runtime.db.transaction() as s:
        s.execute(insert(Customer), [{"id": c, "workspace_id": ws_id, "name": f"Customer {i}", "email": f"c{i}@example.com",
                                      "traits": {}, "sensitive_traits": [], "custom_fields": {}, "created_at": start,
                                      "updated_at": start} for i, c in enumerate(customers)])
    batch = 2000
    key = (lambda u: u.hex) if sqlite else (lambda u: u)  # how each database stores the index's ids
    for lo in range(0, n_conv, batch):
        convs, msgs, fts = [], [], []
        for i in range(lo, min(lo + batch, n_conv)):
            cid = uuid.uuid4()
            created = start + timedelta(seconds=i * 30)
            subject = sentence(rng, 6)
            convs.append({"id": cid, "workspace_id": ws_id, "customer_id": rng.choice(customers), "channel": "api",
                          "status": rng.choice(["open", "open", "waiting", "solved"]), "priority": "medium",
                          "subject": subject, "preview": None, "identity_source": "api", "handling": "none",
                          "custom_fields": {}, "custom_field_sources": {}, "created_at": created, "updated_at": created,
                          "last_message_at": created})
            fts.append({"b": subject, "c": key(cid), "w": key(ws_id), "s": key(cid)})
            for j in range(n_msg):
                mid = uuid.uuid4()
                body = sentence(rng)
                if i % 997 == 0 and j == 2:
                    body += " " + RARE[i % len(RARE)]
                msgs.append({"id": mid, "workspace_id": ws_id, "conversation_id": cid, "role": "user" if j % 2 == 0 else "assistant",
                             "author_type": "customer" if j % 2 == 0 else "operator", "body": body, "contains_secrets": False,
                             "channel": "api", "delivery_status": "sent", "created_at": created + timedelta(seconds=j)})
                fts.append({"b": body, "c": key(cid), "w": key(ws_id), "s": key(mid)})
        with runtime.db.transaction() as s:
            s.execute(insert(Conversation), convs)
            s.execute(insert(Message), msgs)
            s.execute(text("INSERT INTO conversation_fts (body, conversation_id, workspace_id, source_id) VALUES (:b, :c, :w, :s)"), fts)
        print(f"\r  seeded {min(lo + batch, n_conv):>7}/{n_conv} conversations", end="", file=sys.stderr)
    print(file=sys.stderr)
    with runtime.db.transaction() as s:
        s.execute(text("ANALYZE"))
    print(f"seed: {n_conv} conversations x {n_msg} messages in {time.perf_counter() - t0:.1f} s")
    return ws_id, secret


def timed(client: TestClient, url: str, headers: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="woes-bench-conv-")
    settings = Settings(data_dir=data, database_url=args.database_url, rate_limit_per_minute=10**9, embedded_workers=0,
                        log_level="WARNING")
    runtime = Runtime.build(settings)
    upgrade(runtime.db)
    ws_id, key = seed(runtime, args.conversations, args.messages)
    h = {"Authorization": f"Bearer {key}"}
    app = create_app(settings, runtime, background=False, migrate=False)
    with TestClient(app) as c:
        results = {}
        results["list first page (limit 20)"] = timed(c, "/api/v1/conversations?limit=20", h, args.repeat)
        cursor = None
        for _ in range(49):
            page = c.get("/api/v1/conversations?limit=20&status=open" + (f"&cursor={cursor}" if cursor else ""), headers=h).json()
            cursor = page["nextCursor"]
        results["page 50, status=open"] = timed(c, f"/api/v1/conversations?limit=20&status=open&cursor={cursor}", h, args.repeat)
        results["q rare word (few hits)"] = timed(c, "/api/v1/conversations?limit=20&q=xylophone", h, args.repeat)
        results["q two common words"] = timed(c, "/api/v1/conversations?limit=20&q=refund%20webhook", h, args.repeat)
        results["q common + rare"] = timed(c, "/api/v1/conversations?limit=20&q=webhook%20quasar", h, args.repeat)
        hits = len(c.get("/api/v1/conversations?limit=100&q=xylophone", headers=h).json()["conversations"])
    db = "postgresql" if args.database_url else "sqlite"
    print(f"database: {db}; {args.conversations} conversations x {args.messages} messages; {args.repeat} requests each")
    print(f"{'query':34} {'p50 ms':>8} {'p95 ms':>8}")
    for name, xs in results.items():
        print(f"{name:34} {statistics.median(xs):8.1f} {pct(xs, 95):8.1f}")
    print(f"(rare-word search found {hits} conversations)")
    runtime.db.dispose()
    if not args.database_url:
        import shutil

        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("WOES_LOG_LEVEL", "WARNING")
    main()
