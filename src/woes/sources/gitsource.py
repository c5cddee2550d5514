"""Public Git repositories as sources: a shallow clone over smart HTTP(S) into memory, every HTTP
request going through safe fetch (dulwich's git client with our transport), then the files at HEAD
under an optional path filter."""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from dulwich.client import AbstractHttpGitClient
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Blob, Commit
from dulwich.repo import MemoryRepo

from woes.core.safefetch import FetchError, SafeFetcher

MAX_FILES = 2000
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_PACK_BYTES = 200 * 1024 * 1024


class GitSourceError(Exception):
    pass


class _Response:
    def __init__(self, status: int, headers: dict[str, str], content: bytes, final_url: str, url: str) -> None:
        self.status = status
        self.headers = headers
        self.content_type = headers.get("content-type")
        self.redirect_location = final_url if final_url != url else ""
        self._body = io.BytesIO(content)

    def read(self, n: int = -1) -> bytes:
        return self._body.read(n)

    def close(self) -> None:
        self._body.close()


class SafeHttpGitClient(AbstractHttpGitClient):
    """dulwich's smart-HTTP git protocol over SafeFetcher (no private addresses, redirects re-checked)."""

    def __init__(self, base_url: str, fetcher: SafeFetcher, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._fetcher = fetcher

    def _http_request(self, url: str, headers: dict[str, str] | None = None,
                      data: bytes | Iterator[bytes] | None = None, raise_for_status: bool = True
                      ) -> tuple[Any, Callable[[int], bytes]]:
        body = data if isinstance(data, bytes | None) else b"".join(data)
        try:
            got = self._fetcher.request("GET" if body is None else "POST", url, headers={**(headers or {}), "Pragma": "no-cache"},
                                        content=body, max_bytes=MAX_PACK_BYTES)
        except FetchError as exc:
            raise GitProtocolError(str(exc)) from exc
        if raise_for_status:
            if got.status == 404:
                raise NotGitRepository()
            if got.status != 200:
                raise GitProtocolError(f"unexpected HTTP {got.status} for {url}")
        resp = _Response(got.status, got.headers, got.content, got.url, url)
        return resp, resp.read


def clone_files(url: str, fetcher: SafeFetcher, path_filter: str | None = None) -> list[tuple[str, bytes]]:
    """The files of the default branch's HEAD commit (under `path_filter`), as (path, bytes)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GitSourceError("Give the repository's http(s) clone URL.")
    if parts.username or parts.password:
        raise GitSourceError("Credentials in the URL are not accepted; only public repositories are supported.")
    base = url[: -len(parts.path)] if parts.path else url
    client = SafeHttpGitClient(base, fetcher)
    repo = MemoryRepo()
    try:
        result = client.fetch(parts.path or "/", repo, depth=1)
    except (GitProtocolError, HangupException, NotGitRepository) as exc:
        detail = str(exc).strip() or ("it is not a Git repository" if isinstance(exc, NotGitRepository) else type(exc).__name__)
        raise GitSourceError(f"Cloning {url} failed: {detail}") from None
    head = result.refs.get(b"HEAD")
    if head is None:
        symref = (result.symrefs or {}).get(b"HEAD")
        head = result.refs.get(symref) if symref else None
    if head is None:
        raise GitSourceError(f"{url} has no HEAD commit.")
    commit = repo.object_store[head]
    if not isinstance(commit, Commit):
        raise GitSourceError("HEAD is not a commit.")
    prefix = posixpath.normpath(path_filter.strip("/")) + "/" if path_filter and path_filter.strip("/") else ""
    files: list[tuple[str, bytes]] = []
    total = 0
    for entry in iter_tree_contents(repo.object_store, commit.tree):
        path = entry.path.decode("utf-8", errors="replace")
        if prefix and not (path + "/").startswith(prefix) and not path.startswith(prefix):
            continue
        if (entry.mode & 0o170000) != 0o100000:  # regular files only (no symlinks, submodules)
            continue
        blob = repo.object_store[entry.sha]
        if not isinstance(blob, Blob):
            continue
        data = blob.as_raw_string()
        total += len(data)
        if total > MAX_TOTAL_BYTES or len(files) >= MAX_FILES:
            raise GitSourceError(f"The repository is larger than {MAX_FILES} files / {MAX_TOTAL_BYTES} bytes; use gitPath.")
        files.append((path[len(prefix):] if prefix else path, data))
    if not files:
        raise GitSourceError(f"No files under '{path_filter}'." if path_filter else "The repository is empty.")
    return files
