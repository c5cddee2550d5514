"""Redaction first, everywhere: one set of fake secrets is written through the HTTP API into every text field
a person or an integration can write (messages, notes, subjects, issue titles and bodies, customer and
account names and traits, custom field values, delivery errors, handoff reasons, agent settings, drafts as
sent or rejected, source content, lab questions, direct questions, workspace texts, attachments), then every
GET route of the served OpenAPI document, the event log, the live stream (SSE), both searches, the
conversation search index, the texts handed to the model provider, the server log and the database itself
are scanned for the raw values.

The one unmasked view -- messages as sent, `?unmasked=true`, for callers with conversations:write -- is left
out of the walk and tested on its own. A GET route added later is walked automatically; one the walk cannot
fill fails the test until it is given ids here (or listed in NOT_WALKED with the reason).

Not written with secrets here (names that identify, not free text): tag, team, member and API key names,
custom field labels and options, status and priority labels, the workspace's name, external ids, emails and
channel identities, attachment file names, source URLs (a URL's credentials are what fetching uses)."""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
from typing import Any

import httpx
import pytest
from conftest import make_key
from sqlalchemy import text
from support.jobs import run_jobs
from support.live_server import serving
from support.sse import StreamReader
from support.waiting import wait_for
from tenancy import FACTORIES

from woes.app import create_app
from woes.core.logging import configure_logging
from woes.core.redaction import contains_secret, redact, redact_value
from woes.db import Base


def _s(*parts: str) -> str:
    return "".join(parts)  # built in parts so that secret scanners stay quiet about this file


