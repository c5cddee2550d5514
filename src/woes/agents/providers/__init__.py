"""Model providers (SPEC §8 "Model providers").

The provider is deployment configuration (WOES_AGENT_PROVIDER = offline | openai | anthropic), never a
per-customer choice. `get_provider(settings)` builds the configured remote provider; it returns None for
`offline`, which means: use the built-in offline provider that composes answers from the evidence itself
(no network, no model download).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from woes.agents.providers.base import Provider
    from woes.config import Settings

__all__ = ["get_provider"]


def get_provider(settings: Settings) -> Provider | None:
    """The remote provider the deployment configured, or None for the built-in offline provider.

    The provider's requests go through `SafeFetcher` with `settings.outbound_allowlist` plus, when
    `WOES_AGENT_BASE_URL` is set, that URL's `host:port`. Raises ValueError for an unusable
    configuration (the settings validators already refuse most of them at load time).
    """
    kind = settings.agent_provider
    if kind == "offline":
        return None
    common = {
        "base_url": settings.agent_base_url or None,
        "api_key": settings.agent_api_key,
        "timeout": settings.agent_timeout_seconds,
        "max_tokens": settings.agent_max_tokens,
        "allowlist": settings.outbound_allowlist,
    }
    if kind == "openai":
        from woes.agents.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(settings.agent_model, **common)
    if kind == "anthropic":
        from woes.agents.providers.anthropic import AnthropicProvider

        return AnthropicProvider(settings.agent_model, **common)
    raise ValueError(f"unknown agent provider {kind!r}; use offline, openai or anthropic")
