"""No credential can gain more than it holds.

Every route that creates, rotates or revokes API keys, widget keys, members, invites, sessions or team
memberships (found in the served OpenAPI document: a new such route without a case here fails) is run
by a matrix of actors: API keys with various scope sets and operator sessions of every role. Each
attempt must be refused, or yield a credential or role that holds nothing the actor lacks; and, so that
a server refusing everything cannot pass either, an attempt the actor is entitled to must succeed.

The oracle here is written from the rule (README, "Scopes"), in tables, not from woes.access.principal:
  - `*` covers everything, `x:write` covers `x:read`; only an owner or a `*` key holds `*`, and an owner
    role carries `*`;
  - a role carries the scopes of its sections (inbox: conversations, customers, issues; workspace and
    analytics: read for everyone, write for admins) and its section levels; an API key granting a
    section without a scope area of its own needs the workspace scope (the widget section: channels);
  - a widget key carries channels:write and may only route to an agent of the same workspace;
  - ids of another workspace answer 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from conftest import make_key
from sqlalchemy import select

from woes.access.principal import AREAS, SECTIONS, Principal
from woes.core.errors import ProblemError
from woes.keys.models import ApiKey
from woes.keys.schemas import WidgetKeyCreate
from woes.keys.service import do_create_widget_key, do_revoke_key, do_rotate_key
from woes.members.schemas import MemberInvite, MemberPatch
from woes.members.service import do_invite_member, do_update_member

PASSWORD = "a long enough password"
ALL_SCOPES = [f"{a}:{m}" for a in AREAS for m in ("read", "write")] + ["*"]
READS = frozenset(f"{a}:read" for a in AREAS)
WRITES = frozenset(f"{a}:write" for a in AREAS)
INBOX_WRITES = frozenset({"conversations:write", "customers:write", "issues:write"})
RANK = {"none": 0, "read": 1, "write": 2}


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):
    """Sign-ins are many here; argon2's default cost (~0.5 s a hash) is not what is under test."""
    monkeypatch.setattr("woes.core.security._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# -- what roles carry (the oracle) -----------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    """What a member with `role` and section `overrides` carries."""

    role: str
    overrides: dict[str, str] | None
    scopes: frozenset[str]
    sections: dict[str, str]
    key_extra: frozenset[str] = frozenset()  # scopes an API key needs for sections without a scope area

    @property
    def label(self) -> str:
        return self.role + (f"+{self.overrides}" if self.overrides else "")


ALL_WRITE = {s: "write" for s in SECTIONS}
ALL_READ = {s: "read" for s in SECTIONS}
OWNER = Grant("owner", None, frozenset({"*"}), ALL_WRITE)
ADMIN = Grant("admin", None, WRITES, ALL_WRITE)
MEMBER = Grant("member", None, READS | INBOX_WRITES, {**ALL_READ, "inbox": "write"})
VIEWER = Grant("viewer", None, READS, ALL_READ)
VIEWER_KEYS = Grant("viewer", {"keys": "write"}, READS | {"keys:write"}, {**ALL_READ, "keys": "write"})
VIEWER_MACROS = Grant("viewer", {"macros": "write"}, READS, {**ALL_READ, "macros": "write"},
                      key_extra=frozenset({"workspace:write"}))
VIEWER_MEMBERS = Grant("viewer", {"members": "write"}, READS | {"members:write"}, {**ALL_READ, "members": "write"})
MEMBER_KEYS = Grant("member", {"keys": "write"}, READS | INBOX_WRITES | {"keys:write"},
                    {**ALL_READ, "inbox": "write", "keys": "write"})
GRANTS = [VIEWER, MEMBER, ADMIN, OWNER, VIEWER_KEYS, VIEWER_MACROS]


@dataclass
class Actor:
    name: str
    kind: str  # api_key | operator
    headers: dict[str, str]
    scopes: frozenset[str]  # everything it holds, as scopes
    sections: dict[str, str] | None = None  # operators only
    grant: Grant | None = None  # operators only
    key_id: str | None = None
    member_id: str | None = None
    email: str | None = None


def holds(actor: Actor, scope: str) -> bool:
    s = actor.scopes
    return "*" in s or scope in s or (scope.endswith(":read") and scope[: -len("read")] + "write" in s)


def holds_all(actor: Actor, scopes) -> bool:
    return all(holds(actor, s) for s in scopes)


def covers(actor: Actor, grant: Grant) -> bool:
    if grant.role == "owner":
        return holds(actor, "*")
    if not holds_all(actor, grant.scopes):
        return False
    if actor.sections is None:
        return holds_all(actor, grant.key_extra)
    return all(RANK[actor.sections[s]] >= RANK[level] for s, level in grant.sections.items())


KEY_ACTORS = [
    ["keys:write"],
    ["keys:write", "conversations:write"],
    ["members:write"],
    ["members:write", "keys:write"],
    ["channels:write"],
    ["channels:write", "keys:write"],
    ["members:write", *sorted(READS)],
    sorted(WRITES),
    ["*"],
]
OPERATOR_ACTORS = [ADMIN, MEMBER, VIEWER, VIEWER_MEMBERS, MEMBER_KEYS]


# -- the environment: a workspace, its actors, another workspace -------------------------------------------

@dataclass
class Env:
    client: Any
    ws: Any
    other: Any
    actors: list[Actor]
    problems: list[str] = field(default_factory=list)
    counter: list[int] = field(default_factory=lambda: [0])

    @property
    def root(self) -> dict[str, str]:
        return self.ws.headers

    def call(self, who: Actor | dict[str, str] | None, method: str, url: str, **kw) -> Any:
        self.client.cookies.clear()
        headers = who.headers if isinstance(who, Actor) else (who or {})
        r = self.client.request(method, url, headers=headers, **kw)
        self.client.cookies.clear()
        return r

    def email(self, tag: str) -> str:
        self.counter[0] += 1
        return f"{tag}-{self.counter[0]}-{uuid.uuid4().hex[:6]}@example.com"

    def expect(self, actor: Actor, what: str, r: Any, status: int, field_name: str | None = None) -> bool:
        """Record a problem unless `r` has `status` (403 must be permission_denied; 422 must name the field)."""
        body = r.json() if r.content else {}
        ok = r.status_code == status
        if ok and status == 403:
            ok = body.get("code") == "permission_denied"
        if ok and status == 422 and field_name:
            ok = any(e.get("field") == field_name for e in body.get("errors", []))
        if ok and status >= 400:
            ok = "secret" not in body and "inviteToken" not in body
        if not ok:
            self.problems.append(f"{actor.name}: {what}: expected {status}, got {r.status_code} {r.text[:300]}")
        return r.status_code == status and r.status_code < 300

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.problems.append(message)

    def me(self, headers: dict[str, str]) -> Any:
        return self.call(headers, "GET", "/api/v1/auth/me")

    def key(self, scopes: list[str], ws: Any = None) -> dict:
        return make_key(self.client, ws or self.ws, scopes)

    def invite(self, grant: Grant, by: dict[str, str] | None = None) -> dict:
        body = {"email": self.email(grant.role), "role": grant.role}
        if grant.overrides:
            body["permissions"] = grant.overrides
        r = self.call(by or self.root, "POST", "/api/v1/members", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def accept(self, token: str, **extra) -> tuple[Any, dict[str, str]]:
        r = self.call(None, "POST", "/api/v1/auth/accept-invite", json={"token": token, "password": PASSWORD, **extra})
        headers = {}
        if r.status_code == 200:
            headers = {"Cookie": f"woes_session={r.cookies.get('woes_session')}", "X-CSRF-Token": r.json()["csrfToken"]}
        return r, headers

    def login(self, email: str, **extra) -> tuple[Any, dict[str, str]]:
        r = self.call(None, "POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD, **extra})
        headers = {}
        if r.status_code == 200:
            headers = {"Cookie": f"woes_session={r.cookies.get('woes_session')}", "X-CSRF-Token": r.json()["csrfToken"]}
        return r, headers

    def member(self, member_id: str) -> Any:
        return self.call(self.root, "GET", f"/api/v1/members/{member_id}")

    def members_snapshot(self) -> dict[str, tuple]:
        r = self.call(self.root, "GET", "/api/v1/members", params={"limit": 100})
        assert r.status_code == 200 and not r.json()["hasMore"], r.text
        return {m["id"]: (m["role"], m["status"], m["permissions"]) for m in r.json()["members"]}

    def finish(self) -> None:
        assert not self.problems, f"{len(self.problems)} problem(s):\n" + "\n".join(self.problems[:40])


def _key_actor(client: Any, ws: Any, scopes: list[str]) -> Actor:
    k = make_key(client, ws, scopes)
    name = "key[" + ("all writes" if set(scopes) == WRITES else "all reads+members:write" if set(scopes) == READS | {"members:write"}
                     else ",".join(scopes)) + "]"
    return Actor(name, "api_key", {"Authorization": f"Bearer {k['secret']}"}, frozenset(scopes), key_id=k["id"])


@pytest.fixture
def env(client, ws, make_workspace, runtime) -> Env:
    # the workspace owner (password set by the fixture) signs in with the cheap hasher's password
    from woes.core.security import hash_password
    from woes.members.models import User

    with runtime.db.transaction() as s:
        s.execute(User.__table__.update().where(User.email == ws.owner_email).values(password_hash=hash_password(PASSWORD)))
    e = Env(client, ws, make_workspace("Other"), [])
    for scopes in KEY_ACTORS:
        e.actors.append(_key_actor(client, ws, scopes))
    r, headers = e.login(ws.owner_email)
    assert r.status_code == 200, r.text
    owner_member = r.json()["member"]
    e.actors.append(Actor("operator owner", "operator", headers, OWNER.scopes, dict(OWNER.sections), OWNER,
                          member_id=owner_member["id"], email=ws.owner_email))
    for grant in OPERATOR_ACTORS:
        inv = e.invite(grant)
        r, headers = e.accept(inv["inviteToken"])
        assert r.status_code == 200, r.text
        e.actors.append(Actor(f"operator {grant.label}", "operator", headers, grant.scopes, dict(grant.sections), grant,
                              member_id=inv["id"], email=inv["email"]))
    for a in e.actors:  # the oracle's view of each actor is the server's
        me = e.me(a.headers).json()
        if a.kind == "api_key":
            assert set(me["scopes"]) == set(a.scopes), me
        else:
            assert me["role"] == a.grant.role and me["permissions"] == a.sections, (a.name, me)
    return e


# -- the cases, one per route --------------------------------------------------------------------------------

TARGET_KEY_SCOPES = [["keys:read"], ["conversations:write"], ["members:write"], ["keys:write"], ["channels:write"],
                     sorted(WRITES), ["*"]]


def case_create_key(e: Env) -> None:
    for a in e.actors:
        candidates = [[s] for s in ALL_SCOPES] + [["conversations:write", "keys:write"], sorted(WRITES)]
        if a.kind == "api_key":
            candidates.append(sorted(a.scopes))
        for scopes in candidates:
            r = e.call(a, "POST", "/api/v1/keys", json={"name": "matrix", "scopes": scopes})
            allowed = holds(a, "keys:write") and holds_all(a, scopes)
            if e.expect(a, f"create key {scopes}", r, 201 if allowed else 403):
                me = e.me({"Authorization": f"Bearer {r.json()['secret']}"}).json()
                e.check(set(me["scopes"]) == set(scopes) and holds_all(a, me["scopes"]),
                        f"{a.name}: created key holds {me['scopes']}, asked {scopes}")


def case_rotate_key(e: Env) -> None:
    foreign = e.key(["*"], e.other)
    for a in e.actors:
        targets = [e.key(scopes) for scopes in TARGET_KEY_SCOPES]
        if a.key_id:
            targets.append({"id": a.key_id, "scopes": sorted(a.scopes), "prefix": None})
        for t in targets:
            r = e.call(a, "POST", f"/api/v1/keys/{t['id']}/rotate", json={})
            allowed = holds(a, "keys:write") and holds_all(a, t["scopes"])
            if e.expect(a, f"rotate key {t['scopes']}", r, 200 if allowed else 403):
                me = e.me({"Authorization": f"Bearer {r.json()['secret']}"}).json()
                e.check(set(me["scopes"]) == set(t["scopes"]) and holds_all(a, me["scopes"]),
                        f"{a.name}: rotated key holds {me['scopes']}")
            elif t["prefix"] is not None:
                after = e.call(e.root, "GET", f"/api/v1/keys/{t['id']}").json()
                e.check(after["prefix"] == t["prefix"], f"{a.name}: a refused rotation changed the key {t['scopes']}")
        r = e.call(a, "POST", f"/api/v1/keys/{foreign['id']}/rotate", json={})
        e.expect(a, "rotate another workspace's key", r, 404 if holds(a, "keys:write") else 403)


def case_revoke_key(e: Env) -> None:
    foreign = e.key(["*"], e.other)
    for a in e.actors:
        for scopes in TARGET_KEY_SCOPES:
            t = e.key(scopes)
            r = e.call(a, "DELETE", f"/api/v1/keys/{t['id']}")
            allowed = holds(a, "keys:write") and holds_all(a, scopes)
            e.expect(a, f"revoke key {scopes}", r, 200 if allowed else 403)
            still = e.me({"Authorization": f"Bearer {t['secret']}"}).status_code
            e.check(still == (401 if allowed else 200), f"{a.name}: key {scopes} after revoke attempt answers {still}")
        r = e.call(a, "DELETE", f"/api/v1/keys/{foreign['id']}")
        e.expect(a, "revoke another workspace's key", r, 404 if holds(a, "keys:write") else 403)
        e.check(e.me({"Authorization": f"Bearer {foreign['secret']}"}).status_code == 200, "a foreign key was revoked")


def _agent(e: Env, ws: Any) -> str:
    r = e.call(ws.headers, "POST", "/api/v1/agents", json={"name": f"Agent {uuid.uuid4().hex[:6]}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _widget_refusal(a: Actor) -> int | None:
    return None if holds(a, "keys:write") and holds(a, "channels:write") else 403


def case_create_widget_key(e: Env) -> None:
    own, foreign = _agent(e, e.ws), _agent(e, e.other)
    for a in e.actors:
        for label, agent_id in (("no agent", None), ("own agent", own), ("foreign agent", foreign), ("random agent", str(uuid.uuid4()))):
            body = {"name": "matrix"} | ({"agentId": agent_id} if agent_id else {})
            r = e.call(a, "POST", "/api/v1/widget-keys", json=body)
            refusal = _widget_refusal(a)
            if refusal is None and label in ("foreign agent", "random agent"):
                e.expect(a, f"widget key with {label}", r, 422, "agentId")
            elif e.expect(a, f"widget key with {label}", r, refusal or 201):
                e.check(r.json()["agentId"] == agent_id, f"{a.name}: widget key routes to {r.json()['agentId']}")
                e.check(holds(a, "channels:write"), f"{a.name}: made a widget key without channels:write")


def case_update_widget_key(e: Env) -> None:
    foreign = e.call(e.other.headers, "POST", "/api/v1/widget-keys", json={}).json()
    for a in e.actors:
        wk = e.call(e.root, "POST", "/api/v1/widget-keys", json={}).json()
        r = e.call(a, "PATCH", f"/api/v1/widget-keys/{wk['id']}", json={"enabled": False})
        e.expect(a, "disable a widget key", r, _widget_refusal(a) or 200)
        enabled = e.call(e.root, "GET", f"/api/v1/widget-keys/{wk['id']}").json()["enabled"]
        e.check(enabled is (_widget_refusal(a) is not None), f"{a.name}: widget key enabled={enabled} after the attempt")
        r = e.call(a, "PATCH", f"/api/v1/widget-keys/{foreign['id']}", json={"enabled": False})
        e.expect(a, "change another workspace's widget key", r, 404 if holds(a, "keys:write") else 403)
        r = e.call(a, "PATCH", f"/api/v1/widget-keys/{wk['id']}", json={"agentId": str(uuid.uuid4())})
        e.expect(a, "re-route a widget key by PATCH", r, 403 if not holds(a, "keys:write") else 422, "agentId")


def case_delete_widget_key(e: Env) -> None:
    foreign = e.call(e.other.headers, "POST", "/api/v1/widget-keys", json={}).json()
    for a in e.actors:
        wk = e.call(e.root, "POST", "/api/v1/widget-keys", json={}).json()
        r = e.call(a, "DELETE", f"/api/v1/widget-keys/{wk['id']}")
        e.expect(a, "delete a widget key", r, _widget_refusal(a) or 204)
        status = e.call(e.root, "GET", f"/api/v1/widget-keys/{wk['id']}").status_code
        e.check(status == (200 if _widget_refusal(a) else 404), f"{a.name}: widget key answers {status} after the attempt")
        r = e.call(a, "DELETE", f"/api/v1/widget-keys/{foreign['id']}")
        e.expect(a, "delete another workspace's widget key", r, 404 if holds(a, "keys:write") else 403)
    e.check(e.call(e.other.headers, "GET", f"/api/v1/widget-keys/{foreign['id']}").status_code == 200, "foreign widget key deleted")


def case_invite_member(e: Env) -> None:
    for a in e.actors:
        for g in GRANTS:
            body = {"email": e.email("inv"), "role": g.role} | ({"permissions": g.overrides} if g.overrides else {})
            r = e.call(a, "POST", "/api/v1/members", json=body)
            allowed = holds(a, "members:write") and covers(a, g)
            if not e.expect(a, f"invite {g.label}", r, 201 if allowed else 403):
                continue
            e.check(r.json()["role"] == g.role and r.json()["permissions"] == g.sections, f"{a.name}: invited {r.json()}")
            # the credential that results: accept the invite and ask who we are
            _, headers = e.accept(r.json()["inviteToken"])
            me = e.me(headers).json()
            e.check(me.get("role") == g.role and me.get("permissions") == g.sections and covers(a, g),
                    f"{a.name}: invite of {g.label} signs in as {me}")


PATCHES: list[tuple[Grant, dict, Grant]] = [  # (target's grant, PATCH body, grant after)
    (VIEWER, {"role": "admin"}, ADMIN),
    (VIEWER, {"role": "owner"}, OWNER),
    (VIEWER, {"role": "member"}, MEMBER),
    (VIEWER, {"permissions": {"keys": "write"}}, VIEWER_KEYS),
    (VIEWER, {"permissions": {"macros": "write"}}, VIEWER_MACROS),
    (ADMIN, {"role": "viewer"}, VIEWER),
    (OWNER, {"role": "admin"}, ADMIN),
    (VIEWER_KEYS, {"permissions": {}}, VIEWER),
]


def case_update_member(e: Env) -> None:
    foreign = e.invite(VIEWER, e.other.headers)
    for a in e.actors:
        for before, body, after in PATCHES:
            t = e.invite(before)
            r = e.call(a, "PATCH", f"/api/v1/members/{t['id']}", json=body)
            allowed = holds(a, "members:write") and covers(a, before) and covers(a, after)
            e.expect(a, f"change {before.label} with {body}", r, 200 if allowed else 403)
            now = e.member(t["id"]).json()
            want = after if allowed else before
            e.check((now["role"], now["permissions"]) == (want.role, want.sections),
                    f"{a.name}: {before.label} with {body} is now {now['role']} {now['permissions']}")
        r = e.call(a, "PATCH", f"/api/v1/members/{foreign['id']}", json={"role": "viewer"})
        e.expect(a, "change another workspace's member", r, 404 if holds(a, "members:write") else 403)
        if a.member_id:  # an operator cannot raise itself
            r = e.call(a, "PATCH", f"/api/v1/members/{a.member_id}", json={"role": "owner"})
            e.expect(a, "make itself owner", r, 200 if a.grant.role == "owner" else 403)
            r = e.call(a, "PATCH", f"/api/v1/members/{a.member_id}", json={"permissions": {**(a.grant.overrides or {}), "keys": "write"}})
            e.expect(a, "give itself keys write", r, 200 if a.grant.role in ("owner", "admin") else 403)
            me = e.me(a.headers).json()
            e.check(me["role"] == a.grant.role and me["permissions"] == a.sections, f"{a.name}: is now {me}")


def case_remove_member(e: Env) -> None:
    foreign = e.invite(VIEWER, e.other.headers)
    for a in e.actors:
        for g in (VIEWER, MEMBER_KEYS, ADMIN, OWNER):
            t = e.invite(g)
            r = e.call(a, "DELETE", f"/api/v1/members/{t['id']}")
            allowed = holds(a, "members:write") and covers(a, g)
            e.expect(a, f"remove {g.label}", r, 204 if allowed else 403)
            status = e.member(t["id"]).status_code
            e.check(status == (404 if allowed else 200), f"{a.name}: {g.label} answers {status} after the attempt")
        r = e.call(a, "DELETE", f"/api/v1/members/{foreign['id']}")
        e.expect(a, "remove another workspace's member", r, 404 if holds(a, "members:write") else 403)


def case_accept_invite(e: Env) -> None:
    """The role an invite grants is the one stored when the actor made it; the body cannot change it."""
    for a in e.actors:
        r = e.call(a, "POST", "/api/v1/members", json={"email": e.email("acc"), "role": "viewer"})
        if not e.expect(a, "invite a viewer", r, 201 if holds(a, "members:write") and covers(a, VIEWER) else 403):
            continue
        token = r.json()["inviteToken"]
        for tamper in ({"role": "owner"}, {"permissions": {"keys": "write"}}, {"workspaceId": str(e.other.id)}):
            r, _ = e.accept(token, **tamper)
            e.expect(a, f"accept with {tamper}", r, 422, next(iter(tamper)))
        r, headers = e.accept(token)
        if e.expect(a, "accept", r, 200):
            me = e.me(headers).json()
            e.check(me["role"] == "viewer" and me["permissions"] == VIEWER.sections and me["workspaceId"] == str(e.ws.id),
                    f"{a.name}: accepted invite signs in as {me}")
        r, _ = e.accept(token)
        e.expect(a, "accept twice", r, 404)


def case_login(e: Env) -> None:
    """A session holds the member's stored role, nothing the request asks for."""
    operators = [a for a in e.actors if a.email]
    r, _ = e.login(operators[0].email, workspaceId=str(e.other.id))  # once: failures count against sign-in limits
    e.expect(operators[0], "sign in to a workspace it is not a member of", r, 401)
    for a in operators:
        r, _ = e.login(a.email, role="owner")
        e.expect(a, "sign in asking for a role", r, 422, "role")
        r, headers = e.login(a.email)
        if e.expect(a, "sign in", r, 200):
            me = e.me(headers).json()
            e.check(me["role"] == a.grant.role and me["permissions"] == a.sections and me["workspaceId"] == str(e.ws.id),
                    f"{a.name}: signs in as {me}")


def case_logout(e: Env) -> None:
    """Logout ends the caller's own session only."""
    for a in e.actors:
        if a.kind == "api_key":
            r = e.call(a, "POST", "/api/v1/auth/logout")
            e.expect(a, "logout with a key", r, 400)
            e.check(e.me(a.headers).status_code == 200, f"{a.name}: a key stopped working after logout")
            continue
        r, second = e.login(a.email)
        assert r.status_code == 200, r.text
        r = e.call(second, "POST", "/api/v1/auth/logout")
        e.expect(a, "logout", r, 204)
        e.check(e.me(second).status_code == 401, f"{a.name}: the ended session still works")
        e.check(e.me(a.headers).status_code == 200, f"{a.name}: logout ended another session")


def _team_case(e: Env, method: str) -> None:
    foreign = e.invite(VIEWER, e.other.headers)
    targets = [e.invite(g)["id"] for g in (VIEWER, ADMIN)]
    for a in e.actors:
        before = e.members_snapshot()
        team = e.call(e.root, "POST", "/api/v1/teams", json={"name": f"T {uuid.uuid4().hex[:8]}"}).json()
        allowed = holds(a, "members:write")
        if method == "POST":
            r = e.call(a, "POST", "/api/v1/teams", json={"name": f"T {uuid.uuid4().hex[:8]}", "memberIds": targets + [a.member_id or targets[0]]})
            e.expect(a, "create a team", r, 201 if allowed else 403)
            r = e.call(a, "POST", "/api/v1/teams", json={"name": f"T {uuid.uuid4().hex[:8]}", "memberIds": [foreign["id"]]})
            e.expect(a, "create a team with another workspace's member", r, 422 if allowed else 403, "memberIds")
        elif method == "PATCH":
            r = e.call(a, "PATCH", f"/api/v1/teams/{team['id']}", json={"memberIds": targets + [a.member_id or targets[0]]})
            e.expect(a, "change a team", r, 200 if allowed else 403)
            r = e.call(a, "PATCH", f"/api/v1/teams/{team['id']}", json={"memberIds": [foreign["id"]]})
            e.expect(a, "put another workspace's member in a team", r, 422 if allowed else 403, "memberIds")
        else:
            r = e.call(a, "DELETE", f"/api/v1/teams/{team['id']}")
            e.expect(a, "delete a team", r, 204 if allowed else 403)
        e.check(e.members_snapshot() == before, f"{a.name}: a team change changed members' roles or permissions")
        me = e.me(a.headers).json()
        e.check(set(me.get("scopes", [])) == set(a.scopes) if a.kind == "api_key" else me["permissions"] == a.sections,
                f"{a.name}: a team change changed what it holds: {me}")
    other_team = e.call(e.other.headers, "POST", "/api/v1/teams", json={"name": "Theirs"}).json()
    star = next(a for a in e.actors if a.scopes == {"*"})
    if method != "POST":
        r = e.call(star, method, f"/api/v1/teams/{other_team['id']}", json={"memberIds": []} if method == "PATCH" else None)
        e.expect(star, f"{method} another workspace's team", r, 404)


IDENTITY_SECRET_HOLDINGS = ("workspace:write", "customers:read", "conversations:read")


def case_rotate_identity_secret(e: Env) -> None:
    """The widget identity secret proves any customer's identity (and so opens their live-chat history): it is
    shown and rotated only for those who hold the workspace's settings and can read customers and conversations."""
    for a in e.actors:
        before = e.call(e.root, "GET", "/api/v1/workspace/identity-secret").json()["secret"]
        allowed = holds_all(a, IDENTITY_SECRET_HOLDINGS)
        r = e.call(a, "GET", "/api/v1/workspace/identity-secret")
        if e.expect(a, "see the identity secret", r, 200 if allowed else 403):
            e.check(r.json()["secret"] == before, f"{a.name}: saw another secret than the workspace's")
        r = e.call(a, "POST", "/api/v1/workspace/identity-secret/rotate")
        if e.expect(a, "rotate the identity secret", r, 200 if allowed else 403):
            after = e.call(e.root, "GET", "/api/v1/workspace/identity-secret").json()["secret"]
            e.check(r.json()["secret"] == after != before, f"{a.name}: rotation did not take effect")
        else:
            after = e.call(e.root, "GET", "/api/v1/workspace/identity-secret").json()["secret"]
            e.check(after == before, f"{a.name}: a refused rotation changed the secret")


def _live_chat_conversation(e: Env, ws: Any) -> tuple[str, str, str]:
    """(conversation id, its history secret, the widget key) of a new widget conversation in `ws`."""
    key = e.call(ws.headers, "POST", "/api/v1/widget-keys", json={"name": "matrix"}).json()["publicKey"]
    r = e.call({"X-Woes-Public-Key": key}, "POST", "/api/widget/messages", json={"body": "hello"})
    assert r.status_code == 201, r.text
    return r.json()["conversationId"], r.json()["conversationSecret"], key


def case_rotate_history_secret(e: Env) -> None:
    """A new history secret reads the conversation: only for those who hold conversations:write."""
    conv_id, _secret, key = _live_chat_conversation(e, e.ws)
    foreign_id, _s, _k = _live_chat_conversation(e, e.other)
    for a in e.actors:
        allowed = holds(a, "conversations:write")
        r = e.call(a, "POST", f"/api/v1/conversations/{conv_id}/history-secret/rotate")
        if e.expect(a, "rotate a history secret", r, 200 if allowed else 403):
            new = r.json()["conversationSecret"]
            read = e.call({"X-Woes-Public-Key": key, "X-Woes-Conversation-Secret": new}, "GET",
                          f"/api/widget/conversations/{conv_id}/messages")
            e.check(read.status_code == 200, f"{a.name}: the rotated secret does not open the conversation")
        r = e.call(a, "POST", f"/api/v1/conversations/{foreign_id}/history-secret/rotate")
        e.expect(a, "rotate another workspace's history secret", r, 404 if allowed else 403)


CASES: dict[tuple[str, str], Callable[[Env], None]] = {
    ("POST", "/api/v1/keys"): case_create_key,
    ("POST", "/api/v1/keys/{key_id}/rotate"): case_rotate_key,
    ("DELETE", "/api/v1/keys/{key_id}"): case_revoke_key,
    ("POST", "/api/v1/widget-keys"): case_create_widget_key,
    ("PATCH", "/api/v1/widget-keys/{widget_key_id}"): case_update_widget_key,
    ("DELETE", "/api/v1/widget-keys/{widget_key_id}"): case_delete_widget_key,
    ("POST", "/api/v1/members"): case_invite_member,
    ("PATCH", "/api/v1/members/{member_id}"): case_update_member,
    ("DELETE", "/api/v1/members/{member_id}"): case_remove_member,
    ("POST", "/api/v1/auth/accept-invite"): case_accept_invite,
    ("POST", "/api/v1/auth/login"): case_login,
    ("POST", "/api/v1/auth/logout"): case_logout,
    ("POST", "/api/v1/teams"): lambda e: _team_case(e, "POST"),
    ("PATCH", "/api/v1/teams/{team_id}"): lambda e: _team_case(e, "PATCH"),
    ("DELETE", "/api/v1/teams/{team_id}"): lambda e: _team_case(e, "DELETE"),
    ("POST", "/api/v1/workspace/identity-secret/rotate"): case_rotate_identity_secret,
    ("POST", "/api/v1/conversations/{conversation_id}/history-secret/rotate"): case_rotate_history_secret,
}

# Routes that create, rotate or revoke a credential, or grant a role or a membership: by area, or by a
# path word anywhere (a new /api/v1/x/{id}/invites or .../rotate is caught too).
CREDENTIAL_ROUTE = re.compile(
    r"^/api/v1/(keys|widget-keys|api-keys|members|teams|auth|invites|roles|sessions|tokens)(/|$)"
    r"|/(rotate|revoke|invites?|roles?|permissions|grants?|members|keys|api-keys|widget-keys|tokens?|sessions?|login|impersonate)(/|$)"
)
UNSAFE = ("post", "put", "patch", "delete")


def credential_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops
            if m in UNSAFE and CREDENTIAL_ROUTE.search(path)}


