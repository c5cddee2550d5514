"""Tests for woes.core.redaction.

Every secret-looking value is assembled at run time (prefix + filler) so that no
literal credential sits in this file: secret scanners would block the push.
"""

from __future__ import annotations

import dataclasses
import json
import random
import string
import time
from collections import namedtuple

import pytest

from woes.core.redaction import (
    SecretMatch,
    contains_secret,
    find_secrets,
    redact,
    redact_headers,
    redact_value,
)

# ----------------------------------------------------------------- fake values

_rng = random.Random(20240501)
_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _fill(n: int) -> str:
    """Alphanumeric filler that always has upper case, lower case and digits."""
    return ("a1B2" * n)[:n]


def _luhn_complete(partial: str) -> str:
    """``partial`` plus the check digit that makes it pass Luhn."""
    for check in "0123456789":
        digits = partial + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            n = int(ch)
            if i % 2:
                n *= 2
                if n > 9:
                    n -= 9
            total += n
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _luhn_fail(partial: str) -> str:
    good = _luhn_complete(partial)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def _b64url(n: int) -> str:
    return _rand(n, _ALNUM + "-_")


def _jwt() -> str:
    return "eyJ" + _b64url(33) + ".eyJ" + _b64url(60) + "." + _b64url(43)


def _pem(label: str = "RSA PRIVATE KEY", newline: str = "\n") -> str:
    body = newline.join(_rand(64, _ALNUM + "+/") for _ in range(5)) + newline + _rand(20) + "=="
    return f"-----BEGIN {label}-----{newline}{body}{newline}-----END {label}-----"


VISA = _luhn_complete("4" + "111" + "1111" * 2 + "111")  # 16 digits
MASTERCARD = _luhn_complete("55" + "00" + "0000" * 2 + "000")  # 16 digits
MASTERCARD_2 = _luhn_complete("2221" + "0000" * 2 + "123")  # 2-series, 16 digits
AMEX = _luhn_complete("3782" + "822463" + "1000")  # 15 digits


def _group(number: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(number[i:i + size])
        i += size
    return sep.join(parts)


# (kind, secret) for every format that is redacted as a whole
TOKENS: list[tuple[str, str]] = [
    ("stripe_key", "sk_" + "live_" + _fill(24)),
    ("stripe_key", "sk_" + "test_" + _fill(24)),
    ("stripe_key", "rk_" + "live_" + _fill(24)),
    ("stripe_key", "rk_" + "test_" + _fill(99)),
    ("webhook_secret", "whsec_" + _fill(32)),
    ("webhook_secret", "whsec_" + _rand(24) + "+/" + _rand(18) + "="),
    ("woes_key", "woesk_" + _b64url(43)),
    ("woes_key", "woesk_" + "-" + _b64url(42)),
    ("github_token", "ghp_" + _fill(36)),
    ("github_token", "gho_" + _fill(36)),
    ("github_token", "ghu_" + _fill(36)),
    ("github_token", "ghs_" + _fill(36)),
    ("github_token", "ghr_" + _fill(36)),
    ("github_token", "github_" + "pat_" + _fill(22) + "_" + _fill(59)),
    ("slack_token", "xox" + "b-" + "123456789012-1234567890123-" + _fill(24)),
    ("slack_token", "xox" + "p-" + "123456789012-123456789012-1234567890123-" + _fill(32)),
    ("slack_token", "xa" + "pp-1-" + "A0123456789-1234567890123-" + _fill(30)),
    ("aws_access_key", "AK" + "IA" + _rand(16, string.ascii_uppercase + string.digits)),
    ("aws_access_key", "AS" + "IA" + _rand(16, string.ascii_uppercase + string.digits)),
    ("google_api_key", "AI" + "za" + "Sy" + _rand(33, _ALNUM + "-_")),
    ("jwt", _jwt()),
    ("anthropic_key", "sk-" + "ant-" + "api03-" + _b64url(80) + "AA"),
    ("openai_key", "sk-" + "proj-" + _fill(48)),
]

NON_SECRETS: list[str] = [
    "Stripe publishable key " + "pk_" + "live_" + _fill(24),
    "pk_" + "test_" + _fill(24),
    "widget key " + "trovw_" + _b64url(24),
    "api_key=" + "pk_" + "live_" + _fill(24),
    '{"widget_token": "' + "trovw_" + _b64url(24) + '"}',
    "The quick brown fox jumps over the lazy dog.",
    "conversation 3f2b8c1e-9d4a-4e6f-8b7a-1c2d3e4f5a6b was closed",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "order #" + _luhn_fail("4111111111111111"[:15]) + " shipped",
    "ref " + _luhn_fail("55000000000000"[:15]),
    "at 2024-05-01T12:34:56.789Z and 2024-05-01 12:34:56+02:00",
    "epoch ms 1714566896789 and ns 1714566896789123456",
    "compact timestamp 20240501123456789",
    "call +1 (555) 123-4567 or +44 20 7946 0958 or +49 151 23456789",
    "score 0.4111111111111111 and 3.1415926535897932",
    '{"max_tokens": 1024, "prompt_tokens": 833, "token_type": "Bearer", "tokens": 5}',
    "the bearer of bad news has basic information",
    "Authorization failed for this workspace",
    "Password reset requested for user 42",
    "see https://example.com:8443/path?q=1 and mail support@example.com",
    "ghp_short and sk_" + "live_short and xox" + "b-short",
    "woesk_" + "AbCd1234 is the key prefix shown in the dashboard",
    '{"password": null, "token": "", "secret": true}',
    "passwordless login enabled; token_count=3; secretary=Ann",
    "",
]


# ------------------------------------------------------------- each format


@pytest.mark.parametrize(("kind", "secret"), TOKENS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TOKENS)])
def test_token_formats_are_redacted_and_text_around_kept(kind: str, secret: str) -> None:
    text = f"before ({secret}), after."
    assert redact(text) == f"before ([REDACTED:{kind}]), after."
    assert find_secrets(text) == [SecretMatch(kind, 8, 8 + len(secret))]
    assert contains_secret(text)


