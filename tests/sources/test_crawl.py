"""Website crawl + HTML → Markdown + WebsiteImporter, against a local site on 127.0.0.1 (allowlisted)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from woes.core.safefetch import SafeFetcher
from woes.importers.base import ImportContext, ImportError_, SourceFile
from woes.importers.website import WebsiteImporter, crawl_files
from woes.sources.crawl import canonical_url, crawl, extract_html, html_to_markdown

Route = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, extra headers


@dataclass
class Site:
    port: int
    routes: dict[str, Route]
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (timeout/size tests) is expected: no traceback noise


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int], dict[str, Route]]], Site]]:
    servers: list[_HTTPServer] = []

    def start(build: Callable[[int], dict[str, Route]]) -> Site:
        httpd = _HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        site = Site(port=httpd.server_address[1], routes={})
        site.routes = build(site.port)

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(self.path)
                status, ctype, body, headers = site.routes.get(self.path, (404, "text/html", b"<h1>Not found</h1>", {}))
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd.RequestHandlerClass = Handler
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(httpd)
        return site

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def html(body: str, title: str = "Page", head: str = "") -> Route:
    doc = f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
    return (200, "text/html; charset=utf-8", doc.encode(), {})


CHROME = """<header class="site"><a href="/">Acme Docs</a></header>
<nav><a href="/docs/intro">Intro</a> <a href="/docs/guide.md">Guide</a></nav>
<aside class="sidebar">On this page</aside>
<footer>© Acme <a href="https://twitter.example.com/acme">Twitter</a></footer>"""

INTRO = """<main><article>
<h1>Introduction</h1>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>. See <a href="deep1">the deep page</a>.</p>
<h2>Parameters</h2>
<table><thead><tr><th>Name</th><th>Type</th><th>Description</th></tr></thead>
<tbody><tr><td><code>limit</code></td><td>integer</td><td>max items | default 10</td></tr></tbody></table>
<ul><li>first</li><li>second</li></ul>
<pre><code class="language-python">if a &lt; b and c &gt; d:
    print("&lt;ok&gt; &amp; done")


x = "```"</code></pre>
<div class="highlight-bash"><pre><span class="gp">$</span> curl https://api.acme.test/v1/items \\<br>  -H "Authorization: Bearer $TOKEN"</pre></div>
<script>window.evil = 1</script>
</article></main>"""


def build_site(blocked_port: int) -> Callable[[int], dict[str, Route]]:
    def build(port: int) -> dict[str, Route]:
        index = f"""{CHROME}<main><h1>Acme API docs</h1>
