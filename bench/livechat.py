"""Live chat at scale: 1,000 widget streams open on one `woes serve`, message-to-stream latency, memory per stream,
on one process and across two replicas (PostgreSQL + Redis).

    python bench/livechat.py [--streams 1000] [--messages 200] [--rate 5] [--sqlite]
                             [--database-url postgresql://.../postgres] [--redis-url redis://127.0.0.1:6379/1]
                             [--json OUT.json] [--profile DIR]

Every setup gets a fresh database and its own `woes init`, a widget key made through the API, and N conversations
started through `POST /api/widget/messages`. Then:

- single process: PostgreSQL + Redis, one `woes serve` (A); the N streams and the operator replies both on A.
- two replicas: the same database, a second `woes serve` (B) started next to A; the N streams on B, the replies
  posted to A, so every frame crosses A's outbox relay -> Redis pub/sub -> B's bus.
- with --sqlite, also one process on SQLite (no Redis: the in-process bus), the default single-box install.

Latency is from just before the operator's `POST /api/v1/conversations/{id}/messages` is sent to the moment the
message frame arrives on that conversation's stream; `--messages` replies go to as many different conversations,
`--rate` a second. Memory per stream is the streaming server's RSS (VmRSS) after opening the N streams minus
before, divided by N. The rate limits are raised through WOES_* variables so that nothing is answered 429. The load
client (one asyncio loop, httpx) shares the machine's cores with the servers, PostgreSQL and Redis.

Also printed, to tell where the time goes: on Redis setups the two halves of each latency (POST sent -> the outbox
relay published the event on Redis, seen by a subscriber of the bench's own; published -> frame read), the operator
POST's own duration, the streaming server's CPU while the N streams sit idle for one heartbeat period, and the CPU
the rest of the machine used during the replies (other test suites on a shared box stretch the tail). --json writes
each reply's timings; --profile runs py-spy (collapsed stacks) on the servers during the replies. The exit status
is 1 when a p99 goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import psycopg
from harness import free_port, wait_ready  # bench/harness.py (scripts run from bench/ or the repo root)

ORIGIN = "https://docs.example.com"
GOALS_MS = {"single process": 100.0, "two replicas": 150.0, "single process, SQLite": 100.0}
LIMITS = {"WOES_RATE_LIMIT_PER_MINUTE": "100000000", "WOES_WIDGET_IP_RATE_LIMIT_PER_MINUTE": "100000000",
          "WOES_WIDGET_STARTS_PER_HOUR": "100000000", "WOES_WIDGET_KEY_RATE_LIMIT_PER_MINUTE": "100000000",
          "WOES_WIDGET_STREAMS_PER_IP": "100000"}


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the servers started below inherit it


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_busy_seconds() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))]


@dataclass
class Server:
    base: str
    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_server(env: dict[str, str]) -> Server:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "woes", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(f"http://127.0.0.1:{port}", proc)
    wait_ready(server.base)
    return server


def fresh_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"woes_bench_livechat_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisTap(threading.Thread):
    """When each `message.created` event went out on the Redis bus (i.e. when the outbox relay published it)."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(daemon=True)
        import redis

        self.published: dict[str, float] = {}
        self.redis = redis.Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe("woes:events")  # woes.events.bus.CHANNEL
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            msg = self.pubsub.get_message(timeout=0.2)
            if msg and msg["type"] == "message":
                t = time.perf_counter()
                env = json.loads(msg["data"])
                if env.get("type") == "message.created":
                    self.published[(env.get("resource") or {}).get("id")] = t

    def close(self) -> None:
        self.stop.set()
        self.join(5)
        self.pubsub.close()
        self.redis.close()


# -- the load client ------------------------------------------------------------------------------------------

@dataclass
class Conversation:
    id: str
    secret: str


