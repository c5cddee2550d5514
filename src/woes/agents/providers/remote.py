"""What the remote providers share: the HTTP call through `SafeFetcher`, retries, errors, key hygiene.

A remote provider is configured once per deployment (WOES_AGENT_*). Its requests go out through the
project's `SafeFetcher`, with

* the deployment allowlist (`WOES_OUTBOUND_ALLOWLIST`), plus
* the provider's own `host:port` when the operator configured the base URL explicitly (so an Ollama on
  127.0.0.1:11434 or a vLLM on an internal host works without also editing the allowlist). The public
  default URLs are not allowlisted: they are public addresses and pass the policy as they are.

Every redirect hop is vetted again by the fetcher (no other private address, no metadata address, no
request body re-sent to another origin, no credentials forwarded across origins).

One call = at most two HTTP requests: a 429 or 5xx answer is retried once, after the server's
`Retry-After` (or `retry-after-ms`) capped at `max_retry_wait` seconds. Any failure raises
`ProviderError` with a one-line reason that is safe to show to an operator: the API key is scrubbed
from it (and from everything logged), and the rest is passed through `redact`.

The key itself is held as a `pydantic.SecretStr` and only unwrapped while building the request headers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from woes.agents.providers.base import Composition, CompositionRequest, ProviderError
from woes.agents.providers.prompting import PromptMessages, build_messages
from woes.config import normalize_base_url
from woes.core.closing import ClosesOnExit
from woes.core.redaction import redact
from woes.core.safefetch import FetchError, FetchRefused, FetchResult, SafeFetcher, parse_allowlist

__all__ = [
    "DEFAULT_MAX_RETRY_WAIT",
    "RemoteProvider",
    "normalize_base_url",
    "provider_allowlist_entry",
]

log = logging.getLogger("woes.agents.providers")

DEFAULT_MAX_RETRY_WAIT = 4.0  # seconds: the longest Retry-After honoured before the single retry
DEFAULT_RETRY_WAIT = 1.0  # seconds, when a 429/5xx answer names no Retry-After
MAX_RESPONSE_BYTES = 4_000_000
MAX_REDIRECTS = 3
_MAX_REASON_CHARS = 300
_HEADER_SAFE_RE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: anything else cannot go into a header
_THINK_RE = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)


def provider_allowlist_entry(base_url: str) -> str:
    """The `host:port` allowlist entry (see `woes.core.safefetch`) for a provider's base URL."""
    parts = urlsplit(normalize_base_url(base_url))
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    entry = f"[{host}]:{port}" if is_v6 else f"{host}:{port}"
    parse_allowlist(entry)  # raises ValueError for a host the fetcher could never reach
    return entry


