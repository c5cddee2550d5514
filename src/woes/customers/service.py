"""Customers, their channel identities and accounts (SPEC §6).

Every `do_*` function changes rows in the caller's session and records its domain event there, so both
commit together or not at all; none of them commits. Every lookup is filtered by workspace.

Merged customers stay as hidden tombstones (`merged_into_id` set, always pointing at the surviving
profile): they drop out of lists and id lookups (404 carrying `mergedIntoId`), while a lookup by an
external id they still hold resolves to the survivor, so integrations that upsert by external id keep
working after a merge.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from woes.core.errors import ProblemError, conflict, not_found, validation_error
from woes.core.hooks import Hooks
from woes.core.redaction import redact_value
from woes.core.views import camel
from woes.customers.models import Account, Customer, CustomerIdentity
from woes.customers.schemas import (
    MAX_TRAITS_BYTES,
    AccountCreate,
    AccountOut,
    AccountPatch,
    AccountUpsert,
    CustomerCreate,
    CustomerOut,
    CustomerPatch,
    CustomerUpsert,
    IdentityIn,
    IdentityOut,
    LinkedIdentityOut,
    check_text,
    traits_size,
)
from woes.db import utcnow
from woes.events.service import Actor, record_event

MergeHook = Callable[[Session, uuid.UUID, Customer, Customer], None]
DeleteHook = Callable[[Session, uuid.UUID, Customer], None]

# Called by do_merge_customers as hook(session, workspace_id, source, target) after identities and traits
# have moved and before the event is recorded, in the same transaction. Other domains are connected
# in woes.wiring (conversations move their rows to the target). Raising aborts the whole merge.
CUSTOMER_MERGE_HOOKS: Hooks[MergeHook] = Hooks("customer merged")

# Called by do_delete_customer as hook(session, workspace_id, customer) before the row is deleted.
CUSTOMER_DELETE_HOOKS: Hooks[DeleteHook] = Hooks("customer deleted")

# --- views --------------------------------------------------------------------------------------------

def _identities_by_customer(session: Session, workspace_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CustomerIdentity]]:
    out: dict[uuid.UUID, list[CustomerIdentity]] = {i: [] for i in ids}
    if ids:
        rows = session.scalars(
            select(CustomerIdentity)
            .where(CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.customer_id.in_(ids))
            .order_by(CustomerIdentity.created_at, CustomerIdentity.id)
        )
        for ident in rows:
            out[ident.customer_id].append(ident)
    return out


def _account_names(session: Session, workspace_id: uuid.UUID, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Account.id, Account.name).where(Account.workspace_id == workspace_id, Account.id.in_(wanted)))
    return {r[0]: r[1] for r in rows}


def _view(customer: Customer, identities: list[CustomerIdentity], account_name: str | None) -> dict[str, Any]:
    return CustomerOut(
        id=customer.id, external_id=customer.external_id, name=customer.name, email=customer.email,
        company=customer.company or account_name, account_id=customer.account_id, traits=customer.traits or {},
        sensitive_traits=customer.sensitive_traits or [],
        identities=[IdentityOut.model_validate(i) for i in identities],
        created_at=customer.created_at, updated_at=customer.updated_at,
    ).model_dump(mode="json", by_alias=True)


def customer_views(session: Session, customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """Views of several customers of one workspace in three queries (no N+1)."""
    if not customers:
        return []
    ws = customers[0].workspace_id
    idents = _identities_by_customer(session, ws, [c.id for c in customers])
    names = _account_names(session, ws, (c.account_id for c in customers if not c.company))
    return [_view(c, idents[c.id], names.get(c.account_id) if c.account_id else None) for c in customers]


def customer_view(session: Session, customer: Customer) -> dict[str, Any]:
    return customer_views(session, [customer])[0]


def identity_view(identity: CustomerIdentity) -> dict[str, Any]:
    return LinkedIdentityOut.model_validate(identity).model_dump(mode="json", by_alias=True)


def account_view(account: Account) -> dict[str, Any]:
    return AccountOut.model_validate(account).model_dump(mode="json", by_alias=True)


def agent_visible_customer(customer: Customer, account: Account | None = None) -> dict[str, Any]:
    """What the AI agent may see of a customer, as hints only: name, company and the traits not marked
    sensitive (compared case-insensitively), with secrets redacted. Never the email, identities or ids."""
    company = customer.company
    if company is None and customer.account_id is not None:
        if account is None or account.id != customer.account_id:
            session = object_session(customer)
            account = session.get(Account, customer.account_id) if session is not None else None
        if account is not None and account.workspace_id == customer.workspace_id:
            company = account.name
    hidden = {k.casefold() for k in (customer.sensitive_traits or [])}
    traits = {k: v for k, v in (customer.traits or {}).items() if k.casefold() not in hidden}
    return redact_value({"name": customer.name, "company": company, "traits": traits})


# --- lookups ------------------------------------------------------------------------------------------

def _merged_404(customer: Customer) -> ProblemError:
    return ProblemError(404, "not_found", "Customer not found: it was merged into another customer.",
                        extra={"mergedIntoId": str(customer.merged_into_id)})


def _first(session: Session, stmt: Select[Any], *, for_update: bool) -> Any:
    """The first row `stmt` selects, or None; locked FOR UPDATE and read afresh when `for_update`."""
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def get_customer(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer:
    """An active (not merged) customer of this workspace, or 404."""
    stmt = select(Customer).where(Customer.id == customer_id, Customer.workspace_id == workspace_id)
    customer = _first(session, stmt, for_update=for_update)
    if customer is None:
        raise not_found("Customer")
    if customer.merged_into_id is not None:
        raise _merged_404(customer)
    return customer


def check_external_id(external_id: str) -> str:
    """Validate an external id given in a URL path (bodies are validated by the schemas)."""
    if not 1 <= len(external_id) <= 255:
        raise validation_error("externalId", "must be 1-255 characters")
    if external_id != external_id.strip():
        raise validation_error("externalId", "must not start or end with whitespace")
    try:
        check_text(external_id)
    except ValueError as exc:
        raise validation_error("externalId", str(exc)) from None
    return external_id


def find_customer_by_external_id(session: Session, workspace_id: uuid.UUID, external_id: str, *, for_update: bool = False) -> Customer | None:
    """The active customer holding this external id (following a merge), or None."""
    stmt = select(Customer).where(Customer.workspace_id == workspace_id, Customer.external_id == external_id)
    customer = _first(session, stmt, for_update=for_update)
    if customer is not None and customer.merged_into_id is not None:
        stmt = select(Customer).where(Customer.workspace_id == workspace_id, Customer.id == customer.merged_into_id)
        customer = _first(session, stmt, for_update=for_update)
    return customer


def get_customer_by_external_id(session: Session, workspace_id: uuid.UUID, external_id: str) -> Customer:
    customer = find_customer_by_external_id(session, workspace_id, check_external_id(external_id))
    if customer is None:
        raise not_found("Customer")
    return customer


def find_customer_by_identity(session: Session, workspace_id: uuid.UUID, channel: str, value: str) -> Customer | None:
    """The customer reachable at this channel address (for channels: email, Discord, widget), or None."""
    return session.scalar(
        select(Customer).join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id).where(
            CustomerIdentity.workspace_id == workspace_id, Customer.workspace_id == workspace_id,
            CustomerIdentity.channel == channel, CustomerIdentity.value == value)
    )


def _filter_text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return check_text(value)
    except ValueError as exc:
        raise validation_error(field, str(exc)) from None


def list_customers_stmt(
    workspace_id: uuid.UUID,
    *,
    email: str | None = None,
    external_id: str | None = None,
    account_id: uuid.UUID | None = None,
    q: str | None = None,
) -> Select[Any]:
    stmt = select(Customer).where(Customer.workspace_id == workspace_id, Customer.merged_into_id.is_(None))
    if (email := _filter_text(email, "email")) is not None:
        stmt = stmt.where(Customer.email == email.strip().lower())
    if (external_id := _filter_text(external_id, "externalId")) is not None:
        via_merge = select(Customer.merged_into_id).where(
            Customer.workspace_id == workspace_id, Customer.external_id == external_id, Customer.merged_into_id.is_not(None))
        stmt = stmt.where(or_(Customer.external_id == external_id, Customer.id.in_(via_merge.scalar_subquery())))
    if account_id is not None:
        stmt = stmt.where(Customer.account_id == account_id)
    if (q := _filter_text(q, "q")) is not None and q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(or_(func.lower(Customer.name).contains(needle, autoescape=True),
                              func.lower(Customer.email).contains(needle, autoescape=True)))
    return stmt


def get_account(session: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, *, for_update: bool = False) -> Account:
    stmt = select(Account).where(Account.id == account_id, Account.workspace_id == workspace_id)
    account = _first(session, stmt, for_update=for_update)
    if account is None:
        raise not_found("Account")
    return account


def find_account_by_external_id(session: Session, workspace_id: uuid.UUID, external_id: str, *, for_update: bool = False) -> Account | None:
    stmt = select(Account).where(Account.workspace_id == workspace_id, Account.external_id == external_id)
    return _first(session, stmt, for_update=for_update)


def get_account_by_external_id(session: Session, workspace_id: uuid.UUID, external_id: str) -> Account:
    account = find_account_by_external_id(session, workspace_id, check_external_id(external_id))
    if account is None:
        raise not_found("Account")
    return account


def list_accounts_stmt(
    workspace_id: uuid.UUID, *, external_id: str | None = None, domain: str | None = None, q: str | None = None
) -> Select[Any]:
    stmt = select(Account).where(Account.workspace_id == workspace_id)
    if (external_id := _filter_text(external_id, "externalId")) is not None:
        stmt = stmt.where(Account.external_id == external_id)
    if (domain := _filter_text(domain, "domain")) is not None:
        stmt = stmt.where(Account.domain == domain.strip().lower().rstrip("."))
    if (q := _filter_text(q, "q")) is not None and q.strip():
        stmt = stmt.where(func.lower(Account.name).contains(q.strip().lower(), autoescape=True))
    return stmt


# --- shared write helpers -----------------------------------------------------------------------------

def _insert(session: Session, row: Any) -> bool:
    """Insert in a savepoint; False when a unique constraint refused it (a concurrent writer won)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _set_unique(session: Session, row: Any, attr: str, value: Any) -> bool:
    """Change a uniquely constrained column in a savepoint; False when a concurrent writer took the value."""
    try:
        with session.begin_nested():
            setattr(row, attr, value)
            session.flush()
    except IntegrityError:
        return False
    return True