# (text as written, the raw value that must never come back). SPEC formats plus the context-only ones.
STRIPE = _s("sk_", "live_", "51Hx9ZqLmN3pQ7rT2vW8yB4d")
SECRETS: list[tuple[str, str]] = [
    (f"live key {STRIPE}", STRIPE),
    (f"restricted key {_s('rk_', 'live_', '51Kq2Wm8Xn4Pv6Rt1Zb3Yc7e')}", _s("rk_", "live_", "51Kq2Wm8Xn4Pv6Rt1Zb3Yc7e")),
    (f"webhook signing {_s('whsec_', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')}", _s("whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
    (f"github {_s('ghp_', 'R7aTq2Lm9Xc4Vb8Nw1Pz6Ky3Hd5Jf0Gs2Ue4')}", _s("ghp_", "R7aTq2Lm9Xc4Vb8Nw1Pz6Ky3Hd5Jf0Gs2Ue4")),
    (f"pat {_s('github_', 'pat_', '11AQZ7WXY0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijKLMNOPQRSTUV')}",
     _s("github_", "pat_", "11AQZ7WXY0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijKLMNOPQRSTUV")),
    (f"slack bot {_s('xo', 'xb-', '2846193750-5820173649-Zq8Lm3Nx7Pv2Rt6Wk9Yb4Hd')}",
     _s("xo", "xb-", "2846193750-5820173649-Zq8Lm3Nx7Pv2Rt6Wk9Yb4Hd")),
    (f"aws_access_key_id = {_s('AK', 'IA', 'QX7W2M4N8B6V3C5Z')}", _s("AK", "IA", "QX7W2M4N8B6V3C5Z")),
    (f"aws_secret_access_key = {_s('wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCYzQ8mK2vL5n')}",
     _s("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYzQ8mK2vL5n")),
    (f"session {_s('eyJ', 'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfOTg3NiJ9.Qm9Xc2lnbmF0dXJlVmFsdWVfMTIz')}",
     _s("eyJ", "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfOTg3NiJ9.Qm9Xc2lnbmF0dXJlVmFsdWVfMTIz")),
    (f"Authorization: Bearer {_s('tk9Zq4Lx8Vb2', 'Nw6Ms3Kd7Hf1Jg5')}", _s("tk9Zq4Lx8Vb2", "Nw6Ms3Kd7Hf1Jg5")),
    (f"clone https://deploy:{_s('Pw7Hunter2', 'xQz9Lm')}@git.example.com/app.git", _s("Pw7Hunter2", "xQz9Lm")),
    (_s("-----BEGIN RSA PRIV", "ATE KEY-----\nMIIEowIBAAKCAQEAx3Tz2mr7SZiAMfQyuvBjM2Owq9sn1Xj0qgH7\n",
        "Kpb4r8HyLmNoQwErTy==\n-----END RSA PRIV", "ATE KEY-----"), "MIIEowIBAAKCAQEAx3Tz2mr7SZiAMfQyuvBjM2Owq9sn1Xj0qgH7"),
    ("card 4242424242424242", "4242424242424242"),
]
TRAIT_SECRET = _s("Zr4Xq8Lp2W", "n6Vb0Tk5Hs")  # no known format: a secret because of its key (traits.apiKey)
ALL = "Pasting what I have, sorry:\n" + "\n".join(t for t, _ in SECRETS)  # multi-line bodies
LINE = " ".join(t for t, _ in SECRETS if "\n" not in t)  # the single-line ones (names, reasons)
SHORT = f"{SECRETS[6][1]} {SECRETS[-1][1]}"  # an AWS key id and a card number: fits every short field
RAW = [raw for _, raw in SECRETS] + [TRAIT_SECRET]
# A secret cut short (a preview, a column limit) must not leak either: a distinctive piece of each.
NEEDLES = sorted({*RAW, *(raw[len(raw) // 3: len(raw) // 3 + 10] for raw in RAW if len(raw) >= 24)})

# GET routes the walk does not request, with the reason.
NOT_WALKED = {
    "/api/v1/events/stream": "the live stream never ends; read below, bounded, from the first event",
    "/api/widget/conversations/{conversation_id}/stream": "the widget's live stream never ends; read below, bounded",
    "/api/v1/attachments/{attachment_id}/content": "the uploaded file itself, served as given (binary, not a text field)",
}
# The explicit unmasked read (tested on its own below); every other optional boolean is walked as true too.
UNMASKED = {("/api/v1/conversations/{conversation_id}/messages", "unmasked")}
# Columns that keep what was written, by design: never served raw except through the unmasked read.
RAW_AT_REST = {
    ("messages", "body"): "messages are stored as sent, flagged and shown masked (?unmasked=true with write scope)",
    ("source_files", "data"): "the uploaded source file, needed to rescan; never served",
}
# Query parameters a route needs to answer 200, filled from the records made (by parameter name).
QUERY_IDS = {"against": "lab_run_id"}
PARAM = re.compile(r"{([^}]+)}")
CLIENT_LOGGERS = {"httpx", "httpcore"}

SPEC = """openapi: 3.0.3
info: {title: Payments API, version: "1.0"}
servers: [{url: "https://deploy:%(password)s@api.payments.test"}]
paths:
  /charges:
    post:
      operationId: createCharge
      summary: Create a charge
      description: |
%(description)s
      parameters:
        - {name: Idempotency-Key, in: header, schema: {type: string}, example: "%(stripe)s"}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [amount]
              properties:
                amount: {type: integer, description: Amount in cents.}
                card: {type: string, description: "The card number, e.g. %(card)s"}
      responses: {"200": {description: The charge.}}
"""


def _find(text_: str) -> list[str]:
    lowered = text_.lower()  # a case-folded copy of a secret is a leak too
    return [n for n in NEEDLES if n.lower() in lowered]


def _assert_clean(where: str, body: str) -> None:
    found = _find(body)
    assert not found, f"{where} returned raw secrets {found}: {body[:2000]}"




def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else {}


class RecordingProvider:
    """A model provider that records what it is handed (the text that would leave for the model) and
    answers like the built-in offline one."""

    name = "recording"

    def __init__(self) -> None:
        from woes.agents.providers.offline import OfflineProvider

        self.requests: list[str] = []
        self._offline = OfflineProvider()

    def compose(self, request):  # noqa: ANN001
        self.requests.append(repr(request))
        return self._offline.compose(request)


def test_secrets_self_check() -> None:
    """The fixture is meaningful: every text holds its raw value, and redaction removes it."""
    for written, raw in SECRETS:
        assert raw in written
        assert not _find(redact(written)), written
    assert not _find(redact(ALL)) and not _find(redact(LINE)) and not _find(redact(SHORT))
    assert TRAIT_SECRET not in json.dumps(redact_value({"apiKey": TRAIT_SECRET}))


def _write_everything(c: httpx.Client, runtime, ws) -> dict[str, str]:
    """Every writable text field gets the secrets; returns the ids of what was made, by path parameter."""
    ids: dict[str, str] = {}
    ext = "ext-redaction-sweep"
    _ok(c.patch("/api/v1/workspace", json={"notifyCustomerOnIssueResolved": True,
                                           "issueResolvedMessage": "Fixed: {title}. " + ALL}))
    for target in ("conversation", "issue"):
        ids["field_id"] = _ok(c.post("/api/v1/custom-fields", json={"key": f"notes_{target}", "label": "Notes",
                                                                    "type": "text", "target": target}))["id"]
    account = _ok(c.post("/api/v1/accounts", json={"name": "Acme " + SHORT, "externalId": ext,
                                                   "traits": {"deployNotes": ALL, "apiKey": TRAIT_SECRET}}))
    ids["account_id"], ids["external_id"] = account["id"], ext
    customer = _ok(c.post("/api/v1/customers", json={
        "name": "Dev " + SHORT, "company": "Co " + SHORT, "email": "dev@example.com", "externalId": ext,
        "accountId": account["id"], "traits": {"notes": ALL, "apiKey": TRAIT_SECRET, "nested": {"line": LINE}}}))
    ids["customer_id"] = customer["id"]

    # A conversation people handle: subject, custom field, messages both ways, a note, a failed delivery, a takeover.
    conv = _ok(c.post("/api/v1/conversations", json={
        "customer": {"id": customer["id"]}, "subject": "Help " + SHORT + " " + STRIPE,
        "customFields": {"notes_conversation": ALL}, "initialMessage": {"body": ALL}}))
    ids["conversation_id"] = conv["id"]
    # A live-chat conversation started in the widget: secrets in the visitor's message, name, context and page.
    widget_key = _ok(c.post("/api/v1/widget-keys", json={"name": "Docs " + SHORT}))["publicKey"]
    started = _ok(c.post("/api/widget/messages", headers={"X-Woes-Public-Key": widget_key}, json={
        "body": ALL, "identity": {"name": "Visitor " + SHORT}, "context": {"note": LINE[:480]},
        "page": {"url": "https://docs.example.com/?token=" + SHORT.replace(" ", "+"), "title": "Docs " + SHORT}}))
    ids["widget_conversation_id"] = started["conversationId"]
    ids["widget_headers"] = {"X-Woes-Public-Key": widget_key, "X-Woes-Conversation-Secret": started["conversationSecret"]}
    _ok(c.post(f"/api/v1/conversations/{started['conversationId']}/messages", json={"body": "Noted: " + ALL, "role": "assistant"}))
    upload = _ok(c.post("/api/v1/attachments", files={"file": ("trace.txt", ALL.encode(), "text/plain")}))
    ids["attachment_id"] = upload["id"]
    reply = _ok(c.post(f"/api/v1/conversations/{conv['id']}/messages",
                       json={"body": "Please rotate these: " + ALL, "role": "assistant", "attachmentIds": [upload["id"]]}))
    ids["message_id"] = reply["id"]
    _ok(c.patch(f"/api/v1/conversations/{conv['id']}/messages/{reply['id']}",
                json={"deliveryStatus": "failed", "deliveryError": "gateway said " + LINE[:480]}))
    _ok(c.post(f"/api/v1/conversations/{conv['id']}/notes", json={"body": "Customer leaked: " + ALL}))
    _ok(c.patch(f"/api/v1/conversations/{conv['id']}", json={"subject": "Still " + SHORT,
                                                              "customFields": {"notes_conversation": LINE}}))
    _ok(c.post(f"/api/v1/conversations/{conv['id']}/takeover", json={"reason": "pasted " + LINE[:480]}))

    # Issues: created with secrets, a note, converted from a second conversation (its notes are copied), resolved.
    issue = _ok(c.post("/api/v1/issues", json={
        "title": "Bug " + SHORT, "description": ALL, "customFields": {"notes_issue": ALL},
        "conversationIds": [conv["id"]], "customerId": customer["id"]}))
    ids["issue_id"] = issue["id"]
    _ok(c.post(f"/api/v1/issues/{issue['id']}/notes", json={"body": ALL}))
    other = _ok(c.post("/api/v1/conversations", json={"customer": {"id": customer["id"]}, "subject": "Second " + SHORT}))
    _ok(c.post(f"/api/v1/conversations/{other['id']}/notes", json={"body": "copied along: " + ALL}))
    _ok(c.post(f"/api/v1/conversations/{other['id']}/convert-to-issue", json={"title": "From chat " + SHORT,
                                                                            "description": ALL}))
    _ok(c.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved", "description": "Resolved. " + ALL}))

    # Knowledge: an OpenAPI source and a Markdown source carrying the secrets, scanned.
    description = "\n".join("        " + line for line in ALL.splitlines())
    spec = SPEC % {"password": SECRETS[10][1], "description": description, "stripe": STRIPE, "card": SECRETS[-1][1]}
    api = _ok(c.post("/api/v1/sources", json={"name": "Payments " + SHORT, "type": "openapi", "content": spec}))
    docs = _ok(c.post("/api/v1/sources", json={"name": "Runbook", "type": "markdown",
                                               "content": "# Deploying\n\nHow to create a charge.\n\n" + ALL + "\n"}))
    ids["source_id"], ids["scan_id"] = api["id"], api["lastScan"]["id"]
    run_jobs(runtime)
    for src in (api, docs):
        assert _ok(c.get(f"/api/v1/sources/{src['id']}"))["status"] in ("ready", "partial")
    ids["endpoint_id"] = _ok(c.get(f"/api/v1/sources/{api['id']}/endpoints"))["endpoints"][0]["id"]
    ids["document_id"] = _ok(c.get(f"/api/v1/sources/{docs['id']}/documents"))["documents"][0]["id"]

    # The agent: settings, a direct question, a lab run, and drafts on a conversation it handles.
    agent = _ok(c.post("/api/v1/agents", json={
        "name": "Helper " + SHORT, "description": ALL, "persona": ALL, "greeting": LINE[:2000], "instructions": ALL,
        "guardrails": [LINE[:1000]], "sourceIds": [api["id"], docs["id"]], "mode": "draft"}))
    ids["agent_id"] = agent["id"]
    run = _ok(c.post(f"/api/v1/agents/{agent['id']}/answer", json={"question": "How do I create a charge? " + ALL}))
    ids["run_id"] = run["id"]
    lab = _ok(c.post(f"/api/v1/agents/{agent['id']}/lab-runs", json={"name": "Lab " + SHORT, "questions": [
        {"id": "charge", "question": f"How do I create a charge? My key is {STRIPE}",
         "expected_operations": ["POST /charges"], "must_mention": ["amount"]},
        {"id": "all", "question": "How do I create a charge? " + ALL}]}), 202)
    ids["lab_run_id"] = lab["id"]
    handled = _ok(c.post("/api/v1/conversations", json={"customer": {"id": customer["id"]}, "subject": "Agent " + SHORT,
                                                        "agentId": agent["id"]}))
    for _ in range(2):
        _ok(c.post(f"/api/v1/conversations/{handled['id']}/messages", json={"body": "How do I create a charge? " + ALL}))
    # The relay notices the customer messages and queues the agent's replies; the jobs leave drafts.
    assert wait_for(lambda: len([j for j in runtime.queue.list_jobs() if j.name == "agents.respond"]) >= 2)
    run_jobs(runtime)
    drafts = _ok(c.get("/api/v1/drafts"))["drafts"]
    assert len(drafts) >= 2, drafts
    ids["draft_id"] = drafts[0]["id"]
    _ok(c.post(f"/api/v1/drafts/{drafts[0]['id']}/approve", json={"body": "Edited: " + ALL}))
    _ok(c.post(f"/api/v1/drafts/{drafts[1]['id']}/reject", json={"reason": "It ignored " + LINE[:900]}))
    run_jobs(runtime)
    assert _ok(c.get(f"/api/v1/lab-runs/{lab['id']}"))["status"] == "completed"
    return ids


def _walk_get_routes(c: httpx.Client, ids: dict[str, str]) -> list[str]:
    doc = _ok(c.get("/api/v1/openapi.json"))
    walked, unfilled = [], []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None or path in NOT_WALKED:
            continue
        missing = [p for p in PARAM.findall(path) if p not in ids]
        if missing:
            unfilled.append(f"{path} ({', '.join(missing)})")
            continue
        widget = path.startswith("/api/widget/")  # the widget's reads: its key and the conversation's history secret
        fill = {**ids, "conversation_id": ids["widget_conversation_id"]} if widget else ids
        url = PARAM.sub(lambda m, fill=fill: fill[m.group(1)], path)
        headers = ids["widget_headers"] if widget else None
        query: dict[str, Any] = {}
        flags = []
        for param in op.get("parameters", []):
            if param.get("in") != "query":
                continue
            schema = param.get("schema", {})
            if param["name"] == "limit":
                query["limit"] = schema.get("maximum", 100)
            elif param["name"] in QUERY_IDS:
                query[param["name"]] = ids[QUERY_IDS[param["name"]]]
            elif param.get("required"):
                assert param["name"] == "q", f"{path}: fill the required query parameter {param['name']} here"
                query["q"] = "charge"
            elif schema.get("type") == "boolean" and (path, param["name"]) not in UNMASKED:
                flags.append(param["name"])
        for extra in [{}] + [{flag: "true"} for flag in flags]:
            r = c.get(url, params={**query, **extra}, headers=headers)
            assert r.status_code == 200, f"GET {url} {extra}: {r.status_code} {r.text}"
            _assert_clean(f"GET {path} {extra or ''}", r.text)
            walked.append(f"{path} {extra or ''}".strip())
    assert not unfilled, f"GET routes the redaction walk cannot fill (give them ids or list them in NOT_WALKED): {unfilled}"
    return walked


def _event_log(c: httpx.Client) -> list[dict[str, Any]]:
    events, after = [], 0
    while True:
        page = _ok(c.get("/api/v1/events", params={"after": after, "limit": 500}))
        events += page["events"]
        if not page["hasMore"]:
            return events
        after = int(page["nextCursor"])


def _read_stream(base: str, headers: dict[str, str], last_seq: int) -> list[dict[str, Any]]:
    """The live stream from the first event, until it has delivered `last_seq` (bounded: 30 s)."""
    reader = StreamReader(base + "/api/v1/events/stream?after=0&heartbeat=1", headers)
    reader.start()
    try:
        assert wait_for(lambda: any(e.get("seq") == last_seq for e in reader.events)), \
            f"the stream did not reach seq {last_seq} (got {len(reader.events)} events)"
    finally:
        reader.stop.set()
        reader.join(10)
    return reader.events


def _database_leaks(runtime) -> list[str]:
    leaks = []
    with runtime.db.reading() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                for column, value in row._mapping.items():
                    if (table.name, column) in RAW_AT_REST or value is None:
                        continue
                    found = _find(value if isinstance(value, str) else repr(value))
                    if found:
                        leaks.append(f"{table.name}.{column}: {found}")
        if not runtime.db.is_sqlite:
            for row in session.execute(text("SELECT * FROM procrastinate_jobs")):
                if _find(repr(tuple(row))):
                    leaks.append(f"procrastinate_jobs: {_find(repr(tuple(row)))}")
    return leaks


@pytest.fixture
def live_server(settings, runtime):
    with serving(create_app(settings, runtime, background=True, migrate=False)) as base:
        yield base


def test_no_raw_secret_comes_back_from_any_read(live_server, runtime, ws, monkeypatch):
    from woes.agents import providers, responding

    recording = RecordingProvider()
    monkeypatch.setattr(providers, "get_provider", lambda settings: recording)
    monkeypatch.setattr(responding, "get_provider", lambda settings: recording)
    monkeypatch.setattr(responding, "_PROVIDER_CACHE", {})
    log = io.StringIO()
    configure_logging("INFO", json_output=True, stream=log)
    try:
        with httpx.Client(base_url=live_server, headers=ws.headers, timeout=60) as c:
            ids = _write_everything(c, runtime, ws)
            for param in {p for path in _ok(c.get("/api/v1/openapi.json"))["paths"] for p in PARAM.findall(path)}:
                if param not in ids and param in FACTORIES:  # routes of records without free text: walked too
                    ids[param] = FACTORIES[param](c, ws)

            # 1. Every GET route of the OpenAPI document, lists included.
            walked = _walk_get_routes(c, ids)
            assert len(walked) >= 50, walked

            # 2. The conversation search: a raw secret (or a piece of one) matches nothing, as the index
            # holds redacted text only; the words around it are found (the search works).
            for needle in NEEDLES:
                r = _ok(c.get("/api/v1/conversations", params={"q": needle}))
                assert r["conversations"] == [], f"?q={needle} matched {[x['id'] for x in r['conversations']]}"
                _assert_clean(f"GET /api/v1/conversations?q={needle}", json.dumps(r))
            assert [x["id"] for x in _ok(c.get("/api/v1/conversations", params={"q": "rotate"}))["conversations"]] \
                == [ids["conversation_id"]]
            assert _ok(c.get("/api/v1/conversations", params={"q": "Still"}))["conversations"]

            # 3. The knowledge search, asked for each raw secret: the results hold none, and the analysis of
            # the question it echoes holds none that redaction knows by itself (a bare AWS secret key, bearer
            # token or URL password is only a secret in its context: the caller's own words come back).
            for needle in RAW:
                found = _ok(c.get("/api/v1/search", params={"q": needle}))
                _assert_clean(f"GET /api/v1/search?q={needle} results", json.dumps(found["results"]))
                if contains_secret(needle):
                    _assert_clean(f"GET /api/v1/search?q={needle}", json.dumps(found))
            assert _ok(c.get("/api/v1/search", params={"q": "create a charge"}))["results"]

            # 4. The event log and the live stream.
            events = _event_log(c)
            assert len(events) >= 40
            _assert_clean("GET /api/v1/events", json.dumps(events))
            streamed = _read_stream(live_server, ws.headers, events[-1]["seq"])
            assert {e["seq"] for e in streamed} >= {e["seq"] for e in events}
            _assert_clean("GET /api/v1/events/stream", json.dumps(streamed))
            widget_stream = StreamReader(f"{live_server}/api/widget/conversations/{ids['widget_conversation_id']}/stream",
                                         ids["widget_headers"])
            widget_stream.start()
            assert wait_for(lambda: len(widget_stream.frames("message")) >= 2)
            widget_stream.stop.set()
            _assert_clean("GET /api/widget/conversations/{id}/stream", json.dumps(widget_stream.events))

            # 5. The unmasked view is the one explicit, scoped read of what customers pasted.
            url = f"/api/v1/conversations/{ids['conversation_id']}/messages"
            assert STRIPE in c.get(url, params={"unmasked": "true"}).text
            reader = make_key(c, ws, ["conversations:read"])
            r = c.get(url, params={"unmasked": "true"}, headers={"Authorization": f"Bearer {reader['secret']}"})
            assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:write"
            _assert_clean("GET messages as a reader", c.get(url, headers={"Authorization": f"Bearer {reader['secret']}"}).text)
    finally:
        configure_logging("INFO", json_output=True, stream=sys.stderr)

    # 6. The search index itself holds the redacted text.
    with runtime.db.reading() as session:
        indexed = [row[0] for row in session.execute(text("SELECT body FROM conversation_fts"))]
    assert any("[REDACTED:" in body for body in indexed), indexed
    _assert_clean("conversation_fts", "\n".join(indexed))

    # 7. What the model provider was handed, the server log, and every stored value.
    assert recording.requests, "no question reached the provider: the AI-call check would prove nothing"
    _assert_clean("the model provider's input", "\n".join(recording.requests))
    # (This process also runs the test's own HTTP client, whose log lines quote the URLs it asked for.)
    server_log = [line for line in log.getvalue().splitlines() if json.loads(line).get("logger") not in CLIENT_LOGGERS]
    assert any(json.loads(line).get("logger") == "woes.http" for line in server_log), "the server log was not captured"
    _assert_clean("the server log", "\n".join(server_log))
    leaks = _database_leaks(runtime)
    assert not leaks, f"raw secrets stored outside {sorted(RAW_AT_REST)}: {leaks}"


def test_upgrading_redacts_what_was_stored_before(tmp_path, database_url):
    """Migration 0011: texts stored before redaction-on-write are redacted in place, the search index is
    rebuilt from redacted text (a table on PostgreSQL too), and message bodies stay as sent."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
    from support.databases import empty_database

    from woes.db import UTCDateTime, utcnow
    from woes.migrate import current_revision, head_revision, upgrade

    db = empty_database(tmp_path, database_url)
    js, uid, ts = sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), sa.Uuid(), UTCDateTime()

    def table(table_name: str, /, **columns: Any) -> sa.TableClause:
        return sa.table(table_name, *(sa.column(k, t) for k, t in columns.items()))

    try:
        upgrade(db, "0010")
        ws, cust, conv, msg, note = (uuid.uuid4() for _ in range(5))
        now = utcnow()
        with db.engine.begin() as c:
            c.execute(table("workspaces", id=uid, name=sa.Text(), timezone=sa.Text(), default_priority=sa.Text(), branding=js,
                            identity_mode=sa.Text(), notify_customer_on_issue_resolved=sa.Boolean(), created_at=ts,
                            updated_at=ts).insert().values(
                id=ws, name="w", timezone="UTC", default_priority="medium", branding={}, identity_mode="off",
                notify_customer_on_issue_resolved=False, created_at=now, updated_at=now))
            c.execute(table("customers", id=uid, workspace_id=uid, name=sa.Text(), traits=js, sensitive_traits=js,
                            custom_fields=js, created_at=ts, updated_at=ts).insert().values(
                id=cust, workspace_id=ws, name="Dev " + SHORT, traits={"notes": ALL, "apiKey": TRAIT_SECRET},
                sensitive_traits=[], custom_fields={}, created_at=now, updated_at=now))
            c.execute(table("conversations", id=uid, workspace_id=uid, customer_id=uid, channel=sa.Text(), status=sa.Text(),
                            priority=sa.Text(), subject=sa.Text(), identity_source=sa.Text(), handling=sa.Text(),
                            custom_fields=js, custom_field_sources=js, created_at=ts, updated_at=ts).insert().values(
                id=conv, workspace_id=ws, customer_id=cust, channel="api", status="open", priority="medium",
                subject="Help " + SHORT, identity_source="api", handling="none", custom_fields={"notes": LINE},
                custom_field_sources={"notes": "manual"}, created_at=now, updated_at=now))
            c.execute(table("messages", id=uid, workspace_id=uid, conversation_id=uid, role=sa.Text(), author_type=sa.Text(),
                            body=sa.Text(), contains_secrets=sa.Boolean(), channel=sa.Text(), delivery_status=sa.Text(),
                            created_at=ts).insert().values(
                id=msg, workspace_id=ws, conversation_id=conv, role="user", author_type="customer", body=ALL,
                contains_secrets=True, channel="api", delivery_status="sent", created_at=now))
            c.execute(table("notes", id=uid, workspace_id=uid, target_type=sa.Text(), target_id=uid, author_type=sa.Text(),
                            body=sa.Text(), created_at=ts).insert().values(
                id=note, workspace_id=ws, target_type="conversation", target_id=conv, author_type="operator", body=ALL,
                created_at=now))
            c.execute(table("events", id=uid, workspace_id=uid, type=sa.Text(), resource_type=sa.Text(), resource_id=sa.Text(),
                            aggregate_id=sa.Text(), actor_type=sa.Text(), payload=js, created_at=ts).insert().values(
                id=uuid.uuid4(), workspace_id=ws, type="note.created", resource_type="note", resource_id=str(note),
                aggregate_id=str(conv), actor_type="api_key", payload={"body": ALL, "nested": [{"apiKey": TRAIT_SECRET}]},
                created_at=now))
            if db.is_sqlite:  # the FTS5 rows as the services wrote them before: raw text
                for source, body in ((conv, "Help " + SHORT), (msg, ALL)):
                    c.execute(text("INSERT INTO conversation_fts (body, conversation_id, workspace_id, source_id) "
                                   "VALUES (:b, :c, :w, :s)"), {"b": body, "c": conv.hex, "w": ws.hex, "s": source.hex})

        upgrade(db, "0011")
        with db.engine.connect() as c:
            stored = {name: repr(c.execute(text(f"SELECT {cols} FROM {name}")).all()) for name, cols in (
                ("notes", "body"), ("conversations", "subject, custom_fields"), ("customers", "name, traits"),
                ("events", "payload"), ("conversation_fts", "body"))}
            assert c.execute(text("SELECT body FROM messages")).scalar() == ALL  # as sent (shown masked)
            assert c.execute(text("SELECT count(*) FROM conversation_fts")).scalar() == 2
            if not db.is_sqlite:
                indexes = set(c.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")).scalars())
                assert {"ix_conversation_fts_body", "ix_conversation_fts_conversation"} <= indexes
                assert not {"ix_messages_body_fts", "ix_conversations_subject_fts"} & indexes
        for name, value in stored.items():
            assert not _find(value), f"{name} still holds raw secrets after the upgrade: {value[:500]}"
            assert "[REDACTED:" in value, name
        upgrade(db)  # leave the database at head for the tests that follow
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()
