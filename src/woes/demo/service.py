"""The demo workspace of `woes demo` (SPEC §13): a workspace "Demo" with an owner, a fresh API key, the
bundled sample API (the fictional Parcelpost shipping API, written for Woes) scanned, and an agent answering
from it, its context learned. Idempotent: a second run reuses the workspace, source and agent (rescanning the
source only if the bundled spec changed) and issues one more key."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from importlib import resources
from typing import Any

from sqlalchemy import select

from woes.agents.learning import do_request_learning, learn_agent
from woes.agents.models import Agent
from woes.agents.schemas import AgentCreate, AgentPatch
from woes.agents.service import do_create_agent, do_update_agent
from woes.core.text import fold_name
from woes.db import Database
from woes.events.service import Actor
from woes.keys.models import WidgetKey
from woes.keys.schemas import ApiKeyCreate, WidgetKeyCreate
from woes.keys.service import do_create_key, do_create_widget_key
from woes.members.models import Member, User
from woes.members.service import do_create_owner
from woes.scans.pipeline import run_scan
from woes.sources.models import Scan, Source, SourceFile
from woes.sources.service import do_create_source, do_replace_files, do_start_scan
from woes.workspaces.models import Workspace
from woes.workspaces.schemas import Branding, WorkspacePatch
from woes.workspaces.service import do_create_workspace, do_update_workspace

WORKSPACE_NAME = "Demo"
OWNER_EMAIL = "demo-owner@example.com"
SOURCE_NAME = "Parcelpost API (sample)"
SPEC_FILE = "sample_api.yaml"
AGENT_NAME = "Parcelpost assistant"
GREETING = ("Hi! I answer questions about the Parcelpost shipping API from its documentation, with citations. "
            "Try: how do I buy a label for a shipment?")
DESCRIPTION = "Demo agent: answers developer questions about the sample Parcelpost API."
EXAMPLE_QUESTION = "How do I buy a label for a shipment?"
WIDGET_KEY_NAME = "Demo site"
COMPANY_NAME = "Parcelpost"
BRAND_COLOR = "#0f6b5c"
ACTOR = Actor("system", "demo")


def sample_spec() -> bytes:
    """The bundled sample OpenAPI 3.1 document (package data)."""
    return resources.files("woes.demo").joinpath(SPEC_FILE).read_bytes()


def _workspace(db: Database) -> tuple[uuid.UUID, str, str | None]:
    """(workspace id, owner email, owner password if the owner was created now)."""
    with db.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == WORKSPACE_NAME).order_by(Workspace.created_at, Workspace.id).limit(1))
        if ws is not None:
            email = s.scalar(select(User.email).join(Member, Member.user_id == User.id)
                             .where(Member.workspace_id == ws.id, Member.role == "owner").order_by(Member.created_at).limit(1))
            if email is not None:
                return ws.id, email, None
        else:
            ws = do_create_workspace(s, name=WORKSPACE_NAME, actor=ACTOR)
            do_update_workspace(s, ws.id, WorkspacePatch(company_name=COMPANY_NAME, branding=Branding(
                color=BRAND_COLOR, greeting=GREETING)), ACTOR)
        password = secrets.token_urlsafe(12)
        email = OWNER_EMAIL if s.scalar(select(User.id).where(User.email == OWNER_EMAIL)) is None \
            else f"demo-owner-{uuid.uuid4().hex[:8]}@example.com"  # the address is taken by another workspace's user
        do_create_owner(s, ws.id, email, password, "Demo owner", ACTOR)
        return ws.id, email, password


def _source(db: Database, workspace_id: uuid.UUID) -> uuid.UUID:
    """The sample source, created or brought up to date, and scanned to its end now (not by a worker)."""
    spec = sample_spec()
    digest = hashlib.sha256(spec).hexdigest()
    scan_id: uuid.UUID | None = None
    with db.transaction() as s:
        source = s.scalar(select(Source).where(Source.workspace_id == workspace_id, Source.name == SOURCE_NAME)
                          .order_by(Source.created_at, Source.id).limit(1))
        if source is None:
            source, scan = do_create_source(s, workspace_id, name=SOURCE_NAME, type_="openapi", actor=ACTOR,
                                            files=[(SPEC_FILE, spec)])
            scan_id = scan.id
        else:
            stored = list(s.scalars(select(SourceFile.sha256).where(SourceFile.source_id == source.id)))
            pending = s.scalar(select(Scan).where(Scan.source_id == source.id, Scan.status.in_(("queued", "running")))
                               .order_by(Scan.created_at.desc()).limit(1))
            if stored != [digest] and source.origin in ("upload", "content"):
                scan_id = do_replace_files(s, workspace_id, source.id, [(SPEC_FILE, spec)], ACTOR)[1].id
            elif pending is not None:
                scan_id = pending.id
            elif source.status not in ("ready", "partial"):
                scan_id = do_start_scan(s, workspace_id, source.id, ACTOR, trigger="demo").id
        source_id = source.id
    if scan_id is not None:
        run_scan(db, workspace_id, source_id, scan_id)
    return source_id


def _agent(db: Database, workspace_id: uuid.UUID, source_id: uuid.UUID) -> uuid.UUID:
    with db.transaction() as s:
        agent = s.scalar(select(Agent).where(Agent.workspace_id == workspace_id, Agent.name_key == fold_name(AGENT_NAME)))
        if agent is None:
            agent = do_create_agent(s, workspace_id, AgentCreate(
                name=AGENT_NAME, description=DESCRIPTION, greeting=GREETING, source_ids=[source_id], mode="auto_reply",
                channels=["api", "live-chat"]), ACTOR)
        elif str(source_id) not in (agent.source_ids or []):
            ids = [uuid.UUID(x) for x in agent.source_ids or []] + [source_id]
            agent = do_update_agent(s, workspace_id, agent.id, AgentPatch(source_ids=ids), ACTOR)
        return agent.id


def _learn(db: Database, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> str | None:
    """Context learning for the demo agent, run now (the job it queues finds the same result later)."""
    with db.transaction() as s:
        agent = s.scalar(select(Agent).where(Agent.id == agent_id, Agent.workspace_id == workspace_id))
        snapshot = {str(i): str(v) if v else None for i, v in s.execute(
            select(Source.id, Source.last_scan_id).where(Source.workspace_id == workspace_id,
                                                         Source.id.in_([uuid.UUID(x) for x in agent.source_ids or []])))}
        profile = agent.learned_profile or {}
        if agent.learning_status == "ready" and profile.get("sourceSnapshot") == snapshot:
            return "ready"
        do_request_learning(s, workspace_id, agent_id, ACTOR)
    return learn_agent(db, workspace_id, agent_id)


def _demo_workspace_id(session: Any) -> uuid.UUID | None:
    return session.scalar(select(Workspace.id).where(Workspace.name == WORKSPACE_NAME)
                          .order_by(Workspace.created_at, Workspace.id).limit(1))


def demo_widget_key(session: Any) -> str | None:
    """The public key of the demo site's widget (the workspace key: it routes to the demo agent, which takes
    live chat), or None before `woes demo` ran."""
    workspace_id = _demo_workspace_id(session)
    if workspace_id is None:
        return None
    return session.scalar(select(WidgetKey.public_key).where(WidgetKey.workspace_id == workspace_id,
                                                             WidgetKey.name == WIDGET_KEY_NAME, WidgetKey.enabled.is_(True))
                          .order_by(WidgetKey.created_at).limit(1))


def _widget_key(db: Database, workspace_id: uuid.UUID) -> str:
    """The demo site's widget key, made once; any origin may use it (the demo runs on whatever host and port)."""
    with db.transaction() as s:
        key = demo_widget_key(s)
        if key is None:
            key = do_create_widget_key(s, workspace_id, WidgetKeyCreate(name=WIDGET_KEY_NAME), ACTOR).public_key
        return key