<p><a href="/docs/intro">Intro</a> <a href="/docs/intro#auth">Intro again</a> <a href="/docs/intro?utm_source=x">tracked</a>
<a href="/private/secret">Secret</a> <a href="http://external.example.com/page">Elsewhere</a>
<a href="/assets/logo.png">Logo</a> <a href="/files/export">Data</a> <a href="/go-internal">Internal</a>
<a href="/missing">Missing</a> <a href="mailto:help@acme.test">Mail</a> <a href="/docs/guide.md">Guide</a>
<a href="/docs/moved">Moved</a></p></main>"""
        return {
            "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n", {}),
            "/": html(index, "Acme"),
            "/docs/intro": html(CHROME + INTRO, "Introduction | Acme"),
            "/docs/deep1": html('<main><h1>Deep 1</h1><p><a href="/docs/deep2">deeper</a></p></main>', "Deep 1"),
            "/docs/deep2": html('<main><h1>Deep 2</h1><p><a href="/docs/deep3">deepest</a></p></main>', "Deep 2"),
            "/docs/deep3": html("<main><h1>Deep 3</h1></main>", "Deep 3"),
            "/docs/guide.md": (200, "text/markdown; charset=utf-8", b"# Guide\n\nUse `GET /v1/items`.\n", {}),
            "/docs/moved": (301, "", b"", {"Location": "/docs/intro"}),
            "/private/secret": html("<main><h1>Secret</h1></main>"),
            "/files/export": (200, "application/octet-stream", b"\x00\x01binary", {}),
            "/assets/logo.png": (200, "image/png", b"\x89PNG", {}),
            "/go-internal": (302, "", b"", {"Location": f"http://127.0.0.1:{blocked_port}/admin"}),
        }

    return build


@pytest.fixture
def site(serve) -> tuple[Site, Site]:
    other = serve(lambda port: {"/admin": html("<h1>admin</h1>")})  # a second local server: NOT allowlisted
    return serve(build_site(other.port)), other


@pytest.fixture
def fetcher(site) -> Iterator[SafeFetcher]:
    s, _ = site
    f = SafeFetcher(allowlist=[f"127.0.0.1:{s.port}"], timeout=5)
    yield f
    f.close()


def _reasons(result) -> dict[str, str]:
    return {s.url: s.reason for s in result.skipped}


def test_crawl_follows_links_respects_robots_and_origin(site, fetcher) -> None:
    s, other = site
    result = crawl(s.base + "/", fetcher, max_depth=2)
    urls = [p.url for p in result.pages]
    assert urls[0] == s.base + "/"
    assert set(urls) == {s.base + "/", s.base + "/docs/intro", s.base + "/docs/guide.md", s.base + "/docs/deep1"}
    assert len(urls) == len(set(urls))  # intro, intro#auth, intro?utm_source and /docs/moved are one page
    depth = {p.url: p.depth for p in result.pages}
    assert depth[s.base + "/"] == 0 and depth[s.base + "/docs/intro"] == 1 and depth[s.base + "/docs/deep1"] == 2

    reasons = _reasons(result)
    assert reasons[s.base + "/private/secret"] == "blocked by robots.txt"
    assert reasons["http://external.example.com/page"] == "off-origin"
    assert reasons[s.base + "/assets/logo.png"].startswith("non-HTML")
    assert reasons[s.base + "/files/export"] == "non-HTML content (application/octet-stream)"
    assert reasons[s.base + "/missing"] == "HTTP 404"
    assert reasons[s.base + "/docs/deep2"] == "max depth reached"
    assert reasons[s.base + "/go-internal"].startswith("fetch refused: 127.0.0.1 is a loopback address")
    assert "https://twitter.example.com/acme" in reasons  # links in the page chrome are still discovered
    assert not any(u.startswith("mailto:") for u in reasons)

    assert other.hits == []  # the redirect to the non-allowlisted server never connected
    assert "/private/secret" not in s.hits and "/assets/logo.png" not in s.hits
    assert s.hits.count("/docs/intro") == 2  # the page itself, and once behind /docs/moved (then deduped)

    guide = next(p for p in result.pages if p.url.endswith("guide.md"))
    assert guide.title == "Guide" and guide.content_type == "text/markdown" and "GET /v1/items" in guide.markdown


def test_crawl_pages_are_clean_markdown_with_code_blocks(site, fetcher) -> None:
    s, _ = site
    result = crawl(s.base + "/docs/intro", fetcher, max_depth=0)
    [page] = result.pages
    md = page.markdown
    assert page.title == "Introduction"
    assert md.startswith("# Introduction")
    # whole and unescaped, blank lines kept, and the fence is longer than the backticks inside
    assert '````python\nif a < b and c > d:\n    print("<ok> & done")\n\n\nx = "```"\n````' in md
    assert '```bash\n$ curl https://api.acme.test/v1/items \\\n  -H "Authorization: Bearer $TOKEN"\n```' in md
    assert "| `limit` | integer | max items \\| default 10 |" in md
    assert "- first\n- second" in md
    assert f"[the deep page]({s.base}/docs/deep1)" in md  # links made absolute
    assert "Authorization: Bearer <token>" in md
    for chrome in ("Acme Docs", "On this page", "Twitter", "window.evil", "Guide"):
        assert chrome not in md
    assert {r.reason for r in result.skipped} == {"max depth reached", "off-origin"}


def test_crawl_limits(site, fetcher) -> None:
    s, _ = site
    result = crawl(s.base + "/", fetcher, max_pages=2, max_depth=3)
    assert len(result.pages) == 2
    assert any(r.reason == "max pages reached" for r in result.skipped)

    result = crawl(s.base + "/", fetcher, max_depth=3, path_prefix="/docs/deep")
    assert [p.url for p in result.pages] == [s.base + "/"]  # the start page itself is always fetched
    assert _reasons(result)[s.base + "/docs/intro"] == "outside the path prefix /docs/deep"

    start_size = len(s.routes["/"][2])
    result = crawl(s.base + "/", fetcher, max_depth=3, max_bytes=start_size + 10)
    assert len(result.pages) == 1
    assert any(r.reason.startswith("max bytes reached") for r in result.skipped)


def test_missing_robots_allows_everything_and_refused_start(serve) -> None:
    s = serve(lambda port: {"/": html('<main><h1>Home</h1><a href="/private/x">x</a></main>'), "/private/x": html("<h1>X</h1>")})
    with SafeFetcher(allowlist=[f"127.0.0.1:{s.port}"]) as f:
        result = crawl(s.base + "/", f)
        assert [p.url for p in result.pages] == [s.base + "/", s.base + "/private/x"]
    hits_before = len(s.hits)
    with SafeFetcher() as f:  # not allowlisted: the very first fetch is refused, with the reason
        result = crawl(s.base + "/", f)
        assert result.pages == []
        assert result.skipped[0].reason.startswith("fetch refused: 127.0.0.1 is a loopback address")
    assert len(s.hits) == hits_before  # nothing (not even robots.txt) reached the server


def test_robots_disallow_all_and_noindex(serve) -> None:
    s = serve(lambda port: {"/robots.txt": (200, "text/plain", b"User-agent: Woes\nDisallow: /\n", {}), "/": html("<h1>x</h1>")})
    with SafeFetcher(allowlist=[f"127.0.0.1:{s.port}"]) as f:
        result = crawl(s.base + "/", f)
    assert result.pages == [] and result.skipped[0].reason == "blocked by robots.txt"
    assert s.hits == ["/robots.txt"]

    s = serve(
        lambda port: {
            "/": html('<h1>Hidden</h1><a href="/next">n</a>', head='<meta name="robots" content="noindex">'),
            "/next": html("<main><h1>Next</h1></main>"),
        }
    )
    with SafeFetcher(allowlist=[f"127.0.0.1:{s.port}"]) as f:
        result = crawl(s.base + "/", f)
    assert [p.url for p in result.pages] == [s.base + "/next"]


def test_canonical_url() -> None:
    assert canonical_url("HTTP://Example.COM:80/a/./b/../c?utm_source=x&q=1#frag") == "http://example.com/a/c?q=1"
    assert canonical_url("https://example.com") == "https://example.com/"
    assert canonical_url("https://example.com:8443/%7euser/") == "https://example.com:8443/~user/"
    assert canonical_url("../x", base="https://example.com/a/b/") == "https://example.com/a/x"
    assert canonical_url("mailto:a@b.c") is None
    assert canonical_url("javascript:alert(1)") is None


def test_html_to_markdown_drops_chrome_and_keeps_structure() -> None:
    page = extract_html(
        f"<html><head><title>T | Site</title></head><body>{CHROME}{INTRO}</body></html>", "https://docs.acme.test/docs/intro"
    )
    assert page.title == "Introduction"
    assert "https://docs.acme.test/docs/guide.md" in page.links
    assert "## Parameters" in page.markdown and "Acme Docs" not in page.markdown
    md = html_to_markdown("<div><pre><code class='lang-json'>{\"a\": [1, 2]}</code></pre><p>snake_case_name</p></div>")
    assert '```json\n{"a": [1, 2]}\n```' in md and "snake_case_name" in md


def test_website_importer_parse_and_from_crawl(site, fetcher) -> None:
    s, _ = site
    result = crawl(s.base + "/", fetcher, max_depth=1)
    imported = WebsiteImporter().from_crawl(result)
    assert imported.format == "website" and imported.title == "127.0.0.1"
    assert [d.path for d in imported.documents] == [p.url for p in result.pages]
    assert any(i.where == s.base + "/missing" and i.severity == "error" for i in imported.issues)
    assert any(i.reason == "off-origin" and i.severity == "warning" for i in imported.issues)

    files = crawl_files(result)
    importer = WebsiteImporter()
    assert importer.detect(files) >= 0.9
    parsed = importer.parse(files, ImportContext())
    assert [(d.title, d.path) for d in parsed.documents] == [(d.title, d.path) for d in imported.documents]
    intro = next(d for d in parsed.documents if d.path.endswith("/docs/intro"))
    assert "````python" in intro.markdown and intro.title == "Introduction"

    local = importer.parse([SourceFile("site/page.html", b"<html><body><h1>Hi</h1><p>x</p></body></html>")], ImportContext())
    assert local.documents[0].title == "Hi" and local.documents[0].markdown.startswith("# Hi")
    with pytest.raises(ImportError_):
        importer.parse([SourceFile("https://x.test/empty", b"")], ImportContext())
