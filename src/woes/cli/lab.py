"""`woes lab`: run a question bank against API sources in a throwaway workspace, and gate CI on the scores.

    woes lab --source openapi.yaml [--source docs/] --questions bank.jsonl
             [--min-hit1 0.8] [--min-must-mention 0.6] [--max-refused 0.2] [--min-handoff 0.9]
             [--json] [--data-dir DIR]

An embedded SQLite workspace (in a temporary folder, removed afterwards, unless --data-dir) gets one
source per --source (a file, or every file of a folder, hidden ones excluded), scanned now through the
normal upload path; an agent attached to them answers every question through the same lab code as
`POST /api/v1/agents/{id}/lab-runs`, with the deployment's configured model provider (offline by default).

Exit status: 0 when every given threshold is met, 1 when one is not (each is printed), 2 on bad input
(an unreadable file, an invalid bank, a source that cannot be scanned).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# (option, aggregate metric, direction, label)
THRESHOLDS = (
    ("min_hit1", "hit1", "min", "first-citation Hit@1"),
    ("min_must_mention", "mustMentionCoverage", "min", "must_mention coverage"),
    ("max_refused", "answerableRefused", "max", "answerable questions refused"),
    ("min_handoff", "unanswerableHandedOff", "min", "unanswerable questions handed off"),
)
ROWS = (
    ("hit1", "first-citation Hit@1"), ("hitAny", "any-citation hit"), ("mustMentionCoverage", "must_mention coverage"),
    ("specificity", "specificity"), ("answerableAnswered", "answerable answered"),
    ("answerableRefused", "answerable refused"), ("unanswerableHandedOff", "unanswerable handed off"),
    ("handoffCorrect", "handoff correct"), ("redactionHeld", "redaction held"), ("secretsLeaked", "secrets leaked"),
    ("passRate", "questions passed"), ("p50LatencyMs", "latency p50 (ms)"), ("p95LatencyMs", "latency p95 (ms)"),
)


class InputError(Exception):
    """Bad input: exit status 2."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", required=True, metavar="FILE_OR_DIR",
                   help="an API description or docs file, or a folder of them (repeatable; one source each)")
    p.add_argument("--questions", required=True, metavar="FILE", help="the question bank (JSON Lines)")
    p.add_argument("--min-hit1", type=float, metavar="X", help="fail below this first-citation Hit@1 (0-1)")
    p.add_argument("--min-must-mention", type=float, metavar="X", help="fail below this must_mention coverage (0-1)")
    p.add_argument("--max-refused", type=float, metavar="X", help="fail above this share of answerable questions refused")
    p.add_argument("--min-handoff", type=float, metavar="X", help="fail below this share of unanswerable questions handed off")
    p.add_argument("--json", action="store_true", help="print {aggregates, thresholds, results, passed} as JSON")
    p.add_argument("--data-dir", type=Path, help="keep the workspace here (default: a temporary folder, removed)")


def _read_files(path: Path) -> list[tuple[str, bytes]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise InputError(f"{path}: the folder has no files")
        return [(p.relative_to(path).as_posix(), p.read_bytes()) for p in files]
    return [(path.name, path.read_bytes())]


def _load_inputs(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str, list[tuple[str, list[tuple[str, bytes]]]]]:
    from woes.lab.evaluation import BankError, parse_jsonl

    try:
        text = Path(args.questions).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{args.questions}: cannot read the question bank ({exc})") from None
    try:
        bank = parse_jsonl(text)
    except BankError as exc:
        lines = "\n".join(f"  {e['field']}: {e['message']}" for e in exc.errors)
        raise InputError(f"{args.questions}: invalid question bank\n{lines}") from None
    sources = []
    for given in args.source:
        path = Path(given)
        try:
            sources.append((path.name or given, _read_files(path)))
        except OSError as exc:
            raise InputError(f"{given}: cannot read the source ({exc})") from None
    return bank, text, sources


@contextmanager
def _environment(data_dir: Path) -> Iterator[None]:
    """Point the process settings (database, encryption key file) at the throwaway folder, and back."""
    from woes.config import reset_settings_cache

    saved = {k: os.environ.get(k) for k in ("WOES_DATA_DIR", "WOES_DATABASE_URL")}
    os.environ["WOES_DATA_DIR"] = str(data_dir)
    os.environ.pop("WOES_DATABASE_URL", None)  # always the embedded SQLite database
    reset_settings_cache()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings_cache()


def _run_in(data_dir: Path, text: str, sources: list[tuple[str, list[tuple[str, bytes]]]]) -> dict[str, Any]:
    from woes.agents.schemas import AgentCreate
    from woes.agents.service import do_create_agent
    from woes.config import get_settings
    from woes.core.errors import ProblemError
    from woes.events.service import Actor
    from woes.lab.models import LabRun
    from woes.lab.service import do_create_lab_run, run_lab
    from woes.migrate import upgrade
    from woes.runtime import Runtime
    from woes.scans.pipeline import run_scan
    from woes.sources.service import do_create_source
    from woes.workspaces.service import do_create_workspace

    actor = Actor("system", "lab-cli")
    runtime = Runtime.build(get_settings())
    try:
        upgrade(runtime.db)
        with runtime.db.transaction() as s:
            ws_id = do_create_workspace(s, name="woes lab", actor=actor).id
        source_ids, scans = [], []
        for name, files in sources:
            try:
                with runtime.db.transaction() as s:
                    src, scan = do_create_source(s, ws_id, name=name[:200], type_="auto", actor=actor, files=files)
                    src_id, scan_id = src.id, scan.id
            except ProblemError as exc:
                raise InputError(f"{name}: {exc.error}") from None
            result = run_scan(runtime.db, ws_id, src_id, scan_id)
            if result.status == "failed":
                errors = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in result.errors or [])
                raise InputError(f"{name}: the source could not be scanned ({errors or 'no details'})")
            source_ids.append(src_id)
            scans.append({"name": name, "sourceId": str(src_id), "status": result.status, "counts": result.counts})
        with runtime.db.transaction() as s:
            agent = do_create_agent(s, ws_id, AgentCreate(name=f"lab-{uuid.uuid4().hex[:8]}", source_ids=source_ids,
                                                          mode="auto_reply"), actor)
            lab = do_create_lab_run(s, ws_id, agent.id, actor=actor, jsonl=text, name="woes lab")
            lab_id = lab.id
        run_lab(runtime.db, ws_id, lab_id)
        with runtime.db.reading() as s:
            done = s.get(LabRun, lab_id)
            if done is None or done.status != "completed":
                raise RuntimeError(f"the lab run ended {done.status if done else 'missing'}: {done.error if done else ''}")
            return {"aggregates": dict(done.aggregates), "results": list(done.results), "sources": scans}
    finally:
        runtime.stop()
        runtime.db.dispose()