def test_every_credential_route_has_a_matrix_case(client):
    found = credential_routes(client.get("/api/v1/openapi.json").json())
    missing = sorted(found - CASES.keys())
    assert not missing, f"add a case to CASES in {__file__} for: {missing}"
    stale = sorted(CASES.keys() - found)
    assert not stale, f"cases for routes that no longer exist: {stale}"


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_no_credential_gains_more_than_it_holds(env, route):
    CASES[route](env)
    env.finish()


# -- the exploit chains that were found, one by one ---------------------------------------------------------

def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _root_key_id(client, ws) -> str:
    keys = client.get("/api/v1/keys", headers=ws.headers).json()["keys"]
    return next(k["id"] for k in keys if ws.key.startswith(k["prefix"]))


def test_keys_write_key_cannot_rotate_the_star_key(client, ws):
    keys_admin = make_key(client, ws, ["keys:write"])
    root_id = _root_key_id(client, ws)
    prefix = client.get(f"/api/v1/keys/{root_id}", headers=ws.headers).json()["prefix"]
    for body in ({}, {"gracePeriodSeconds": 0}):
        r = client.post(f"/api/v1/keys/{root_id}/rotate", json=body, headers=_h(keys_admin["secret"]))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "permission_denied" and r.json()["requiredScope"] == "*" and "secret" not in r.json()
        assert "*" in r.json()["error"]
    assert client.get(f"/api/v1/keys/{root_id}", headers=ws.headers).json()["prefix"] == prefix
    assert client.get("/api/v1/auth/me", headers=ws.headers).status_code == 200