def _merge_traits(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(current or {})
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _check_traits_size(traits: dict[str, Any]) -> None:
    if traits_size(traits) > MAX_TRAITS_BYTES:
        raise validation_error("traits", f"the resulting traits would exceed {MAX_TRAITS_BYTES // 1024} KB serialized as JSON")


def _require_account(session: Session, workspace_id: uuid.UUID, account_id: uuid.UUID) -> Account:
    account = session.scalar(select(Account).where(Account.id == account_id, Account.workspace_id == workspace_id))
    if account is None:
        raise validation_error("accountId", "no account with this id in this workspace")
    return account


def _customer_external_id_holder(session: Session, workspace_id: uuid.UUID, external_id: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.workspace_id == workspace_id, Customer.external_id == external_id))


def _external_id_conflict(holder: Customer) -> ProblemError:
    existing = holder.merged_into_id or holder.id
    return conflict("Another customer already has this externalId.", existingId=str(existing))


def _apply_customer_fields(session: Session, workspace_id: uuid.UUID, customer: Customer, changes: dict[str, Any], *, creating: bool) -> list[str]:
    """Set the given fields (snake_case keys) on `customer`; the camelCase names of the fields that changed."""
    changed: list[str] = []
    for field in ("traits", "sensitive_traits"):
        if field in changes and changes[field] is None:
            if not creating:
                raise validation_error(camel(field), "cannot be null" + ("; set a trait to null to delete it" if field == "traits" else ""))
            changes.pop(field)
    if "external_id" in changes and changes["external_id"] != customer.external_id:
        new = changes["external_id"]
        if new is not None:
            holder = _customer_external_id_holder(session, workspace_id, new)
            if holder is not None and holder.id != customer.id:
                if holder.merged_into_id != customer.id:
                    raise _external_id_conflict(holder)
                holder.external_id = None  # a tombstone of this very customer hands its external id over
                session.flush()
        if not _set_unique(session, customer, "external_id", new):
            holder = _customer_external_id_holder(session, workspace_id, new)
            raise _external_id_conflict(holder) if holder else conflict("Concurrent change; retry.")
        changed.append("externalId")
    for field in ("name", "email", "company"):
        if field in changes and changes[field] != getattr(customer, field):
            setattr(customer, field, changes[field])
            changed.append(field)
    if "account_id" in changes and changes["account_id"] != customer.account_id:
        if changes["account_id"] is not None:
            _require_account(session, workspace_id, changes["account_id"])
        customer.account_id = changes["account_id"]
        changed.append("accountId")
    if "traits" in changes:
        traits = _merge_traits(customer.traits or {}, changes["traits"])
        _check_traits_size(traits)
        if traits != (customer.traits or {}) or creating:
            customer.traits = traits
            if not creating:
                changed.append("traits")
    if "sensitive_traits" in changes and changes["sensitive_traits"] != (customer.sensitive_traits or []):
        customer.sensitive_traits = changes["sensitive_traits"]
        changed.append("sensitiveTraits")
    return changed


