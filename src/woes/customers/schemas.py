"""Request and response bodies for customers, their channel identities and accounts (SPEC §6)."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError
from email_validator import validate_email as _validate_email
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp

IdentityChannel = Literal["live-chat", "email", "discord", "api"]
IDENTITY_CHANNELS: tuple[str, ...] = ("live-chat", "email", "discord", "api")

MAX_TRAITS_BYTES = 64 * 1024
MAX_TRAIT_KEY_LENGTH = 100
MAX_TRAITS_DEPTH = 32
MAX_SENSITIVE_TRAITS = 200
MAX_IDENTITIES_PER_REQUEST = 20

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


# --- shared validators (also used by the service for path and query values) ---------------------------

def check_text(value: str) -> str:
    """Single-line text: PostgreSQL cannot store NUL, and a tab, newline or other control character in a
    name, id or address is always a client bug."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(check_text)]


def normalize_email(value: str) -> str:
    try:
        return _validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address ({exc})") from None


def normalize_domain(value: str) -> str:
    v = value.strip().lower().rstrip(".")
    try:
        v = v.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("not a valid domain name") from None
    if not _DOMAIN.match(v):
        raise ValueError("not a domain name like example.com (no scheme, path or port)")
    return v


def _check_json_value(value: Any, depth: int) -> None:
    if depth > MAX_TRAITS_DEPTH:
        raise ValueError(f"nested deeper than {MAX_TRAITS_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("strings must not contain NUL characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or "\x00" in k:
                raise ValueError("object keys must be strings without NUL characters")
            _check_json_value(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_json_value(v, depth + 1)
    elif value is not None and not isinstance(value, (bool, int)):
        raise ValueError("must be JSON")


def traits_size(traits: dict[str, Any]) -> int:
    return len(json.dumps(traits, separators=(",", ":"), ensure_ascii=False).encode())


def check_traits(traits: dict[str, Any] | None) -> dict[str, Any] | None:
    """A free-form JSON object: keys 1-100 characters, finite numbers, no NUL, at most 64 KB serialized."""
    if traits is None:
        return None
    for key in traits:
        if not key:
            raise ValueError("trait keys must not be empty")
        if len(key) > MAX_TRAIT_KEY_LENGTH:
            raise ValueError(f"trait key '{key[:40]}...' is longer than {MAX_TRAIT_KEY_LENGTH} characters")
    _check_json_value(traits, 0)
    if traits_size(traits) > MAX_TRAITS_BYTES:
        raise ValueError(f"traits must be at most {MAX_TRAITS_BYTES // 1024} KB serialized as JSON")
    return traits


def _check_sensitive(v: list[str] | None) -> list[str] | None:
    if v is None:
        return None
    return list(dict.fromkeys(v))  # deduplicated, first-seen order


TraitKey = Annotated[str, Field(min_length=1, max_length=MAX_TRAIT_KEY_LENGTH), AfterValidator(check_text)]
Traits = Annotated[
    dict[str, Any] | None,
    Field(description="Free-form JSON object (keys up to 100 characters, at most 64 KB serialized)."),
    AfterValidator(check_traits),
]
ExternalId = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_text)]


# --- identities ---------------------------------------------------------------------------------------

class IdentityIn(ApiInput):
    channel: IdentityChannel
    value: str = Field(min_length=1, max_length=320, description="The address on that channel: an email address, "
                       "a Discord user id, a widget visitor id, your own API user id.")
    verified: bool = False

    @field_validator("value")
    @classmethod
    def _normalize(cls, v: str, info: ValidationInfo) -> str:
        check_text(v)
        if info.data.get("channel") == "email":
            return normalize_email(v)
        return v


class IdentityOut(ApiOutput):
    id: uuid.UUID
    channel: str
    value: str
    verified: bool
    created_at: Timestamp


class LinkedIdentityOut(IdentityOut):
    object: Literal["customer_identity"] = "customer_identity"
    customer_id: uuid.UUID


# --- customers ----------------------------------------------------------------------------------------

class _CustomerFields(ApiInput):
    name: Text | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, description="Validated and stored lower-cased.")
    company: Text | None = Field(None, min_length=1, max_length=200,
                                 description="Shown as the account's name when unset.")
    account_id: uuid.UUID | None = Field(None, description="An account of this workspace; null unlinks.")
    traits: Traits = None
    sensitive_traits: list[TraitKey] | None = Field(
        None, max_length=MAX_SENSITIVE_TRAITS, description="Trait keys the AI agent must never see.")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else normalize_email(v)

    _sensitive = field_validator("sensitive_traits")(classmethod(lambda cls, v: _check_sensitive(v)))


class CustomerCreate(_CustomerFields):
    external_id: ExternalId | None = Field(None, description="Your id for this person; unique in the workspace.")
    identities: list[IdentityIn] = Field(default_factory=list, max_length=MAX_IDENTITIES_PER_REQUEST)


class CustomerUpsert(_CustomerFields):
    """PUT by external id: creates the customer or changes only the fields given (traits are merged)."""

    identities: list[IdentityIn] = Field(default_factory=list, max_length=MAX_IDENTITIES_PER_REQUEST,
                                         description="Linked if not linked yet.")


class CustomerPatch(_CustomerFields):
    """Only the fields given change. `traits` are merged: a trait set to null is deleted."""

    external_id: ExternalId | None = None


class CustomerMerge(ApiInput):
    source_customer_id: uuid.UUID = Field(description="The duplicate profile to merge into this one.")


class CustomerOut(ApiOutput):
    object: Literal["customer"] = "customer"
    id: uuid.UUID
    external_id: str | None
    name: str | None
    email: str | None
    company: str | None
    account_id: uuid.UUID | None
    traits: dict[str, Any]
    sensitive_traits: list[str]
    identities: list[IdentityOut]
    created_at: Timestamp
    updated_at: Timestamp


# --- accounts -----------------------------------------------------------------------------------------

class _AccountFields(ApiInput):
    domain: str | None = Field(None, max_length=255, description="A domain name like example.com.")
    traits: Traits = None

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        return None if v is None else normalize_domain(v)


class AccountCreate(_AccountFields):
    name: Text = Field(min_length=1, max_length=200)
    external_id: ExternalId | None = None


class AccountUpsert(_AccountFields):
    """PUT by external id: creates the account (then `name` is required) or changes only the fields given."""

    name: Text | None = Field(None, min_length=1, max_length=200)


class AccountPatch(_AccountFields):
    name: Text | None = Field(None, min_length=1, max_length=200)
    external_id: ExternalId | None = None


class AccountOut(ApiOutput):
    object: Literal["account"] = "account"
    id: uuid.UUID
    external_id: str | None
    name: str
    domain: str | None
    traits: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp
