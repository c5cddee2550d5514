"""Redaction of secrets and sensitive values.

Everything that leaves the process as text -- log lines, prompts sent to AI
models, traces, webhook payloads -- goes through :func:`redact` (or one of the
structured helpers) first.  Each secret is replaced by ``[REDACTED:<kind>]``;
the text around it (quotes, punctuation, whitespace, JSON structure, the rest
of a URL, the ``Bearer`` word, the key of a ``key=value`` pair) is left alone.

Pure Python, stdlib ``re`` only, no I/O.  Design notes:

* One precompiled pattern per format, each starting with a literal (``sk_``,
  ``ghp_``, ``eyJ``, ``://``, ``bearer`` ...) so that ``re`` can skip through
  clean text at ``str.find`` speed.  Word boundaries are lookbehinds placed
  *after* that literal (a leading lookbehind disables the fast scan).
* Case-insensitive formats (``Authorization:``, ``bearer``, ``password=``)
  are searched in ``text.lower()`` with case-sensitive patterns; spans are the
  same (a text whose length changes when lower-cased falls back to
  ``re.IGNORECASE`` patterns).
* Quantifiers are possessive / atomic (Python >= 3.11) or bounded, and no
  pattern can scan a long stretch from many start positions: no catastrophic
  or quadratic backtracking on hostile input.
* Overlapping findings are merged (the earliest, longest, most specific wins),
  so a secret is never left half-redacted.
* Idempotent: ``redact(redact(x)) == redact(x)``.  Nothing matches a
  ``[REDACTED:...]`` placeholder, and ``redact`` re-scans its own output until
  clean (a replacement can complete a context around it), so text with
  secrets costs two scans, clean text one.
* JSON stays JSON: placeholders contain no quote or backslash; a bare value
  under a quoted key (``"password": 1234``, ``"card": 4111...``) gets a quoted
  placeholder; values never run past their closing quote, and an unclosed
  quote only runs to the next delimiter.

Public by design, never redacted: Stripe publishable keys
(``pk_live_``/``pk_test_``) and Woes widget keys (``trovw_``).

Known limits (by design, to keep false positives and cost down): a token glued
to a preceding letter or digit (``abcghp_...``) is not a token; unlabelled
high-entropy strings (an AWS secret key without its ``aws_secret_access_key``
label) are not detected; a password in prose without ``:``/``=`` ("the password
is x") is not detected, while prose such as ``token: expired`` loses the word
after the colon; ``Bearer``/``Basic`` outside an ``Authorization`` context need
a digit / a valid base64 ``user:password``; card numbers need a card-like first
digit (3-6, or 2221-2720) besides Luhn, and a card number that is a bare JSON
number in an array (not under a key) leaves that array unquoted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
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
    "redact_json",
    "redact_value",
]

_PLACEHOLDER_PREFIX = "[REDACTED"
_HEADER_PLACEHOLDER = "[REDACTED]"
# Values with these prefixes are public by design and never redacted, even when
# they sit under a secret-sounding key.
_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "trovw_")
# Values under a secret-sounding key that say "nothing here" are left alone.
_EMPTY_WORDS = frozenset({"null", "none", "nil", "true", "false", "undefined"})
# Guard at the start of every captured secret: never re-redact a placeholder
# (also when matching in the lower-cased text).
_NR = r"(?!\[(?i:REDACTED))"


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


# (start, end, kind, quote) in the original text
_Raw = tuple[int, int, str, str]
# handler(match, original_text) -> findings; the match may be on text.lower()
_Handler = Callable[["re.Match[str]", str], Iterable[_Raw]]


class _Rule:
    """A pattern and what a match of it means (run by :func:`_scan`).

    ``icase`` rules are written in lower case and run on ``text.lower()``.
    """

    __slots__ = ("fast", "slow", "handler", "icase")

    def __init__(self, pattern: str, handler: _Handler, *, icase: bool = False) -> None:
        self.fast = re.compile(pattern)
        self.slow = re.compile(pattern, re.IGNORECASE) if icase else self.fast
        self.handler = handler
        self.icase = icase


def _span(kind: str, group: str | int = 0, back: int = 0) -> _Handler:
    """Handler: the whole match (or one group) is the secret.

    ``back``: the secret starts that many characters before the match (the
    pattern checked them with a lookbehind so that it can start with a literal).
    """

    def handle(m: re.Match[str], text: str) -> Iterator[_Raw]:
        start, end = m.span(group)
        yield start - back, end, kind, ""

    return handle


def _span_if(kind: str, check: Callable[[str], bool], group: str | int = 0) -> _Handler:
    """Handler: like :func:`_span`, but only when ``check(secret)`` agrees."""

    def handle(m: re.Match[str], text: str) -> Iterator[_Raw]:
        start, end = m.span(group)
        if check(text[start:end]):
            yield start, end, kind, ""

    return handle


# --------------------------------------------------------------------- formats

# PEM private key block, whole block.  The body cannot contain "-----", so the
# scan from a BEGIN line stops at the next dash run; a block cut off before its
# END line (truncated log) is redacted up to the end of its base64 lines.
_PEM_LABEL = r"[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM = (
    r"-----BEGIN" + _PEM_LABEL
    + r"(?:(?:[^-]|-(?!----))*+-----END" + _PEM_LABEL
    + r"|(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9+/=]++)++)"
)


def _word_start(width: int, word: str = "A-Za-z0-9") -> str:
    """Lookbehind, placed after a ``width``-character literal prefix: the prefix
    starts a word (not preceded by a ``word`` character, or preceded by a
    JSON/C escape such as ``\\n``, as in a serialized multi-line message)."""
    return rf"(?:(?<![{word}].{{{width}}})|(?<=\\[nrt].{{{width}}}))"


# sk_live_ / rk_live_ / sk_test_ / rk_test_ (the s/r is checked behind "k_").
_STRIPE = r"k_(?<=[rs]k_)" + _word_start(3) + r"(?:live|test)_[A-Za-z0-9]{10,}+"
_WHSEC = r"whsec_" + _word_start(6) + r"[A-Za-z0-9+/=]{16,}+"
# woesk_ + token_urlsafe(32).  The 14-character display prefix ("woesk_" + 8)
# is meant to be shown and is not matched.
_WOES_KEY = r"woesk_" + _word_start(6) + r"[A-Za-z0-9_-]{16,}+"
_GITHUB = r"g" + _word_start(1) + r"(?:h[pousr]_[A-Za-z0-9]{30,}+|ithub_pat_[A-Za-z0-9_]{20,}+)"
_SLACK = r"x" + _word_start(1) + r"(?:ox[abeposr]-|app-[0-9]-)[A-Za-z0-9-]{10,}+"
_AWS_KEY_ID = r"A[KS]IA" + _word_start(4) + r"[A-Z0-9]{16}(?![A-Za-z0-9])"
_GOOGLE = r"AIza" + _word_start(4, "A-Za-z0-9_-") + r"[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"
_ANTHROPIC = r"sk-ant-" + _word_start(7) + r"[A-Za-z0-9_-]{20,}+"
_OPENAI = r"sk-" + _word_start(3) + r"(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}+"
# header.payload.signature, base64url; an unsigned token ("alg": "none") ends
# with its final dot.
_JWT = r"eyJ" + _word_start(3, "A-Za-z0-9_-") + r"[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"
# scheme://user:password@host -- only the password.  Anchored on "://" (the
# scheme is not part of the match, so long words cannot cause quadratic scans).
_URL_PASSWORD = r"://[^\s:/?#@\"'<>\[\]\\]*+:(?P<s>" + _NR + r"[^\s/?#\"'<>\\]+)@"

_QUOTE_OPT = r"(?:\\?[\"'])?+"
_SEP = r"(?>[ \t]*+(?:=>|:=|[:=])[ \t]*+)"

# Authorization header in any textual form: `Authorization: Bearer x`,
# `"authorization": "Basic x"`, `proxy-authorization=x` ...  The scheme word is
# kept.  (Lower case: run on text.lower().)
_AUTH = (
    r"authorization" + _word_start(13, "a-z0-9_") + r"(?P<kq>\\?[\"'])?+" + _SEP
    + r"(?P<vq>\\?[\"'])?+"
    # a quoted key ("authorization": ...) needs a quoted value: {, [, true ... are JSON
    + r"(?(kq)(?(vq)|(?!))|)"
    + r"(?>(?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key"
    r"|sso-key|dpop|hawk|mac|otp)[ \t]+)?)"
    r"(?P<s>" + _NR + r"[^\s\"'\\,;{}\[\]()<>]+)"
)
# curl's basic auth: `-u user:password` / `--user user:password` -- only the password.
_CURL_USER = r"-(?:u|-user)(?:[ \t]++|=)[\"']?+[^\s:\"'\[\]]*+:(?P<s>" + _NR + r"[^\s\"']++)"
# A credential in prose: "with secret 4zGX...", "the token is abc123...". Only values that look
# generated (16+ characters mixing letters and digits); "the token expired" is not one.
_PROSE_SECRET = (r"(?:secret|password|passwd|token|auth token)(?:[ \t]++(?:is|was|of|=|:))?+[ \t]++"
                 r"(?P<s>" + _NR + r"[a-z0-9_+/=.-]{16,}+)")


def _generated(value: str) -> bool:
    v = value.rstrip(".")
    return len(v) >= 16 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v)


def _prose_secret(m: re.Match[str], text: str) -> Iterator[_Raw]:
    if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
        return
    start, end = m.span("s")
    while end > start and text[end - 1] == ".":
        end -= 1
    if _generated(text[start:end]):
        yield start, end, "secret", ""


_BEARER = r"bearer" + _word_start(6, "a-z0-9_-") + r"[ \t]+(?P<s>" + _NR + r"[a-z0-9._~+/-]++=*+)"
_BASIC = r"basic" + _word_start(5, "a-z0-9_-") + r"[ \t]+(?P<s>" + _NR + r"[a-z0-9+/]{4,}+={0,2}+)"


def _value_re(bare: str) -> str:
    """A value after ``key:`` / ``key=``: \\"escaped\\", "double", 'single' or bare.

    A quoted value must be closed on its line; an unclosed one (a truncated log
    line, a stray quote) only runs to the first delimiter, like a bare value, so
    that it never swallows the structure around it.
    """
    return (
        # \"...\" is JSON inside a JSON string: \\\" and \\\\ are escapes of the inner string
        r"(?:\\\"(?P<v1>" + _NR + r"(?:[^\"\\\r\n]|\\\\\\[^\r\n]|\\{1,2}[^\"\\\r\n])*+)\\\""
        r"|\"(?P<v2>" + _NR + r"(?:[^\"\\\r\n]|\\[^\r\n])*+)\""
        r"|'(?P<v3>" + _NR + r"(?:[^'\\\r\n]|\\[^\r\n])*+)'"
        r"|\\?[\"'](?P<v5>" + _NR + bare + r")"
        r"|(?P<v4>" + _NR + bare + r"))"
    )


_COOKIE = (
    r"cookie" + _word_start(6, "a-z0-9_") + r"(?P<kq>\\?[\"'])?+" + _SEP
    # bare value: the rest of the header line, or one JSON/Python literal after
    # a quoted key ("cookie": 1)
    + _value_re(r"(?(kq)[^\s\"'&,;<>{}\[\]()\\]++|[^\r\n\"'\\]++)")
)

# key=value / "key": "value" / key: value pairs.  The key must *end* with the
# secret word (`max_tokens`, `token_type`, `passwordless` are not secrets).
# Searched from each occurrence of a root word (see _scan_kv).
_KV_ROOTS = ("pass", "secret", "token", "api", "access", "private")
_KV = (
    r"(?P<key>pass(?:word|wd|phrase)|secret(?:[_-]?access[_-]?key|[_-]?key)?|token"
    r"|(?:api|access|private)[_-]?key)(?![a-z0-9_-])(?P<kq>" + _QUOTE_OPT + r")"
    + _SEP + r"(?!:)" + _value_re(r"[^\s\"'&,;<>{}\[\]()\\]++")
)
_KV_FAST = re.compile(_KV)
_KV_SLOW = re.compile(_KV, re.IGNORECASE)

# Runs of 13+ digits, single spaces or dashes between them, not glued to a word,
# a decimal point or a "+" (phone number); _cards() then looks for a Luhn-valid
# window of whole digit groups in the run.
_CARD = r"[0-9]" + _word_start(1, "A-Za-z0-9_.+") + r"(?:[ -]?[0-9]){12,}+"
_DIGITS_RE = re.compile(r"[0-9]+")


# -------------------------------------------------------------------- handlers


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _bearer_ok(token: str) -> bool:
    # Outside an Authorization header, "bearer" is also an English word: the
    # credential must look like one (long enough, has a digit).
    return len(token) >= 8 and _has_digit(token)


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
_CREDENTIAL_AFTER_SCHEME_RE = re.compile(r"[ \t]++([^\s\"'\\,;]+)")


_PLACEHOLDER_VALUE = re.compile(r"[$<{%…]|\.\.\.|[A-Z][A-Z_]{2,40}(?![A-Za-z0-9])")


def _placeholder(value: str) -> bool:
    """`$TOKEN`, `<token>`, `{api_key}`, `…`, `YOUR_API_KEY`: documentation placeholders, not secrets."""
    return _PLACEHOLDER_VALUE.match(value) is not None and (
        not value[:1].isupper() or re.fullmatch(r"[A-Z][A-Z_]{2,40}[\"'`)]*", value) is not None)


def _auth(m: re.Match[str], text: str) -> Iterator[_Raw]:
    scheme = (m.group("scheme") or "").lower()
    start, end = m.span("s")
    if _placeholder(text[start:end]):
        return
    yield start, end, _AUTH_SCHEME_KIND.get(scheme, "secret"), ""


def _curl_user(m: re.Match[str], text: str) -> Iterator[_Raw]:
    start, end = m.span("s")
    if not _placeholder(text[start:end]):
        yield start, end, "basic_auth_password", ""


def _value_span(m: re.Match[str], text: str, *, strip_space: bool) -> tuple[int, int, bool] | None:
    """(start, end, bare) of the value of a key/value match, or None to skip it."""
    for group in ("v1", "v2", "v3", "v4", "v5"):
        start, end = m.span(group)
        if start >= 0:
            break
    else:  # pragma: no cover - one alternative always matches
        return None
    bare = group == "v4"  # not quoted at all
    value = text[start:end]
    if group in ("v4", "v5"):  # a sentence's full stop (or trailing blanks) is not part of it
        stripped = value.rstrip(". \t" if strip_space else ".")
        end -= len(value) - len(stripped)
        value = stripped
    if not value or value.lower() in _EMPTY_WORDS or value.startswith(_PUBLIC_PREFIXES):
        return None
    if not any(ch.isalnum() for ch in value):
        # `password= ", "next": ...`: the key ended a string and the "value" is the JSON between two
        # strings; "a hash of `api_key:`": the value is a quote mark. A secret has letters or digits.
        return None
    return start, end, bare


def _cookie(m: re.Match[str], text: str) -> Iterator[_Raw]:
    found = _value_span(m, text, strip_space=True)
    if found is not None:
        start, end, bare = found
        yield start, end, "cookie", (m.group("kq") or "") if bare else ""


def _kv_kind(key: str, before: str) -> str:
    k = key.lower().replace("-", "").replace("_", "")
    if k.startswith("pass"):
        return "password"
    if k == "secretaccesskey" or (k.startswith("secret") and before.lower().endswith(("aws_", "aws-"))):
        return "aws_secret_key"
    if k.startswith("secret"):
        return "secret"
    if k == "privatekey":
        return "private_key"
    if k == "token":
        return "token"
    return "api_key"


def _kv_finding(m: re.Match[str], text: str) -> tuple[int, _Raw] | None:
    found = _value_span(m, text, strip_space=False)
    if found is None:
        return None
    start, end, bare = found
    key_start = m.start("key")
    kind = _kv_kind(m.group("key"), text[max(0, key_start - 4):key_start])
    scheme_kind = _AUTH_SCHEME_KIND.get(text[start:end].lower()) if bare else None
    if scheme_kind is not None:  # token: Bearer <credential> -- keep the scheme word
        cred = _CREDENTIAL_AFTER_SCHEME_RE.match(text, end)
        if cred is not None:
            if cred.group(1).startswith(_PLACEHOLDER_PREFIX):
                return None
            return key_start, (cred.start(1), cred.end(1), scheme_kind, "")
    # A bare value under a quoted key ("password": 1234) is a JSON/Python
    # literal: quote the placeholder so the document stays parseable.
    quote = m.group("kq") if bare else ""
    return key_start, (start, end, kind, quote)


def _scan_kv(text: str, lower: str) -> Iterator[_Raw]:
    # One value may be reached from two roots ("secret_access_key" from "secret"
    # and from "access"): the key that starts first names it.
    best: dict[tuple[int, int], tuple[int, _Raw]] = {}
    if len(lower) == len(text):
        for root in _KV_ROOTS:
            i = lower.find(root)
            while i >= 0:
                m = _KV_FAST.match(lower, i)
                if m is None:
                    i = lower.find(root, i + 1)
                    continue
                found = _kv_finding(m, text)
                if found is not None:
                    span = found[1][:2]
                    if span not in best or found[0] < best[span][0]:
                        best[span] = found
                # a root inside this match's value is part of the value
                i = lower.find(root, max(m.end(), i + 1))
    else:
        for m in _KV_SLOW.finditer(text):
            found = _kv_finding(m, text)
            if found is not None:
                best.setdefault(found[1][:2], found)
    for _, raw in best.values():
        yield raw


_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2d, minus 9 if > 9


def _luhn_ok(digits: str) -> bool:
    plain = digits[-1::-2]
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(map(int, plain)) + sum(map(int, doubled))) % 10 == 0


def _parity_prefix_sums(values: list[int], parity: int) -> list[int]:
    masked = values[:]
    masked[1 - parity::2] = [0] * len(masked[1 - parity::2])
    return list(itertools.accumulate(masked, initial=0))


class _LuhnIndex:
    """O(1) Luhn check of any slice of a long digit string (long digit runs)."""

    __slots__ = ("plain", "doubled")

    def __init__(self, digits: str) -> None:
        plain = list(map(int, digits))
        doubled = list(map(int, digits.translate(_LUHN_DOUBLED)))
        self.plain = (_parity_prefix_sums(plain, 0), _parity_prefix_sums(plain, 1))
        self.doubled = (_parity_prefix_sums(doubled, 0), _parity_prefix_sums(doubled, 1))

    def ok(self, start: int, end: int) -> bool:
        # the last digit is not doubled, then every other one going left
        r = (end - 1) % 2
        plain, doubled = self.plain[r], self.doubled[1 - r]
        return (plain[end] - plain[start] + doubled[end] - doubled[start]) % 10 == 0


def _card_prefix_ok(digits: str) -> bool:
    # Issuer ranges: Amex/Diners/JCB 3, Visa 4, Mastercard 5 and 2221-2720,
    # Discover/UnionPay/Maestro 6.  Excludes timestamps (1..., 20xx...) and 0... ids.
    first = digits[0]
    if first in "3456":
        return True
    return first == "2" and 2221 <= int(digits[:4]) <= 2720


def _json_number_quote(text: str, start: int, end: int) -> str:
    """The quote to wrap a placeholder in if text[start:end] is the bare number
    value of a JSON key (``"card": 4111...``), else "".  The key's quote tells
    the level: ``\\"card\\": 4111...`` is JSON inside a JSON string."""
    if not text[start:end].isdigit():
        return ""  # with spaces or dashes it is text, not a JSON number
    j = end
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    if j < len(text) and text[j] not in ",}\\":
        return ""
    i = start - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] != ":":
        return ""
    i -= 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] != '"':
        return ""
    k = i
    while k > 0 and text[k - 1] == "\\":
        k -= 1
    return '\\"' if (i - k) % 2 else '"'


_MAX_CARD_GROUPS = 6  # 4-4-4-4, 4-6-5, 4-4-4-4-3 ...; not one digit per group


def _cards(m: re.Match[str], text: str) -> Iterator[_Raw]:
    end = m.end()
    after = text[end:end + 2]
    if after[:1].isalpha() or after[:1] == "_":
        return  # part of a hex id or a word
    if after[:1] == "." and after[1:2].isdigit():
        return  # a decimal number
    groups = [g.span() for g in _DIGITS_RE.finditer(text, m.start(), end)]
    counts = [0]  # digits before group i
    for a, b in groups:
        counts.append(counts[-1] + b - a)
    all_digits = "".join(text[a:b] for a, b in groups)
    n = len(groups)
    if n > 2 * _MAX_CARD_GROUPS:
        luhn = _LuhnIndex(all_digits).ok
    else:
        def luhn(start: int, end: int) -> bool:
            return _luhn_ok(all_digits[start:end])
    i = 0
    while i < n:  # leftmost-longest window of whole digit groups that is a card
        hit = False
        if text[groups[i][0]] in "23456":
            for j in range(min(n - 1, i + _MAX_CARD_GROUPS - 1), i - 1, -1):
                count = counts[j + 1] - counts[i]
                if count > 19:
                    continue
                if count < 13:
                    break
                first = counts[i]
                if _card_prefix_ok(all_digits[first:first + 4]) and luhn(first, counts[j + 1]):
                    start, stop = groups[i][0], groups[j][1]
                    yield start, stop, "card_number", _json_number_quote(text, start, stop)
                    i = j + 1
                    hit = True
                    break
        if not hit:
            i += 1


class _KeyValueRule:
    """Key/value pairs: driven by str.find on root words, not by one big regex."""

    __slots__ = ()

    def scan(self, text: str, lower: str) -> Iterator[_Raw]:
        return _scan_kv(text, lower)


# Order = priority when two findings cover the same span: specific formats
# first, then header/key-value context, then card numbers.
_RULES: tuple[_Rule | _KeyValueRule, ...] = (
    _Rule(_PEM, _span("private_key")),
    _Rule(_STRIPE, _span("stripe_key", back=1)),
    _Rule(_WHSEC, _span("webhook_secret")),
    _Rule(_WOES_KEY, _span("woes_key")),
    _Rule(_GITHUB, _span("github_token")),
    _Rule(_SLACK, _span("slack_token")),
    _Rule(_AWS_KEY_ID, _span("aws_access_key")),
    _Rule(_GOOGLE, _span("google_api_key")),
    _Rule(_ANTHROPIC, _span("anthropic_key")),
    _Rule(_OPENAI, _span_if("openai_key", _has_digit)),
    _Rule(_JWT, _span("jwt")),
    _Rule(_URL_PASSWORD, _span("url_password", "s")),
    _Rule(_AUTH, _auth, icase=True),
    _Rule(_BEARER, _span_if("bearer", _bearer_ok, "s"), icase=True),
    _Rule(_BASIC, _span_if("basic_auth", _basic_ok, "s"), icase=True),
    _Rule(_COOKIE, _cookie, icase=True),
    _Rule(_CURL_USER, _curl_user),
    _KeyValueRule(),
    _Rule(_PROSE_SECRET, _prose_secret, icase=True),
    _Rule(_CARD, _cards),
)


def _scan(text: str) -> list[_Hit]:
    lower = text.lower()
    same_offsets = len(lower) == len(text)
    raw: list[_Hit] = []
    for priority, rule in enumerate(_RULES):
        if type(rule) is _Rule:  # inlined _Rule.scan: this loop runs on every log line
            if not rule.icase:
                matches = rule.fast.finditer(text)
            elif same_offsets:
                matches = rule.fast.finditer(lower)
            else:  # lower-casing moved offsets (rare non-ASCII): slower exact search
                matches = rule.slow.finditer(text)
            handler = rule.handler
            for m in matches:
                for start, end, kind, quote in handler(m, text):
                    if end > start:
                        raw.append(_Hit(start, end, kind, priority, quote))
        else:
            for start, end, kind, quote in rule.scan(text, lower):
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
    """All secrets in ``text``, in order, non-overlapping; ``text[m.start:m.end]``
    is the sensitive part (the key of a pair or the ``Bearer`` word is not)."""
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
    # A replacement can complete a context around it (a URL's userinfo whose
    # password held a token with a "/", nested PEM headers ...): redact until
    # nothing is left, so that redact(redact(x)) == redact(x).  Clean text pays
    # one scan, text with secrets two.
    for _ in range(_MAX_PASSES):
        text = _apply(text, hits)
        hits = _scan(text)
        if not hits:
            break
    return text


_MAX_PASSES = 4


def _apply(text: str, hits: list[_Hit]) -> str:
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

    Strings are passed through :func:`redact` (dict keys are kept as they
    are, so ``redact_value({k: v})[k]`` works).  The string value
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
            out[key] = value  # keys are kept: callers look values up by them
        return out
    items = [_redact_obj(item, active) for item in obj]
    if isinstance(obj, list):
        return items
    if isinstance(obj, tuple):
        if type(obj) is not tuple and hasattr(obj, "_make"):  # namedtuple
            return obj._make(items)
        return tuple(items)
    return frozenset(items) if isinstance(obj, frozenset) else set(items)


def redact_json(obj: Any) -> Any:
    """A redacted copy of a JSON-ready object (an event payload, a parsed record), made by redacting its
    JSON text: one scan over the whole document instead of one per string, and an object without
    secrets is returned as it is (not copied).  A secret is judged in its JSON context, so
    ``{"password": "x"}`` loses its value while ``{"tokenUrl": "https://..."}`` keeps it.  If the
    redacted text is no longer JSON (a card number as a bare number in an array), the object is
    redacted value by value with :func:`redact_value` instead.
    """
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return redact(obj)
    text = json.dumps(obj, ensure_ascii=False, default=str)
    if not _scan(text):
        return obj
    try:
        return json.loads(redact(text))
    except ValueError:
        return _redact_numbers(redact_value(obj))


def _redact_numbers(obj: Any) -> Any:
    """``obj`` with every integer that is a secret by itself (a card number) replaced by its placeholder."""
    if isinstance(obj, int) and not isinstance(obj, bool):
        text = str(obj)
        out = redact(text)
        return obj if out == text else out
    if isinstance(obj, dict):
        return {k: _redact_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_numbers(v) for v in obj]
    return obj


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
