"""Concurrent writes of mixed kinds against one `woes serve` process, on SQLite and on PostgreSQL.

    python bench/write_concurrency.py [--concurrency 200 1000] [--database-url postgresql://...] [--sqlite-only]

For each database and each concurrency N: starts `woes init` + `woes serve` on 127.0.0.1, creates a few
conversations, then sends N writes at once (messages, notes, conversation updates, new customers and
conversations; one connection each) and prints the status counts and the latency p50/p99. Every request
must get a 2xx, or a 503 with Retry-After under true overload; a 500 or a dropped connection is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import psycopg
from harness import free_port, wait_ready  # bench/harness.py (scripts run from bench/ or the repo root)


def write_requests(n: int, conversation_ids: list[str]) -> list[tuple[str, str, str, dict]]:
    """N writes of mixed kinds: (kind, method, path, body), spread over the given conversations."""
    out = []
    for i in range(n):
        conv = conversation_ids[i % len(conversation_ids)]
        kind = ("message", "message", "message", "note", "update", "customer", "conversation")[i % 7]
        if kind == "message":
            out.append((kind, "POST", f"/api/v1/conversations/{conv}/messages", {"body": f"message {i}: 401 on POST /orders"}))
        elif kind == "note":
            out.append((kind, "POST", f"/api/v1/conversations/{conv}/notes", {"body": f"note {i}"}))
        elif kind == "update":
            out.append((kind, "PATCH", f"/api/v1/conversations/{conv}", {"priority": ("low", "high")[i % 2]}))
        elif kind == "customer":
            out.append((kind, "POST", "/api/v1/customers", {"name": f"Customer {i}", "externalId": f"bench-{uuid.uuid4().hex}"}))
        else:
            out.append((kind, "POST", "/api/v1/conversations",
                        {"subject": f"Bench {i}", "customer": {"id": f"cus_bench_{i % 50}"}}))
    return out


async def fire(base: str, key: str, requests: list[tuple[str, str, str, dict]], timeout: float = 120.0) -> list[dict]:
    """Sends every request at once (one connection each); the outcome of each: kind, status, ms, retryAfter."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=timeout) as client:
        start = asyncio.Event()

        async def one(kind: str, method: str, path: str, body: dict) -> dict:
            await start.wait()
            t = time.perf_counter()
            try:
                r = await client.request(method, path, json=body)
                status, retry = r.status_code, r.headers.get("retry-after")
            except httpx.HTTPError as exc:
                status, retry = f"error:{type(exc).__name__}", None
            return {"kind": kind, "status": status, "ms": (time.perf_counter() - t) * 1000, "retryAfter": retry}

        tasks = [asyncio.create_task(one(*r)) for r in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def acceptable(result: dict) -> bool:
    status = result["status"]
    return isinstance(status, int) and (200 <= status < 300 or (status == 503 and result["retryAfter"] is not None))


def summarize(results: list[dict]) -> dict:
    ms = sorted(r["ms"] for r in results)
    return {
        "statuses": dict(collections.Counter(str(r["status"]) for r in results)),
        "acceptable": sum(acceptable(r) for r in results),
        "p50": statistics.median(ms),
        "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
    }


def setup_conversations(base: str, key: str, count: int = 20) -> list[str]:
    ids = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        for i in range(count):
            r = c.post("/api/v1/conversations", json={"subject": f"Seed {i}", "customer": {"id": f"cus_seed_{i}"}})
            r.raise_for_status()
            ids.append(r.json()["id"])
    return ids


def _fresh_pg_database(base_url: str) -> str:
    name = f"woes_bench_writes_{os.getpid()}"
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def run(database_url: str | None, concurrencies: list[int]) -> list[tuple[str, int, dict, float]]:
    data = tempfile.mkdtemp(prefix="woes-bench-writes-")
    env = {**os.environ, "WOES_DATA_DIR": data, "WOES_RATE_LIMIT_PER_MINUTE": "100000000", "WOES_LOG_LEVEL": "ERROR"}
    label = "sqlite"
    if database_url:
        env["WOES_DATABASE_URL"] = _fresh_pg_database(database_url)
        label = "postgresql"
    created = json.loads(subprocess.run([sys.executable, "-m", "woes", "init", "--json"], env=env, check=True,
                                        capture_output=True, text=True).stdout)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "woes", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_ready(base)
        conversations = setup_conversations(base, created["apiKey"])
        for n in concurrencies:
            t = time.perf_counter()
            results = asyncio.run(fire(base, created["apiKey"], write_requests(n, conversations)))
            rows.append((label, n, summarize(results), time.perf_counter() - t))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--database-url", default=os.environ.get("WOES_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--sqlite-only", action="store_true")
    args = ap.parse_args()
    rows = run(None, args.concurrency)
    if not args.sqlite_only:
        rows += run(args.database_url, args.concurrency)
    print(f"{'database':<11} {'writes':>6} {'ok':>6} {'p50 ms':>8} {'p99 ms':>8} {'wall s':>7}  statuses")
    failed = False
    for label, n, s, wall in rows:
        print(f"{label:<11} {n:>6} {s['acceptable']:>6} {s['p50']:>8.0f} {s['p99']:>8.0f} {wall:>7.1f}  {s['statuses']}")
        failed |= s["acceptable"] != n
    print("ok = 2xx, or 503 with Retry-After; anything else (500, dropped connection) fails the run")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
