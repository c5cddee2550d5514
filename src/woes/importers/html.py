"""HTML → Markdown for website sources (used by the crawler in `woes.sources.crawl` and the website importer).

HTML → Markdown: BeautifulSoup (stdlib `html.parser` backend, no C dependency) + markdownify.
* BeautifulSoup is the well-kept, forgiving parser that real-world HTML needs; we use it to find links,
  `<base>`, `<link rel=canonical>`, robots meta, the title, the main content (`<main>`, `[role=main]`,
  `<article>`), and to drop page chrome (nav/header/footer/aside, scripts, styles, forms, cookie banners,
  sidebars/TOCs by ARIA role or common class names) before conversion.
* markdownify converts the remaining tree (headings, lists, tables, links, emphasis, inline code) with
  hooks we need: `<pre>` blocks are rebuilt by us from the element's whole text (entities unescaped,
  `<br>` kept as line breaks, syntax-highlighting spans flattened, line-number gutters removed) into a
  fenced block whose language comes from `language-x` / `lang-x` / `highlight-x` / `data-lang` classes
  and whose fence is longer than any backtick run inside; `|` in table cells is escaped; underscores and
  asterisks are *not* escaped so identifiers (`snake_case`, `files[n]`) stay searchable.
* Heavier "main content extraction" libraries (trafilatura, readability) pull in lxml and many extra
  packages and tend to drop reference tables and code samples, which are exactly what API docs need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, Tag
from markdownify import MarkdownConverter

from woes.importers.markdown_blocks import structure

_CHROME_TAGS = ("nav", "aside", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "form",
                "button", "input", "select", "textarea", "dialog", "object", "embed", "link", "meta")  # fmt: skip
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "dialog"}
_CHROME_CLASS = re.compile(
    r"^(?:sidebar|side-bar|sidenav|site-nav|navbar|nav-bar|toc|table-of-contents|breadcrumbs?|skip-link|"
    r"cookie[-_]?(?:banner|consent|notice)?|site-header|site-footer|page-footer|edit-this-page|"
    r"pagination|feedback|announcement-bar|theme-toggle|copy-button|headerlink|anchor-link|hash-link)$",
    re.I,
)
_LINE_NUMBER_CLASS = re.compile(r"^(?:linenos?|lineno|line-numbers?(?:-rows)?|gutter|hljs-ln-numbers)$", re.I)
_LANG_CLASS = re.compile(r"^(?:language|lang|highlight|highlight-source|brush:?)-?([A-Za-z0-9_+#.-]+)$")
_HTML_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|h[1-6]|article|main|section|table|ul)\b",
    re.I | re.S,
)


def looks_like_html(data: bytes | str) -> bool:
    head = data[:2048] if isinstance(data, bytes) else data[:2048].encode("utf-8", "replace")
    return bool(_HTML_SNIFF.match(head.lstrip(b"\xef\xbb\xbf")))


def _code_language(pre: Tag) -> str:
    candidates: list[Tag] = [pre]
    code = pre.find("code")
    if isinstance(code, Tag):
        candidates.insert(0, code)
    parent = pre.parent
    for _ in range(2):  # <div class="highlight-python"><div class="highlight"><pre>
        if isinstance(parent, Tag):
            candidates.append(parent)
            parent = parent.parent
    for el in candidates:
        for attr in ("data-lang", "data-language"):
            value = el.get(attr)
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_+#.-]{1,30}", value.strip()):
                return value.strip().lower()
        for cls in el.get("class") or []:
            m = _LANG_CLASS.match(cls)
            if m and m.group(1).lower() not in ("none", "plaintext", "text", "default", "source"):
                return m.group(1).lower()
    return ""


def _pre_text(pre: Tag) -> str:
    for gutter in pre.find_all(class_=_LINE_NUMBER_CLASS):
        gutter.decompose()
    for br in pre.find_all("br"):
        br.replace_with("\n")
    text = pre.get_text()
    return text.strip("\n").rstrip()


class _Converter(MarkdownConverter):
    def convert_pre(self, el, text, parent_tags):  # type: ignore[override]
        code = _pre_text(el)
        if not code.strip():
            return ""
        runs = [len(r) for r in re.findall(r"`+", code)]
        fence = "`" * max(3, max(runs, default=0) + 1)
        return f"\n\n{fence}{_code_language(el)}\n{code}\n{fence}\n\n"

    def convert_td(self, el, text, parent_tags):  # type: ignore[override]
        return super().convert_td(el, text.replace("|", r"\|"), parent_tags)

    def convert_th(self, el, text, parent_tags):  # type: ignore[override]
        return super().convert_th(el, text.replace("|", r"\|"), parent_tags)

    def convert_img(self, el, text, parent_tags):  # type: ignore[override]
        alt = (el.attrs.get("alt") or "").strip()
        return alt  # images are noise for a text model; their alt text is kept


_CONVERTER_OPTIONS = {
    "heading_style": "ATX",
    "bullets": "-",
    "escape_underscores": False,
    "escape_asterisks": False,
    "escape_misc": False,
    "table_infer_header": True,
    "strip_document": "strip",
}


@dataclass
class HtmlPage:
    title: str
    markdown: str
    links: list[str] = field(default_factory=list)  # absolute, as written (not canonicalized)
    canonical: str | None = None
    noindex: bool = False
    nofollow: bool = False


def _is_chrome(el: Tag) -> bool:
    if el.name in ("header", "footer"):
        # a page's own <header> inside <article>/<main> usually holds its title: keep it
        return el.find_parent(["article", "main"]) is None
    role = (el.get("role") or "").lower()
    if role in _CHROME_ROLES:
        return True
    if (el.get("aria-hidden") or "").lower() == "true":
        return True
    names = list(el.get("class") or [])
    if isinstance(el.get("id"), str):
        names.append(el["id"])
    return any(_CHROME_CLASS.match(n) for n in names)


def _main_content(soup: BeautifulSoup) -> Tag:
    for selector in ("main", "[role=main]"):
        found = soup.select(selector)
        if found:
            return max(found, key=lambda t: len(t.get_text()))
    articles = soup.find_all("article")
    if articles:
        best = max(articles, key=lambda t: len(t.get_text()))
        if len(articles) == 1 or len(best.get_text()) > 200:
            return best
    return soup.body or soup


def extract_html(html: bytes | str, base_url: str | None = None, encoding: str | None = None) -> HtmlPage:
    """Parse a page once: its links (from the whole page, chrome included), title and clean Markdown."""
    if isinstance(html, bytes):
        soup = BeautifulSoup(html, "html.parser", from_encoding=encoding)
    else:
        soup = BeautifulSoup(html, "html.parser")

    base = base_url
    base_tag = soup.find("base", href=True)
    if base_url and isinstance(base_tag, Tag):
        base = urljoin(base_url, str(base_tag["href"]).strip())

    robots = ""
    for meta in soup.find_all("meta", attrs={"name": re.compile(r"^(robots|woes)$", re.I)}):
        robots += "," + str(meta.get("content") or "").lower()
    canonical = None
    for link in soup.find_all("link", href=True):
        rel = [r.lower() for r in (link.get("rel") or [])]
        if "canonical" in rel:
            canonical = urljoin(base, str(link["href"]).strip()) if base else str(link["href"]).strip()
            break

    links: list[str] = []
    for a in soup.find_all(["a", "area"], href=True):
        href = str(a["href"]).strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        links.append(urljoin(base, href) if base else href)

    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for el in soup.find_all(_CHROME_TAGS):
        el.decompose()
    for el in list(soup.find_all(True)):
        if not el.decomposed and el.parent is not None and _is_chrome(el):
            el.decompose()

    main = _main_content(soup)
    title = ""
    h1 = main.find("h1")
    if isinstance(h1, Tag):
        title = h1.get_text(" ", strip=True)
    if not title and soup.title is not None:
        title = soup.title.get_text(" ", strip=True)
    if base:
        for a in main.find_all("a", href=True):
            href = str(a["href"]).strip()
            if href.startswith("#"):
                continue  # in-page anchors: the text is what matters
            a["href"] = urljoin(base, href)
    for a in main.find_all("a", href=True):
        if str(a["href"]).startswith("#"):
            a.unwrap()
    for anchor in main.find_all("a", href=False):
        anchor.unwrap()
    if soup.title is not None:
        soup.title.decompose()

    markdown = _Converter(**_CONVERTER_OPTIONS).convert_soup(main)
    return HtmlPage(
        title=title,
        markdown=_tidy(markdown),
        links=links,
        canonical=canonical,
        noindex="noindex" in robots or "none" in robots.split(","),
        nofollow="nofollow" in robots or "none" in robots.split(","),
    )


def html_to_markdown(html: bytes | str, base_url: str | None = None) -> str:
    """Clean Markdown of a page's main content (chrome dropped, code blocks fenced and whole)."""
    return extract_html(html, base_url).markdown


def _tidy(markdown: str) -> str:
    """Trailing spaces off and runs of blank lines down to one, outside fenced code (kept as converted)."""
    out: list[str] = []
    lines = markdown.split("\n")
    fences = structure(lines).fences
    blank = 0
    i = 0
    while i < len(lines):
        if i in fences:
            out.append(lines[i].rstrip())
            out.extend(lines[i + 1 : fences[i].end])
            i, blank = fences[i].end, 0
            continue
        line = lines[i].rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 1:
            out.append(line)
        i += 1
    return "\n".join(out).strip() + "\n"


# ------------------------------------------------------------------------------ tags inside text
# Descriptions in specs and Markdown carry stray inline tags (`<p>`, `<br/>`, `<code>`). Where a caller wants
# them out of a text that is *not* an HTML document (a chunk for the embedding model, a plain sentence, a table
# cell), the tags are removed as tokens: parsing the text as HTML would also decode entities and drop
# placeholders such as `<customer_id>` or `<token>` that are part of the text.

HTML_ELEMENTS = ("p", "br", "code", "pre", "a", "b", "i", "em", "strong", "ul", "ol", "li", "table", "thead", "tbody",
                 "tr", "td", "th", "span", "div", "h[1-6]", "blockquote", "sup", "sub", "details", "summary", "img",
                 "hr", "dl", "dt", "dd")  # fmt: skip
_ANY_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_TAGS_NAMED: dict[tuple[str, ...], re.Pattern[str]] = {}


def strip_tags(text: str, *, replacement: str = "", elements: tuple[str, ...] | None = None) -> str:
    """`text` with its tags replaced by `replacement`: every tag-shaped token (`<x ...>`, `</x>`, `<x/>`), or,
    with `elements`, only tags of those element names (case-insensitive; `HTML_ELEMENTS` for real HTML)."""
    if elements is None:
        return _ANY_TAG.sub(replacement, text)
    pattern = _TAGS_NAMED.get(elements)
    if pattern is None:
        pattern = _TAGS_NAMED[elements] = re.compile(rf"</?(?:{'|'.join(elements)})(?:\s[^<>]*)?/?>", re.I)
    return pattern.sub(replacement, text)
