"""`GET /demo`: "Parcelpost docs", a sample customer site with the Woes widget installed the documented way, so
that `woes demo` shows the product as a company's developers would meet it.

The page is the reference of the bundled sample API (the same spec the demo agent answers from), rendered
server-side (its Markdown without raw HTML: escaped), plus the install snippet carrying the demo workspace's widget key (public
by design). Nothing from the request is reflected. The CSP allows this origin's `/widget.js` and widget API;
the widget's styles live in its shadow root as a constructed stylesheet."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import yaml
from markdown_it import MarkdownIt

from woes.demo.service import sample_spec

# CommonMark without raw HTML (it is escaped) and with markdown-it's link check (no javascript: URLs).
_MARKDOWN = MarkdownIt("commonmark", {"html": False})

METHODS = ("get", "post", "put", "patch", "delete")


def content_security_policy(nonce: str) -> str:
    return ("default-src 'none'; "
            f"script-src 'self' 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _slug(method: str, path: str) -> str:
    return (method + "-" + path).lower().replace("/", "-").replace("{", "").replace("}", "").strip("-")


@lru_cache(maxsize=1)
def _reference() -> tuple[str, str, list[dict[str, Any]]]:
    """(title, description, operations grouped in spec order) of the sample API."""
    spec = yaml.safe_load(sample_spec())
    info = spec.get("info") or {}
    ops = []
    for path, item in (spec.get("paths") or {}).items():
        for method in METHODS:
            op = (item or {}).get(method)
            if isinstance(op, dict):
                ops.append({"method": method.upper(), "path": path, "summary": op.get("summary") or "",
                            "description": (op.get("description") or "").strip(), "deprecated": bool(op.get("deprecated")),
                            "tag": (op.get("tags") or ["API"])[0]})
    return str(info.get("title") or "Parcelpost API"), str(info.get("description") or info.get("summary") or ""), ops


def _paragraphs(text: str) -> str:
    """The spec's Markdown as HTML, headings one level below the page's."""
    rendered = _MARKDOWN.render(text)
    for level in (3, 2, 1):
        rendered = rendered.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    return rendered


def render(nonce: str, public_key: str | None) -> str:
    title, description, ops = _reference()
    nav, body = [], []
    current_tag = None
    for op in ops:
        anchor = _slug(op["method"], op["path"])
        if op["tag"] != current_tag:
            current_tag = op["tag"]
            nav.append(f'<li class="group">{html.escape(current_tag)}</li>')
        nav.append(f'<li><a href="#{anchor}"><span class="m m-{op["method"].lower()}">{op["method"]}</span>'
                   f'{html.escape(op["summary"])}</a></li>')
        flag = ' <span class="dep">deprecated</span>' if op["deprecated"] else ""
        body.append(f'<section id="{anchor}"><h2>{html.escape(op["summary"])}{flag}</h2>'
                    f'<p class="route"><span class="m m-{op["method"].lower()}">{op["method"]}</span>'
                    f'<code>{html.escape(op["path"])}</code></p>{_paragraphs(op["description"])}</section>')
    if public_key:
        widget = (f'<script nonce="{nonce}">window.Woes = window.Woes || function () '
                  f'{{ (window.Woes.q = window.Woes.q || []).push(arguments); }};</script>\n'
                  f'<script async src="/widget.js" data-public-key="{html.escape(public_key)}" '
                  f'data-api="/api/widget/messages"></script>')
        help_line = "Questions? Open the chat in the corner: an assistant answers from these docs, with citations."
    else:
        widget = ""
        help_line = "The demo workspace is not set up: run `woes demo` (or `bash scripts/run.sh`) to seed it."
    return PAGE.format(nonce=nonce, title=html.escape(title), description=_paragraphs(description),
                       nav="\n".join(nav), body="\n".join(body), widget=widget, help=html.escape(help_line))


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Parcelpost docs</title>
<link rel="icon" href="data:,">
<style nonce="{nonce}">
  :root {{ --fg:#17202e; --muted:#586174; --line:#e1e5ec; --bg:#fff; --side:#f7f8fb; --accent:#0f6b5c; }}
  * {{ box-sizing:border-box; }}
  body {{ margin:0; font:15px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }}
  header {{ display:flex; align-items:center; gap:12px; padding:14px 24px; border-bottom:1px solid var(--line); }}
  header .logo {{ font-weight:800; color:var(--accent); font-size:18px; }}
  header nav {{ margin-left:auto; color:var(--muted); font-size:14px; }}
  .layout {{ display:flex; min-height:calc(100vh - 56px); }}
  aside {{ width:280px; flex:none; background:var(--side); border-right:1px solid var(--line); padding:16px; }}
  aside ul {{ list-style:none; margin:0; padding:0; }}
  aside li a {{ display:block; padding:4px 6px; color:var(--fg); text-decoration:none; border-radius:6px; font-size:14px; }}
  aside li a:hover {{ background:#eceff5; }}
  aside li.group {{ margin:14px 0 4px; font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); }}
  main {{ flex:1; max-width:860px; padding:24px 32px 96px; }}
  h1 {{ font-size:28px; margin:0 0 8px; }}
  h2 {{ font-size:20px; margin:36px 0 6px; }}
  .route code {{ font-size:14px; }}
  .m {{ display:inline-block; min-width:52px; font:700 11px ui-monospace,Menlo,Consolas,monospace; padding:2px 6px; border-radius:4px;
        margin-right:8px; color:#fff; text-align:center; }}
  .m-get {{ background:#2f6fdb; }} .m-post {{ background:#1b8a4b; }} .m-patch, .m-put {{ background:#a86400; }} .m-delete {{ background:#b3261e; }}
  .dep {{ font-size:12px; color:#a86400; border:1px solid #e9c98f; border-radius:999px; padding:0 8px; vertical-align:middle; }}
  main code {{ background:#f2f4f7; padding:1px 4px; border-radius:4px; font-size:13px; }}
  main h3, main h4, main h5 {{ font-size:16px; margin:20px 0 4px; }}
  .help {{ background:#eef7f4; border:1px solid #cfe8e0; border-radius:8px; padding:10px 14px; }}
  @media (max-width: 760px) {{ aside {{ display:none; }} main {{ padding:16px; }} }}
</style>
</head>
<body>
<header><span class="logo">Parcelpost</span><span>Developer docs</span><nav>API reference · Guides · Status</nav></header>
<div class="layout">
<aside><ul>
{nav}
</ul></aside>
<main>
<h1>{title}</h1>
{description}
<p class="help">{help}</p>
{body}
</main>
</div>
{widget}
</body>
</html>
"""
