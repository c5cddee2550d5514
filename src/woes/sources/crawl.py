"""Website crawl and HTML → Markdown (SPEC §7 "Website crawl").

`crawl()` walks a documentation site breadth-first through `SafeFetcher` (so every page, redirect and
robots.txt request obeys the outbound policy), keeps same-origin pages by default, respects robots.txt
and `<meta name="robots">`, and turns each page into clean Markdown. Everything it leaves out is listed
in `CrawlResult.skipped` with a reason ("max pages reached", "blocked by robots.txt", "off-origin",
"fetch refused: …", "HTTP 404", ...), so a scan can report it.

HTML → Markdown is `woes.importers.html` (the same conversion the website importer uses offline).
"""

from __future__ import annotations

import posixpath
import re
import time
import urllib.robotparser
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from woes.core.safefetch import FetchFailed, FetchRefused, FetchResult, SafeFetcher
from woes.importers.html import HtmlPage, extract_html, html_to_markdown, looks_like_html
from woes.importers.markdown_blocks import structure
from woes.importers.website import CrawlResult, Page, Skipped

__all__ = [
    "CrawlResult",
    "HtmlPage",
    "Page",
    "Skipped",
    "canonical_url",
    "crawl",
    "extract_html",
    "html_to_markdown",
    "looks_like_html",
]

ROBOTS_AGENT = "Woes"
ROBOTS_MAX_BYTES = 500_000
MAX_SKIPPED = 2000  # skipped entries kept; the rest are only counted
MAX_CRAWL_DELAY = 2.0  # seconds: a robots.txt Crawl-delay above this is capped

HTML_TYPES = {"text/html", "application/xhtml+xml"}
MARKDOWN_TYPES = {"text/markdown", "text/x-markdown"}
TEXT_TYPES = {"text/plain"}
ASSET_EXTENSIONS = {
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".bmp", ".avif", ".css", ".js", ".mjs", ".map",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".pdf", ".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z",
    ".rar", ".dmg", ".exe", ".msi", ".deb", ".rpm", ".apk", ".jar", ".mp3", ".mp4", ".webm", ".ogg", ".wav",
    ".mov", ".avi", ".wasm", ".bin", ".iso", ".psd", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
}  # fmt: skip
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|gclid|fbclid|mc_cid|mc_eid|_hsenc|_hsmi)$", re.I)
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/markdown;q=0.8,text/plain;q=0.7,*/*;q=0.1"


# ------------------------------------------------------------------------------------ canonical URLs

_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")


def _normalize_percent(s: str) -> str:
    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            return ch
        return "%" + m.group(1).upper()

    return _UNRESERVED.sub(fix, s)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def canonical_url(url: str, base: str | None = None) -> str | None:
    """Absolute, normalized http(s) URL without fragment and tracking parameters; None if not http(s)."""
    try:
        if base is not None:
            url = urljoin(base, url.strip())
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    if "@" in parts.netloc:  # keep credentials visible: the fetcher refuses them with a clear reason
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = _remove_dot_segments(_normalize_percent(parts.path or "/"))
    query = ""
    if parts.query:
        pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)]
        query = urlencode(pairs, doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80))


def _origin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], "", "", ""))


# -------------------------------------------------------------------------------- HTML → Markdown

def _markdown_title(text: str) -> str:
    """The first level-1 heading of a Markdown page (outside code), else ""."""
    return next((h.text for h in structure(text.splitlines()).headings if h.level == 1 and h.text), "")


# -------------------------------------------------------------------------------------------- crawl


class _Robots:
    def __init__(self, fetcher: SafeFetcher, user_agent: str = ROBOTS_AGENT) -> None:
        self.fetcher = fetcher
        self.agent = user_agent
        self.cache: dict[str, tuple[urllib.robotparser.RobotFileParser | None, str | None]] = {}

    def verdict(self, url: str) -> tuple[bool, str | None, float]:
        """(allowed, reason if not, crawl delay)."""
        origin = _origin_url(url)
        if origin not in self.cache:
            self.cache[origin] = self._load(origin)
        parser, problem = self.cache[origin]
        if parser is None:
            return (problem is None, problem, 0.0)
        delay = parser.crawl_delay(self.agent)
        try:
            delay_s = float(delay) if delay is not None else 0.0
        except (TypeError, ValueError):
            delay_s = 0.0
        if not parser.can_fetch(self.agent, url):
            return False, "blocked by robots.txt", delay_s
        return True, None, delay_s

    def _load(self, origin: str) -> tuple[urllib.robotparser.RobotFileParser | None, str | None]:
        try:
            res = self.fetcher.get(origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES, headers={"Accept": "text/plain,*/*"})
        except FetchRefused as exc:
            return None, f"fetch refused: {exc.reason}"
        except FetchFailed as exc:
            if exc.kind == "too_large":
                return None, None  # an absurd robots.txt: treat as none, like the major crawlers
            return None, f"robots.txt could not be fetched ({exc.reason})"
        if 400 <= res.status < 500:
            return None, None  # no robots.txt: everything allowed
        if res.status >= 500:
            return None, f"robots.txt could not be fetched (HTTP {res.status}), so the site is treated as disallowed"
        if not res.ok:
            return None, None
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(res.text.splitlines())
        return parser, None


