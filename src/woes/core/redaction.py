"""Redaction of secrets and sensitive values.

Everything that leaves the process in text form -- log lines, prompts sent to AI
models, traces, webhook payloads -- goes through :func:`redact` (or one of the
structured helpers) first.  Each secret is replaced by ``[REDACTED:<kind>]``;
the text around it (quotes, punctuation, whitespace, JSON structure, the rest
of a URL, the ``Bearer`` word, the key of a ``key=value`` pair) is left alone.

Pure Python, stdlib ``re`` only, no I/O.  Design notes:

* One precompiled pattern per format.  A rule only runs when one of its cheap
  trigger substrings occurs in the text, so a clean line costs a handful of
  ``in`` checks plus one digit scan for card numbers.
* Quantifiers are possessive / atomic (Python >= 3.11) or bounded, and every
  pattern starts at a literal or at a narrow character, so there is no
  catastrophic backtracking on hostile input.
* Overlapping findings are merged (the earliest, longest, most specific wins),
  so a secret is never left half-redacted.
* Idempotent: ``redact(redact(x)) == redact(x)``; nothing matches a
  ``[REDACTED:...]`` placeholder.

Public, never redacted: Stripe publishable keys (``pk_live_``/``pk_test_``)
and Woes widget keys (``trovw_``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

__all__ = [
    "SecretMatch",
    "contains_secret",
    "find_secrets",
    "redact",
    "redact_headers",
    "redact_value",
]

_PLACEHOLDER_PREFIX = "[REDACTED"
_HEADER_PLACEHOLDER = "[REDACTED]"
# Values with these prefixes are public by design and never redacted, even when
# they sit under a secret-sounding key.
_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "trovw_")
# Values under a secret-sounding key that say "nothing here" are left alone.
_EMPTY_WORDS = frozenset({"null", "none", "nil", "true", "false", "undefined"})
# Guard used at the start of every captured secret: never re-redact a placeholder.
_NR = r"(?!\[REDACTED)"


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """One secret found in a text: ``text[start:end]`` is the sensitive part."""

    kind: str
    start: int
    end: int


class _Hit(NamedTuple):
    start: int
    end: int
    kind: str
    priority: int
    quote: str  # wrap the placeholder in this quote (bare JSON value), usually ""


# (start, end, kind, quote)
_Raw = tuple[int, int, str, str]
_Handler = Callable[["re.Match[str]", str], Iterable[_Raw]]


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    handler: _Handler
    triggers: tuple[str, ...] = ()  # run only if one occurs (empty: always run)
    icase: bool = False  # triggers are lower-case, checked against text.lower()


def _span(kind: str, group: str | int = 0) -> _Handler:
    """Handler: the whole match (or one group) is the secret."""

    def handle(m: re.Match[str], text: str) -> Iterator[_Raw]:
        start, end = m.span(group)
        yield start, end, kind, ""

    return handle


def _span_if(kind: str, check: Callable[[str], bool], group: str | int = 0) -> _Handler:
    """Handler: like :func:`_span`, but only when ``check(secret)`` agrees."""

    def handle(m: re.Match[str], text: str) -> Iterator[_Raw]:
        if check(m.group(group)):
            start, end = m.span(group)
            yield start, end, kind, ""

    return handle


# --------------------------------------------------------------------- formats

# PEM private key block, whole block.  The body cannot contain "-----", so the
# scan from a BEGIN line stops at the next dash run; a block cut off before its
# END line (truncated log) is redacted up to the end of its base64 lines.
_PEM_LABEL = r"[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM_RE = re.compile(
    r"-----BEGIN" + _PEM_LABEL
    + r"(?:(?:[^-]|-(?!----))*+-----END" + _PEM_LABEL
    + r"|(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9+/=]++)++)"
)

_STRIPE_RE = re.compile(r"(?<![A-Za-z0-9])[rs]k_(?:live|test)_[A-Za-z0-9]{10,}+")
_WHSEC_RE = re.compile(r"(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/=]{16,}+")
# woesk_ + token_urlsafe(32).  The 14-character display prefix ("woesk_" + 8)
# is meant to be shown and is not matched.
_WOES_KEY_RE = re.compile(r"(?<![A-Za-z0-9])woesk_[A-Za-z0-9_-]{16,}+")
_GITHUB_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{20,}+)"
)
_SLACK_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:xox[abeposr]-[A-Za-z0-9-]{10,}+|xapp-[0-9]-[A-Za-z0-9-]{10,}+)"
)
_AWS_KEY_ID_RE = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
_GOOGLE_RE = re.compile(r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")
_ANTHROPIC_RE = re.compile(r"(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,}+")
_OPENAI_RE = re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}+")
# header.payload.signature, base64url; an unsigned token ("alg": "none") ends
# with its final dot.
_JWT_RE = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"
)
# scheme://user:password@host -- only the password.  Anchored on "://" (the
# scheme is not part of the match, so long words cannot cause quadratic scans).
_URL_PASSWORD_RE = re.compile(
    r"://[^\s:/?#@\"'<>\[\]\\]*+:(?P<s>" + _NR + r"[^\s/?#\"'<>\\]+)@"
)

_QUOTE_OPT = r"(?:\\?[\"'])?+"
_SEP = r"[ \t]*+(?:=>|:=|[:=])[ \t]*+"

# Authorization header in any textual form: `Authorization: Bearer x`,
# `"authorization": "Basic x"`, `authorization=x` ...  The scheme word is kept.
_AUTH_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])(?:proxy-)?authorization" + _QUOTE_OPT + _SEP + _QUOTE_OPT
    + r"(?>(?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key"
    r"|sso-key|dpop|hawk|mac|otp)[ \t]+)?)"
    r"(?P<s>" + _NR + r"[^\s\"'\\,;]+)"
)
_BEARER_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])bearer[ \t]+(?P<s>" + _NR + r"[A-Za-z0-9._~+/-]++=*+)"
)
_BASIC_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])basic[ \t]+(?P<s>" + _NR + r"[A-Za-z0-9+/]{4,}+={0,2}+)"
)


def _value_re(bare: str) -> str:
    """A value after ``key:`` / ``key=``: \\"escaped\\", "double", 'single' or bare."""
    return (
        r"(?:\\\"(?P<v1>" + _NR + r"(?:[^\"\\\r\n]|\\(?!\")[^\r\n])*+)"
        r"|\"(?P<v2>" + _NR + r"(?:[^\"\\\r\n]|\\[^\r\n])*+)"
        r"|'(?P<v3>" + _NR + r"(?:[^'\\\r\n]|\\[^\r\n])*+)"
        r"|(?P<v4>" + _NR + bare + r"))"
    )


_COOKIE_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])(?:set-)?cookie(?P<kq>" + _QUOTE_OPT + r")" + _SEP
    + _value_re(r"[^\r\n\"'\\]++")
)

# key=value / "key": "value" pairs.  The key must *end* with the secret word
# (`max_tokens`, `token_type`, `passwordless` are not secrets).
_KV_KEYS = (
    r"aws[_-]?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key|secret[_-]?access[_-]?key"
    r"|client[_-]?secret|secret[_-]?key|private[_-]?key|api[_-]?key|access[_-]?key"
    r"|passphrase|password|passwd|secret|token"
)
_KV_RE = re.compile(
    r"(?i)(?P<key>" + _KV_KEYS + r")(?![A-Za-z0-9_-])(?P<kq>" + _QUOTE_OPT + r")"
    + _SEP + r"(?!:)" + _value_re(r"[^\s\"'&,;<>{}\[\]()\\]++")
)
_KV_TRIGGERS = (
    "passw", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
    "accesskey", "access_key", "access-key", "privatekey", "private_key", "private-key",
)

# Runs of 13+ digits, single spaces or dashes between them; not glued to a word,
# a decimal point, a "+" (phone number) or a previous digit group.
_CARD_RE = re.compile(
    r"[0-9](?<![A-Za-z0-9_.+][0-9])(?<![0-9][ -][0-9])(?:[ -]?[0-9]){12,}+"
)
_DIGITS_RE = re.compile(r"[0-9]+")


# -------------------------------------------------------------------- handlers


def _pem(m: re.Match[str], text: str) -> Iterator[_Raw]:
    start, end = m.span()
    yield start, end, "private_key", ""


def _openai_ok(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _bearer_ok(token: str) -> bool:
    # Outside an Authorization header, "bearer" is also an English word: the
    # credential must look like one (long enough, has a digit).
    return len(token) >= 8 and any(c.isdigit() for c in token)


def _basic_ok(cred: str) -> bool:
    # Outside an Authorization header, only a real base64("user:password").
    body = cred.rstrip("=")
    if len(body) < 4:
        return False
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


_AUTH_SCHEME_KIND = {"bearer": "bearer", "basic": "basic_auth"}


def _auth(m: re.Match[str], text: str) -> Iterator[_Raw]:
    scheme = (m.group("scheme") or "").lower()
    start, end = m.span("s")
    yield start, end, _AUTH_SCHEME_KIND.get(scheme, "secret"), ""


def _kv_kind(key: str) -> str:
    k = key.lower().replace("-", "").replace("_", "")
    if k.startswith("pass"):
        return "password"
    if k.startswith("aws") or k == "secretaccesskey":
        return "aws_secret_key"
    if k.endswith("secret") or k == "secretkey":
        return "secret"
    if k == "privatekey":
        return "private_key"
    if k == "token":
        return "token"
    return "api_key"


def _value_span(m: re.Match[str]) -> tuple[int, int, bool] | None:
    """(start, end, bare) of the value of a key/value match, or None to skip it."""
    for group in ("v1", "v2", "v3", "v4"):
        start, end = m.span(group)
        if start >= 0:
            break
    else:  # pragma: no cover - one alternative always matches
        return None
    bare = group == "v4"
    value = m.string[start:end]
    if bare:  # a sentence's full stop is not part of the value
        stripped = value.rstrip(".")
        end -= len(value) - len(stripped)
        value = stripped
    if bare and group == "v4" and m.re is _COOKIE_RE:
        stripped = value.rstrip()
        end -= len(value) - len(stripped)
        value = stripped
    if not value or value.lower() in _EMPTY_WORDS or value.startswith(_PUBLIC_PREFIXES):
        return None
    return start, end, bare


def _kv(m: re.Match[str], text: str) -> Iterator[_Raw]:
    found = _value_span(m)
    if found is None:
        return
    start, end, bare = found
    # A bare value under a quoted key ("password": 1234) is a JSON/Python
    # literal: quote the placeholder so the document stays parseable.
    quote = m.group("kq") if bare else ""
    yield start, end, _kv_kind(m.group("key")), quote


def _cookie(m: re.Match[str], text: str) -> Iterator[_Raw]:
    found = _value_span(m)
    if found is None:
        return
    start, end, bare = found
    yield start, end, "cookie", m.group("kq") if bare else ""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _card_prefix_ok(digits: str) -> bool:
    # Issuer ranges: Amex/Diners/JCB 3, Visa 4, Mastercard 5 and 2221-2720,
    # Discover/UnionPay/Maestro 6.  Excludes timestamps (1..., 20xx...) and 0... ids.
    first = digits[0]
    if first in "3456":
        return True
    return first == "2" and 2221 <= int(digits[:4]) <= 2720


def _json_number_quote(text: str, start: int, end: int) -> str:
    """'"' if text[start:end] is a bare number value of a JSON key, else ''."""
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0 or text[i] != ":":
        return ""
    i -= 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0 or text[i] != '"':
        return ""
    j = end
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    return '"' if j == len(text) or text[j] in ",}]" else ""


_MAX_CARD_GROUPS = 6  # 4-4-4-4, 4-6-5, 4-4-4-4-3 ...; not one digit per group


def _cards(m: re.Match[str], text: str) -> Iterator[_Raw]:
    end = m.end()
    after = text[end:end + 2]
    if after[:1].isalpha() or after[:1] == "_":
        return  # part of a hex id or a word
    if after[:1] in ".," and after[1:2].isdigit():
        return  # a decimal number
    groups = [g.span() for g in _DIGITS_RE.finditer(text, m.start(), end)]
    counts = [0]
    for a, b in groups:
        counts.append(counts[-1] + b - a)
    n = len(groups)
    i = 0
    while i < n:
        hit = False
        if text[groups[i][0]] in "23456":
            for j in range(min(n - 1, i + _MAX_CARD_GROUPS - 1), i - 1, -1):
                count = counts[j + 1] - counts[i]
                if count > 19:
                    continue
                if count < 13:
                    break
                digits = "".join(text[a:b] for a, b in groups[i:j + 1])
                if _card_prefix_ok(digits) and _luhn_ok(digits):
                    start, stop = groups[i][0], groups[j][1]
                    yield start, stop, "card_number", _json_number_quote(text, start, stop)
                    i = j + 1
                    hit = True
                    break
        if not hit:
            i += 1


# Order = priority when two findings cover the same span: specific formats
# first, then header/key-value context, then card numbers.
_RULES: tuple[_Rule, ...] = (
    _Rule(_PEM_RE, _pem, ("PRIVATE KEY",)),
    _Rule(_STRIPE_RE, _span("stripe_key"), ("k_live_", "k_test_")),
    _Rule(_WHSEC_RE, _span("webhook_secret"), ("whsec_",)),
    _Rule(_WOES_KEY_RE, _span("woes_key"), ("woesk_",)),
    _Rule(_GITHUB_RE, _span("github_token"), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _Rule(_SLACK_RE, _span("slack_token"), ("xox", "xapp-")),
    _Rule(_AWS_KEY_ID_RE, _span("aws_access_key"), ("AKIA", "ASIA")),
    _Rule(_GOOGLE_RE, _span("google_api_key"), ("AIza",)),
    _Rule(_ANTHROPIC_RE, _span("anthropic_key"), ("sk-ant-",)),
    _Rule(_OPENAI_RE, _span_if("openai_key", _openai_ok), ("sk-",)),
    _Rule(_JWT_RE, _span("jwt"), ("eyJ",)),
    _Rule(_URL_PASSWORD_RE, _span("url_password", "s"), ("://",)),
    _Rule(_AUTH_RE, _auth, ("authorization",), icase=True),
    _Rule(_BEARER_RE, _span_if("bearer", _bearer_ok, "s"), ("bearer",), icase=True),
    _Rule(_BASIC_RE, _span_if("basic_auth", _basic_ok, "s"), ("basic",), icase=True),
    _Rule(_COOKIE_RE, _cookie, ("cookie",), icase=True),
    _Rule(_KV_RE, _kv, _KV_TRIGGERS, icase=True),
    _Rule(_CARD_RE, _cards),
)


def _scan(text: str) -> list[_Hit]:
    raw: list[_Hit] = []
    lower: str | None = None
    for priority, rule in enumerate(_RULES):
        if rule.triggers:
            if rule.icase:
                if lower is None:
                    lower = text.lower()
                haystack = lower
            else:
                haystack = text
            for trigger in rule.triggers:
                if trigger in haystack:
                    break
            else:
                continue
        for m in rule.pattern.finditer(text):
            for start, end, kind, quote in rule.handler(m, text):
                if end > start:
                    raw.append(_Hit(start, end, kind, priority, quote))
    if len(raw) <= 1:
        return raw
    raw.sort(key=lambda h: (h.start, h.start - h.end, h.priority))
    merged = [raw[0]]
    for hit in raw[1:]:
        last = merged[-1]
        if hit.start < last.end:  # overlap: never leave part of a secret behind
            if hit.end > last.end:
                merged[-1] = last._replace(end=hit.end)
        else:
            merged.append(hit)
    return merged


# ------------------------------------------------------------------ public API


def find_secrets(text: str) -> list[SecretMatch]:
    """All secrets in ``text``, in order, non-overlapping."""
    if not isinstance(text, str) or not text:
        return []
    return [SecretMatch(h.kind, h.start, h.end) for h in _scan(text)]


def contains_secret(text: str) -> bool:
    """True if :func:`redact` would change ``text``."""
    return bool(find_secrets(text))


@overload
def redact(text: str) -> str: ...
@overload
def redact(text: None) -> None: ...
def redact(text: Any) -> Any:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``.

    Anything that is not a ``str`` (e.g. ``None``) is returned unchanged.
    """
    if not isinstance(text, str) or not text:
        return text
    hits = _scan(text)
    if not hits:
        return text
    parts: list[str] = []
    pos = 0
    for hit in hits:
        parts.append(text[pos:hit.start])
        parts.append(f"{hit.quote}[REDACTED:{hit.kind}]{hit.quote}")
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts)


