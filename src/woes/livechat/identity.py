"""Who a widget visitor is, and how far that can be trusted (SPEC §3 "Widget identity secret").

The workspace's identity mode decides what the browser's `identify` payload proves:

- `off`: nothing. An email or id is display data (`unverified`); no email or id at all is `anonymous`.
- `hmac`: the email, when `email_hash` is `hex(HMAC-SHA256(key=bytes.fromhex(secret), msg=normalized email))`.
  Name, company and id stay display data. An email without a valid hash is refused.
- `jwt`: the claims of an HS256 token signed with the secret (the hex text as given to the company, as
  `jsonwebtoken.sign(claims, secret)` uses it), with `aud` = the widget public key, `email`, `iat` and `exp`
  required, a lifetime of at most 24 h, and no other algorithm. Claims offered outside the token are refused.

Refusals say which field failed and never why a signature did not match."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

import jwt

from woes.core.errors import ProblemError

MAX_TOKEN_LIFETIME = 24 * 3600
CLOCK_SKEW = 60  # seconds a token's iat may lie ahead and its exp behind
IDENTITY_MODES = ("off", "hmac", "jwt")


@dataclass(frozen=True)
class VisitorIdentity:
    """A visitor as the widget may treat them. `source` is the conversation's `identitySource`."""

    source: str  # anonymous | unverified | hmac | jwt
    email: str | None = None
    name: str | None = None
    company: str | None = None
    external_id: str | None = None  # trusted only from a JWT (`contact_external_id`)
    account_external_id: str | None = None  # likewise (`account_external_id`)

    @property
    def verified(self) -> bool:
        return self.source in ("hmac", "jwt")


ANONYMOUS = VisitorIdentity("anonymous")


def identity_refused(field: str, message: str) -> ProblemError:
    return ProblemError(401, "identity_invalid", "The visitor's identity could not be verified.",
                        errors=[{"field": field, "message": message}])


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_hash(secret_hex: str, email: str) -> str:
    """What the company's backend computes in `hmac` mode."""
    return hmac.new(bytes.fromhex(secret_hex), normalize_email(email).encode(), sha256).hexdigest()


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _display(payload: dict[str, Any]) -> dict[str, str | None]:
    return {"name": _text(payload.get("name"), 200), "company": _text(payload.get("company"), 200)}


def _unverified(payload: dict[str, Any]) -> VisitorIdentity:
    email = _text(payload.get("email"), 320)
    display_id = _text(payload.get("externalId") or payload.get("id"), 255)
    if not email and not display_id and not payload.get("name"):
        return ANONYMOUS
    return VisitorIdentity("unverified", email=normalize_email(email) if email else None, **_display(payload))


def _hmac(payload: dict[str, Any], secret_hex: str) -> VisitorIdentity:
    email = _text(payload.get("email"), 320)
    if not email:
        return ANONYMOUS  # nothing claimed: an anonymous visitor
    given = payload.get("email_hash")
    if not isinstance(given, str) or not given:
        raise identity_refused("email_hash", "This workspace verifies identities: send email_hash, computed on your server.")
    if not hmac.compare_digest(given.strip().lower(), email_hash(secret_hex, email)):
        raise identity_refused("email_hash", "email_hash does not match this email.")
    return VisitorIdentity("hmac", email=normalize_email(email), **_display(payload))


def _jwt(payload: dict[str, Any], secret_hex: str, public_key: str, now: datetime) -> VisitorIdentity:
    token = payload.get("jwt")
    if not token:
        if payload.get("email") or payload.get("externalId") or payload.get("id"):
            raise identity_refused("jwt", "This workspace verifies identities with a signed token: send jwt.")
        return ANONYMOUS
    if not isinstance(token, str) or len(token) > 8192:
        raise identity_refused("jwt", "jwt must be a compact JWS string.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise identity_refused("jwt", "jwt is not a well-formed token.") from None
    if header.get("alg") != "HS256":
        raise identity_refused("jwt", "jwt must be signed with HS256.")
    try:
        # Times are checked below against the injectable `now`, not PyJWT's own clock.
        claims = jwt.decode(token, secret_hex, algorithms=["HS256"], audience=public_key,
                            options={"require": ["exp", "iat", "aud", "email"], "verify_exp": False,
                                     "verify_iat": False, "verify_nbf": False})
    except jwt.InvalidAudienceError:
        raise identity_refused("jwt", "jwt's aud must be this widget's public key.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise identity_refused("jwt", f"jwt lacks the {exc.claim} claim.") from None
    except jwt.InvalidTokenError:
        raise identity_refused("jwt", "jwt's signature or claims are not valid.") from None
    iat, exp, nbf = claims.get("iat"), claims.get("exp"), claims.get("nbf", 0)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp, nbf)):
        raise identity_refused("jwt", "jwt's iat, exp and nbf must be numbers.")
    stamp = now.timestamp()
    if nbf - CLOCK_SKEW > stamp:
        raise identity_refused("jwt", "jwt is not valid yet (nbf).")
    if exp + CLOCK_SKEW < stamp:
        raise identity_refused("jwt", "jwt has expired.")
    if iat - CLOCK_SKEW > stamp:
        raise identity_refused("jwt", "jwt's iat lies in the future.")
    if exp - iat > MAX_TOKEN_LIFETIME:
        raise identity_refused("jwt", "jwt's lifetime (exp - iat) is over 24 hours.")
    email = _text(claims.get("email"), 320)
    if not email or "@" not in email:
        raise identity_refused("jwt", "jwt's email claim must be an email address.")
    return VisitorIdentity("jwt", email=normalize_email(email), name=_text(claims.get("name"), 200),
                           company=_text(claims.get("company"), 200) or _text(payload.get("company"), 200),
                           external_id=_text(claims.get("contact_external_id"), 255),
                           account_external_id=_text(claims.get("account_external_id"), 255))


def verify_identity(payload: dict[str, Any] | None, *, mode: str, secret_hex: str | None, public_key: str,
                    now: datetime) -> VisitorIdentity:
    """The identity the payload of `Woes("identify", …)` establishes under the workspace's mode."""
    if not payload:
        return ANONYMOUS
    if mode == "off":
        return _unverified(payload)
    if not secret_hex:  # a verifying mode without a secret cannot verify anyone
        raise identity_refused("identity", "The workspace has no identity secret yet; an operator must create one.")
    if mode == "hmac":
        return _hmac(payload, secret_hex)
    return _jwt(payload, secret_hex, public_key, now)
