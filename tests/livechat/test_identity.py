"""Widget identity verification (SPEC §3): what each mode trusts, and every way a proof is refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import jwt
import pytest

from woes.core.errors import ProblemError
from woes.livechat.identity import ANONYMOUS, MAX_TOKEN_LIFETIME, email_hash, verify_identity

SECRET = "9f" * 32
KEY = "trovw_publickey"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def _verify(payload, mode, *, secret=SECRET, now=NOW):
    return verify_identity(payload, mode=mode, secret_hex=secret, public_key=KEY, now=now)


def _refused(payload, mode, field, **kw) -> str:
    with pytest.raises(ProblemError) as exc:
        _verify(payload, mode, **kw)
    assert exc.value.status == 401 and exc.value.code == "identity_invalid"
    assert exc.value.errors[0]["field"] == field
    return exc.value.errors[0]["message"]


def _token(claims: dict, *, key: str = SECRET, alg: str = "HS256") -> str:
    base = {"email": "Ada@Example.com", "aud": KEY, "iat": T - 10, "exp": T + 600}
    return jwt.encode({**base, **claims}, key, algorithm=alg)


def test_hmac_hash_is_the_documented_computation():
    # docs: createHmac("sha256", Buffer.from(secret, "hex")).update(email.trim().toLowerCase()).digest("hex")
    expected = hmac.new(bytes.fromhex(SECRET), b"ada@example.com", hashlib.sha256).hexdigest()
    assert email_hash(SECRET, "  Ada@Example.COM ") == expected


def test_off_mode_trusts_nothing():
    who = _verify({"email": "Ada@Example.com", "name": "Ada", "id": "user_1", "email_hash": "x"}, "off")
    assert who.source == "unverified" and who.email == "ada@example.com" and not who.verified
    assert who.external_id is None  # a claimed id never names a profile
    assert _verify({}, "off") is ANONYMOUS and _verify(None, "hmac") is ANONYMOUS


def test_hmac_mode_trusts_the_signed_email_only():
    who = _verify({"email": "ada@example.com", "name": "Ada", "company": "Acme", "id": "user_1",
                   "email_hash": email_hash(SECRET, "ada@example.com")}, "hmac")
    assert (who.source, who.email, who.name, who.company, who.external_id) == ("hmac", "ada@example.com", "Ada", "Acme", None)
    assert who.verified


@pytest.mark.parametrize("given", ["", "00" * 32, email_hash(SECRET, "eve@example.com"), email_hash("ab" * 32, "ada@example.com")])
def test_hmac_with_a_wrong_hash_is_refused(given):
    _refused({"email": "ada@example.com", "email_hash": given}, "hmac", "email_hash")


def test_hmac_email_without_hash_is_refused_and_no_email_is_anonymous():
    _refused({"email": "ada@example.com", "name": "Ada"}, "hmac", "email_hash")
    assert _verify({"name": "Just browsing"}, "hmac") is ANONYMOUS


def test_jwt_mode_trusts_the_token_claims():
    token = _token({"name": "Ada", "contact_external_id": "user_1", "account_external_id": "acct_9"})
    who = _verify({"jwt": token}, "jwt")
    assert (who.source, who.email, who.name, who.external_id, who.account_external_id) == (
        "jwt", "ada@example.com", "Ada", "user_1", "acct_9")


def test_jwt_signed_as_the_docs_show_verifies():
    # jsonwebtoken.sign(claims, process.env.WOES_WIDGET_IDENTITY_SECRET, {algorithm: "HS256"}): the hex text is the key
    token = jwt.encode({"email": "ada@example.com", "aud": KEY, "iat": T, "exp": T + 10 * 60}, SECRET, algorithm="HS256")
    assert _verify({"jwt": token}, "jwt").email == "ada@example.com"


def test_jwt_alg_none_is_refused():
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(
        f'{{"email":"ada@example.com","aud":"{KEY}","iat":{T},"exp":{T + 60}}}'.encode()).decode()
    assert "HS256" in _refused({"jwt": f"{header}.{body}."}, "jwt", "jwt")


def test_jwt_other_algorithms_are_refused():
    assert "HS256" in _refused({"jwt": _token({}, alg="HS512")}, "jwt", "jwt")


@pytest.mark.parametrize(("claims", "words"), [
    ({"aud": "trovw_other"}, "aud"),
    ({"exp": T - 3600}, "expired"),
    ({"iat": T - 10, "exp": T - 10 + MAX_TOKEN_LIFETIME + 1}, "24 hours"),
    ({"iat": T + 3600, "exp": T + 7200}, "future"),
    ({"nbf": T + 3600}, "nbf"),
    ({"email": "not-an-email"}, "email"),
])
def test_jwt_bad_claims_are_refused(claims, words):
    assert words in _refused({"jwt": _token(claims)}, "jwt", "jwt")


@pytest.mark.parametrize("missing", ["exp", "iat", "aud", "email"])
def test_jwt_required_claims(missing):
    claims = {"email": "ada@example.com", "aud": KEY, "iat": T, "exp": T + 60}
    del claims[missing]
    message = _refused({"jwt": jwt.encode(claims, SECRET, algorithm="HS256")}, "jwt", "jwt")
    assert missing in message


def test_jwt_with_a_wrong_secret_is_refused():
    _refused({"jwt": _token({}, key="ab" * 32)}, "jwt", "jwt")


def test_jwt_mode_refuses_unsigned_claims_and_garbage():
    _refused({"email": "ada@example.com"}, "jwt", "jwt")
    _refused({"jwt": "not.a.token"}, "jwt", "jwt")
    assert _verify({"name": "Guest"}, "jwt") is ANONYMOUS


def test_the_clock_is_the_one_given():
    token = _token({"iat": T, "exp": T + 600})
    assert _verify({"jwt": token}, "jwt", now=NOW).verified
    _refused({"jwt": token}, "jwt", "jwt", now=datetime(2027, 3, 1, 13, 0, tzinfo=UTC))


def test_a_verifying_mode_without_secret_refuses():
    _refused({"email": "ada@example.com", "email_hash": "x"}, "hmac", "identity", secret=None)