# Dict keys whose string value is a secret as a whole (checked on the key
# lower-cased with "_" and "-" removed, so apiKey / api-key / API_KEY all count).
_SECRET_KEY_WORDS: tuple[tuple[str, str], ...] = (
    ("password", "password"),
    ("passwd", "password"),
    ("privatekey", "private_key"),
    ("clientsecret", "secret"),
    ("secret", "secret"),
    ("apikey", "api_key"),
    ("accesskey", "api_key"),
    ("token", "token"),
    ("authorization", "authorization"),
    ("cookie", "cookie"),
)
# "token" keys that hold counts or metadata, not tokens (LLM usage, OAuth).
_NOT_A_TOKEN_RE = re.compile(
    r"tokens|tokeni[sz]|tokentype|tokencount|tokenusage|tokenlimit|tokenbudget|tokenestimate"
)


@functools.lru_cache(maxsize=2048)
def _secret_key_kind(key: str) -> str | None:
    k = key.lower().replace("_", "").replace("-", "")
    for word, kind in _SECRET_KEY_WORDS:
        if word in k:
            if word == "token" and _NOT_A_TOKEN_RE.search(k):
                continue
            return kind
    return None


def _redact_secret_field(value: str, kind: str) -> str:
    if not value or value.startswith((_PLACEHOLDER_PREFIX, *_PUBLIC_PREFIXES)):
        return value
    return f"[REDACTED:{kind}]"


