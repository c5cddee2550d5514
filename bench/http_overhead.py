"""Throughput of an authenticated API read against a bare route on the same `woes serve` process.

    python bench/http_overhead.py [--seconds 8] [--connections 32] [--rounds 3] [--database-url URL]

Starts `woes init` + `woes serve` (one process, SQLite by default) on 127.0.0.1, then measures with wrk
(Debian package `wrk`), alternating the two routes in each round so that machine noise hits both:
  bare:  GET /healthz                       (no auth, no database)
  authd: GET /api/v1/workspace with a key   (request id, auth lookup, rate limit, DB read, JSON)
Prints requests/s and p50 latency of each and the ratio authd/bare (goal >= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from harness import free_port, wait_ready  # bench/harness.py (scripts run from bench/ or the repo root)


def run_wrk(url: str, seconds: int, connections: int, key: str | None) -> tuple[float, str]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} non-2xx responses\n{out}")
    return rps, p50


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    data = tempfile.mkdtemp(prefix="woes-bench-")
    env = {**os.environ, "WOES_DATA_DIR": data, "WOES_RATE_LIMIT_PER_MINUTE": "100000000", "WOES_LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["WOES_DATABASE_URL"] = args.database_url
    created = json.loads(subprocess.run([sys.executable, "-m", "woes", "init", "--json"], env=env, check=True,
                                        capture_output=True, text=True).stdout)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The server gets core 0, wrk core 1 (when taskset exists), as in stack-measurements.md.
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    server = subprocess.Popen(pin + [sys.executable, "-m", "woes", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base)
        run_wrk(base + "/healthz", 2, args.connections, None)  # warm-up
        run_wrk(base + "/api/v1/workspace", 2, args.connections, created["apiKey"])
        bare, authd = [], []
        for i in range(args.rounds):
            b = run_wrk(base + "/healthz", args.seconds, args.connections, None)
            a = run_wrk(base + "/api/v1/workspace", args.seconds, args.connections, created["apiKey"])
            bare.append(b[0])
            authd.append(a[0])
            print(f"round {i + 1}: bare {b[0]:8.0f} req/s (p50 {b[1]:>8})   authd {a[0]:8.0f} req/s (p50 {a[1]:>8})"
                  f"   ratio {a[0] / b[0]:.2f}")
        mb, ma = statistics.median(bare), statistics.median(authd)
        print(f"median: bare {mb:.0f} req/s, authenticated GET /api/v1/workspace {ma:.0f} req/s, ratio {ma / mb:.2f} (goal >= 0.5)")
        print(f"database: {'postgresql' if args.database_url else 'sqlite'}; {args.connections} connections; "
              f"{args.seconds}s x {args.rounds} rounds; one `woes serve` process")
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