def _fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if key.endswith("Ms") else f"{value:.2f}"
    return str(value)


def _check_thresholds(args: argparse.Namespace, aggregates: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for option, metric, direction, label in THRESHOLDS:
        limit = getattr(args, option, None)
        if limit is None:
            continue
        value = aggregates.get(metric)
        met = value is not None and (value >= limit if direction == "min" else value <= limit)
        checks.append({"option": "--" + option.replace("_", "-"), "metric": metric, "label": label,
                       "direction": direction, "threshold": limit, "value": value, "met": met})
    return checks


def _failure_line(r: dict[str, Any]) -> str:
    ev = r.get("evaluation") or {}
    ident = f"#{r['index'] + 1}" + (f" (id {r['id']})" if r.get("id") is not None else "")
    bits = []
    if r.get("error"):
        bits.append(f"error: {r['error']}")
    if "evidence" in ev.get("failures", []):
        bits.append(f"cited {ev.get('firstCitation') or 'nothing'}, expected {' | '.join(r['expectedOperations'][:3])}")
    missing = (ev.get("mustMention") or {}).get("missing") or []
    if missing:
        bits.append("missing " + ", ".join(missing[:6]))
    if "handoff" in ev.get("failures", []):
        bits.append("should have " + ("answered" if r.get("answerable") else "handed off"))
    if "redaction" in ev.get("failures", []):
        bits.append("SECRET LEAKED")
    question = " ".join(str(r.get("question") or "").split())
    question = question if len(question) <= 70 else question[:67] + "..."
    return f"  {ident:<12} {str(r.get('outcome')):<8} {question}\n{'':15}" + "; ".join(bits)


def _print_table(out: dict[str, Any]) -> None:
    agg, counts = out["aggregates"], out["aggregates"]["counts"]
    print(f"woes lab: {counts['questions']} questions ({counts['answerable']} answerable, {counts['unanswerable']} "
          f"unanswerable) against {len(out['sources'])} source(s)")
    for s in out["sources"]:
        counts_s = s.get("counts") or {}
        print(f"  source {s['name']}: {s['status']}, {counts_s.get('endpoints', 0)} endpoints, "
              f"{counts_s.get('documents', 0)} documents")
    print()
    for key, label in ROWS:
        print(f"  {label:<28} {_fmt(agg.get(key), key):>8}")
    print(f"  {'outcomes':<28} answer {counts['answer']} · clarify {counts['clarify']} · handoff {counts['handoff']}"
          + (f" · error {counts['error']}" if counts["error"] else ""))
    failed = [r for r in out["results"] if not (r.get("evaluation") or {}).get("passed")]
    if failed:
        print(f"\nFailures ({len(failed)}):")
        for r in failed:
            print(_failure_line(r))
    if out["thresholds"]:
        print("\nThresholds:")
        for c in out["thresholds"]:
            sign = ">=" if c["direction"] == "min" else "<="
            print(f"  {c['option']:<20} {c['label']}: {_fmt(c['value'])} {sign} {c['threshold']}  "
                  f"{'ok' if c['met'] else 'NOT MET'}")


def run(args: argparse.Namespace) -> int:
    try:
        _bank, text, sources = _load_inputs(args)
    except InputError as exc:
        print(f"woes lab: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="woes-lab-"))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with _environment(data_dir):
            out = _run_in(data_dir, text, sources)
    except InputError as exc:
        print(f"woes lab: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    out["thresholds"] = _check_thresholds(args, out["aggregates"])
    out["passed"] = all(c["met"] for c in out["thresholds"])
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_table(out)
    if not out["passed"]:
        for c in out["thresholds"]:
            if not c["met"]:
                sign = "at least" if c["direction"] == "min" else "at most"
                print(f"woes lab: threshold not met: {c['label']} is {_fmt(c['value'])}, {c['option']} wants {sign} "
                      f"{c['threshold']}", file=sys.stderr)
        return 1
    return 0