def _touch(row: Any) -> None:
    row.updated_at = utcnow()


# --- customers ----------------------------------------------------------------------------------------

def do_create_customer(
    session: Session, workspace_id: uuid.UUID, body: CustomerCreate | CustomerUpsert, actor: Actor,
    *, external_id: str | None = None,
) -> Customer:
    changes = body.model_dump(exclude_unset=True, exclude={"identities"})
    if external_id is not None:
        changes["external_id"] = external_id
    ext = changes.pop("external_id", None)
    if ext is not None and (holder := _customer_external_id_holder(session, workspace_id, ext)) is not None:
        raise _external_id_conflict(holder)
    now = utcnow()
    customer = Customer(workspace_id=workspace_id, external_id=ext, traits={}, sensitive_traits=[], custom_fields={},
                        created_at=now, updated_at=now)
    _apply_customer_fields(session, workspace_id, customer, changes, creating=True)
    if not _insert(session, customer):
        holder = _customer_external_id_holder(session, workspace_id, ext) if ext else None
        if holder is None:
            raise conflict("The customer could not be created because of a concurrent change; retry.")
        raise _external_id_conflict(holder)
    for ident_in in body.identities:
        _link_identity(session, workspace_id, customer, ident_in)
    record_event(session, workspace_id=workspace_id, type="customer.created", resource_type="customer",
                 resource_id=customer.id, data=customer_view(session, customer), actor=actor)
    return customer


