"""`woes` command line: serve, worker, migrate, init, jobs."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from woes.config import Settings, get_settings, reset_settings_cache


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "data_dir", None):
        os.environ["WOES_DATA_DIR"] = str(args.data_dir)
    if getattr(args, "database_url", None):
        os.environ["WOES_DATABASE_URL"] = args.database_url
    reset_settings_cache()
    return get_settings()


def load_job_modules() -> None:
    from woes.wiring import wire

    wire()  # every domain's job handlers and hooks (Runtime.build does it too; a worker needs them first)
    for name in filter(None, (m.strip() for m in os.environ.get("WOES_JOB_MODULES", "").split(","))):
        importlib.import_module(name)


def _migrated_database(args: argparse.Namespace):
    from woes.db import Database
    from woes.migrate import upgrade

    settings = _settings(args)
    if not settings.is_postgres:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    upgrade(db)
    return db


def cmd_migrate(args: argparse.Namespace) -> int:
    _migrated_database(args).dispose()
    print("migrations applied")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from woes.events.service import SYSTEM
    from woes.keys.schemas import ApiKeyCreate, WidgetKeyCreate
    from woes.keys.service import do_create_key, do_create_widget_key
    from woes.members.service import do_create_owner
    from woes.workspaces.service import do_create_workspace

    db = _migrated_database(args)
    password = args.password or secrets.token_urlsafe(12)
    with db.transaction() as session:
        ws = do_create_workspace(session, name=args.name, actor=SYSTEM)
        do_create_owner(session, ws.id, args.email, password, None, SYSTEM)
        _key, secret = do_create_key(session, ws.id, ApiKeyCreate(name="First key", scopes=["*"]), SYSTEM)
        widget = do_create_widget_key(session, ws.id, WidgetKeyCreate(name="Default widget"), SYSTEM)
    out = {"workspaceId": str(ws.id), "apiKey": secret, "ownerEmail": args.email.strip().lower(), "ownerPassword": password}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Workspace {out['workspaceId']} created.")
        print(f"Owner:       {out['ownerEmail']} / {password}")
        print(f"API key:     {secret}   (shown once; store it now)")
        print(f"Widget key:  {widget.public_key}")
    db.dispose()
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from woes.app import create_app
    from woes.core.logging import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    load_job_modules()
    app = create_app(settings)
    # proxy_headers off: uvicorn would trust X-Forwarded-For from 127.0.0.1 by default; the app reads it only
    # from WOES_TRUSTED_PROXIES (woes.core.clientaddr).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, proxy_headers=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from woes.core.logging import configure_logging
    from woes.migrate import current_revision, head_revision
    from woes.runtime import Runtime

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    load_job_modules()
    runtime = Runtime.build(settings)
    if current_revision(runtime.db) != head_revision():
        print("database is not migrated: run `woes migrate` first", file=sys.stderr)
        return 2
    stop = _stop_on_signals()
    runtime.usage.start()
    runtime.relay.start()
    try:
        runtime.queue.run_worker(stop, concurrency=args.concurrency, worker_name=args.name)
    finally:
        runtime.relay.stop()
        runtime.usage.stop()
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from woes.runtime import Runtime

    runtime = Runtime.build(_settings(args))
    for job in runtime.queue.list_jobs(status=args.status, limit=args.limit):
        print(json.dumps({"id": job.id, "name": job.name, "status": job.status, "attempts": job.attempts,
                          "workspaceId": job.workspace_id, "lastError": (job.last_error or "")[:500] or None}))
    return 0


def _workspace_id(db, given: str | None):  # noqa: ANN001, ANN202
    import uuid as _uuid

    from sqlalchemy import select

    from woes.workspaces.models import Workspace

    with db.reading() as session:
        ids = list(session.scalars(select(Workspace.id)))
    if given:
        wid = _uuid.UUID(given)
        if wid not in ids:
            raise SystemExit(f"no workspace {given}")
        return wid
    if len(ids) != 1:
        raise SystemExit("give --workspace-id (there are several workspaces, or none: run `woes init`)")
    return ids[0]


def cmd_source(args: argparse.Namespace) -> int:
    """`woes source add|scan`: create a source from a file/folder/URL/Git repository, or rescan one,
    and run the scan now (the same code path as the API and the job)."""
    import uuid as _uuid

    from woes.events.service import Actor
    from woes.scans.pipeline import run_scan
    from woes.sources.service import do_create_source, do_start_scan, scan_view

    db = _migrated_database(args)
    from woes.runtime import Runtime

    runtime = Runtime.build(get_settings(), db)
    wid = _workspace_id(runtime.db, args.workspace_id)
    actor = Actor("system", "cli")
    with runtime.db.transaction() as session:
        if args.action == "add":
            files = None
            if args.path:
                root = Path(args.path)
                paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
                files = [(str(p.relative_to(root)) if root.is_dir() else p.name, p.read_bytes()) for p in paths]
            source, scan = do_create_source(session, wid, name=args.name or (args.path or args.url or args.git_url),
                                            type_=args.type, actor=actor, files=files, url=args.url,
                                            git_url=args.git_url, git_path=args.git_path)
        else:
            scan = do_start_scan(session, wid, _uuid.UUID(args.source_id), actor)
            source = None
        source_id, scan_id = (source.id if source else scan.source_id), scan.id
    result = run_scan(runtime.db, wid, source_id, scan_id)
    print(json.dumps({"sourceId": str(source_id), **scan_view(result)}, indent=2))
    return 0 if result.status in ("completed", "partial") else 1


def cmd_lab(args: argparse.Namespace) -> int:
    """`woes lab`: a question bank against sources in a throwaway workspace; exit 1 below a threshold."""
    from woes.cli.lab import run

    return run(args)


def cmd_demo(args: argparse.Namespace) -> int:
    """`woes demo`: seed the demo workspace (sample API scanned, agent ready), print how to use it, then serve."""
    from woes.cli.demo import prepare

    print("Setting up the demo workspace (migrations, sample API scan, agent)…", flush=True)
    prepare(args, _migrated_database(args))
    return cmd_serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="woes", description="Woes: AI-native support for API companies.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, listens: bool = False) -> None:
        p.add_argument("--data-dir", type=Path, help="data folder (default ./.woes or WOES_DATA_DIR)")
        p.add_argument("--database-url", help="overrides WOES_DATABASE_URL")
        if listens:  # the commands that end in serving HTTP
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("serve", help="run the API server, web app and embedded job workers")
    common(p, listens=True)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run job workers (scale-out)")
    common(p)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--name", default=None, help="worker name in logs")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    common(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("init", help="create a workspace, its owner and a first API key")
    common(p)
    p.add_argument("--name", default="My workspace")
    p.add_argument("--email", default="owner@example.com")
    p.add_argument("--password", default=None, help="owner password (generated when omitted)")
    p.add_argument("--json", action="store_true", help="print {workspaceId, apiKey, ownerEmail, ownerPassword}")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("source", help="add a source (file, folder, URL, Git repository) or rescan one, now")
    src = p.add_subparsers(dest="action", required=True)
    add = src.add_parser("add")
    common(add)
    add.add_argument("--name")
    add.add_argument("--type", default="auto")
    origin = add.add_mutually_exclusive_group(required=True)
    origin.add_argument("--path", help="a file or a folder of files")
    origin.add_argument("--url")
    origin.add_argument("--git-url")
    add.add_argument("--git-path")
    add.add_argument("--workspace-id")
    scan = src.add_parser("scan")
    common(scan)
    scan.add_argument("source_id")
    scan.add_argument("--workspace-id")
    p.set_defaults(func=cmd_source)

    p = sub.add_parser("jobs", help="list background jobs (e.g. --status failed)")
    common(p)
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("lab", help="score an agent on a question bank against sources (fails CI below a threshold)")
    from woes.cli.lab import add_arguments as lab_arguments

    lab_arguments(p)
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("demo", help="seed a demo workspace with a sample API and an agent, print a key, and serve")
    common(p, listens=True)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from woes.core.errors import ProblemError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ProblemError as exc:
        print(f"woes {args.command}: {exc.error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
