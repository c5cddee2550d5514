"""Path templates (`/v1/customers/{customer}`, `/Accounts/{Sid}/Calls/{CallSid}.json`, `/pets/:id`) compared
with the paths a question writes: normalised templates, literal segments, concrete URLs."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=200_000)
def normalised_path_cached(p: str) -> str:
    return normalised_path(p)


def normalised_path(p: str) -> str:
    """Lower-cased, without query, fragment or trailing slash, every path parameter written `{}`."""
    p = p.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower()
    return re.sub(r"\{[^}]*\}|:[a-z_]+", "{}", p)


@functools.lru_cache(maxsize=200_000)
def template_segments(template: str) -> tuple[str, ...]:
    return tuple(x for x in template.split("#", 1)[0].split("?", 1)[0].strip("/").split("/") if x)


def last_literal(path: str | None) -> str:
    """The last segment that is not a path parameter, without extension, lower-cased ('' when none)."""
    literal = [x for x in template_segments(path or "") if "{" not in x and not x.startswith(":")]
    return literal[-1].split(".", 1)[0].lower() if literal else ""


def concrete_path_matches(template: str, concrete: str) -> bool:
    """`/repos/{owner}/{repo}/branches/{branch}/protection` matches `/repos/acme/widgets/branches/main/protection`
    (also when the concrete path carries the server's base path in front)."""
    t = template_segments(template)
    c = concrete.split("?", 1)[0].strip("/").split("/")
    if not t or len(c) < len(t):
        return False
    c = c[len(c) - len(t):]
    for ts, cs in zip(t, c, strict=True):
        if (ts.startswith("{") and ts.endswith("}")) or ts.startswith(":"):
            continue  # a path parameter, even left empty (`/Accounts//Messages.json`)
        if not cs:
            return False
        if "{" in ts:  # `{Sid}.json`
            pre, _, rest = ts.partition("{")
            post = rest.split("}", 1)[1] if "}" in rest else ""
            if not (cs.lower().startswith(pre.lower()) and cs.lower().endswith(post.lower())):
                return False
        elif ts.lower() != cs.lower():
            return False
    return True
