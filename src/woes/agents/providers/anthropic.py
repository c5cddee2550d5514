"""Anthropic Messages API provider.

`POST {base_url}/v1/messages` with `x-api-key`, `anthropic-version: 2023-06-01` and
`{model, max_tokens, system, messages: [{role: "user", content}], temperature: 0}`. The answer is the
concatenated `text` content blocks; `usage.input_tokens` / `output_tokens` are kept (plus their sum as
`total_tokens`). Error bodies are `{"type": "error", "error": {"type": ..., "message": ...}}`, with
any HTTP status (and also accepted, defensively, with a 2xx one).
"""

from __future__ import annotations

from typing import Any, ClassVar

from woes.agents.providers.base import ProviderError
from woes.agents.providers.prompting import PromptMessages
from woes.agents.providers.remote import RemoteProvider, error_message

__all__ = ["ANTHROPIC_DEFAULT_BASE_URL", "ANTHROPIC_VERSION", "AnthropicProvider"]

ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class AnthropicProvider(RemoteProvider):
    """`AnthropicProvider(model, *, base_url=None, api_key=None, timeout=30.0, max_tokens=700,
    allowlist=(), max_retry_wait=4.0)`; `base_url` defaults to https://api.anthropic.com (a base URL
    that already ends in `/v1` is accepted too)."""

    name: ClassVar[str] = "anthropic"
    label: ClassVar[str] = "The Anthropic API"
    default_base_url: ClassVar[str] = ANTHROPIC_DEFAULT_BASE_URL

    def _url(self) -> str:
        if self.base_url.endswith("/v1"):
            return f"{self.base_url}/messages"
        return f"{self.base_url}/v1/messages"

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def _body(self, messages: PromptMessages) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": messages.system,
            "messages": [{"role": "user", "content": messages.user}],
            "temperature": 0,
        }

    def _error_detail(self, data: Any) -> str | None:
        if isinstance(data, dict) and "error" in data:
            return error_message(data["error"])
        return None

    def _parse(self, data: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
        if data.get("type") == "error" or ("error" in data and "content" not in data):
            detail = self._error_detail(data)
            raise ProviderError(self.scrub(f"{self.label} returned an error" + (f": {detail}" if detail else ".")))
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise ProviderError(f"{self.label} returned a message without content blocks.")
        text = "".join(
            b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        )
        stop_reason = data.get("stop_reason") if isinstance(data.get("stop_reason"), str) else None
        if not text.strip():
            if stop_reason == "refusal":
                raise ProviderError(f"{self.label}: the model refused to answer.")
            raise ProviderError(f"{self.label} returned an empty answer.")
        usage: dict[str, Any] = {}
        raw = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        for name in ("input_tokens", "output_tokens"):
            n = _int(raw.get(name))
            if n is not None:
                usage[name] = n
        if "input_tokens" in usage and "output_tokens" in usage:
            usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if stop_reason:
            usage["stop_reason"] = stop_reason
        model = data.get("model") if isinstance(data.get("model"), str) and data.get("model") else None
        return text, usage, model
