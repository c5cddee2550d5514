"""`woes demo [--host] [--port] [--data-dir]`: migrate, seed the demo workspace, print where to go and a
fresh API key, then serve exactly like `woes serve`."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from woes.db import Database


def base_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses (a wildcard bind address is reached through loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def app_path() -> str | None:
    """Where the operator web app is served (`/app`, SPEC §12), or None while this build has none."""
    from woes.app import ROUTERS

    paths = {getattr(r, "path", "") for router in ROUTERS for r in router.routes}
    if any(p == "/app" or p.startswith("/app/") for p in paths):
        return "/app/"
    return "/" if "/" in paths else None


def banner(info: dict[str, Any], base: str, where: str) -> str:
    site_url = f"{base}/demo"
    console_url = f"{base}/demo/console?agent={info['agentId']}"
    answer_url = f"{base}/api/v1/agents/{info['agentId']}/answer"
    body = json.dumps({"question": info["exampleQuestion"]})
    curl = (f"curl -s {shlex.quote(answer_url)} \\\n"
            f"    -H {shlex.quote('Authorization: Bearer ' + info['apiKey'])} -H 'Content-Type: application/json' \\\n"
            f"    -d {shlex.quote(body)}")
    owner = (f"{info['ownerEmail']} / {info['ownerPassword']}   (shown once: keep it)" if info["ownerPassword"]
             else f"{info['ownerEmail']} (password shown by the first `woes demo`)")
    app = app_path()
    lines = [
        "",
        f"Woes demo is ready: agent \"{info['agentName']}\" answers from the sample Parcelpost API "
        f"({info['operations']} operations, scan {info['scanStatus']}).",
        "",
        f"  Demo site (the chat widget): {site_url}   (the Parcelpost docs, as your customers would see them)",
        f"  Developer console:           {console_url}   (paste the API key, ask the agent directly)",
        f"  App:                         {base + app if app else '(the operator web app is not in this build yet)'}",
        f"  API docs:                    {base}/api/v1/docs",
        f"  API key:                     {info['apiKey']}   (new for this run; paste it into the console)",
        f"  Widget key:                  {info['widgetKey']}   (public: the demo site's install snippet)",
        f"  Owner:                       {owner}",
        f"  Data:                        {where}",
        "",
        "Or from a terminal:",
        "",
        f"  {curl}",
        "",
    ]
    return "\n".join(lines)


def prepare(args: argparse.Namespace, db: Database) -> None:
    """Seed the demo workspace on the migrated database `db` and print how to use it (`woes demo` then serves)."""
    from woes.config import get_settings
    from woes.demo.service import setup_demo
    from woes.runtime import Runtime

    settings = get_settings()
    runtime = Runtime.build(settings, db)
    try:
        info = setup_demo(runtime.db)
    finally:
        runtime.db.dispose()
    where = "PostgreSQL (WOES_DATABASE_URL)" if settings.is_postgres else str(settings.data_dir.resolve())
    print(banner(info, base_url(args.host, args.port), where), flush=True)
