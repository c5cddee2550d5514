"""Members, roles, section permissions, invites and operator sessions with CSRF (SPEC §3, §4)."""

from __future__ import annotations

from conftest import make_key


def _invite(client, ws, email: str, role: str = "member", **extra) -> dict:
    r = client.post("/api/v1/members", json={"email": email, "role": role, **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _accept(client, token: str, password: str = "a long enough password") -> dict:
    r = client.post("/api/v1/auth/accept-invite", json={"token": token, "password": password, "name": "New Person"})
    assert r.status_code == 200, r.text
    return r.json()


def test_login_session_cookie_and_csrf(client, ws):
    r = client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": ws.owner_password})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrfToken"]
    set_cookie = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith("woes_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
    # cookie auth works for reads
    me = client.get("/api/v1/auth/me").json()
    assert me["kind"] == "operator" and me["role"] == "owner"
    assert client.get("/api/v1/workspace").status_code == 200
    # writes need the CSRF header
    r = client.patch("/api/v1/workspace", json={"name": "Via cookie"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = client.patch("/api/v1/workspace", json={"name": "Via cookie"}, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = client.patch("/api/v1/workspace", json={"name": "Via cookie"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["name"] == "Via cookie"
    # logout ends the session
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/workspace").status_code == 401


def test_login_wrong_password_and_brute_force_limit(client, ws):
    r = client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": "nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "nope"})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": "not-an-email", "password": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    codes = [client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": "bad"}).status_code for _ in range(12)]
    assert 429 in codes


def test_invite_accept_and_member_permissions(client, ws):
    inv = _invite(client, ws, "agent@example.com", "member")
    assert inv["status"] == "invited" and inv["inviteToken"] and inv["permissions"]["inbox"] == "write"
    assert inv["permissions"]["members"] == "read"
    session = _accept(client, inv["inviteToken"])
    csrf = session["csrfToken"]
    assert session["member"]["status"] == "active"
    # a member can read the workspace but not change it, nor manage members
    assert client.get("/api/v1/workspace").status_code == 200
    r = client.patch("/api/v1/workspace", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["requiredScope"] == "workspace:write"
    r = client.post("/api/v1/members", json={"email": "x@example.com"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["requiredScope"] == "members:write"
    # the invite cannot be used twice
    r = client.post("/api/v1/auth/accept-invite", json={"token": inv["inviteToken"], "password": "another password!"})
    assert r.status_code == 404


def test_owner_changes_section_permissions(client, ws):
    inv = _invite(client, ws, "viewer@example.com", "viewer")
    assert all(v == "read" for v in inv["permissions"].values())
    r = client.patch(f"/api/v1/members/{inv['id']}", json={"permissions": {"members": "write"}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["permissions"]["members"] == "write"
    assert r.json()["permissionOverrides"] == {"members": "write"}
    session = _accept(client, inv["inviteToken"])
    csrf = {"X-CSRF-Token": session["csrfToken"]}
    # a viewer who may manage members can invite another viewer, not a member (inbox write it lacks)
    r = client.post("/api/v1/members", json={"email": "third@example.com"}, headers=csrf)
    assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:write"
    r = client.post("/api/v1/members", json={"email": "third@example.com", "role": "viewer"}, headers=csrf)
    assert r.status_code == 201
    r = client.patch(f"/api/v1/members/{inv['id']}", json={"permissions": {"bogus": "write"}}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "permissions"
    r = client.patch(f"/api/v1/members/{inv['id']}", json={"role": "superuser"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"


def test_last_owner_cannot_be_removed_or_demoted(client, ws):
    members = client.get("/api/v1/members", headers=ws.headers).json()["members"]
    owner = next(m for m in members if m["role"] == "owner")
    r = client.delete(f"/api/v1/members/{owner['id']}", headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = client.patch(f"/api/v1/members/{owner['id']}", json={"role": "admin"}, headers=ws.headers)
    assert r.status_code == 409
    second = _invite(client, ws, "second-owner@example.com", "owner")
    _accept(client, second["inviteToken"])
    client.cookies.clear()
    assert client.delete(f"/api/v1/members/{owner['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/members/{owner['id']}", headers=ws.headers).status_code == 404


def test_admin_cannot_touch_owners(client, ws):
    admin = _invite(client, ws, "admin@example.com", "admin")
    session = _accept(client, admin["inviteToken"])
    csrf = {"X-CSRF-Token": session["csrfToken"]}
    owner = next(m for m in client.get("/api/v1/members").json()["members"] if m["role"] == "owner")
    assert client.delete(f"/api/v1/members/{owner['id']}", headers=csrf).status_code == 403
    assert client.post("/api/v1/members", json={"email": "o2@example.com", "role": "owner"}, headers=csrf).status_code == 403
    assert client.patch(f"/api/v1/members/{admin['id']}", json={"role": "owner"}, headers=csrf).status_code == 403
    r = client.post("/api/v1/members", json={"email": "helper@example.com", "role": "member"}, headers=csrf)
    assert r.status_code == 201


def test_duplicate_invite_conflict_names_existing(client, ws):
    inv = _invite(client, ws, "dup@example.com")
    r = client.post("/api/v1/members", json={"email": "DUP@example.com"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingId"] == inv["id"]


def test_members_scope_for_keys(client, ws):
    key = make_key(client, ws, ["members:read"])
    h = {"Authorization": f"Bearer {key['secret']}"}
    assert client.get("/api/v1/members", headers=h).status_code == 200
    r = client.post("/api/v1/members", json={"email": "z@example.com"}, headers=h)
    assert r.status_code == 403 and "members:write" in r.json()["error"]


def test_invite_token_bad(client):
    r = client.post("/api/v1/auth/accept-invite", json={"token": "x" * 20, "password": "long enough pw"})
    assert r.status_code == 404
    r = client.post("/api/v1/auth/accept-invite", json={"token": "x" * 20, "password": "short"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