@dataclass
class Streams:
    """N widget streams on one asyncio loop: which have their opening state, and when each awaited body arrived."""
    opened: int = 0
    failed: list[str] = field(default_factory=list)
    awaited: set[str] = field(default_factory=set)
    arrivals: dict[str, float] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def read(self, client: httpx.AsyncClient, base: str, key: str, conv: Conversation, gate: asyncio.Semaphore) -> None:
        headers = {"X-Woes-Public-Key": key, "Origin": ORIGIN, "X-Woes-Conversation-Secret": conv.secret}
        released = False
        await gate.acquire()
        try:
            async with client.stream("GET", f"{base}/api/widget/conversations/{conv.id}/stream", headers=headers) as r:
                if r.status_code != 200:
                    self.failed.append(f"HTTP {r.status_code}")
                    return
                event, data = "message", None
                async for line in r.aiter_lines():
                    if line == "":
                        if event == "conversation" and not released:
                            self.opened += 1
                            released = True
                            gate.release()
                        elif event == "message" and data is not None and self.awaited:
                            body = json.loads(data).get("body")
                            if body in self.awaited and body not in self.arrivals:
                                self.arrivals[body] = time.perf_counter()
                        event, data = "message", None
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = line[5:].strip()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - counted and printed, the run goes on
            self.failed.append(type(exc).__name__)
        finally:
            if not released:
                gate.release()


def stream_client(n: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=0)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60, read=None, pool=None))


async def start_conversations(base: str, key: str, n: int, concurrency: int = 16) -> list[Conversation]:
    out: list[Conversation] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        async def one(i: int) -> None:
            async with gate:
                r = await c.post("/api/widget/messages", json={"body": f"Visitor {i}: how do I print a label?",
                                                               "visitorId": uuid.uuid4().hex},
                                 headers={"X-Woes-Public-Key": key, "Origin": ORIGIN})
                r.raise_for_status()
                out.append(Conversation(r.json()["conversationId"], r.json()["conversationSecret"]))

        await asyncio.gather(*(one(i) for i in range(n)))
    return out


async def open_streams(streams: Streams, client: httpx.AsyncClient, base: str, key: str, convs: list[Conversation],
                       timeout: float = 300) -> float:
    gate = asyncio.Semaphore(50)  # at most 50 streams between "connect" and "opening state" at once
    t = time.perf_counter()
    streams.tasks = [asyncio.create_task(streams.read(client, base, key, c, gate)) for c in convs]
    deadline = t + timeout
    while streams.opened + len(streams.failed) < len(convs) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    return time.perf_counter() - t


async def close_streams(streams: Streams) -> None:
    for task in streams.tasks:
        task.cancel()
    await asyncio.gather(*streams.tasks, return_exceptions=True)


async def post_replies(streams: Streams, base: str, api_key: str, convs: list[Conversation], count: int,
                       rate: float, tap: RedisTap | None) -> dict:
    """`count` operator replies, `rate` a second, each to a different conversation; the latency of each."""
    targets = random.sample(convs, min(count, len(convs)))
    sent: dict[str, float] = {}
    ids: dict[str, str] = {}  # body -> message id
    done: dict[str, float] = {}  # body -> when its POST was answered
    post_ms: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=60,
                                 limits=httpx.Limits(max_connections=50)) as c:
        async def one(i: int, conv: Conversation) -> None:
            body = f"Operator reply {i} {uuid.uuid4().hex[:8]}: it ships today."
            streams.awaited.add(body)
            t = time.perf_counter()
            sent[body] = t
            try:
                r = await c.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": body, "role": "assistant"})
                if r.status_code != 201:
                    errors.append(f"HTTP {r.status_code}")
                else:
                    ids[body] = r.json()["id"]
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            done[body] = time.perf_counter()
            post_ms.append((done[body] - t) * 1000)

        await c.get("/api/v1/workspace")  # the first request pays for a connection and the key lookup
        t0, started = time.perf_counter(), time.time()
        tasks = []
        for i, conv in enumerate(targets):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, conv)))
        await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 10
    while len(streams.arrivals) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    published = tap.published if tap is not None else {}

    def ms(b: str, when: float | None) -> float | None:
        return None if when is None else (when - sent[b]) * 1000

    # each reply: when it was sent (s into the phase), its POST's duration, when the relay published it on Redis
    # and when its frame arrived (ms after it was sent)
    trace = [{"at_s": t - t0, "post_ms": ms(b, done.get(b)), "publish_ms": ms(b, published.get(ids.get(b, ""))),
              "frame_ms": ms(b, streams.arrivals.get(b))} for b, t in sent.items()]
    latencies = [r["frame_ms"] for r in trace if r["frame_ms"] is not None]
    stages: dict[str, list[float]] = {"to_publish": [], "publish_to_frame": []}
    for r in trace:  # the two halves of each latency: POST sent -> relay published, published -> frame read
        if r["publish_ms"] is not None and r["frame_ms"] is not None:
            stages["to_publish"].append(r["publish_ms"])
            stages["publish_to_frame"].append(r["frame_ms"] - r["publish_ms"])
    return {"sent": len(sent), "received": len(latencies), "latencies": latencies, "post_ms": post_ms, "errors": errors,
            "stages": stages, "trace": trace, "started": started}


