"""Website sources: crawled pages → one Document per page.

The scan job crawls with `woes.sources.crawl.crawl(url, fetcher, ...)` (network, safe-fetch policy)
and then either
* hands the result to `WebsiteImporter.from_crawl(result)` directly, or
* stores the fetched pages as `SourceFile(path=<page URL>, data=<fetched bytes>)` (`crawl_files`) for
  content hashing, and later calls `WebsiteImporter().parse(files, ctx)`; parse never touches the
  network: HTML is converted with the same `extract_html` the crawl uses, Markdown/plain text is kept.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from woes.importers.base import ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from woes.importers.html import extract_html, looks_like_html
from woes.importers.markdown import clean_markdown, markdown_title
from woes.importers.records import Document

__all__ = ["WebsiteImporter", "crawl_files", "skipped_to_issues"]


# The crawl result (woes.sources.crawl.crawl makes it; the importer reads it).


@dataclass
class Page:
    url: str
    title: str
    markdown: str
    depth: int
    content_type: str = "text/html"
    data: bytes = field(default=b"", repr=False)  # the fetched bytes (for hashing / storing as a SourceFile)


@dataclass
class Skipped:
    url: str
    reason: str


@dataclass
class CrawlResult:
    pages: list[Page] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_not_listed: int = 0  # skipped URLs beyond MAX_SKIPPED (counted, not listed)
    bytes_fetched: int = 0
    elapsed_ms: int = 0


HTML_EXTENSIONS = (".html", ".htm", ".xhtml")
MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mdx")

# Skips that are a scan problem (listed as errors); the others (off-origin links, limits, robots) are notes.
_ERROR_PREFIXES = ("fetch refused", "fetch failed", "HTTP ")


def _is_url(path: str) -> bool:
    return path.lower().startswith(("http://", "https://"))


def _cap(markdown: str, limit: int) -> tuple[str, bool]:
    data = markdown.encode("utf-8")
    if len(data) <= limit:
        return markdown, False
    return data[:limit].decode("utf-8", errors="ignore").rstrip() + "\n\n… (truncated)\n", True


def _url_title(path: str) -> str:
    if _is_url(path):
        parts = urlsplit(path)
        return posixpath.basename(parts.path.rstrip("/")) or parts.hostname or path
    return posixpath.basename(path) or path


def skipped_to_issues(result: CrawlResult) -> list[ImportIssue]:
    issues = [
        ImportIssue(where=s.url, reason=s.reason, severity="error" if s.reason.startswith(_ERROR_PREFIXES) else "warning")
        for s in result.skipped
    ]
    if result.skipped_not_listed:
        issues.append(ImportIssue("crawl", f"{result.skipped_not_listed} more skipped URLs were not listed", "warning"))
    return issues


def crawl_files(result: CrawlResult) -> list[SourceFile]:
    """The crawled pages as source files (path = final URL, data = the fetched bytes)."""
    return [SourceFile(path=p.url, data=p.data or p.markdown.encode("utf-8")) for p in result.pages]


class WebsiteImporter:
    format = "website"

    def detect(self, files: list[SourceFile]) -> float:
        if not files:
            return 0.0
        urls = sum(1 for f in files if _is_url(f.path))
        if urls == len(files):
            return 0.95
        html = sum(1 for f in files if f.path.lower().endswith(HTML_EXTENSIONS) or looks_like_html(f.data[:2048]))
        if html and html >= len(files) / 2:
            return 0.75
        return 0.4 if html else 0.0

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        for f in files:
            try:
                doc = self._document(f)
            except Exception as exc:  # noqa: BLE001 - one broken page must not lose the others
                result.issues.append(ImportIssue(f.path, f"page could not be converted: {exc}"))
                continue
            if doc is None:
                result.issues.append(ImportIssue(f.path, "page has no readable text; skipped", "warning"))
                continue
            doc.markdown, cut = _cap(doc.markdown, ctx.max_document_bytes)
            if cut:
                result.issues.append(
                    ImportIssue(f.path, f"page larger than {ctx.max_document_bytes} bytes; truncated", "warning")
                )
            result.documents.append(doc)
        if not result.documents:
            raise ImportError_("no readable page: every file was empty or could not be converted")
        urls = [d.path for d in result.documents if _is_url(d.path)]
        if urls:
            result.title = urlsplit(urls[0]).hostname
        return result

    @staticmethod
    def _document(f: SourceFile) -> Document | None:
        low = f.path.lower().split("?", 1)[0]
        if low.endswith(MARKDOWN_EXTENSIONS) or (not low.endswith(HTML_EXTENSIONS) and not looks_like_html(f.data)):
            if b"\x00" in f.data[:4096]:
                return None
            text = clean_markdown(f.text())
            if not text.strip():
                return None
            return Document(title=markdown_title(text) or _url_title(f.path), path=f.path, markdown=text)
        page = extract_html(f.data, f.path if _is_url(f.path) else None)
        if not page.markdown.strip():
            return None
        return Document(title=page.title or _url_title(f.path), path=f.path, markdown=page.markdown)

    def from_crawl(self, crawl: CrawlResult, ctx: ImportContext | None = None) -> ImportResult:
        """ImportResult straight from a crawl (pages already converted), skipped URLs as issues."""
        ctx = ctx or ImportContext()
        result = ImportResult(format=self.format, issues=skipped_to_issues(crawl))
        for page in crawl.pages:
            markdown, cut = _cap(page.markdown, ctx.max_document_bytes)
            if cut:
                result.issues.append(
                    ImportIssue(page.url, f"page larger than {ctx.max_document_bytes} bytes; truncated", "warning")
                )
            if markdown.strip():
                result.documents.append(Document(title=page.title or _url_title(page.url), path=page.url, markdown=markdown))
        if crawl.pages:
            result.title = urlsplit(crawl.pages[0].url).hostname
        return result
