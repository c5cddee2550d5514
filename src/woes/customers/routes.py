from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.customers import schemas, service
from woes.customers.models import Account, Customer

router = APIRouter(prefix="/api/v1", tags=["customers"])
CustomersRead = Annotated[Principal, Depends(require("customers:read"))]
CustomersWrite = Annotated[Principal, Depends(require("customers:write"))]

ExternalIdFilter = Annotated[str | None, Query(alias="externalId", max_length=255, description="Exact external id.")]

_UPSERT_DOC = ("Creates the record with this external id (201) or changes only the fields given (200); "
               "traits are merged and a trait set to null is deleted. External ids are per workspace.")
# Marks routes that create in the caller's workspace when the path id is unknown there (so another
# workspace's external id legitimately answers 201 with a new record, never 404 nor the other record).
_UPSERT_EXTRA = {"x-woes-upsert": True}


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")).encode(), status_code=status_code, media_type="application/json")


def _customer(db, customer: Customer, status_code: int = 200) -> Response:
    return _json(service.customer_view(db, customer), status_code)


# --- customers ----------------------------------------------------------------------------------------

@router.get("/customers", summary="List customers (merged profiles are hidden)")
def list_customers(
    p: CustomersRead, db: ReadDB, page: Page,
    email: Annotated[str | None, Query(max_length=320, description="Exact email (case-insensitive).")] = None,
    external_id: ExternalIdFilter = None,
    account_id: Annotated[uuid.UUID | None, Query(alias="accountId")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of the name or email, case-insensitive.")] = None,
) -> Response:
    stmt = service.list_customers_stmt(p.workspace_id, email=email, external_id=external_id, account_id=account_id, q=q)
    result = paginate(db, stmt, Customer, page, "customers", lambda c: c)
    result["customers"] = service.customer_views(db, result["customers"])
    return _json(result)


@router.post("/customers", status_code=201, response_model=schemas.CustomerOut, summary="Create a customer")
def create_customer(body: schemas.CustomerCreate, p: CustomersWrite, db: WriteDB) -> Response:
    return _customer(db, service.do_create_customer(db, p.workspace_id, body, p.actor), 201)


@router.get("/customers/by-external-id/{external_id:path}", response_model=schemas.CustomerOut,
            summary="Get a customer by external id (follows merges)")
@fast_read
def get_customer_by_external_id(external_id: str, p: CustomersRead, db: ReadDB) -> Response:
    return _customer(db, service.get_customer_by_external_id(db, p.workspace_id, external_id))


@router.put("/customers/by-external-id/{external_id:path}", response_model=schemas.CustomerOut,
            responses={201: {"description": "Created", "model": schemas.CustomerOut}},
            summary="Create or update a customer by external id", description=_UPSERT_DOC, openapi_extra=_UPSERT_EXTRA)
def upsert_customer(external_id: str, body: schemas.CustomerUpsert, p: CustomersWrite, db: WriteDB) -> Response:
    customer, created = service.do_upsert_customer(db, p.workspace_id, external_id, body, p.actor)
    return _customer(db, customer, 201 if created else 200)


@router.get("/customers/{customer_id}", response_model=schemas.CustomerOut, summary="Get a customer")
@fast_read
def get_customer(customer_id: uuid.UUID, p: CustomersRead, db: ReadDB) -> Response:
    return _customer(db, service.get_customer(db, p.workspace_id, customer_id))


@router.patch("/customers/{customer_id}", response_model=schemas.CustomerOut,
              summary="Update a customer (traits are merged; a trait set to null is deleted)")
def update_customer(customer_id: uuid.UUID, body: schemas.CustomerPatch, p: CustomersWrite, db: WriteDB) -> Response:
    return _customer(db, service.do_update_customer(db, p.workspace_id, customer_id, body, p.actor))


@router.delete("/customers/{customer_id}", status_code=204, summary="Delete a customer and its identities")
def delete_customer(customer_id: uuid.UUID, p: CustomersWrite, db: WriteDB) -> Response:
    service.do_delete_customer(db, p.workspace_id, customer_id, p.actor)
    return Response(status_code=204)


@router.post("/customers/{customer_id}/merge", response_model=schemas.CustomerOut,
             summary="Merge another customer into this one",
             description="Moves the source's identities (and conversations) here, merges traits (this customer's "
                         "values win unless null), fills empty fields from the source and hides the source.")
def merge_customer(customer_id: uuid.UUID, body: schemas.CustomerMerge, p: CustomersWrite, db: WriteDB) -> Response:
    return _customer(db, service.do_merge_customers(db, p.workspace_id, customer_id, body.source_customer_id, p.actor))


@router.post("/customers/{customer_id}/identities", status_code=201, response_model=schemas.LinkedIdentityOut,
             responses={200: {"description": "Already linked to this customer", "model": schemas.LinkedIdentityOut}},
             summary="Link a channel identity to a customer (409 if it belongs to another customer)")
def link_identity(customer_id: uuid.UUID, body: schemas.IdentityIn, p: CustomersWrite, db: WriteDB) -> Response:
    ident, created = service.do_link_identity(db, p.workspace_id, customer_id, body, p.actor)
    return _json(service.identity_view(ident), 201 if created else 200)


@router.delete("/customers/{customer_id}/identities/{identity_id}", status_code=204, summary="Unlink a channel identity")
def unlink_identity(customer_id: uuid.UUID, identity_id: uuid.UUID, p: CustomersWrite, db: WriteDB) -> Response:
    service.do_unlink_identity(db, p.workspace_id, customer_id, identity_id, p.actor)
    return Response(status_code=204)


# --- accounts -----------------------------------------------------------------------------------------

@router.get("/accounts", summary="List accounts (companies)")
def list_accounts(
    p: CustomersRead, db: ReadDB, page: Page,
    external_id: ExternalIdFilter = None,
    domain: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of the name, case-insensitive.")] = None,
) -> Response:
    stmt = service.list_accounts_stmt(p.workspace_id, external_id=external_id, domain=domain, q=q)
    return _json(paginate(db, stmt, Account, page, "accounts", service.account_view))


@router.post("/accounts", status_code=201, response_model=schemas.AccountOut, summary="Create an account")
def create_account(body: schemas.AccountCreate, p: CustomersWrite, db: WriteDB) -> Response:
    return _json(service.account_view(service.do_create_account(db, p.workspace_id, body, p.actor)), 201)


@router.get("/accounts/by-external-id/{external_id:path}", response_model=schemas.AccountOut, summary="Get an account by external id")
@fast_read
def get_account_by_external_id(external_id: str, p: CustomersRead, db: ReadDB) -> Response:
    return _json(service.account_view(service.get_account_by_external_id(db, p.workspace_id, external_id)))


@router.put("/accounts/by-external-id/{external_id:path}", response_model=schemas.AccountOut,
            responses={201: {"description": "Created", "model": schemas.AccountOut}},
            summary="Create or update an account by external id", description=_UPSERT_DOC + " `name` is required to create.",
            openapi_extra=_UPSERT_EXTRA)
def upsert_account(external_id: str, body: schemas.AccountUpsert, p: CustomersWrite, db: WriteDB) -> Response:
    account, created = service.do_upsert_account(db, p.workspace_id, external_id, body, p.actor)
    return _json(service.account_view(account), 201 if created else 200)


@router.get("/accounts/{account_id}", response_model=schemas.AccountOut, summary="Get an account")
@fast_read
def get_account(account_id: uuid.UUID, p: CustomersRead, db: ReadDB) -> Response:
    return _json(service.account_view(service.get_account(db, p.workspace_id, account_id)))


@router.patch("/accounts/{account_id}", response_model=schemas.AccountOut, summary="Update an account (traits are merged)")
def update_account(account_id: uuid.UUID, body: schemas.AccountPatch, p: CustomersWrite, db: WriteDB) -> Response:
    return _json(service.account_view(service.do_update_account(db, p.workspace_id, account_id, body, p.actor)))


@router.delete("/accounts/{account_id}", status_code=204, summary="Delete an account (its customers are unlinked)")
def delete_account(account_id: uuid.UUID, p: CustomersWrite, db: WriteDB) -> Response:
    service.do_delete_account(db, p.workspace_id, account_id, p.actor)
    return Response(status_code=204)