async def measure(label: str, stream_server: Server, post_server: Server, widget_key: str, api_key: str,
                  convs: list[Conversation], messages: int, rate: float, redis_url: str | None = None,
                  profile_dir: str | None = None) -> dict:
    async with stream_client(len(convs)) as client:
        warm = Streams()  # the first streams pay for lazy imports and pools: not counted as per-stream memory
        await open_streams(warm, client, stream_server.base, widget_key, convs[:20])
        await close_streams(warm)
    await asyncio.sleep(2)
    before = rss_bytes(stream_server.proc.pid)
    streams = Streams()
    async with stream_client(len(convs)) as client:
        open_s = await open_streams(streams, client, stream_server.base, widget_key, convs)
        await asyncio.sleep(3)
        after = rss_bytes(stream_server.proc.pid)
        cpu0, t0 = cpu_seconds(stream_server.proc.pid), time.perf_counter()
        await asyncio.sleep(15)  # one heartbeat period: what the open streams cost when nothing happens
        idle_cpu = (cpu_seconds(stream_server.proc.pid) - cpu0) / (time.perf_counter() - t0)
        tap = RedisTap(redis_url) if redis_url else None
        if tap:
            tap.start()
        own = sorted({os.getpid(), stream_server.proc.pid, post_server.proc.pid})
        busy0, own0, w0 = machine_busy_seconds(), sum(cpu_seconds(p) for p in own), time.perf_counter()
        profilers = []
        if profile_dir:  # py-spy on each server while the replies go out (collapsed stacks, on-CPU samples only)
            for role, server in {"streams": stream_server, "posts": post_server}.items():
                out = os.path.join(profile_dir, f"{label.replace(' ', '-').replace(',', '')}-{role}.txt")
                profilers.append(subprocess.Popen(
                    [os.environ.get("PY_SPY", "py-spy"), "record", "--pid", str(server.proc.pid), "--format", "raw",
                     "--rate", "200", "--duration", str(int(messages / rate) + 2), "--output", out, "--threads"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                if server is post_server is stream_server:
                    break
        try:
            result = await post_replies(streams, post_server.base, api_key, convs, messages, rate, tap)
        finally:
            if tap:
                tap.close()
            for p in profilers:
                p.wait(60)
        # CPU the rest of the machine used meanwhile (PostgreSQL and Redis included: their share for this load is
        # small; py-spy too with --profile), in cores: the noise of whatever else runs on the box
        other = (machine_busy_seconds() - busy0 - (sum(cpu_seconds(p) for p in own) - own0)) / (time.perf_counter() - w0)
        still_open = sum(not t.done() for t in streams.tasks)
        await close_streams(streams)
    lat = result["latencies"]
    return {"label": label, "streams": len(convs), "opened": streams.opened, "still_open": still_open,
            "open_s": open_s, "stream_failures": streams.failed, "rss_before": before, "rss_after": after,
            "per_stream": (after - before) / max(1, streams.opened), "other_cpu": other, "idle_cpu": idle_cpu, **result,
            "p50": statistics.median(lat) if lat else float("nan"), "p99": pct(lat, 0.99) if lat else float("nan"),
            "max": max(lat) if lat else float("nan")}


# -- the setups -----------------------------------------------------------------------------------------------

def init_workspace(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "woes", "init", "--json"], env=env, check=True, capture_output=True,
                         text=True, timeout=300)
    return json.loads(out.stdout)["apiKey"]


def widget_key(base: str, api_key: str) -> str:
    r = httpx.post(base + "/api/v1/widget-keys", json={"name": "Bench", "allowedOrigins": [ORIGIN]},
                   headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    r.raise_for_status()
    return r.json()["publicKey"]


def prepare(base: str, api_key: str, n: int) -> tuple[str, list[Conversation]]:
    key = widget_key(base, api_key)
    t = time.perf_counter()
    convs = asyncio.run(start_conversations(base, key, n))
    print(f"  {n} conversations started through POST /api/widget/messages in {time.perf_counter() - t:.1f} s", flush=True)
    return key, convs


def run_postgres(args: argparse.Namespace) -> list[dict]:
    data = tempfile.mkdtemp(prefix="woes-bench-livechat-")  # shared by both replicas (secret.key, files)
    name, url = fresh_pg_database(args.database_url)
    env = {**os.environ, **LIMITS, "WOES_DATA_DIR": data, "WOES_DATABASE_URL": url, "WOES_REDIS_URL": args.redis_url,
           "WOES_EMBEDDED_WORKERS": "0", "WOES_LOG_LEVEL": "ERROR"}
    servers: list[Server] = []
    rows = []
    try:
        api_key = init_workspace(env)
        a = start_server(env)
        servers.append(a)
        print(f"PostgreSQL ({name}) + Redis ({args.redis_url}), WOES_EMBEDDED_WORKERS=0", flush=True)
        key, convs = prepare(a.base, api_key, args.streams)
        print("single process: streams on A, replies posted to A", flush=True)
        rows.append(asyncio.run(measure("single process", a, a, key, api_key, convs, args.messages, args.rate,
                                         args.redis_url, args.profile)))
        report(rows[-1])
        b = start_server(env)
        servers.append(b)
        print("two replicas: streams on B, replies posted to A", flush=True)
        rows.append(asyncio.run(measure("two replicas", b, a, key, api_key, convs, args.messages, args.rate,
                                         args.redis_url, args.profile)))
        report(rows[-1])
    finally:
        for s in servers:
            s.stop()
        drop_pg_database(args.database_url, name)
        shutil.rmtree(data, ignore_errors=True)
    return rows


def run_sqlite(args: argparse.Namespace) -> list[dict]:
    data = tempfile.mkdtemp(prefix="woes-bench-livechat-sqlite-")
    env = {**os.environ, **LIMITS, "WOES_DATA_DIR": data, "WOES_EMBEDDED_WORKERS": "0", "WOES_LOG_LEVEL": "ERROR"}
    env.pop("WOES_DATABASE_URL", None)
    env.pop("WOES_REDIS_URL", None)
    server = None
    try:
        api_key = init_workspace(env)
        server = start_server(env)
        print("SQLite, in-process bus, WOES_EMBEDDED_WORKERS=0", flush=True)
        key, convs = prepare(server.base, api_key, args.streams)
        row = asyncio.run(measure("single process, SQLite", server, server, key, api_key, convs, args.messages, args.rate,
                                profile_dir=args.profile))
        report(row)
        return [row]
    finally:
        if server:
            server.stop()
        shutil.rmtree(data, ignore_errors=True)


def goal_text(row: dict) -> str:
    goal = GOALS_MS[row["label"]]
    return f"goal p99 < {goal:.0f} ms: {'met' if row['p99'] < goal and row['received'] == row['sent'] else 'MISSED'}"


def report(row: dict) -> None:
    label = row["label"]
    print(f"{label}: streams open {row['opened']}/{row['streams']} in {row['open_s']:.1f} s "
          f"(failures: {len(row['stream_failures'])} {sorted(set(row['stream_failures']))}; still open at the end: "
          f"{row['still_open']})")
    print(f"{label}: message-to-stream latency p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, max {row['max']:.1f} ms "
          f"({row['received']}/{row['sent']} frames arrived; {goal_text(row)}; CPU used outside the bench's processes meanwhile: {row['other_cpu']:.2f} cores)")
    for stage, values in row["stages"].items():
        if values:
            print(f"{label}: {stage.replace('_', ' ')} p50 {statistics.median(values):.1f} ms, p99 {pct(values, 0.99):.1f} ms")
    print(f"{label}: operator POST p50 {statistics.median(row['post_ms']):.1f} ms, p99 {pct(row['post_ms'], 0.99):.1f} ms "
          f"(errors: {len(row['errors'])} {sorted(set(row['errors']))})")
    print(f"{label}: memory per stream {row['per_stream'] / 1024:.1f} KiB (RSS {row['rss_before'] / 2**20:.1f} MiB -> "
          f"{row['rss_after'] / 2**20:.1f} MiB with {row['opened']} streams)")
    print(f"{label}: idle CPU of the streaming server with the streams open {row['idle_cpu'] * 100:.1f} % of a core",
          flush=True)


def table(rows: list[dict]) -> None:
    lines = [("", *[r["label"] for r in rows]),
             ("streams open", *[f"{r['opened']}/{r['streams']}" for r in rows]),
             ("time to open them", *[f"{r['open_s']:.1f} s" for r in rows]),
             ("frames arrived", *[f"{r['received']}/{r['sent']}" for r in rows]),
             ("latency p50", *[f"{r['p50']:.1f} ms" for r in rows]),
             ("latency p99", *[f"{r['p99']:.1f} ms" for r in rows]),
             ("latency max", *[f"{r['max']:.1f} ms" for r in rows]),
             ("p99 goal", *[f"< {GOALS_MS[r['label']]:.0f} ms: {goal_text(r).rsplit(': ', 1)[1]}" for r in rows]),
             ("operator POST p50", *[f"{statistics.median(r['post_ms']):.1f} ms" for r in rows]),
             ("memory per stream", *[f"{r['per_stream'] / 1024:.1f} KiB" for r in rows]),
             ("idle CPU, streams open", *[f"{r['idle_cpu'] * 100:.1f} %" for r in rows]),
             ("other CPU meanwhile", *[f"{r['other_cpu']:.2f} cores" for r in rows])]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    print()
    for line in lines:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--rate", type=float, default=5.0, help="operator replies a second")
    ap.add_argument("--database-url", default=os.environ.get("WOES_BENCH_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--redis-url", default=os.environ.get("WOES_BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    ap.add_argument("--sqlite", action="store_true", help="also one process on SQLite with the in-process bus")
    ap.add_argument("--profile", metavar="DIR", help="write py-spy profiles of the servers during the replies into DIR "
                    "(py-spy on PATH or in $PY_SPY)")
    ap.add_argument("--json", metavar="PATH", help="also write every figure and each reply's timings (a trace) to PATH")
    args = ap.parse_args()
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    raise_fd_limit(4 * args.streams + 1024)
    random.seed(7)
    rows = run_postgres(args)
    if args.sqlite:
        rows += run_sqlite(args)
    table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    sys.exit(0 if all(goal_text(r).endswith("met") for r in rows) else 1)


if __name__ == "__main__":
    main()
