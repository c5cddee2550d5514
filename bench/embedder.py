"""Throughput and latency of the offline embedder (woes.search.embedder), 1 vs 2 threads, two ways.

    python bench/embedder.py [--chunks 128] [--queries 200] [--rounds 2] [--batches 1,8,16,32] [--threads 1,2]
                             [--max-tokens 256]

Each cell runs in its own child process (so that peak RSS is that cell's own), one thread count right
after the other for the same cell so that machine noise hits both columns alike:
  bN:    chunks/s embedding --chunks synthetic API-doc chunks of ~200 WordPiece tokens with batch_size=N
         (best of --rounds, after a warm-up batch), and the child's peak RSS;
  sN:    the same with batch_size=N, but threads=T means T sessions of 1 intra-op thread each running
         batches side by side (`embed(threads=T)`, what a scan does) instead of 1 session on T threads;
  query: latency of embed_one() on short support questions, p50 / p95 over --queries calls (after 10
         warm-up calls), and the child's peak RSS.
Also printed: load time (read + sha256 + tokenizer + ORT session) and RSS right after load. The machine's
load average is printed before and after: numbers taken while other processes use the cores are low.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

WORDS = (
    "the request returns a paginated list of objects sorted by creation date with the most recent first "
    "use the starting_after cursor with the id of the last object to fetch the next page limit controls "
    "the page size between one and one hundred webhook events are signed with your endpoint secret verify "
    "the signature header before trusting the payload idempotency keys let you retry requests safely "
    "customers charges refunds invoices subscriptions payment intents api keys are scoped to a workspace "
    "errors use conventional http status codes 4xx for client errors and 5xx for server errors rate limits "
    "apply per key and return 429 with a retry after header json body fields are snake case timestamps are "
    "unix seconds expand nested objects with the expand parameter"
).split()

QUERIES = [
    "How do I paginate through charges?",
    "Why am I getting 429 errors?",
    "How do I verify webhook signatures?",
    "Can I refund part of a payment?",
    "How do I rotate an API key without downtime?",
    "What is the maximum page size for list endpoints?",
    "idempotency key reuse returns a conflict",
    "customer email missing after update",
    "OAuth token expired, how do I refresh it?",
    "Does the Python SDK support async?",
]


def make_chunks(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [
        f"## Section {i}\n" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(135, 165))).capitalize() + "."
        for i in range(n)
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    from woes.search.embedder import Embedder

    t1 = time.perf_counter()
    sessions = args.mode.startswith("s")
    emb = Embedder(intra_op_threads=1 if sessions else args.threads)
    t2 = time.perf_counter()
    out: dict = {"import_s": t1 - t0, "load_s": t2 - t1, "rss_after_load_mb": peak_rss_mb(), "model_id": emb.model_id}
    if args.mode == "query":
        qs = [QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" (#{i})") for i in range(args.queries)]
        for q in qs[:10]:
            emb.embed_one(q)
        lat = []
        for q in qs:
            t = time.perf_counter()
            emb.embed_one(q)
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        out |= {"p50_ms": statistics.median(lat), "p95_ms": lat[int(0.95 * (len(lat) - 1))]}
    else:
        bs = int(args.mode[1:])
        chunks = make_chunks(args.chunks)
        enc = emb._tokenizer.encode_batch(chunks)
        out["mean_tokens"] = statistics.mean(min(sum(e.attention_mask), args.max_tokens) for e in enc)
        kw = {"batch_size": bs, "max_tokens": args.max_tokens, "threads": args.threads if sessions else 1}
        emb.embed(chunks[: bs * kw["threads"]], **kw)  # warm-up
        rates = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            emb.embed(chunks, **kw)
            rates.append(len(chunks) / (time.perf_counter() - t))
        out |= {"chunks_per_s": max(rates), "chunks_per_s_all": rates}
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=128)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--sessions-batches", default="1", help="batch sizes for the sN rows (T sessions side by side)")
    ap.add_argument("--max-tokens", type=int, default=256, help="truncate chunks to this many tokens (scans use 128)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.threads = int(args.threads)
        child(args)
        return

    threads = [int(t) for t in args.threads.split(",")]
    modes = [f"b{b}" for b in args.batches.split(",") if b] + [f"s{b}" for b in args.sessions_batches.split(",") if b] + ["query"]
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (cores: {os.cpu_count()})")
    results: dict[tuple[str, int], dict] = {}
    for mode in modes:
        for t in threads:
            cmd = [sys.executable, __file__, "--child", "--mode", mode, "--threads", str(t)]
            cmd += ["--chunks", str(args.chunks), "--queries", str(args.queries), "--rounds", str(args.rounds)]
            cmd += ["--max-tokens", str(args.max_tokens)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results[mode, t] = json.loads(res.stdout.strip().splitlines()[-1])
            print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    any_res = next(iter(results.values()))
    mean_tokens = next((r["mean_tokens"] for r in results.values() if "mean_tokens" in r), None)
    print(f"model {any_res['model_id']}; chunks: {args.chunks} x ~{mean_tokens:.0f} tokens (max {args.max_tokens}); queries: {args.queries}")
    head = "".join(f"{f'threads={t}':>26}" for t in threads)
    print(f"{'':<20}{head}")
    for mode in modes:
        cells = []
        for t in threads:
            r = results[mode, t]
            if mode == "query":
                cells.append(f"p50 {r['p50_ms']:5.2f} / p95 {r['p95_ms']:5.2f} ms")
            else:
                cells.append(f"{r['chunks_per_s']:6.1f} chunks/s")
        label = {"q": "query", "b": f"batch {mode[1:]}", "s": f"batch {mode[1:]}, sessions"}[mode[0]]
        print(f"{label:<20}" + "".join(f"{c:>26}" for c in cells))
    print(f"{'peak RSS MB':<14}")
    for mode in modes:
        print(f"  {mode:<12}" + "".join(f"{results[mode, t]['peak_rss_mb']:>26.0f}" for t in threads))
    load = [results[m, t]["load_s"] for m in modes for t in threads]
    rss0 = [results[m, t]["rss_after_load_mb"] for m in modes for t in threads]
    imp = [results[m, t]["import_s"] for m in modes for t in threads]
    print(
        f"import {min(imp):.2f}-{max(imp):.2f} s; load {min(load):.2f}-{max(load):.2f} s; RSS after load {min(rss0):.0f}-{max(rss0):.0f} MB"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
