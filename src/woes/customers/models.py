from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps


class Account(InWorkspace, Timestamps, Base):
    """A company the customers belong to."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    external_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(255))
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Customer(InWorkspace, Timestamps, Base):
    """A person who asks for support (one profile, reachable through several channel identities)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    external_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sensitive_traits: Mapped[list[str]] = mapped_column(JSONType, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


redact_on_write(Account.name, Account.traits, Customer.name, Customer.company, Customer.traits, Customer.custom_fields)


class CustomerIdentity(InWorkspace, CreatedAt, Base):
    """A way to reach a customer on one channel (an email address, a Discord user, a widget visitor)."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "value"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
