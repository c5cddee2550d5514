"""`$ref` resolution for the spec importers (OpenAPI, AsyncAPI): one resolver, built on `referencing`.

A reference is resolved in three steps:

1. **Locate** the document it names, relative to the document it appears in (its *base*): the same
   document (`#/components/...`), another file of the same source (`schemas.yaml#/Pet`, relative paths,
   never outside the source, never an absolute path), or a remote `http(s)://` document. Other schemes
   (`file://`, ...) and network-path references (`//host/x`) are refused.
2. **Get the document** from a `referencing.Registry` that holds every document by its key (the file's
   path in the source, or the URL) as an opaque resource. A document not yet in the registry is
   retrieved by the registry's `retrieve` function: a file of the source is parsed, a remote document is
   fetched only through `ImportContext.fetch` (the safe-fetch policy, `SafeFetcher.fetch_bytes` in a
   scan) and never more than `MAX_REMOTE_DOCUMENTS` of them, each at most `MAX_REMOTE_DOCUMENT_BYTES`.
   Without a fetcher a remote reference is refused. A document that could not be had is remembered, so
   it is tried (and a remote one reported) once.
3. **Walk the JSON pointer** of the fragment. This is done here rather than by `referencing`'s pointer
   lookup because YAML specs have integer keys (`200:` for a response code) that a pointer names as
   text, and because a pointer must never index into a string or from the end of a list. Plain-name
   fragments (anchors) are not supported.

`RefResolver.deref` follows a chain of references (`A -> B -> schema`) and raises `RefFailure` on a
cycle, on a chain longer than `MAX_REF_HOPS`, or when a step cannot be resolved. A remote document that
cannot be had is reported once per URL (a warning in the import's issues) by the resolver itself; every
other failure is left to the caller, which knows where in the spec it was met: `schema_deref` (for the
schema flattener) and `deref_or_report` are the two reporting policies the importers use.

A `"$ref"` key is only ever followed where the importer asks for it: inside example values it is data."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from referencing import Registry, Resource
from referencing.exceptions import Unretrievable

from woes.importers.base import ImportContext, ImportIssue, SourceFile
from woes.importers.schema_fields import LoadError, RefError, SchemaMemo, clean_text, load_structured

MAX_REMOTE_DOCUMENTS = 20  # remote documents fetched for one import (failed fetches count)
MAX_REMOTE_DOCUMENT_BYTES = 10_000_000  # the safe fetcher's own default body limit, enforced for any fetcher
MAX_REF_HOPS = 32  # references followed in one chain (A -> B -> ... -> target)

Loader = Callable[[str, str], Any]
"""load(text, path) -> the parsed document; raises LoadError with a reason. `path` hints at the format."""

Resolved = tuple[Any, str, "str | None"]
"""(node, base document key of the node, reference id `key#pointer` of the last reference followed)."""

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def document_key(path: str) -> str:
    """The key a source file is known by (and resolved against): a normalized relative POSIX path."""
    p = path.replace("\\", "/")
    p = posixpath.normpath(p) if p else p
    while p.startswith("./"):
        p = p[2:]
    return p.lstrip("/")


def is_url(ref: str) -> bool:
    return bool(_URL.match(ref))


class RefFailure(RefError):
    """A reference that cannot be resolved. `reason` is a sentence for the import's issues.

    `kind`: refused (the reference itself is not allowed), document (the named document cannot be had),
    missing (the pointer names nothing), not_a_pointer, cycle, too_long.
    `remote`: the failure is a remote document that could not be had (already reported, once per URL).
    `document`: the key of the document that could not be had (kind "document").
    `ref_id`: `key#pointer` of the reference that failed (the reference text when it could not be located)."""

    def __init__(
        self, reason: str, kind: str, *, remote: bool = False, document: str | None = None, ref_id: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.remote = remote
        self.document = document
        self.ref_id = ref_id

    def at(self, ref_id: str) -> RefFailure:
        """The same failure, met again through the reference `ref_id`."""
        return RefFailure(self.reason, self.kind, remote=self.remote, document=self.document, ref_id=ref_id)


class RefResolver:
    """Resolves `$ref`s relative to the document (file key or URL) they appear in. One per import.

    `files`: the files of the source (referenced files are parsed on first use with `load`).
    `documents`: documents the importer has parsed already, by `document_key` of their path.
    `issues`: the import's issue list; remote failures and the callers' reports go there.
    `where`: the spec location being read, set by the importer; `schema_deref` reports at it.
    `schema_memo`: the schema flattener's caches for schemas resolved through this resolver."""

    def __init__(
        self,
        files: Iterable[SourceFile],
        ctx: ImportContext,
        issues: list[ImportIssue],
        *,
        documents: Mapping[str, Any] | None = None,
        load: Loader = load_structured,
    ) -> None:
        self.files: dict[str, SourceFile] = {}
        for f in files:
            self.files.setdefault(document_key(f.path), f)
        self.ctx = ctx
        self.issues = issues
        self.load = load
        self.where = ""
        self.schema_memo = SchemaMemo()
        self.registry: Registry[Any] = Registry(retrieve=self._retrieve).with_resources(
            (key, Resource.opaque(doc)) for key, doc in (documents or {}).items()
        )
        self.remote_loaded = 0
        self._failed_documents: dict[str, RefFailure] = {}
        self._pointers: dict[tuple[str, str], Any] = {}
        self._refs: dict[tuple[str, str], Resolved] = {}
        self._reported: set[str] = set()

    # -- reporting ---------------------------------------------------------------------------------
    def report_once(self, key: str, where: str, reason: str, severity: str = "warning") -> None:
        """Add an issue unless one was already added under `key`."""
        if key in self._reported:
            return
        self._reported.add(key)
        self.issues.append(ImportIssue(where=where, reason=reason, severity=severity))

    # -- documents ---------------------------------------------------------------------------------
    def _retrieve(self, key: str) -> Resource[Any]:
        """The registry's `retrieve`: a document not in the registry yet. Raises RefFailure."""
        doc = self._load_remote(key) if is_url(key) else self._load_file(key)
        return Resource.opaque(doc)

    def _load_file(self, key: str) -> Any:
        f = self.files.get(key)
        if f is None:
            raise RefFailure(f"file {key!r} is not part of this source", "document", document=key)
        try:
            return self.load(f.text(), key)
        except LoadError as exc:
            raise RefFailure(f"{key}: {exc.reason}", "document", document=key) from None

    def _load_remote(self, url: str) -> Any:
        def failure(reason: str) -> RefFailure:
            return RefFailure(reason, "document", remote=True, document=url)

        if self.ctx.fetch is None:
            raise failure(f"remote $ref refused: {url} (remote references are not fetched for this import)")
        if self.remote_loaded >= MAX_REMOTE_DOCUMENTS:
            raise failure(f"remote $ref refused: {url} (more than {MAX_REMOTE_DOCUMENTS} remote documents)")
        self.remote_loaded += 1
        try:
            data = self.ctx.fetch(url)
        except Exception as exc:  # the fetch policy refused it, or the fetch failed
            raise failure(f"remote $ref could not be fetched: {url}: {clean_text(str(exc)) or type(exc).__name__}") from None
        text = data if isinstance(data, str) else bytes(data).decode("utf-8", errors="replace")
        if len(data) > MAX_REMOTE_DOCUMENT_BYTES:
            raise failure(f"remote $ref refused: {url} (larger than {MAX_REMOTE_DOCUMENT_BYTES} bytes)")
        try:
            return self.load(text.replace("\x00", ""), urlsplit(url).path)
        except LoadError as exc:
            raise failure(f"remote $ref {url}: {exc.reason}") from None

    def document(self, key: str) -> Any:
        """The parsed document `key` (a file key or URL). Raises RefFailure (kind "document")."""
        failed = self._failed_documents.get(key)
        if failed is not None:
            raise failed.at(key)
        try:
            retrieved = self.registry.get_or_retrieve(key)
        except Unretrievable as exc:
            cause = exc.__cause__
            failure = (
                cause
                if isinstance(cause, RefFailure)
                else RefFailure(f"document {key!r} could not be read", "document", remote=is_url(key), document=key)
            )
            self._failed_documents[key] = failure
            if failure.remote:  # remote problems are reported once per URL, wherever they are met
                self.report_once(key, key, failure.reason)
            raise failure.at(key) from None
        self.registry = retrieved.registry
        return retrieved.value.contents

    # -- references --------------------------------------------------------------------------------
    def locate(self, ref: str, base: str) -> tuple[str, str]:
        """(key of the document `ref` names, fragment), `ref` read relative to the document `base`."""
        ref = ref.strip()
        doc_part, _, frag = ref.partition("#")
        if not doc_part:
            return base, frag
        if is_url(doc_part):
            scheme = urlsplit(doc_part).scheme.lower()
            if scheme not in ("http", "https"):
                raise RefFailure(f"$ref {ref!r} refused: only http(s) remote references are allowed", "refused", ref_id=ref)
            return doc_part, frag
        if doc_part.startswith("//"):
            raise RefFailure(f"$ref {ref!r} refused: network-path references are not supported", "refused", ref_id=ref)
        if is_url(base):
            return urljoin(base, doc_part), frag
        if doc_part.startswith("/"):
            raise RefFailure(f"$ref {ref!r} refused: absolute file paths are not allowed", "refused", ref_id=ref)
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(doc_part)))
        if joined.startswith("../") or joined == "..":
            raise RefFailure(f"$ref {ref!r} points outside the source", "refused", ref_id=ref)
        return document_key(joined), frag

    def pointer(self, key: str, doc: Any, frag: str) -> Any:
        """The node the JSON pointer `frag` names in the document `key`. Raises RefFailure."""
        cache_key = (key, frag)
        if cache_key in self._pointers:
            return self._pointers[cache_key]
        ref_id = f"{key}#{frag}"
        if frag and not frag.startswith("/"):
            raise RefFailure(
                f"$ref fragment '#{frag}' is not a JSON pointer (anchors are not supported)", "not_a_pointer", ref_id=ref_id
            )
        node = doc
        for raw in frag.split("/")[1:] if frag else []:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict):
                if token in node:
                    node = node[token]
                elif token.lstrip("-").isdigit() and int(token) in node:  # YAML int keys (response codes)
                    node = node[int(token)]
                else:
                    raise RefFailure(f"$ref target '#{frag}' not found in {key or 'the document'}", "missing", ref_id=ref_id)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise RefFailure(f"$ref target '#{frag}' not found in {key or 'the document'}", "missing", ref_id=ref_id)
        self._pointers[cache_key] = node
        return node

    def deref(self, node: Any, base: str) -> Resolved:
        """Follow the `$ref` chain starting at `node` (a node that is not a reference is returned as is).
        Raises RefFailure; a remote document that cannot be had is reported (once) before it is raised."""
        ref_id = None
        seen: set[str] = set()
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            hops += 1
            if hops > MAX_REF_HOPS:
                raise RefFailure(f"$ref chain too long (more than {MAX_REF_HOPS} hops) at {ref!r}", "too_long", ref_id=ref)
            hit = self._refs.get((ref, base))
            if hit is None:
                key, frag = self.locate(ref, base)
                ref_id = f"{key}#{frag}"
            else:
                target, key, ref_id = hit
            if ref_id in seen:
                raise RefFailure(f"circular $ref chain at {ref!r}", "cycle", ref_id=ref_id)
            seen.add(ref_id)
            if hit is None:
                try:
                    target = self.pointer(key, self.document(key), frag)
                except RefFailure as exc:
                    raise exc.at(ref_id) from None
                self._refs[(ref, base)] = (target, key, ref_id)
            node, base = target, key
        return node, base, ref_id

    # -- reporting policies ------------------------------------------------------------------------
    def schema_deref(self, node: Any, base: str) -> Resolved:
        """`deref` for the schema flattener: a broken reference is reported (a warning at `where`, once per
        reference and base) and raised, so the field is left untyped."""
        try:
            return self.deref(node, base)
        except RefFailure as exc:
            if not exc.remote:
                ref = node.get("$ref") if isinstance(node, dict) else None
                self.report_once(f"{base}|{ref}", self.where, f"unresolvable $ref {ref!r}: {exc.reason}")
            raise

    def deref_or_report(self, node: Any, base: str, where: str = "") -> tuple[Any | None, str, str | None]:
        """`deref` that never raises: a broken reference gives (None, base, its ref id) and an issue. A
        document that cannot be had is reported once (at the document); a missing target at `where` (or
        at the reference) each time it is met, an error; a cycle or a too long chain as a warning."""
        try:
            return self.deref(node, base)
        except RefFailure as exc:
            if exc.remote:
                pass  # reported once per URL already
            elif exc.kind == "document" and exc.document is not None:
                self.report_once(f"document|{exc.document}", exc.document, exc.reason, "error")
            else:
                ref = node.get("$ref") if isinstance(node, dict) else ""
                severity = "warning" if exc.kind in ("cycle", "too_long") else "error"
                self.issues.append(ImportIssue(where=where or str(ref), reason=exc.reason, severity=severity))
            return None, base, exc.ref_id