def redact_value(obj: Any) -> Any:
    """A redacted copy of ``obj`` (dicts/mappings, lists, tuples, sets, strings).

    Strings are passed through :func:`redact` (dict keys too).  The string value
    of a key that names a secret (password, secret, token, api_key,
    authorization, cookie, private_key, access_key ...) is replaced as a whole;
    non-string values (None, bools, numbers) are kept.  Other objects are
    returned as they are.
    """
    return _redact_obj(obj, set())


def _redact_obj(obj: Any, active: set[int]) -> Any:
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, (Mapping, list, tuple, set, frozenset)):
        oid = id(obj)
        if oid in active:
            return "[REDACTED:cycle]"
        active.add(oid)
        try:
            return _redact_container(obj, active)
        finally:
            active.discard(oid)
    return obj


def _redact_container(obj: Any, active: set[int]) -> Any:
    if isinstance(obj, Mapping):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            kind = _secret_key_kind(key) if isinstance(key, str) else None
            if kind is not None and isinstance(value, str):
                value = _redact_secret_field(value, kind)
            else:
                value = _redact_obj(value, active)
            out[redact(key) if isinstance(key, str) else key] = value
        return out
    items = [_redact_obj(item, active) for item in obj]
    if isinstance(obj, list):
        return items
    if isinstance(obj, tuple):
        if type(obj) is not tuple and hasattr(obj, "_make"):  # namedtuple
            return obj._make(items)
        return tuple(items)
    return frozenset(items) if isinstance(obj, frozenset) else set(items)


_SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
    "x-woes-conversation-secret",
})
_SECRET_HEADER_WORDS = ("secret", "token", "api-key", "apikey", "password")


def _is_secret_header(name: str) -> bool:
    n = name.lower()
    return n in _SECRET_HEADERS or any(word in n for word in _SECRET_HEADER_WORDS)


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A dict copy of HTTP headers safe to log.

    Credentials headers (Authorization, Proxy-Authorization, Cookie, Set-Cookie,
    X-Api-Key, X-Woes-Conversation-Secret, any name containing "secret",
    "token", "api-key" or "password") become ``[REDACTED]``; other values go
    through :func:`redact`.  Accepts a mapping or (name, value) pairs.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, Any] = {}
    for name, value in items:
        if isinstance(name, str) and _is_secret_header(name):
            out[name] = _HEADER_PLACEHOLDER
        else:
            out[name] = redact(value) if isinstance(value, str) else value
    return out