def do_update_customer(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, body: CustomerPatch, actor: Actor) -> Customer:
    customer = get_customer(session, workspace_id, customer_id, for_update=True)
    return _update_customer(session, workspace_id, customer, body, actor)


def _update_customer(session: Session, workspace_id: uuid.UUID, customer: Customer, body: CustomerPatch | CustomerUpsert, actor: Actor) -> Customer:
    changes = body.model_dump(exclude_unset=True, exclude={"identities"})
    changed = _apply_customer_fields(session, workspace_id, customer, changes, creating=False)
    linked: list[CustomerIdentity] = []
    for ident_in in getattr(body, "identities", []):
        ident, status = _link_identity(session, workspace_id, customer, ident_in)
        if status == "created":
            linked.append(ident)
        if status != "unchanged" and "identities" not in changed:
            changed.append("identities")
    if changed:
        _touch(customer)
        session.flush()
        view = customer_view(session, customer)
        record_event(session, workspace_id=workspace_id, type="customer.updated", resource_type="customer",
                     resource_id=customer.id, data={**view, "changedFields": changed}, actor=actor)
        for ident in linked:
            _identity_linked_event(session, workspace_id, customer, ident, actor, view)
    return customer


def _upsert(session: Session, workspace_id: uuid.UUID, external_id: str, body: Any, actor: Actor, *,
            find: Callable[..., Any], create: Callable[..., Any], change: Callable[..., Any],
            lost_race: Callable[[ProblemError], bool]) -> tuple[Any, bool]:
    """(row, created): the row holding this external id (`find`), changed (only the given fields), or created.
    When the create fails with an error `lost_race` recognises (a concurrent upsert created it first), the row that
    upsert created is updated instead."""
    external_id = check_external_id(external_id)
    row = find(session, workspace_id, external_id, for_update=True)
    if row is None:
        try:
            return create(session, workspace_id, body, actor, external_id=external_id), True
        except ProblemError as exc:
            if not lost_race(exc):
                raise
            row = find(session, workspace_id, external_id, for_update=True)
            if row is None:
                raise
    return change(session, workspace_id, row, body, actor), False


def do_upsert_customer(session: Session, workspace_id: uuid.UUID, external_id: str, body: CustomerUpsert, actor: Actor) -> tuple[Customer, bool]:
    """(customer, created). Creates the customer with this external id, or updates only the given fields."""
    return _upsert(session, workspace_id, external_id, body, actor, find=find_customer_by_external_id,
                   create=do_create_customer, change=_update_customer,
                   lost_race=lambda exc: exc.status == 409 and "existingId" in exc.extra)