def setup_demo(db: Database) -> dict[str, Any]:
    """Create or reuse the demo workspace, owner, sample source (scanned) and agent, and issue a new API key.

    Returns {workspaceId, ownerEmail, ownerPassword (None when the owner already existed), apiKey, sourceId,
    scanStatus, operations, agentId, agentName, learningStatus, exampleQuestion, widgetKey}. `db` must belong to a Runtime
    (creating a source queues its scan job)."""
    workspace_id, email, password = _workspace(db)
    source_id = _source(db, workspace_id)
    agent_id = _agent(db, workspace_id, source_id)
    learning = _learn(db, workspace_id, agent_id)
    widget_key = _widget_key(db, workspace_id)
    with db.transaction() as s:
        _key, secret = do_create_key(s, workspace_id, ApiKeyCreate(name="Demo key", scopes=["*"]), ACTOR)
    with db.reading() as s:
        source = s.get(Source, source_id)
        scan = s.get(Scan, source.last_scan_id) if source.last_scan_id else None
        return {"workspaceId": str(workspace_id), "ownerEmail": email, "ownerPassword": password, "apiKey": secret,
                "sourceId": str(source_id), "scanStatus": scan.status if scan else None,
                "operations": (source.counts or {}).get("endpoints", 0), "agentId": str(agent_id), "agentName": AGENT_NAME,
                "learningStatus": learning, "exampleQuestion": EXAMPLE_QUESTION, "widgetKey": widget_key}