@dataclass(kw_only=True)
class _Crawl:
    fetcher: SafeFetcher
    max_pages: int
    max_depth: int
    max_bytes: int
    same_origin: bool
    path_prefix: str | None
    max_seconds: float | None
    sleep: Callable[[float], None]
    result: CrawlResult = field(default_factory=CrawlResult, init=False)
    seen: set[str] = field(default_factory=set, init=False)
    skipped_urls: set[str] = field(default_factory=set, init=False)
    page_urls: set[str] = field(default_factory=set, init=False)
    origin: tuple[str, str, int | None] | None = field(default=None, init=False)
    queue: deque[tuple[str, int]] = field(default_factory=deque, init=False)
    last_fetch: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.robots = _Robots(self.fetcher)

    def skip(self, url: str, reason: str) -> None:
        if url in self.skipped_urls:
            return
        self.skipped_urls.add(url)
        if len(self.result.skipped) < MAX_SKIPPED:
            self.result.skipped.append(Skipped(url, reason))
        else:
            self.result.skipped_not_listed += 1

    def in_scope(self, url: str) -> str | None:
        """None when the URL may be crawled, else the skip reason."""
        if self.same_origin and self.origin is not None and _origin(url) != self.origin:
            return "off-origin"
        if self.path_prefix and not urlsplit(url).path.startswith(self.path_prefix):
            return f"outside the path prefix {self.path_prefix}"
        ext = posixpath.splitext(urlsplit(url).path)[1].lower()
        if ext in ASSET_EXTENSIONS:
            return f"non-HTML asset ({ext})"
        return None

    def run(self, start_url: str) -> CrawlResult:
        started = time.monotonic()
        start = canonical_url(start_url)
        if start is None:
            self.skip(start_url, "fetch refused: only http and https URLs can be crawled")
            return self.result
        if self.path_prefix and not self.path_prefix.startswith("/"):
            self.path_prefix = "/" + self.path_prefix
        self.queue.append((start, 0))
        self.seen.add(start)
        while self.queue:
            url, depth = self.queue.popleft()
            if len(self.result.pages) >= self.max_pages:
                self.skip(url, "max pages reached")
                continue
            if self.result.bytes_fetched >= self.max_bytes:
                self.skip(url, "max bytes reached")
                continue
            if self.max_seconds is not None and time.monotonic() - started > self.max_seconds:
                self.skip(url, "time limit reached")
                continue
            self.visit(url, depth, is_start=(url == start and depth == 0))
        self.result.elapsed_ms = int((time.monotonic() - started) * 1000)
        return self.result

    def visit(self, url: str, depth: int, is_start: bool) -> None:
        if not is_start:
            reason = self.in_scope(url)
            if reason:
                self.skip(url, reason)
                return
        allowed, why, delay = self.robots.verdict(url)
        if not allowed:
            self.skip(url, why or "blocked by robots.txt")
            return
        if delay:
            wait = min(delay, MAX_CRAWL_DELAY) - (time.monotonic() - self.last_fetch)
            if wait > 0:
                self.sleep(wait)
        budget = self.max_bytes - self.result.bytes_fetched
        limit = min(self.fetcher.max_bytes, budget)
        self.last_fetch = time.monotonic()
        try:
            res = self.fetcher.get(url, headers={"Accept": _ACCEPT}, max_bytes=limit)
        except FetchRefused as exc:
            self.skip(url, f"fetch refused: {exc.reason}")
            return
        except FetchFailed as exc:
            if exc.kind == "too_large" and limit < self.fetcher.max_bytes:
                self.skip(url, f"max bytes reached (the crawl may download {self.max_bytes} bytes in all)")
            else:
                self.skip(url, f"fetch failed: {exc.reason}")
            return
        self.result.bytes_fetched += len(res.content)
        if not res.ok:
            self.skip(url, f"HTTP {res.status}")
            return

        final = canonical_url(res.url) or url
        if is_start:
            self.origin = _origin(final)  # http→https or www redirects on the start URL define the site
        elif final != url:
            reason = self.in_scope(final)
            if reason:
                self.skip(url, f"{reason} (redirected to {final})")
                return
            allowed, why, _ = self.robots.verdict(final)
            if not allowed:
                self.skip(url, f"{why} (redirected to {final})")
                return
        if final in self.page_urls:
            return  # an alias of a page we already have
        self.seen.add(final)
        self.add_page(res, url, final, depth)

    def add_page(self, res: FetchResult, url: str, final: str, depth: int) -> None:
        ctype = res.content_type
        if not ctype and looks_like_html(res.content):
            ctype = "text/html"
        if ctype in HTML_TYPES or (ctype in ("", "application/octet-stream") and looks_like_html(res.content)):
            page = extract_html(res.content, final, encoding=res.charset)
            canonical = canonical_url(page.canonical) if page.canonical else None
            if canonical and canonical != final and canonical in self.page_urls and _origin(canonical) == _origin(final):
                return  # the page says it is a copy of one we already have
            if not page.noindex:
                self._keep(Page(final, page.title or _title_from_url(final), page.markdown, depth, "text/html", res.content))
            else:
                self.skip(url, "excluded by <meta name=robots content=noindex>")
            if not page.nofollow:
                self.enqueue(page.links, depth)
        elif ctype in MARKDOWN_TYPES or ctype in TEXT_TYPES:
            text = res.text.replace("\x00", "")
            title = _markdown_title(text) if ctype in MARKDOWN_TYPES else ""
            self._keep(Page(final, title or _title_from_url(final), text.strip() + "\n", depth, ctype, res.content))
        else:
            self.skip(url, f"non-HTML content ({ctype or 'no content type'})")

    def _keep(self, page: Page) -> None:
        self.page_urls.add(page.url)
        self.result.pages.append(page)

    def enqueue(self, links: list[str], depth: int) -> None:
        for link in links:
            url = canonical_url(link)
            if url is None or url in self.seen:
                continue
            self.seen.add(url)
            reason = self.in_scope(url)
            if reason:
                self.skip(url, reason)
            elif depth + 1 > self.max_depth:
                self.skip(url, "max depth reached")
            else:
                self.queue.append((url, depth + 1))


def _title_from_url(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return posixpath.basename(path) or urlsplit(url).hostname or url


def crawl(
    start_url: str,
    fetcher: SafeFetcher,
    *,
    max_pages: int = 200,
    max_depth: int = 3,
    max_bytes: int = 20_000_000,
    same_origin: bool = True,
    path_prefix: str | None = None,
    max_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CrawlResult:
    """Breadth-first crawl from `start_url` through `fetcher` (see the module docstring).

    `max_depth` counts link hops from the start page (0 = the start page only); `max_bytes` caps the
    bytes downloaded by the whole crawl; `path_prefix` keeps only URLs whose path starts with it;
    `max_seconds` stops fetching new pages after that long (the rest are skipped as "time limit reached").
    """
    if max_pages < 1 or max_depth < 0 or max_bytes < 1:
        raise ValueError("max_pages and max_bytes must be positive and max_depth must not be negative")
    return _Crawl(
        fetcher=fetcher, max_pages=max_pages, max_depth=max_depth, max_bytes=max_bytes, same_origin=same_origin,
        path_prefix=path_prefix, max_seconds=max_seconds, sleep=sleep,
    ).run(start_url)  # fmt: skip