def _customer_by_woes_id(session: Session, workspace_id: uuid.UUID, reference: str) -> Customer | None:
    """The active customer of this workspace whose Woes id is `reference` (following a merge), or None."""
    try:
        customer_id = uuid.UUID(reference)
    except ValueError:
        return None
    stmt = select(Customer).where(Customer.id == customer_id, Customer.workspace_id == workspace_id)
    customer = _first(session, stmt, for_update=True)
    if customer is not None and customer.merged_into_id is not None:
        stmt = select(Customer).where(Customer.id == customer.merged_into_id, Customer.workspace_id == workspace_id)
        customer = _first(session, stmt, for_update=True)
    return customer


def do_upsert_customer_by_reference(session: Session, workspace_id: uuid.UUID, reference: str, fields: dict[str, Any],
                                    actor: Actor) -> Customer:
    """The customer a caller names by its own stable id (the customer's externalId) or by a Woes customer id:
    a Woes id of this workspace wins; otherwise the customer with this external id, created when there is
    none. The given profile fields (name, email, company) are set on it."""
    customer = _customer_by_woes_id(session, workspace_id, reference)
    if customer is not None:
        return _update_customer(session, workspace_id, customer, CustomerUpsert(**fields), actor) if fields else customer
    customer, _created = do_upsert_customer(session, workspace_id, reference, CustomerUpsert(**fields), actor)
    return customer


def do_delete_customer(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, actor: Actor) -> None:
    """Deletes the customer, its identities and the tombstones of customers merged into it."""
    customer = get_customer(session, workspace_id, customer_id, for_update=True)
    data = customer_view(session, customer)
    for hook in CUSTOMER_DELETE_HOOKS:
        hook(session, workspace_id, customer)
    tombstones = select(Customer.id).where(Customer.workspace_id == workspace_id, Customer.merged_into_id == customer.id)
    gone = [customer.id, *session.scalars(tombstones)]
    session.execute(delete(CustomerIdentity).where(CustomerIdentity.workspace_id == workspace_id,
                                                   CustomerIdentity.customer_id.in_(gone)))
    session.execute(delete(Customer).where(Customer.workspace_id == workspace_id, Customer.id.in_(gone[1:])))
    session.delete(customer)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="customer.deleted", resource_type="customer",
                 resource_id=customer_id, data=data, actor=actor)


# --- identities ---------------------------------------------------------------------------------------

def _identity_conflict(session: Session, workspace_id: uuid.UUID, channel: str, value: str) -> ProblemError:
    holder = session.scalar(select(CustomerIdentity.customer_id).where(
        CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.channel == channel, CustomerIdentity.value == value))
    return conflict(f"This {channel} identity is linked to another customer; merge the two customers instead.",
                    existingCustomerId=str(holder) if holder else None)


def _link_identity(session: Session, workspace_id: uuid.UUID, customer: Customer, body: IdentityIn) -> tuple[CustomerIdentity, str]:
    """(identity, "created" | "verified" | "unchanged"). Linking an identity the customer already has is a
    no-op (except that it can become verified); one that belongs to another customer is a 409."""
    existing = session.scalar(select(CustomerIdentity).where(
        CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.channel == body.channel,
        CustomerIdentity.value == body.value))
    if existing is not None:
        if existing.customer_id != customer.id:
            raise _identity_conflict(session, workspace_id, body.channel, body.value)
        if body.verified and not existing.verified:
            existing.verified = True
            return existing, "verified"
        return existing, "unchanged"
    ident = CustomerIdentity(workspace_id=workspace_id, customer_id=customer.id, channel=body.channel,
                             value=body.value, verified=body.verified, created_at=utcnow())
    if not _insert(session, ident):
        raise _identity_conflict(session, workspace_id, body.channel, body.value)
    return ident, "created"


def _identity_linked_event(session: Session, workspace_id: uuid.UUID, customer: Customer, ident: CustomerIdentity,
                           actor: Actor, view: dict[str, Any] | None = None) -> None:
    record_event(session, workspace_id=workspace_id, type="customer.identity_linked", resource_type="customer",
                 resource_id=customer.id, data={**(view or customer_view(session, customer)), "identity": identity_view(ident)},
                 actor=actor)