@pytest.mark.parametrize(("kind", "secret"), TOKENS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TOKENS)])
def test_token_formats_inside_json_keep_json_valid(kind: str, secret: str) -> None:
    doc = {"message": f"use {secret} please", "list": [secret], "n": 1}
    out = json.loads(redact(json.dumps(doc)))
    assert out == {"message": f"use [REDACTED:{kind}] please", "list": [f"[REDACTED:{kind}]"], "n": 1}


@pytest.mark.parametrize("text", NON_SECRETS)
def test_non_secrets_are_left_alone(text: str) -> None:
    assert redact(text) == text
    assert find_secrets(text) == []
    assert not contains_secret(text)


def test_secret_glued_inside_a_longer_word_is_not_a_match() -> None:
    # "ask_live_..." is not a Stripe key; a JWT must start its token.
    text = "task_live_" + _fill(24) + " xeyJ" + _b64url(20) + "." + _b64url(20) + "." + _b64url(20)
    assert redact(text) == text


# ------------------------------------------------------ headers & credentials


def test_bearer_and_basic_authorization_headers() -> None:
    token = _fill(40)
    assert redact(f"Authorization: Bearer {token}") == "Authorization: Bearer [REDACTED:bearer]"
    assert redact(f"authorization: bearer {token}\r\nHost: x") == "authorization: bearer [REDACTED:bearer]\r\nHost: x"
    basic = "dXNlcjpwYXNzd29yZA" + "=="  # base64("user:password")
    assert redact(f"Authorization: Basic {basic}") == "Authorization: Basic [REDACTED:basic_auth]"
    # non-standard schemes and scheme-less values
    assert redact(f"Authorization: Token {token}") == "Authorization: Token [REDACTED:secret]"
    assert redact(f"Proxy-Authorization: {token}") == "Proxy-Authorization: [REDACTED:secret]"
    # even a credential without digits, when it is in an Authorization header
    letters = "abcdefghijklmnopqrstuvwx"
    assert redact(f"Authorization: Bearer {letters}") == "Authorization: Bearer [REDACTED:bearer]"


def test_bearer_and_basic_outside_headers() -> None:
    token = _fill(32)
    assert redact(f"curl -H 'Authorization: Bearer {token}' https://api.example.com") == (
        "curl -H 'Authorization: Bearer [REDACTED:bearer]' https://api.example.com"
    )
    assert redact(f"sent Bearer {token} upstream") == "sent Bearer [REDACTED:bearer] upstream"
    basic = "YWxpY2U6czNjcjN0"  # base64("alice:s3cr3t")
    assert redact(f"got Basic {basic} from client") == "got Basic [REDACTED:basic_auth] from client"
    # English, not credentials
    assert redact("Basic Authentication is disabled") == "Basic Authentication is disabled"