def test_keys_write_key_cannot_revoke_the_star_key(client, ws):
    keys_admin = make_key(client, ws, ["keys:write", "conversations:write"])
    r = client.delete(f"/api/v1/keys/{_root_key_id(client, ws)}", headers=_h(keys_admin["secret"]))
    assert r.status_code == 403 and r.json()["code"] == "permission_denied" and r.json()["requiredScope"] == "*"
    assert client.get("/api/v1/auth/me", headers=ws.headers).status_code == 200


def test_keys_write_key_can_rotate_and_revoke_what_it_covers(client, ws):
    keys_admin = make_key(client, ws, ["keys:write", "conversations:write"])
    reader = make_key(client, ws, ["conversations:read"])
    r = client.post(f"/api/v1/keys/{reader['id']}/rotate", json={"gracePeriodSeconds": 0}, headers=_h(keys_admin["secret"]))
    assert r.status_code == 200 and r.json()["scopes"] == ["conversations:read"]
    assert client.get("/api/v1/auth/me", headers=_h(r.json()["secret"])).json()["scopes"] == ["conversations:read"]
    assert client.delete(f"/api/v1/keys/{reader['id']}", headers=_h(keys_admin["secret"])).status_code == 200


def test_members_write_key_cannot_invite_an_admin_and_take_over(client, ws):
    for scopes in (["members:write"], ["members:write", "keys:write"]):
        key = make_key(client, ws, scopes)
        for role in ("admin", "owner", "member"):
            r = client.post("/api/v1/members", json={"email": f"{role}-{uuid.uuid4().hex[:6]}@example.com", "role": role},
                            headers=_h(key["secret"]))
            assert r.status_code == 403 and r.json()["code"] == "permission_denied", r.text
            assert "inviteToken" not in r.json() and r.json()["missing"]
        # nor a viewer with keys write added through the permissions
        r = client.post("/api/v1/members", json={"email": "v@example.com", "role": "viewer", "permissions": {"keys": "write"}},
                        headers=_h(key["secret"]))
        assert r.status_code == 403
    emails = [m["email"] for m in client.get("/api/v1/members", headers=ws.headers).json()["members"]]
    assert emails == [ws.owner_email]