def do_link_identity(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, body: IdentityIn, actor: Actor) -> tuple[CustomerIdentity, bool]:
    """(identity, created)."""
    customer = get_customer(session, workspace_id, customer_id, for_update=True)
    ident, status = _link_identity(session, workspace_id, customer, body)
    if status == "created":
        _touch(customer)
        session.flush()
        _identity_linked_event(session, workspace_id, customer, ident, actor)
    elif status == "verified":
        _touch(customer)
        session.flush()
        record_event(session, workspace_id=workspace_id, type="customer.updated", resource_type="customer",
                     resource_id=customer.id, data={**customer_view(session, customer), "changedFields": ["identities"]},
                     actor=actor)
    return ident, status == "created"


def do_unlink_identity(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, identity_id: uuid.UUID, actor: Actor) -> None:
    customer = get_customer(session, workspace_id, customer_id, for_update=True)
    ident = session.scalar(select(CustomerIdentity).where(
        CustomerIdentity.id == identity_id, CustomerIdentity.workspace_id == workspace_id,
        CustomerIdentity.customer_id == customer.id))
    if ident is None:
        raise not_found("Identity")
    removed = identity_view(ident)
    session.delete(ident)
    _touch(customer)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="customer.updated", resource_type="customer",
                 resource_id=customer.id,
                 data={**customer_view(session, customer), "changedFields": ["identities"], "removedIdentity": removed},
                 actor=actor)


# --- merge --------------------------------------------------------------------------------------------

def do_merge_customers(session: Session, workspace_id: uuid.UUID, target_id: uuid.UUID, source_id: uuid.UUID, actor: Actor) -> Customer:
    """Merge the source profile INTO the target: identities move (duplicates dropped), traits are merged
    (the target's value wins unless it is null), empty target fields are filled from the source, and the
    source becomes a hidden tombstone pointing at the target. Registered hooks move other domains' rows."""
    if target_id == source_id:
        raise validation_error("sourceCustomerId", "a customer cannot be merged into itself")
    # Lock both rows in a stable order, so two opposite concurrent merges cannot both succeed.
    rows = session.scalars(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id.in_([target_id, source_id]))
        .order_by(Customer.id).with_for_update().execution_options(populate_existing=True)
    ).all()
    by_id = {c.id: c for c in rows}
    target, source = by_id.get(target_id), by_id.get(source_id)
    if target is None:
        raise not_found("Customer")
    if target.merged_into_id is not None:
        raise _merged_404(target)
    if source is None:
        raise ProblemError(404, "not_found", "Source customer not found.",
                           errors=[{"field": "sourceCustomerId", "message": "no customer with this id in this workspace"}])
    if source.merged_into_id is not None:
        raise ProblemError(404, "not_found", "Source customer not found: it was already merged into another customer.",
                           errors=[{"field": "sourceCustomerId", "message": "already merged"}],
                           extra={"mergedIntoId": str(source.merged_into_id)})

    changed: list[str] = []
    # Traits: the target wins on conflict unless its value is null.
    traits = dict(source.traits or {})
    traits.update({k: v for k, v in (target.traits or {}).items() if v is not None})
    _check_traits_size(traits)
    if traits != (target.traits or {}):
        target.traits = traits
        changed.append("traits")
    sensitive = list(dict.fromkeys([*(target.sensitive_traits or []), *(source.sensitive_traits or [])]))
    if sensitive != (target.sensitive_traits or []):
        target.sensitive_traits = sensitive  # a key sensitive on either profile stays hidden from the agent
        changed.append("sensitiveTraits")
    custom = dict(source.custom_fields or {})
    custom.update({k: v for k, v in (target.custom_fields or {}).items() if v is not None})
    target.custom_fields = custom
    for field in ("name", "email", "company", "account_id"):
        if getattr(target, field) is None and getattr(source, field) is not None:
            setattr(target, field, getattr(source, field))
            changed.append(camel(field))
    if target.external_id is None and source.external_id is not None:
        external_id, source.external_id = source.external_id, None
        session.flush()  # free the unique (workspace, external id) before the target takes it
        target.external_id = external_id
        changed.append("externalId")

    # Identities move; one the target already has (same channel and value) is dropped.
    have = {(i.channel, i.value) for i in session.scalars(select(CustomerIdentity).where(
        CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.customer_id == target.id))}
    moved: list[str] = []
    for ident in session.scalars(select(CustomerIdentity).where(
            CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.customer_id == source.id)).all():
        if (ident.channel, ident.value) in have:
            session.delete(ident)
        else:
            ident.customer_id = target.id
            have.add((ident.channel, ident.value))
            moved.append(str(ident.id))
    if moved:
        changed.append("identities")

    source.merged_into_id = target.id
    _touch(source)
    # Earlier tombstones of the source now point at the target (chains stay one hop long).
    session.execute(update(Customer).where(Customer.workspace_id == workspace_id, Customer.merged_into_id == source.id)
                    .values(merged_into_id=target.id).execution_options(synchronize_session=False))
    _touch(target)
    session.flush()
    for hook in CUSTOMER_MERGE_HOOKS:
        hook(session, workspace_id, source, target)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="customer.merged", resource_type="customer",
                 resource_id=target.id,
                 data={**customer_view(session, target), "sourceCustomerId": str(source.id),
                       "movedIdentityIds": moved, "changedFields": changed},
                 actor=actor)
    return target