def test_authorization_in_json_and_python_reprs() -> None:
    token = _fill(30)
    doc = {"headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"}}
    out = json.loads(redact(json.dumps(doc)))
    assert out == {"headers": {"Authorization": "Bearer [REDACTED:bearer]", "Accept": "application/json"}}
    assert redact(repr({"authorization": f"Basic {token}"})) == "{'authorization': 'Basic [REDACTED:basic_auth]'}"


def test_jwt_after_bearer_keeps_the_scheme_word() -> None:
    jwt = _jwt()
    assert redact(f"Authorization: Bearer {jwt}") == "Authorization: Bearer [REDACTED:jwt]"


def test_unsigned_jwt() -> None:
    jwt = "eyJ" + _b64url(20) + ".eyJ" + _b64url(30) + "."
    assert redact(f"token {jwt} here") == "token [REDACTED:jwt] here"


def test_cookie_header_lines() -> None:
    text = "Cookie: session=" + _fill(20) + "; csrftoken=" + _fill(16) + "\nUser-Agent: x"
    assert redact(text) == "Cookie: [REDACTED:cookie]\nUser-Agent: x"
    text = "Set-Cookie: sid=" + _fill(20) + "; Path=/; HttpOnly"
    assert redact(text) == "Set-Cookie: [REDACTED:cookie]"


# -------------------------------------------------------------- URL passwords


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://woes:hunter2@db.internal:5432/woes?sslmode=require",
         "postgres://woes:[REDACTED:url_password]@db.internal:5432/woes?sslmode=require"),
        ("postgresql+psycopg://user:p%40ss:w0rd@localhost/db",
         "postgresql+psycopg://user:[REDACTED:url_password]@localhost/db"),
        ("redis://:s3cr3t@cache:6379/0", "redis://:[REDACTED:url_password]@cache:6379/0"),
        ("https://bob:pa@ss@example.com/x", "https://bob:[REDACTED:url_password]@example.com/x"),
        ("amqp://guest:guest@rabbit", "amqp://guest:[REDACTED:url_password]@rabbit"),
    ],
)
def test_url_password_only_the_password_is_replaced(url: str, expected: str) -> None:
    assert redact(f"connecting to {url} now") == f"connecting to {expected} now"


def test_url_without_password_untouched() -> None:
    for text in ("https://example.com:443/a@b", "ssh://git@github.com/org/repo.git", "mailto:bob@example.com",
                 "http://[::1]:8080/path"):
        assert redact(text) == text


# ---------------------------------------------------------------- private keys


@pytest.mark.parametrize("label", ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                                   "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"])
def test_pem_private_key_block_multiline(label: str) -> None:
    pem = _pem(label)
    text = f"config:\n{pem}\nnext line"
    assert redact(text) == "config:\n[REDACTED:private_key]\nnext line"
    assert find_secrets(text) == [SecretMatch("private_key", 8, 8 + len(pem))]


def test_pem_inside_json_string_keeps_json_valid() -> None:
    pem = _pem("PRIVATE KEY")
    doc = {"app": {"private_key": pem + "\n", "id": 7}, "note": "key " + pem}
    out = json.loads(redact(json.dumps(doc)))
    assert out == {"app": {"private_key": "[REDACTED:private_key]", "id": 7}, "note": "key [REDACTED:private_key]"}


def test_truncated_pem_is_still_redacted() -> None:
    pem = _pem("RSA PRIVATE KEY")
    cut = pem[: pem.index("-----END")].rstrip("\n")
    assert redact(f"oops {cut}") == "oops [REDACTED:private_key]"


def test_certificates_and_public_keys_are_not_private_keys() -> None:
    text = "-----BEGIN CERTIFICATE-----\nMIIB" + _fill(60) + "\n-----END CERTIFICATE-----"
    assert redact(text) == text
    text = "-----BEGIN PUBLIC KEY-----\nMIIB" + _fill(60) + "\n-----END PUBLIC KEY-----"
    assert redact(text) == text