def test_an_admin_cannot_create_a_star_key_nor_make_itself_owner(client, ws):
    inv = client.post("/api/v1/members", json={"email": "adm@example.com", "role": "admin"}, headers=ws.headers).json()
    r = client.post("/api/v1/auth/accept-invite", json={"token": inv["inviteToken"], "password": PASSWORD})
    csrf = {"X-CSRF-Token": r.json()["csrfToken"]}
    r = client.post("/api/v1/keys", json={"name": "root", "scopes": ["*"]}, headers=csrf)
    assert r.status_code == 403 and r.json()["requiredScope"] == "*" and "secret" not in r.json()
    r = client.post("/api/v1/keys", json={"name": "wide", "scopes": sorted(WRITES)}, headers=csrf)
    assert r.status_code == 201  # an admin holds every area's write scope, just not `*`
    r = client.patch(f"/api/v1/members/{inv['id']}", json={"role": "owner"}, headers=csrf)
    assert r.status_code == 403
    # and the all-writes key it made cannot manage owners either
    wide = _h(client.post("/api/v1/keys", json={"name": "wide2", "scopes": sorted(WRITES)}, headers=csrf).json()["secret"])
    client.cookies.clear()
    r = client.post("/api/v1/members", json={"email": "o@example.com", "role": "owner"}, headers=wide)
    assert r.status_code == 403 and r.json()["requiredScope"] == "*"
    r = client.post(f"/api/v1/keys/{_root_key_id(client, ws)}/rotate", json={}, headers=wide)
    assert r.status_code == 403 and "secret" not in r.json()


