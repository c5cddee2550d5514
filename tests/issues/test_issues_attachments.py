"""Issues (SPEC §5), attachments, customer-merge effects on conversations."""

from __future__ import annotations

from convo_helpers import conversation, customer, events_of, message


def test_issue_lifecycle_reference_links(client, ws, runtime):
    i1 = client.post("/api/v1/issues", json={"title": "Webhook retries duplicate"}, headers=ws.headers).json()
    i2 = client.post("/api/v1/issues", json={"title": "Docs typo", "externalLinks": [
        {"provider": "github", "url": "https://github.com/acme/api/issues/9", "key": "acme/api#9", "state": "open"}]},
        headers=ws.headers).json()
    assert i1["reference"] == "ISS-1" and i2["reference"] == "ISS-2" and i1["status"] == "open"
    assert i2["externalLinks"][0]["provider"] == "github"
    c = conversation(client, ws)
    r = client.post(f"/api/v1/issues/{i1['id']}/links", json={"conversationId": c["id"]}, headers=ws.headers)
    assert r.json()["conversationIds"] == [c["id"]]
    assert [x["id"] for x in client.get(f"/api/v1/issues?conversationId={c['id']}", headers=ws.headers).json()["issues"]] == [i1["id"]]
    r = client.patch(f"/api/v1/issues/{i1['id']}", json={"status": "in_progress", "tags": ["bug"]}, headers=ws.headers)
    assert r.json()["status"] == "in_progress" and r.json()["tags"] == ["bug"]
    for body, field in [({"title": ""}, "title"), ({"status": "done"}, "status"), ({"customerId": "00000000-0000-0000-0000-000000000000"}, "customerId")]:
        r = client.patch(f"/api/v1/issues/{i1['id']}", json=body, headers=ws.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = client.post(f"/api/v1/issues/{i1['id']}/external-links", json={"provider": "slack", "url": "https://x"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "provider"
    types = {e.type for e in events_of(runtime, ws.id)}
    assert {"issue.created", "issue.linked", "issue.updated"} <= types


def test_convert_copies_notes_and_resolution_notifies(client, ws, runtime):
    c = conversation(client, ws, subject="Refunds fail with 500")
    message(client, ws, c["id"], "POST /v1/refunds gives 500")
    client.post(f"/api/v1/conversations/{c['id']}/notes", json={"body": "reproduced on staging"}, headers=ws.headers)
    client.patch("/api/v1/workspace", json={"notifyCustomerOnIssueResolved": True,
                                            "issueResolvedMessage": "Fixed: {title}. Thanks for reporting!"}, headers=ws.headers)
    r = client.post(f"/api/v1/conversations/{c['id']}/convert-to-issue", json={}, headers=ws.headers)
    assert r.status_code == 201, r.text
    issue = r.json()
    assert issue["title"] == "Refunds fail with 500" and issue["conversationIds"] == [c["id"]]
    assert issue["customerId"] == c["customer"]["id"]
    notes = client.get(f"/api/v1/issues/{issue['id']}/notes", headers=ws.headers).json()["notes"]
    assert [n["body"] for n in notes] == ["reproduced on staging"] and notes[0]["copiedFromId"]
    r = client.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"}, headers=ws.headers)
    assert r.json()["resolvedAt"]
    conv_notes = client.get(f"/api/v1/conversations/{c['id']}/notes", headers=ws.headers).json()["notes"]
    assert conv_notes[-1]["authorType"] == "automation" and "ISS-1" in conv_notes[-1]["body"]
    msgs = client.get(f"/api/v1/conversations/{c['id']}/messages", headers=ws.headers).json()["messages"]
    assert msgs[-1]["role"] == "assistant" and msgs[-1]["body"] == "Fixed: Refunds fail with 500. Thanks for reporting!"
    assert "issue.resolved" in {e.type for e in events_of(runtime, ws.id)}


def test_resolution_without_workspace_setting_sends_no_message(client, ws):
    c = conversation(client, ws)
    issue = client.post(f"/api/v1/conversations/{c['id']}/convert-to-issue", headers=ws.headers).json()
    client.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"}, headers=ws.headers)
    assert client.get(f"/api/v1/conversations/{c['id']}/messages", headers=ws.headers).json()["messages"] == []
    assert len(client.get(f"/api/v1/conversations/{c['id']}/notes", headers=ws.headers).json()["notes"]) == 1


def test_issue_notes_and_scopes(client, ws):
    from conftest import make_key

    issue = client.post("/api/v1/issues", json={"title": "x"}, headers=ws.headers).json()
    n = client.post(f"/api/v1/issues/{issue['id']}/notes", json={"body": "n"}, headers=ws.headers).json()
    assert n["targetType"] == "issue"
    key = make_key(client, ws, ["conversations:write"])
    r = client.post("/api/v1/issues", json={"title": "x"}, headers={"Authorization": f"Bearer {key['secret']}"})
    assert r.status_code == 403 and r.json()["requiredScope"] == "issues:write"


def test_attachments_upload_attach_download(client, ws):
    r = client.post("/api/v1/attachments", files={"file": ("../../etc/passwd.txt", b"hello world", "text/plain")}, headers=ws.headers)
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["filename"] == "passwd.txt" and att["size"] == 11 and att["contentType"] == "text/plain"
    c = conversation(client, ws)
    m = message(client, ws, c["id"], "see attached", attachmentIds=[att["id"]])
    assert [a["id"] for a in m["attachments"]] == [att["id"]]
    r = client.get(f"/api/v1/attachments/{att['id']}/content", headers=ws.headers)
    assert r.content == b"hello world" and r.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in r.headers["content-disposition"]
    # used twice → rejected
    r = client.post(f"/api/v1/conversations/{c['id']}/messages", json={"body": "again", "attachmentIds": [att["id"]]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "attachmentIds"


def test_attachment_type_checked_against_bytes(client, ws):
    r = client.post("/api/v1/attachments", files={"file": ("x.png", b"<script>alert(1)</script>", "image/png")}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = client.post("/api/v1/attachments", files={"file": ("x.html", b"<html></html>", "text/html")}, headers=ws.headers)
    assert r.status_code == 422
    r = client.post("/api/v1/attachments", files={"file": ("x.txt", b"", "text/plain")}, headers=ws.headers)
    assert r.status_code == 422
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    assert client.post("/api/v1/attachments", files={"file": ("x.png", png, "image/png")}, headers=ws.headers).status_code == 201
    big = b"a" * (10 * 1024 * 1024 + 1)
    r = client.post("/api/v1/attachments", files={"file": ("big.txt", big, "text/plain")}, headers=ws.headers)
    assert r.status_code == 413


def test_customer_merge_moves_conversations(client, ws):
    a = customer(client, ws, email="a@example.com")
    b = customer(client, ws, email="b@example.com")
    ca = conversation(client, ws, cust=a)
    cb = conversation(client, ws, cust=b)
    r = client.post(f"/api/v1/customers/{a['id']}/merge", json={"sourceCustomerId": b["id"]}, headers=ws.headers)
    assert r.status_code == 200, r.text
    ids = {c["id"] for c in client.get(f"/api/v1/conversations?customerId={a['id']}", headers=ws.headers).json()["conversations"]}
    assert ids == {ca["id"], cb["id"]}
    assert client.get(f"/api/v1/conversations/{cb['id']}", headers=ws.headers).json()["customer"]["id"] == a["id"]
