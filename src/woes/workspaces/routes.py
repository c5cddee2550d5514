from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.access.principal import Principal, beyond_holdings
from woes.core.schemas import respond
from woes.workspaces import service
from woes.workspaces.schemas import IdentitySecretOut, WorkspaceOut, WorkspacePatch

router = APIRouter(prefix="/api/v1/workspace", tags=["workspace"])


@router.get("", response_model=WorkspaceOut)
@fast_read
def get_workspace(p: Annotated[Principal, Depends(require("workspace:read"))], db: ReadDB):
    return respond(WorkspaceOut, service.get_workspace(db, p.workspace_id))


@router.patch("", response_model=WorkspaceOut)
def update_workspace(body: WorkspacePatch, p: Annotated[Principal, Depends(require("workspace:write"))], db: WriteDB):
    return respond(WorkspaceOut, service.do_update_workspace(db, p.workspace_id, body, p.actor))


def _secret_holder(p: Annotated[Principal, Depends(require("workspace:write"))]) -> Principal:
    missing = p.missing_scopes(service.IDENTITY_SECRET_HOLDINGS)
    if missing:
        raise beyond_holdings(missing, "see the widget identity secret (it proves any customer's identity)")
    return p


SecretHolder = Annotated[Principal, Depends(_secret_holder)]


@router.get("/identity-secret", response_model=IdentitySecretOut,
            summary="The widget identity secret (hex) your backend signs visitor identities with (created on first use)")
def get_identity_secret(p: SecretHolder, db: WriteDB) -> dict:
    secret = service.do_reveal_identity_secret(db, p.workspace_id, p.actor)
    return {"secret": secret, "identityMode": service.get_workspace(db, p.workspace_id).identity_mode}


@router.post("/identity-secret/rotate", response_model=IdentitySecretOut,
             summary="Replace the widget identity secret (identities signed with the old one stop verifying)")
def rotate_identity_secret(p: SecretHolder, db: WriteDB) -> dict:
    secret = service.do_rotate_identity_secret(db, p.workspace_id, p.actor)
    return {"secret": secret, "identityMode": service.get_workspace(db, p.workspace_id).identity_mode}