def test_refusals_name_what_is_missing(client, ws):
    key = make_key(client, ws, ["members:write", *sorted(READS)])
    r = client.post("/api/v1/members", json={"email": "m@example.com", "role": "member"}, headers=_h(key["secret"]))
    assert r.status_code == 403
    body = r.json()
    assert set(body["missing"]) == INBOX_WRITES and body["requiredScope"] in INBOX_WRITES
    assert all(s in body["error"] for s in INBOX_WRITES)
    r = client.post("/api/v1/members", json={"email": "v@example.com", "role": "viewer"}, headers=_h(key["secret"]))
    assert r.status_code == 201


def test_widget_key_agent_must_belong_to_the_workspace(client, ws, make_workspace):
    other = make_workspace("Other")
    foreign_agent = client.post("/api/v1/agents", json={"name": "Theirs"}, headers=other.headers).json()["id"]
    own_agent = client.post("/api/v1/agents", json={"name": "Ours"}, headers=ws.headers).json()["id"]
    for agent_id in (foreign_agent, str(uuid.uuid4())):
        r = client.post("/api/v1/widget-keys", json={"agentId": agent_id}, headers=ws.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "agentId", r.text
    r = client.post("/api/v1/widget-keys", json={"agentId": own_agent}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["agentId"] == own_agent
    keys_only = make_key(client, ws, ["keys:write"])
    r = client.post("/api/v1/widget-keys", json={"agentId": own_agent}, headers=_h(keys_only["secret"]))
    assert r.status_code == 403 and r.json()["requiredScope"] == "channels:write"


def test_services_refuse_without_http(runtime, ws, make_workspace):
    """The checks live in the service layer: a Principal passed to do_* is held to the rule."""
    other = make_workspace("Other")
    with runtime.db.transaction() as s:
        root = s.scalar(select(ApiKey).where(ApiKey.workspace_id == ws.id))
        narrow = Principal(workspace_id=ws.id, kind="api_key", subject_id=uuid.uuid4(), scopes=frozenset({"keys:write", "members:write"}))
        for call in (lambda: do_rotate_key(s, ws.id, root.id, 0, narrow), lambda: do_revoke_key(s, ws.id, root.id, narrow),
                     lambda: do_create_widget_key(s, ws.id, WidgetKeyCreate(), narrow),
                     lambda: do_invite_member(s, ws.id, MemberInvite(email="a@example.com", role="admin"), narrow)):
            with pytest.raises(ProblemError) as err:
                call()
            assert err.value.status == 403 and err.value.code == "permission_denied"
        member, _user, _token = do_invite_member(s, ws.id, MemberInvite(email="v@example.com", role="viewer"),
                                                 Principal(workspace_id=ws.id, kind="api_key", subject_id=uuid.uuid4(), scopes=frozenset({"*"})))
        viewer_admin = Principal(workspace_id=ws.id, kind="operator", subject_id=uuid.uuid4(), role="viewer",
                                 permissions={**ALL_READ, "members": "write"})
        with pytest.raises(ProblemError) as err:
            do_update_member(s, ws.id, member.id, MemberPatch(permissions={"inbox": "write"}), viewer_admin)
        assert err.value.status == 403 and "inbox section write" in err.value.error
        with pytest.raises(ProblemError) as err:
            do_rotate_key(s, other.id, root.id, 0, Principal(workspace_id=other.id, kind="api_key", subject_id=uuid.uuid4(), scopes=frozenset({"*"})))
        assert err.value.status == 404
