"""Helpers of the widget's browser tests: a host page on a second local origin, and a browser tab with the widget.

The host page is served by a tiny threaded http.server on another 127.0.0.1 port, so that the widget talks to
Woes cross-origin (CORS, preflights, the key's allowed origins) exactly as on a customer's site."""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "widget"

# The documented install snippet: the queue stub, then the async script tag.
STUB = "window.Woes = window.Woes || function () { (window.Woes.q = window.Woes.q || []).push(arguments); };"


class HostSite:
    """Pages by path, served from http://127.0.0.1:<port> (another origin than the Woes server)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
                page = site.pages.get(self.path.split("?", 1)[0])
                if page is None:
                    self.send_response(204 if self.path == "/favicon.ico" else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, path: str, page: str) -> str:
        self.pages[path] = page
        return self.origin + path


@contextmanager
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    site.thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


def snippet_page(woes: str, public_key: str, *, before: str = "", body: str = "", title: str = "Parcels API docs") -> str:
    """A docs page with the documented snippet; `before` is page script run before widget.js loads (queued calls)."""
    pre = f"<script>{before}</script>\n" if before else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>body {{ font: 16px/1.5 Georgia, serif; margin: 0; padding: 24px; background: #fbfaf7; color: #222; }}</style>
</head>
<body>
<main>
<h1>Parcels API</h1>
<p>Create shipments, download labels and track parcels.</p>
{body}
</main>
<script>{STUB}</script>
{pre}<script async src="{html.escape(woes)}/widget.js" data-public-key="{html.escape(public_key)}"
        data-api="{html.escape(woes)}/api/widget/messages"></script>
</body>
</html>
"""


# JavaScript run in the page: the widget's shadow root, and a few readings of it.
SHADOW = "document.querySelector('#woes-widget') && document.querySelector('#woes-widget').shadowRoot"


@dataclass
class Tab:
    """A page with the widget, and every console error, page error and widget warning it produced."""

    page: Any
    public_key: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def listen(self) -> Tab:
        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")
            elif msg.type == "warning" and msg.text.startswith("[Woes]"):
                self.warnings.append(msg.text)

        def on_response(res: Any) -> None:
            self.requests.append(f"{res.request.method} {res.url.split('/api/widget', 1)[-1]} {res.status}")
            if res.status >= 400:
                self.errors.append(f"HTTP {res.status}: {res.request.method} {res.url}")

        def on_failed(req: Any) -> None:
            failure = req.failure or ""
            # a stream or fetch cut short by a reload, a closed context or the widget itself is not an error
            if "ERR_ABORTED" not in failure:
                self.errors.append(f"request failed: {req.method} {req.url} {failure}")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("response", on_response)
        self.page.on("requestfailed", on_failed)
        return self

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    # -- the widget's DOM (Playwright's CSS locators pierce the open shadow root)
    def q(self, selector: str) -> Any:
        return self.page.locator(f"#woes-widget {selector}")

    def js(self, expression: str, arg: Any = None) -> Any:
        """Evaluate `(root, arg) => ...` with the widget's shadow root."""
        return self.page.evaluate(f"([arg]) => {{ const root = {SHADOW}; return ({expression})(root, arg); }}", [arg])

    def wait_js(self, expression: str, arg: Any = None, timeout: float = 15_000) -> Any:
        return self.page.wait_for_function(
            f"([arg]) => {{ const root = {SHADOW}; return !!root && ({expression})(root, arg); }}", arg=[arg], timeout=timeout)

    def wait_ready(self) -> None:
        """The script ran and the widget's config arrived (the header's subtitle shows)."""
        self.wait_js("(root) => root.querySelector('.sub') && !root.querySelector('.sub').hidden")

    def woes(self, *args: Any) -> None:
        self.page.evaluate("(args) => window.Woes(...args)", list(args))

    def is_open(self) -> bool:
        return self.js("(root) => !root.querySelector('.panel').hidden")

    def open(self) -> None:
        self.q(".launcher").click()
        self.wait_js("(root) => !root.querySelector('.panel').hidden")

    def send(self, text: str) -> None:
        """Type into the composer and press Enter; waits until the server took it ("Sent")."""
        self.q("#woes-input").fill(text)
        self.q("#woes-input").press("Enter")
        self.wait_sent(text)

    def wait_sent(self, text: str) -> None:
        self.wait_js("""(root, text) => [...root.querySelectorAll('.msg.me')].some(
            (m) => m.querySelector('.bubble').textContent === text && /Sent|Seen/.test(m.querySelector('.meta').textContent))""",
                     text)

    def wait_stream(self, timeout: float = 10) -> None:
        """Until the widget's live stream is open (its response headers arrived)."""
        deadline = time.monotonic() + timeout
        while not any(r.startswith("GET /conversations/") and r.endswith("/stream 200") for r in self.requests):
            assert time.monotonic() < deadline, f"no live stream: {self.requests}"
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events

    def wait_text(self, selector: str, text: str, timeout: float = 15_000) -> None:
        self.wait_js("(root, a) => [...root.querySelectorAll(a[0])].some((n) => n.textContent.includes(a[1]))",
                     [selector, text], timeout=timeout)

    def bubbles(self) -> list[dict[str, Any]]:
        """The log as the visitor sees it: who, text, and whether it is theirs."""
        return self.js("""(root) => [...root.querySelectorAll('.log .msg')].map((m) => ({
            mine: m.classList.contains('me'), body: m.querySelector('.bubble').innerText.trim(),
            who: m.querySelector('.who span') ? m.querySelector('.who span').textContent : null}))""")

    def notices(self) -> list[str]:
        """The notice lines in the log, top to bottom."""
        return self.js("(root) => [...root.querySelectorAll('.log .notice')].map((n) => n.textContent)")

    def record_notices(self) -> None:
        """From now on, note every notice line the log gains ("+text") or loses ("-text"): see notice_changes."""
        self.js("""(root) => { window.noticeChanges = [];
            const note = (sign, nodes) => nodes.forEach((n) => {
                if (n.classList && n.classList.contains('notice')) window.noticeChanges.push(sign + n.textContent); });
            new MutationObserver((records) => records.forEach((r) => {
                note('+', [...r.addedNodes]); note('-', [...r.removedNodes]); })
            ).observe(root.querySelector('.log'), {childList: true}); }""")

    def notice_changes(self) -> list[str]:
        return self.page.evaluate("window.noticeChanges")

    def stored(self) -> dict[str, Any]:
        raw = self.page.evaluate("(key) => localStorage.getItem('woes:' + key)", self.public_key)
        return json.loads(raw) if raw else {}

    def style(self, selector: str, *props: str) -> dict[str, str]:
        return self.js("""(root, a) => { const s = getComputedStyle(root.querySelector(a[0]));
            return Object.fromEntries(a[1].map((p) => [p, s.getPropertyValue(p)])); }""", [selector, list(props)])

    def active(self) -> dict[str, Any]:
        """What has the keyboard focus: the page's element, and inside the widget its shadow root's element."""
        return self.page.evaluate(f"""() => {{ const root = {SHADOW}; const a = document.activeElement;
            const inner = root && root.activeElement;
            return {{page: a ? (a.id || a.tagName.toLowerCase()) : null,
                     widget: inner ? (inner.id || inner.className || inner.tagName.toLowerCase()) : null}}; }}""")
