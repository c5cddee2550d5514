"""OpenAI-compatible Chat Completions provider: OpenAI, vLLM, Ollama (`/v1`), llama.cpp server, ...

`POST {base_url}/chat/completions` with `Authorization: Bearer <key>` (only when a key is configured;
local servers usually need none) and `{model, messages: [system, user], temperature: 0, max_tokens}`.
The answer is `choices[0].message.content` (a string, or a list of `{"type": "text", "text": ...}`
parts); `usage.prompt_tokens` / `completion_tokens` / `total_tokens` become `input_tokens` /
`output_tokens` / `total_tokens`. A leading `<think>...</think>` block (reasoning models served by
Ollama or vLLM) is dropped.
"""

from __future__ import annotations

from typing import Any, ClassVar

from woes.agents.providers.base import ProviderError
from woes.agents.providers.prompting import PromptMessages
from woes.agents.providers.remote import RemoteProvider, error_message

__all__ = ["OPENAI_DEFAULT_BASE_URL", "OpenAICompatProvider"]

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OpenAICompatProvider(RemoteProvider):
    """`OpenAICompatProvider(model, *, base_url=None, api_key=None, timeout=30.0, max_tokens=700,
    allowlist=(), max_retry_wait=4.0)`; `base_url` defaults to https://api.openai.com/v1."""

    name: ClassVar[str] = "openai"
    label: ClassVar[str] = "The OpenAI-compatible model API"
    default_base_url: ClassVar[str] = OPENAI_DEFAULT_BASE_URL

    def _url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def _body(self, messages: PromptMessages) -> dict[str, Any]:
        return {"model": self.model, "messages": messages.as_chat(), "temperature": 0, "max_tokens": self.max_tokens}

    def _error_detail(self, data: Any) -> str | None:
        if not isinstance(data, dict):
            return None
        if "error" in data:
            return error_message(data["error"])
        return error_message(data) or (data.get("detail") if isinstance(data.get("detail"), str) else None)

    def _parse(self, data: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            detail = self._error_detail(data) if "error" in data else None
            reason = f"{self.label} returned no choices" + (f": {detail}" if detail else ".")
            raise ProviderError(self.scrub(reason))
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in ("text", "output_text")
                and isinstance(p.get("text"), str)
            )
        if not isinstance(content, str) or not content.strip():
            refusal = message.get("refusal")
            if isinstance(refusal, str) and refusal.strip():
                raise ProviderError(self.scrub(f"{self.label}: the model refused to answer: {refusal}"))
            raise ProviderError(f"{self.label} returned an empty answer.")
        usage: dict[str, Any] = {}
        raw = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        for ours, theirs in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"),
                             ("total_tokens", "total_tokens")):
            n = _int(raw.get(theirs))
            if n is not None:
                usage[ours] = n
        if "total_tokens" not in usage and "input_tokens" in usage and "output_tokens" in usage:
            usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if isinstance(choice.get("finish_reason"), str):
            usage["stop_reason"] = choice["finish_reason"]
        model = data.get("model") if isinstance(data.get("model"), str) and data.get("model") else None
        return content, usage, model