# ----------------------------------------------------------------- key=value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2&user=bob", "password=[REDACTED:password]&user=bob"),
        ("login user=bob password=hunter2 ok", "login user=bob password=[REDACTED:password] ok"),
        ('{"password": "hunter 2"}', '{"password": "[REDACTED:password]"}'),
        ("{'passwd': 'hunter2'}", "{'passwd': '[REDACTED:password]'}"),
        ("db_password: hunter2\nport: 5432", "db_password: [REDACTED:password]\nport: 5432"),
        ("--password=hunter2 --verbose", "--password=[REDACTED:password] --verbose"),
        ("export API_KEY=abc123def456", "export API_KEY=[REDACTED:api_key]"),
        ("apiKey: 'abc123'", "apiKey: '[REDACTED:api_key]'"),
        ("X-Api-Key: abc123", "X-Api-Key: [REDACTED:api_key]"),
        ("secret=abc123", "secret=[REDACTED:secret]"),
        ("client_secret = abc123", "client_secret = [REDACTED:secret]"),
        ("SECRET_KEY=abc123.", "SECRET_KEY=[REDACTED:secret]."),
        ("GET /cb?access_token=abc123&state=xyz", "GET /cb?access_token=[REDACTED:token]&state=xyz"),
        ("refresh_token => 'abc123'", "refresh_token => '[REDACTED:token]'"),
        ("token := abc123", "token := [REDACTED:token]"),
        ("private_key=abc123", "private_key=[REDACTED:private_key]"),
        ("AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=abc/def+ghi",
         "AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_key]"),
        ("aws_secret_access_key = abc/def+ghi", "aws_secret_access_key = [REDACTED:aws_secret_key]"),
        ('payload={\\"password\\": \\"s3cr3t\\", \\"user\\": \\"bob\\"}',
         'payload={\\"password\\": \\"[REDACTED:password]\\", \\"user\\": \\"bob\\"}'),
        ("token: Bearer abc123def456", "token: Bearer [REDACTED:bearer]"),
        ("password=basic", "password=[REDACTED:password]"),
        ("api_key==abc", "api_key=[REDACTED:api_key]"),
    ],
)
def test_key_value_pairs_keep_the_key(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_key_value_with_known_token_uses_the_specific_kind() -> None:
    token = "ghp_" + _fill(36)
    assert redact(json.dumps({"token": token})) == '{"token": "[REDACTED:github_token]"}'
    assert redact("STRIPE_SECRET_KEY=" + "sk_" + "live_" + _fill(24)) == "STRIPE_SECRET_KEY=[REDACTED:stripe_key]"


def test_bare_json_number_values_are_quoted_to_keep_json_valid() -> None:
    doc = '{"password": 123456, "card": ' + VISA + ', "amount": 12}'
    out = redact(doc)
    assert json.loads(out) == {"password": "[REDACTED:password]", "card": "[REDACTED:card_number]", "amount": 12}


def test_json_document_with_many_secrets_stays_valid() -> None:
    doc = {
        "event": "webhook.delivered",
        "data": {
            "api_key": "woesk_" + _b64url(43),
            "password": 'p"ss\\word',
            "nested": [{"Authorization": "Bearer " + _fill(30)}, {"url": "postgres://u:pw@h/db"}],
            "card": _group(VISA, (4, 4, 4, 4), " "),
            "public": "pk_" + "live_" + _fill(24),
            "widget": "trovw_" + _b64url(24),
            "count": 3,
            "ok": True,
            "none": None,
        },
    }
    text = json.dumps(doc, indent=2)
    out = json.loads(redact(text))
    data = out["data"]
    assert data["api_key"] == "[REDACTED:woes_key]"
    assert data["password"] == "[REDACTED:password]"
    assert data["nested"] == [{"Authorization": "Bearer [REDACTED:bearer]"},
                              {"url": "postgres://u:[REDACTED:url_password]@h/db"}]
    assert data["card"] == "[REDACTED:card_number]"
    assert data["public"] == doc["data"]["public"]
    assert data["widget"] == doc["data"]["widget"]
    assert (data["count"], data["ok"], data["none"]) == (3, True, None)
    assert out["event"] == "webhook.delivered"


def test_json_inside_a_json_string_stays_valid_at_both_levels() -> None:
    inner = {
        "password": 'p"ss\\word',
        "card": int(VISA),
        "headers": {"Authorization": "Bearer " + _fill(30)},
        "note": "line one\nghp_" + _fill(36),
    }
    outer = {"msg": json.dumps(inner), "level": "info"}
    for text in (json.dumps(outer), json.dumps(outer, indent=2)):
        out = json.loads(redact(text))
        assert out["level"] == "info"
        assert json.loads(out["msg"]) == {
            "password": "[REDACTED:password]",
            "card": "[REDACTED:card_number]",
            "headers": {"Authorization": "Bearer [REDACTED:bearer]"},
            "note": "line one\n[REDACTED:github_token]",
        }


def test_secret_keys_with_non_string_json_values_keep_json_valid() -> None:
    doc = {
        "Authorization": {"scheme": "Bearer"},
        "authorization": None,
        "cookie": 1.5,
        "Cookie": {"a": "b"},
        "token": [1, 2],
        "password": False,
        "secret": {"value": "abc"},
        "card_number": int(MASTERCARD),
    }
    out = json.loads(redact(json.dumps(doc)))
    assert out == {
        "Authorization": {"scheme": "Bearer"},
        "authorization": None,
        "cookie": "[REDACTED:cookie]",
        "Cookie": {"a": "b"},
        "token": [1, 2],
        "password": False,
        "secret": {"value": "abc"},
        "card_number": "[REDACTED:card_number]",
    }


def test_tokens_after_escaped_newlines_in_serialized_text() -> None:
    token = "ghp_" + _fill(36)
    text = json.dumps({"message": f"first line\n{token}\tsecond\r\n" + "xox" + "b-" + "1234567890-" + _fill(20)})
    assert json.loads(redact(text)) == {
        "message": "first line\n[REDACTED:github_token]\tsecond\r\n[REDACTED:slack_token]"
    }


# -------------------------------------------------------------- card numbers


@pytest.mark.parametrize(
    "card",
    [
        VISA,
        _group(VISA, (4, 4, 4, 4), " "),
        _group(VISA, (4, 4, 4, 4), "-"),
        MASTERCARD,
        _group(MASTERCARD_2, (4, 4, 4, 4), " "),
        AMEX,
        _group(AMEX, (4, 6, 5), " "),
        _group(AMEX, (4, 6, 5), "-"),
        _luhn_complete("6011" + "0000" * 2 + "000"),  # Discover
        _luhn_complete("4" + "222" + "22222" + "2222"),  # 13-digit Visa
        _luhn_complete("6" + "2" * 17),  # 19 digits
    ],
)
def test_luhn_valid_cards_are_redacted(card: str) -> None:
    assert redact(f"card: {card}, exp 12/27") == "card: [REDACTED:card_number], exp 12/27"
    assert redact(f"card {card}.") == "card [REDACTED:card_number]."


def test_two_cards_and_surrounding_numbers() -> None:
    a, b = _group(VISA, (4, 4, 4, 4), " "), _group(MASTERCARD, (4, 4, 4, 4), "-")
    assert redact(f"cards {a} and {b} order 12345") == (
        "cards [REDACTED:card_number] and [REDACTED:card_number] order 12345"
    )


def test_card_right_after_a_token_ending_in_a_digit() -> None:
    text = "sk-" + "proj-" + _fill(48) + " " + VISA
    assert redact(text) == "[REDACTED:openai_key] [REDACTED:card_number]"


def test_non_luhn_digit_runs_are_not_cards() -> None:
    bad = _luhn_fail(VISA[:15])
    for text in (bad, _group(bad, (4, 4, 4, 4), " "), _group(bad, (4, 4, 4, 4), "-"),
                 "1" + VISA[1:], "0" + VISA[1:], VISA + "0", "id_" + VISA, VISA + "abc"):
        assert redact(text) == text, text


# ------------------------------------------------------------- idempotency


def _corpus() -> list[str]:
    texts = [f"x {secret} y" for _, secret in TOKENS]
    texts += [
        "Authorization: Bearer " + _fill(30),
        "Authorization: Basic dXNlcjpwYXNz",
        "postgres://u:pw@h/db",
        _pem(),
        json.dumps({"password": "a", "token": "b", "api_key": 5, "cookie": "c=d"}),
        '{"password": 123}',
        "Cookie: a=b; c=d",
        "card " + _group(VISA, (4, 4, 4, 4), " "),
        "password=[REDACTED] token: [redacted]",
        "token: Bearer " + _fill(20),
    ]
    return texts + NON_SECRETS


@pytest.mark.parametrize("text", _corpus())
def test_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert find_secrets(once) == []


def test_idempotent_when_a_redaction_completes_a_context() -> None:
    # The URL password holds a webhook secret with a "/": only after that is
    # replaced does the userinfo look like one.  redact() runs to a fixpoint.
    secret = "whsec_" + _rand(20) + "+/" + _rand(20)
    text = f"://u:,{secret};@host"
    once = redact(text)
    assert secret not in once
    assert redact(once) == once


def test_random_compositions_are_idempotent_and_keep_json_valid() -> None:
    rng = random.Random(1234)
    pieces = [s for _, s in TOKENS] + [
        "password=", "token: ", '"password": ', "'secret': '", "Authorization: ", "Bearer ", "Basic ",
        "://u:", "@", '"', "'", "\\", ":", "=", _group(VISA, (4, 4, 4, 4), " "), VISA, "[REDACTED:x]",
        "cookie=", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "\nMIIB", "abc", "123",
        "pk_" + "live_abc", "trovw_x", "eyJ", ".", "İ", "api_key",
    ]
    seps = [" ", "\n", '"', "'", ",", ";", "=", ":", "(", ")", "\\n", " : ", "\\t"]
    for _ in range(1500):
        parts = [rng.choice(pieces) for _ in range(rng.randint(1, 10))]
        text = "".join(p + rng.choice(seps) for p in parts)
        once = redact(text)
        assert redact(once) == once, text
        for _, secret in TOKENS:
            assert secret not in once, text
        doc = {rng.choice(["password", "token", "Authorization", "cookie", "note", "max_tokens"]): text,
               "n": [1, None, True], "card": int(VISA)}
        for encoded in (json.dumps(doc), json.dumps({"msg": json.dumps(doc)})):
            json.loads(redact(encoded))


def test_placeholders_are_never_matched() -> None:
    text = ("password=[REDACTED:password] Authorization: Bearer [REDACTED:bearer] "
            "Cookie: [REDACTED:cookie] x://u:[REDACTED:url_password]@h")
    assert redact(text) == text


# ----------------------------------------------------------- API contracts


def test_none_and_empty() -> None:
    assert redact(None) is None
    assert redact("") == ""
    assert find_secrets(None) == []  # type: ignore[arg-type]
    assert not contains_secret(None)  # type: ignore[arg-type]


def test_clean_text_is_returned_as_is() -> None:
    text = "nothing to see here " * 10
    assert redact(text) is text


def test_secret_match_is_frozen_and_ordered() -> None:
    a, b = "ghp_" + _fill(36), "AK" + "IA" + "ABCDEFGHIJKLMNOP"
    text = f"{a} and {b}"
    matches = find_secrets(text)
    assert matches == [SecretMatch("github_token", 0, len(a)),
                       SecretMatch("aws_access_key", len(a) + 5, len(text))]
    assert [text[m.start:m.end] for m in matches] == [a, b]
    with pytest.raises(dataclasses.FrozenInstanceError):
        matches[0].kind = "x"  # type: ignore[misc]


def test_offsets_survive_non_ascii_lowercasing() -> None:
    # "İ".lower() is two code points: the case-insensitive search must still
    # report offsets in the original text.
    text = "İstanbul ✓ Password: hunter2 AUTHORIZATION: BEARER " + _fill(20)
    assert redact(text) == "İstanbul ✓ Password: [REDACTED:password] AUTHORIZATION: BEARER [REDACTED:bearer]"


# ------------------------------------------------------------- redact_value


def test_redact_value_nested_structures() -> None:
    token = "ghp_" + _fill(36)
    original = {
        "user": "bob",
        "password": "hunter2",
        "Client-Secret": "abc",
        "apiKey": "plain-value",
        "AWS_SECRET_ACCESS_KEY": "xyz",
        "authorization": "Bearer abc",
        "Cookie": "a=b",
        "private_key": "k",
        "access_key": "k2",
        "sessionToken": None,
        "has_password": True,
        "token_type": "Bearer",
        "max_tokens": 1024,
        "tokenizer": "cl100k",
        "public_token": "trovw_" + _b64url(24),
        "items": [f"use {token}", ("tuple", token), {"deep": {"secret": "s", "n": 1}}],
        ("tuple", "key"): "v",
        7: f"Authorization: Bearer {_fill(30)}",
    }
    snapshot = repr(original)
    out = redact_value(original)
    assert out == {
        "user": "bob",
        "password": "[REDACTED:password]",
        "Client-Secret": "[REDACTED:secret]",
        "apiKey": "[REDACTED:api_key]",
        "AWS_SECRET_ACCESS_KEY": "[REDACTED:secret]",
        "authorization": "[REDACTED:authorization]",
        "Cookie": "[REDACTED:cookie]",
        "private_key": "[REDACTED:private_key]",
        "access_key": "[REDACTED:api_key]",
        "sessionToken": None,
        "has_password": True,
        "token_type": "Bearer",
        "max_tokens": 1024,
        "tokenizer": "cl100k",
        "public_token": original["public_token"],
        "items": ["use [REDACTED:github_token]", ("tuple", "[REDACTED:github_token]"),
                  {"deep": {"secret": "[REDACTED:secret]", "n": 1}}],
        ("tuple", "key"): "v",
        7: "Authorization: Bearer [REDACTED:bearer]",
    }
    assert isinstance(out["items"][1], tuple)
    assert repr(original) == snapshot  # input untouched, new objects returned
    assert out is not original and out["items"] is not original["items"]


def test_redact_value_keeps_dict_keys() -> None:
    key = "ghp_" + _fill(36)
    out = redact_value({key: "v", "password": "x"})
    assert list(out) == [key, "password"]
    assert out["password"] == "[REDACTED:password]"


def test_redact_value_scalars_and_other_types() -> None:
    assert redact_value(None) is None
    assert redact_value(5) == 5
    assert redact_value(True) is True
    assert redact_value("sk_" + "live_" + _fill(24)) == "[REDACTED:stripe_key]"
    Point = namedtuple("Point", "x y")
    assert redact_value(Point("ghp_" + _fill(36), 1)) == Point("[REDACTED:github_token]", 1)
    assert redact_value({"password": ""}) == {"password": ""}
    assert redact_value({"password": "[REDACTED:password]"}) == {"password": "[REDACTED:password]"}
    obj = object()
    assert redact_value([obj]) == [obj]


def test_redact_value_handles_cycles() -> None:
    loop: list = ["a"]
    loop.append(loop)
    assert redact_value(loop) == ["a", "[REDACTED:cycle]"]


# ----------------------------------------------------------- redact_headers


def test_redact_headers() -> None:
    headers = {
        "Authorization": "Bearer " + _fill(30),
        "proxy-authorization": "Basic abc",
        "Cookie": "a=b",
        "Set-Cookie": "sid=1",
        "X-Api-Key": "woesk_" + _b64url(43),
        "X-Woes-Conversation-Secret": "abc",
        "X-Csrf-Token": "t",
        "X-Shared-Secret-Value": "s",
        "Content-Type": "application/json",
        "X-Forwarded-For": "10.0.0.1",
        "Referer": "https://u:pw@example.com/x",
        "X-Debug": "ghp_" + _fill(36),
    }
    assert redact_headers(headers) == {
        "Authorization": "[REDACTED]",
        "proxy-authorization": "[REDACTED]",
        "Cookie": "[REDACTED]",
        "Set-Cookie": "[REDACTED]",
        "X-Api-Key": "[REDACTED]",
        "X-Woes-Conversation-Secret": "[REDACTED]",
        "X-Csrf-Token": "[REDACTED]",
        "X-Shared-Secret-Value": "[REDACTED]",
        "Content-Type": "application/json",
        "X-Forwarded-For": "10.0.0.1",
        "Referer": "https://u:[REDACTED:url_password]@example.com/x",
        "X-Debug": "[REDACTED:github_token]",
    }
    assert redact_headers([("authorization", "x"), ("accept", "*/*")]) == {"authorization": "[REDACTED]",
                                                                           "accept": "*/*"}


# -------------------------------------------------------- speed & ReDoS


_ADVERSARIAL = {
    "letters": "a" * 100_000,
    "digits": "4" * 100_000,
    "digit groups": "4111 " * 20_000,
    "one-digit groups": "4 " * 50_000,
    "stripe prefixes": ("sk_" + "live_") * 12_500,
    "url userinfo": "://a:" * 20_000,
    "url at signs": "://a:" + "@" * 100_000,
    "long scheme": "h" * 100_000 + "://",
    "pem headers": "-----BEGIN RSA PRIVATE KEY-----" * 3_300,
    "pem body": "-----BEGIN PRIVATE KEY-----" + "\nAAAA" * 20_000,
    "pem no newline": "-----BEGIN PRIVATE KEY-----" + "A" * 100_000,
    "dashes": "-" * 100_000,
    "password=": "password=" * 11_000,
    "password quote": 'password: "' + "\\" * 100_000,
    "escaped quotes": 'token=\\"' + "\\x" * 50_000,
    "token colons": "token: " * 14_000,
    "api": "api" * 33_000,
    "jwt starts": "eyJ" * 33_000,
    "jwt segments": ("eyJ" + "a" * 10 + ".") * 7_000,
    "bearer": "Bearer " * 14_000,
    "basic": "Basic QUFB" * 10_000,
    "authorization": "Authorization: " * 7_000,
    "cookie": "cookie=" + "a" * 100_000,
    "secret keys": "secret_key_secret_access_key_" * 3_500,
    "mixed": "".join(random.Random(7).choice("aA0 -_.:/@=\"'\\\n") for _ in range(100_000)),
    "non-ascii": "İ" * 50_000 + "password=" * 5_000,
}


@pytest.mark.parametrize("name", list(_ADVERSARIAL))
def test_adversarial_input_is_fast(name: str) -> None:
    text = _ADVERSARIAL[name]
    started = time.process_time()  # CPU time of this process: other busy processes do not count
    once = redact(text)
    redact(once)
    assert time.process_time() - started < 0.5, name


def test_clean_2kb_line_is_cheap() -> None:
    words = ("request handled workspace conversation status ok id 200 GET /api/v1/items "
             "latency_ms=12 2024-05-01T12:00:00Z user agent model reply").split()
    line = " ".join(_rng.choice(words) for _ in range(400))[:2048]
    assert redact(line) == line
    runs = 200
    started = time.process_time()
    for _ in range(runs):
        redact(line)
    per_call = (time.process_time() - started) / runs
    # Typically ~0.05 ms; the bound is loose so a busy CI machine does not flake.
    assert per_call < 0.002


@pytest.mark.parametrize("text, secret", [
    ("curl -u deploy-bot:Tr0ub4dor&3-Widgets https://api.github.com/x", "Tr0ub4dor&3-Widgets"),
    ("curl --user=bot:hunter2 https://x", "hunter2"),
    ("-u AC0c3b75dbef24788bac22896d11fdb226:d72ffdc619d492eaa59811802c2fd814 'x'", "d72ffdc619d492eaa59811802c2fd814"),
    ("Using API key SKe2fa90 with secret 4zGXlqhSqHqqfrzlfMbmh0UFJS6Y1oPK, how do I", "4zGXlqhSqHqqfrzlfMbmh0UFJS6Y1oPK"),
    ("the auth token is 9f8e7d6c5b4a39281706f5e4d3c2b1a0.", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
])
def test_curl_basic_auth_and_prose_credentials(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[REDACTED:" in out
    assert redact(out) == out


@pytest.mark.parametrize("text", [
    "the token expired yesterday", "use the secret key header", "password is required", "curl -u $USER:$PASS",
    "the token refresh_interval_is_long",
])
def test_prose_without_a_generated_value_is_kept(text: str) -> None:
    assert redact(text) == text if "$" not in text else "$USER" in redact(text)


@pytest.mark.parametrize("text", [
    "Authorization: Bearer …", "Authorization: Bearer $TOKEN", 'curl -u "$USER:$PASSWORD" https://x',
    "Authorization: Bearer YOUR_API_TOKEN", "Authorization: Basic <credentials>", "Authorization: Bearer {token}",
])
def test_documentation_placeholders_are_not_secrets(text: str) -> None:
    assert redact(text) == text


def test_real_credentials_next_to_placeholder_rules_still_go() -> None:
    assert "abcdef123456" not in redact("Authorization: Bearer abcdef123456")
    assert "Zx9" not in redact("curl -u bot:Zx9$long https://x")


def test_a_key_followed_by_punctuation_only_is_not_a_secret() -> None:
    """Specs describe credentials in prose ("a hash of `api_key:`"): a value with no letter or digit is
    punctuation, and redacting it would mangle the evidence the agent cites."""
    text = "Authorization: Basic <base64 hash of `api_key:`>"
    assert redact(text) == text
    assert redact("api_key: `sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc`") != "api_key: `sk_live_4eC39HqLyjWDarjtT1zdp7dc`"
    assert redact("password: 1234") == "password: [REDACTED:password]"