def _api_key(value: str | SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    raw = raw.strip()
    if not raw:
        return None
    if not _HEADER_SAFE_RE.match(raw):
        raise ValueError("the agent API key contains spaces or characters that cannot be sent in an HTTP header")
    return SecretStr(raw)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class RemoteProvider(ClosesOnExit):
    """Base class of the HTTP providers; subclasses set the wire format.

    Subclasses define `name`, `label`, `default_base_url`, and implement `_url`, `_headers`, `_body`,
    `_parse` and `_error_detail`.
    """

    name: ClassVar[str] = "remote"
    label: ClassVar[str] = "The model provider"
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float = 30.0,
        max_tokens: int = 700,
        allowlist: Sequence[str] | str = (),
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model or not model.strip():
            raise ValueError(f"{self.label} needs a model name (WOES_AGENT_MODEL)")
        if timeout <= 0 or max_tokens <= 0 or max_retry_wait < 0:
            raise ValueError("timeout and max_tokens must be positive and max_retry_wait not negative")
        explicit = bool(base_url and base_url.strip())
        self.model = model.strip()
        self.base_url = normalize_base_url(base_url if explicit else self.default_base_url)  # type: ignore[arg-type]
        self.timeout = float(timeout)
        self.max_tokens = int(max_tokens)
        self.max_retry_wait = float(max_retry_wait)
        self._sleep = sleep  # injectable: tests check the wait without waiting
        self._api_key = _api_key(api_key)
        entries = parse_allowlist(allowlist) if isinstance(allowlist, str) else tuple(allowlist)
        if explicit:
            entries = (*entries, provider_allowlist_entry(self.base_url))
        self.allowlist: tuple[str, ...] = tuple(dict.fromkeys(entries))
        self._fetcher = SafeFetcher(
            allowlist=self.allowlist, timeout=self.timeout, max_bytes=MAX_RESPONSE_BYTES, max_redirects=MAX_REDIRECTS
        )

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # -- lifecycle
    def close(self) -> None:
        self._fetcher.close()

    # -- Provider protocol
    def compose(self, request: CompositionRequest) -> Composition:
        messages = build_messages(request)
        result = self._send(self._body(messages))
        try:
            data = result.json()
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(f"{self.label} returned a response that is not valid JSON (HTTP {result.status}).") from None
        if not isinstance(data, dict):
            raise ProviderError(f"{self.label} returned JSON that is not an object (HTTP {result.status}).")
        text, usage, model = self._parse(data)
        text = _THINK_RE.sub("", text or "").strip()
        if not text:
            raise ProviderError(f"{self.label} returned an empty answer.")
        return Composition(text=text, provider=self.name, model=model or self.model, usage=usage)

    # -- wire format (subclasses)
    def _url(self) -> str:
        raise NotImplementedError

    def _headers(self, api_key: str | None) -> dict[str, str]:
        raise NotImplementedError

    def _body(self, messages: PromptMessages) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, data: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
        """(text, usage, model) from a 2xx JSON body; raises ProviderError for an error body."""
        raise NotImplementedError

    def _error_detail(self, data: Any) -> str | None:
        """The provider's own error message from a JSON error body, if any."""
        raise NotImplementedError

    # -- HTTP
    def _send(self, body: dict[str, Any]) -> FetchResult:
        url = self._url()
        host = urlsplit(url).hostname or "?"
        started = time.monotonic()
        for attempt in (1, 2):
            key = self._api_key.get_secret_value() if self._api_key is not None else None
            headers = self._headers(key)
            del key
            try:
                result = self._fetcher.post(url, json=body, headers=headers, timeout=self.timeout)
            except FetchRefused as exc:
                raise ProviderError(self.scrub(f"{self.label}: the request to {host} was refused: {exc.reason}")) from exc
            except FetchError as exc:
                raise ProviderError(self.scrub(f"{self.label}: the request to {host} failed: {exc.reason}")) from exc
            except Exception as exc:  # noqa: BLE001 - e.g. an httpx error whose text could hold header values
                raise ProviderError(f"{self.label}: the request to {host} failed ({type(exc).__name__}).") from None
            finally:
                headers.clear()
            if result.ok:
                log.info(
                    "agent provider answered",
                    extra={"provider": self.name, "model": self.model, "status": result.status, "attempts": attempt,
                           "latency_ms": int((time.monotonic() - started) * 1000)},
                )
                return result
            if attempt == 1 and (result.status == 429 or result.status >= 500):
                wait = self._retry_wait(result.headers)
                log.warning(
                    "agent provider answered HTTP %s; retrying once in %.1f s", result.status, wait,
                    extra={"provider": self.name, "model": self.model, "status": result.status},
                )
                self._sleep(wait)
                continue
            reason = self._status_reason(result)
            log.warning("agent provider failed: %s", reason, extra={"provider": self.name, "model": self.model,
                                                                  "status": result.status})
            raise ProviderError(reason)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(self, headers: Mapping[str, str]) -> float:
        wait: float | None = None
        ms = headers.get("retry-after-ms", "").strip()
        seconds = headers.get("retry-after", "").strip()
        try:
            if ms:
                wait = float(ms) / 1000
            elif seconds:
                wait = float(seconds)
        except ValueError:
            wait = None
        if wait is None and seconds:
            try:
                wait = parsedate_to_datetime(seconds).timestamp() - time.time()
            except (TypeError, ValueError, IndexError, OverflowError):
                wait = None
        if wait is None or wait != wait:  # absent, unparsable or NaN
            wait = DEFAULT_RETRY_WAIT
        return max(0.0, min(wait, self.max_retry_wait))

    def _status_reason(self, result: FetchResult) -> str:
        status = result.status
        hint = {
            401: " (check WOES_AGENT_API_KEY)",
            403: " (check WOES_AGENT_API_KEY and the model's access rights)",
            404: " (check WOES_AGENT_BASE_URL and WOES_AGENT_MODEL)",
            429: " (rate limited, also after one retry)",
        }.get(status, " (also after one retry)" if status >= 500 else "")
        detail: str | None = None
        try:
            detail = self._error_detail(result.json())
        except (ValueError, UnicodeDecodeError):
            if result.content_type == "text/plain":
                detail = result.text
        reason = f"{self.label} answered HTTP {status}{hint}"
        if detail and str(detail).strip():
            reason += f": {detail}"
        return self.scrub(reason)

    def scrub(self, text: str) -> str:
        """`text` made safe to show and log: no API key (nor a long piece of it), redacted, one line, short."""
        text = _one_line(text)
        if self._api_key is not None:
            key = self._api_key.get_secret_value()
            text = text.replace(key, "[REDACTED]")

            def piece(m: re.Match[str]) -> str:
                return "[REDACTED]" if m.group(0) in key else m.group(0)

            text = re.sub(r"[A-Za-z0-9_-]{8,}", piece, text)
        text = redact(text)
        if len(text) > _MAX_REASON_CHARS:
            text = text[: _MAX_REASON_CHARS - 1].rstrip() + "…"
        return text


def error_message(error: Any) -> str | None:
    """`message` (with `type`/`code`) of an error object, a plain error string, or None."""
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message")
        kind = error.get("type") or error.get("code")
        if isinstance(message, str) and message.strip():
            return f"{message} ({kind})" if isinstance(kind, str) and kind else message
        if isinstance(kind, str) and kind:
            return kind
    return None