# --- accounts -----------------------------------------------------------------------------------------

def _account_external_id_conflict(session: Session, workspace_id: uuid.UUID, external_id: str, exclude: uuid.UUID | None) -> None:
    holder = find_account_by_external_id(session, workspace_id, external_id)
    if holder is not None and holder.id != exclude:
        raise conflict("Another account already has this externalId.", existingId=str(holder.id))


def _apply_account_fields(session: Session, workspace_id: uuid.UUID, account: Account, changes: dict[str, Any], *, creating: bool) -> list[str]:
    changed: list[str] = []
    if "name" in changes and changes["name"] is None:
        raise validation_error("name", "cannot be null")
    if "traits" in changes and changes["traits"] is None:
        if not creating:
            raise validation_error("traits", "cannot be null; set a trait to null to delete it")
        changes.pop("traits")
    if "external_id" in changes and changes["external_id"] != account.external_id:
        new = changes["external_id"]
        if new is not None:
            _account_external_id_conflict(session, workspace_id, new, account.id)
        if not _set_unique(session, account, "external_id", new):
            _account_external_id_conflict(session, workspace_id, new, account.id)
            raise conflict("Concurrent change; retry.")
        changed.append("externalId")
    for field in ("name", "domain"):
        if field in changes and changes[field] != getattr(account, field):
            setattr(account, field, changes[field])
            changed.append(field)
    if "traits" in changes:
        traits = _merge_traits(account.traits or {}, changes["traits"])
        _check_traits_size(traits)
        if traits != (account.traits or {}):
            account.traits = traits
            changed.append("traits")
    return changed


def do_create_account(session: Session, workspace_id: uuid.UUID, body: AccountCreate | AccountUpsert, actor: Actor,
                      *, external_id: str | None = None) -> Account:
    changes = body.model_dump(exclude_unset=True)
    if external_id is not None:
        changes["external_id"] = external_id
    if changes.get("name") is None:
        raise validation_error("name", "This field is required when creating an account.")
    ext = changes.pop("external_id", None)
    if ext is not None:
        _account_external_id_conflict(session, workspace_id, ext, None)
    now = utcnow()
    account = Account(workspace_id=workspace_id, external_id=ext, name=changes["name"], traits={}, created_at=now, updated_at=now)
    _apply_account_fields(session, workspace_id, account, changes, creating=True)
    if not _insert(session, account):
        if ext is not None:
            _account_external_id_conflict(session, workspace_id, ext, None)
        raise conflict("The account could not be created because of a concurrent change; retry.")
    record_event(session, workspace_id=workspace_id, type="account.created", resource_type="account",
                 resource_id=account.id, data=account_view(account), actor=actor)
    return account


def _update_account(session: Session, workspace_id: uuid.UUID, account: Account, body: AccountPatch | AccountUpsert, actor: Actor) -> Account:
    changed = _apply_account_fields(session, workspace_id, account, body.model_dump(exclude_unset=True), creating=False)
    if changed:
        _touch(account)
        session.flush()
        record_event(session, workspace_id=workspace_id, type="account.updated", resource_type="account",
                     resource_id=account.id, data={**account_view(account), "changedFields": changed}, actor=actor)
    return account


def do_update_account(session: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, body: AccountPatch, actor: Actor) -> Account:
    return _update_account(session, workspace_id, get_account(session, workspace_id, account_id, for_update=True), body, actor)


def do_upsert_account(session: Session, workspace_id: uuid.UUID, external_id: str, body: AccountUpsert, actor: Actor) -> tuple[Account, bool]:
    return _upsert(session, workspace_id, external_id, body, actor, find=find_account_by_external_id,
                   create=do_create_account, change=_update_account, lost_race=lambda exc: exc.status == 409)


def do_delete_account(session: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, actor: Actor) -> None:
    """Deletes the account; its customers stay, unlinked."""
    account = get_account(session, workspace_id, account_id, for_update=True)
    data = account_view(account)
    now = utcnow()
    unlinked = session.execute(
        update(Customer).where(Customer.workspace_id == workspace_id, Customer.account_id == account.id)
        .values(account_id=None, updated_at=now).execution_options(synchronize_session="fetch")
    ).rowcount
    session.delete(account)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="account.deleted", resource_type="account",
                 resource_id=account_id, data={**data, "unlinkedCustomerCount": unlinked}, actor=actor)


# --- channel visitors (live chat) ---------------------------------------------------------------------

VISITOR_PREFIX = "visitor:"


def _identity_holder(session: Session, workspace_id: uuid.UUID, channel: str, value: str) -> uuid.UUID | None:
    return session.scalar(select(CustomerIdentity.customer_id).where(
        CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.channel == channel, CustomerIdentity.value == value))


def _link_if_free(session: Session, workspace_id: uuid.UUID, customer: Customer, channel: str, value: str,
                  verified: bool, actor: Actor) -> None:
    """Link the identity unless another customer holds it (then the two profiles stay apart for an operator to merge)."""
    holder = _identity_holder(session, workspace_id, channel, value)
    if holder is not None and holder != customer.id:
        return
    ident, status = _link_identity(session, workspace_id, customer, IdentityIn(channel=channel, value=value, verified=verified))
    if status == "created":
        _identity_linked_event(session, workspace_id, customer, ident, actor)


def _verified_customer(session: Session, workspace_id: uuid.UUID, email: str, external_id: str | None) -> Customer | None:
    """The profile a verified visitor is: by the external id their company signed, by a linked email identity, or
    by the email of a profile the company made itself (one no widget visitor ever claimed)."""
    if external_id is not None:
        found = find_customer_by_external_id(session, workspace_id, external_id, for_update=True)
        if found is not None:
            return found
    holder = _identity_holder(session, workspace_id, "email", email)
    if holder is not None:
        found = session.scalar(select(Customer).where(Customer.id == holder, Customer.workspace_id == workspace_id,
                                                      Customer.merged_into_id.is_(None)))
        if found is not None:
            return found
    claimed_by_visitors = select(CustomerIdentity.customer_id).where(
        CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.channel == "live-chat")
    return session.scalar(select(Customer).where(
        Customer.workspace_id == workspace_id, Customer.email == email, Customer.merged_into_id.is_(None),
        Customer.id.not_in(claimed_by_visitors)).order_by(Customer.created_at, Customer.id).limit(1))


def do_find_or_create_visitor(session: Session, workspace_id: uuid.UUID, *, visitor_id: str | None, verified: bool,
                              email: str | None = None, name: str | None = None, company: str | None = None,
                              external_id: str | None = None, actor: Actor) -> Customer:
    """The customer a widget visitor is. A verified visitor (HMAC or JWT) is matched to their profile and their
    browser linked to it; any other visitor is the profile of their browser (`visitor_id`), made on first
    contact, whose name and email are display data only, never a way into someone else's profile."""
    visitor = f"{VISITOR_PREFIX}{visitor_id}" if visitor_id else None
    customer: Customer | None = None
    if verified and email:
        customer = _verified_customer(session, workspace_id, email, external_id)
    elif visitor is not None:
        holder = _identity_holder(session, workspace_id, "live-chat", visitor)
        if holder is not None:
            customer = _customer_by_woes_id(session, workspace_id, str(holder))
    fields = {k: v for k, v in (("name", name), ("email", email), ("company", company)) if v}
    if customer is None:
        body = CustomerCreate(**fields, external_id=external_id if verified else None)
        customer = do_create_customer(session, workspace_id, body, actor)
    else:
        missing = {k: v for k, v in fields.items() if getattr(customer, k) is None}
        if missing:
            customer = _update_customer(session, workspace_id, customer, CustomerPatch(**missing), actor)
    if verified and email:
        _link_if_free(session, workspace_id, customer, "email", email, True, actor)
    if visitor is not None:
        _link_if_free(session, workspace_id, customer, "live-chat", visitor, verified, actor)
    return customer
