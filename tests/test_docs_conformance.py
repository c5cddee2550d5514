"""The published docs are a contract: every example in them works verbatim against this server.

Every fenced block of every page in shared/reference/woes-docs/ and every curl example in README.md is
accounted for. A block is either replayed (curl), compared with what the server returns (JSON examples),
checked against the served OpenAPI document (HTTP route lines), or listed in NOT_REPLAYED with the reason.
A new block that none of these covers fails `test_every_docs_block_is_accounted_for`.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import make_key

from woes.demo.service import setup_demo

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT.parent / "shared" / "reference" / "woes-docs"

# Blocks that are not replayed here, with the reason. Keyed by (page, index of the block on the page).
NOT_REPLAYED: dict[tuple[str, int], str] = {
    **{("docs__api__widget.md", i): "widget snippet / browser JavaScript: the widget is issue 13" for i in range(3)},
    **{("docs__live-chat-widget.md", i): "widget snippet / browser JavaScript: the widget is issue 13" for i in range(3)},
    **{("docs__quickstart__install-widget.md", i): "widget snippet / browser JavaScript: the widget is issue 13"
       for i in range(4)},
    **{("docs__security__widget-identity.md", i): "widget identity (HMAC/JWT) in browser and backend code: issue 13"
       for i in range(4)},
    ("site__product__api-context.md", 0): "an illustration of endpoint evidence on a marketing page, not a request",
}

# Documented values that differ from the binding SPEC, with the reason. Keyed by (JSON path, documented value).
SPEC_OVERRIDES: dict[tuple[str, Any], str] = {
    ("customer.identitySource", "headers"):
        "SPEC §3 lists the identitySource values (api, anonymous, unverified, hmac, jwt, email, discord); "
        "a conversation created through the REST API records `api`",
}

# Values of an example that name one instance (ids, times): compared by kind, not by value.
_INSTANCE_KEYS = {"id", "createdAt", "updatedAt", "lastMessageAt", "closedAt"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_FENCE = re.compile(r"^```([A-Za-z]*)[^\n]*\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)
_ROUTE_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S+)", re.M)
_STATUS_LINE = re.compile(r"Response: `(\d{3})")


@dataclass
class Block:
    page: str
    index: int
    lang: str
    body: str
    heading: str
    after: str  # the page's text from the end of this block up to the next block

    @property
    def key(self) -> tuple[str, int]:
        return (self.page, self.index)


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    matches = list(_FENCE.finditer(text))
    blocks = []
    for i, m in enumerate(matches):
        headings = _HEADING.findall(text[: m.start()])
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        blocks.append(Block(path.name, i, m.group(1).lower(), m.group(2), headings[-1][1] if headings else "",
                            text[m.end(): end]))
    return blocks


def _all_blocks() -> list[Block]:
    assert DOCS.is_dir(), f"the published docs are missing at {DOCS}"
    return [b for page in sorted(DOCS.glob("*.md")) for b in _blocks(page)]


def _readme_curls() -> list[Block]:
    return [b for b in _blocks(ROOT / "README.md") if b.lang in ("bash", "sh") and "curl " in b.body]


# --- curl ---------------------------------------------------------------------------------------------

@dataclass
class Curl:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None


def parse_curl(command: str) -> Curl:
    """A curl command line as the docs write it: -X, -H, -d/--data, -s and one URL; anything else fails."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl", command
    curl = Curl(method="", url="")
    it = iter(words[1:])
    for word in it:
        if word in ("-X", "--request"):
            curl.method = next(it)
        elif word in ("-H", "--header"):
            name, _, value = next(it).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            curl.data = next(it)
        elif word in ("-s", "--silent"):
            pass
        elif word.startswith("-"):
            raise AssertionError(f"curl option {word} is not understood by this replayer: {command}")
        else:
            assert not curl.url, f"two URLs in {command}"
            curl.url = word
    curl.method = curl.method or ("POST" if curl.data is not None else "GET")
    return curl


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    assert not re.search(r"\{[a-z][A-Za-z]*Id\}|<[a-z ]+>|\$[A-Z_]+", text), f"an unfilled placeholder in {text}"
    return text


def replay(client, curl: Curl, values: dict[str, str]):
    headers = {k: _fill(v, values) for k, v in curl.headers.items()}
    return client.request(curl.method, _fill(curl.url, values), headers=headers,
                          content=_fill(curl.data, values).encode() if curl.data is not None else None)


# --- comparing a documented JSON example with a response ---------------------------------------------

def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or not value.endswith("Z"):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def conforms(documented: Any, actual: Any, path: str = "", *, instance_values: bool = True) -> list[str]:
    """Where `actual` differs from a documented example: every documented key present with a value of the
    same kind; documented values equal, except a value naming one instance (an id or a time) when
    `instance_values` is False. Extra keys in `actual` are allowed."""
    problems: list[str] = []
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected an object, got {actual!r}"]
        for key, value in documented.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                problems.append(f"{sub}: missing")
                continue
            problems += conforms(value, actual[key], sub, instance_values=instance_values)
        return problems
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if documented and not actual:
            return [f"{path}: expected items"]
        for i, item in enumerate(documented[:1]):
            problems += conforms(item, actual[i], f"{path}[{i}]", instance_values=instance_values)
        return problems
    if any(path.endswith(p) and v == documented for p, v in SPEC_OVERRIDES):
        return [] if isinstance(actual, type(documented)) else [f"{path}: expected a {type(documented).__name__}"]
    leaf = path.rsplit(".", 1)[-1]
    if not instance_values and (leaf in _INSTANCE_KEYS or (isinstance(documented, str) and _UUID.match(documented))):
        if documented is None:
            return []
        if _is_timestamp(documented):
            return [] if _is_timestamp(actual) else [f"{path}: expected an RFC 3339 UTC time, got {actual!r}"]
        return [] if isinstance(actual, str) and actual else [f"{path}: expected an id, got {actual!r}"]
    if actual != documented:
        return [f"{path}: documented {documented!r}, got {actual!r}"]
    return []


# --- what the docs say about routes ------------------------------------------------------------------

def documented_statuses(blocks: list[Block]) -> dict[tuple[str, str], int]:
    """`METHOD /path` → the status the docs give for it ("Response: `201 Created`" after its route line)."""
    out = {}
    for b in blocks:
        if b.lang == "http":
            m = _ROUTE_LINE.search(b.body)
            s = _STATUS_LINE.search(b.after)
            if m and s:
                out[(m.group(1), m.group(2))] = int(s.group(1))
    return out


def _template_of(path: str, templates: list[str]) -> str | None:
    for t in templates:
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)), path):
            return t
    return None


# --- the tests ---------------------------------------------------------------------------------------

def _kind(block: Block) -> str:
    if block.key in NOT_REPLAYED:
        return "listed"
    if block.lang in ("bash", "sh") and block.body.lstrip().startswith("curl "):
        return "curl"
    if block.lang == "json":
        return "json"
    if block.lang == "http" and _ROUTE_LINE.search(block.body):
        return "route"
    return "unknown"


def test_every_docs_block_is_accounted_for():
    blocks = _all_blocks()
    unknown = [(b.page, b.index, b.lang, b.body[:60]) for b in blocks if _kind(b) == "unknown"]
    assert not unknown, f"docs blocks that no conformance check covers: {unknown}"
    stale = set(NOT_REPLAYED) - {b.key for b in blocks}
    assert not stale, f"NOT_REPLAYED lists blocks that no longer exist: {stale}"
    assert sum(_kind(b) == "curl" for b in blocks) >= 6 and sum(_kind(b) == "json" for b in blocks) >= 3


def test_every_documented_route_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    for b in _all_blocks():
        if _kind(b) == "route":
            method, path = _ROUTE_LINE.search(b.body).groups()
            served = {t: item for t, item in spec["paths"].items() if t.startswith("/api/v1/")}
            template = _template_of(path, list(served)) or (path if path in served else None)
            assert template and method.lower() in served[template], f"{b.page}: {method} {path} is not served"


def _create_example(blocks: list[Block]) -> Block:
    """The published "Create a conversation" example (the conversations page points to it)."""
    return next(b for b in blocks if _kind(b) == "curl" and (c := parse_curl(b.body)).method == "POST"
                and c.url.endswith("/api/v1/conversations") and '"externalId"' in (c.data or ""))


def test_every_curl_example_works_verbatim(client, make_workspace):
    """Each page's curl examples replayed in page order, each page in a fresh workspace; a page without a
    create example of its own starts from the published one. `{conversationId}` is the conversation created
    before. A JSON block right after a curl (same section) is the documented response of that curl."""
    blocks = _all_blocks()
    statuses = documented_statuses(blocks)
    templates = list(client.get("/api/v1/openapi.json").json()["paths"])
    replayed = 0
    for page in sorted({b.page for b in blocks}):
        page_blocks = [b for b in blocks if b.page == page]
        if not any(_kind(b) == "curl" for b in page_blocks):
            continue
        values = {"$WOES_API_KEY": make_workspace(page).key}
        if _create_example(blocks) not in page_blocks:
            seeded = replay(client, parse_curl(_create_example(blocks).body), values)
            assert seeded.status_code == 201, seeded.text
            values["{conversationId}"] = seeded.json()["id"]
        for i, b in enumerate(page_blocks):
            if _kind(b) != "curl":
                continue
            curl = parse_curl(b.body)
            r = replay(client, curl, values)
            path = _fill(curl.url, values).split("://", 1)[-1].split("/", 1)[1].split("?")[0]
            template = _template_of("/" + path, templates)
            expected = statuses.get((curl.method, template), 201 if curl.method == "POST" else 200)
            assert r.status_code == expected, f"{page} example {b.index} ({b.heading}): {r.status_code} {r.text}"
            replayed += 1
            body = r.json()
            if body.get("object") == "conversation":
                values["{conversationId}"] = body["id"]
            nxt = page_blocks[i + 1] if i + 1 < len(page_blocks) else None
            if nxt is not None and _kind(nxt) == "json" and nxt.heading == b.heading:
                problems = conforms(json.loads(nxt.body), body, instance_values=False)
                assert not problems, f"{page} example {nxt.index} ({nxt.heading}): {problems}"
    assert replayed >= 6


def test_documented_create_example_returns_the_documented_conversation(client, ws):
    """The create example of the authentication page, then the Conversation Object of the conversations page:
    every documented field, with the documented values where they come from the request."""
    create = _create_example(_all_blocks())
    r = replay(client, parse_curl(create.body), {"$WOES_API_KEY": ws.key})
    assert r.status_code == 201, r.text
    documented = json.loads(next(b.body for b in _all_blocks() if b.heading == "Conversation Object" and b.lang == "json"))
    for body in (r.json(), client.get(f"/api/v1/conversations/{r.json()['id']}", headers=ws.headers).json()):
        problems = conforms(documented, body, instance_values=False)
        assert not problems, problems
    # "If externalId already exists in the workspace, the API returns 409."
    again = replay(client, parse_curl(create.body), {"$WOES_API_KEY": ws.key})
    assert again.status_code == 409 and again.json()["code"] == "conflict" and again.json()["existingId"] == r.json()["id"]


def test_documented_error_responses(client, ws, make_workspace, runtime, monkeypatch):
    """The authentication page's error table and error example, and the Conversations page's limits."""
    page = next(p for p in _all_blocks() if p.page == "docs__api__authentication.md" and p.lang == "json")
    example = json.loads(page.body)
    r = client.get("https://woes.dev/api/v1/conversations")  # the first curl of the page, without its key
    assert r.status_code == 401 and not conforms(example, r.json()), r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    for secret in ("woesk_unknown", "not-a-key"):
        r = client.get("https://woes.dev/api/v1/conversations", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    key = make_key(client, ws, ["conversations:read"])
    client.delete(f"/api/v1/keys/{key['id']}", headers=ws.headers)
    r = client.get("https://woes.dev/api/v1/conversations", headers={"Authorization": f"Bearer {key['secret']}"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"  # revoked
    from woes.db import utcnow

    expires = utcnow() + timedelta(hours=1)
    key = make_key(client, ws, ["conversations:read"], expiresAt=expires.isoformat())
    later = lambda: expires + timedelta(seconds=1)  # noqa: E731 - the clock of the code that checks expiry
    monkeypatch.setattr("woes.auth.middleware.utcnow", later)
    monkeypatch.setattr("woes.auth.service.utcnow", later)
    r = client.get("https://woes.dev/api/v1/conversations", headers={"Authorization": f"Bearer {key['secret']}"})
    assert r.status_code == 401 and r.json()["code"] == "key_expired"
    monkeypatch.undo()
    # "Message body, up to 8,000 characters." and "If a conversation id belongs to another workspace, Woes returns 404".
    conv = client.post("/api/v1/conversations", json={"subject": "s", "customer": {"id": "cus_1"}}, headers=ws.headers).json()
    r = client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"body": "x" * 8001}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    assert client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"body": "x" * 8000},
                       headers=ws.headers).status_code == 201
    other = make_workspace("Other")
    for method, suffix in (("GET", ""), ("PATCH", ""), ("GET", "/messages"), ("POST", "/messages")):
        r = client.request(method, f"/api/v1/conversations/{conv['id']}{suffix}", headers=other.headers,
                           json={"body": "hi"} if method == "POST" else {"subject": "x"} if method == "PATCH" else None)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, suffix, r.text)


def test_documented_rate_limit_answers_429_rate_limited(settings, runtime):
    from fastapi.testclient import TestClient

    from woes.app import create_app
    from woes.events.service import SYSTEM
    from woes.keys.schemas import ApiKeyCreate
    from woes.keys.service import do_create_key
    from woes.workspaces.service import do_create_workspace

    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    with runtime.db.transaction() as s:
        w = do_create_workspace(s, name="Limited", actor=SYSTEM)
        _key, secret = do_create_key(s, w.id, ApiKeyCreate(name="k", scopes=["*"]), SYSTEM)
    with TestClient(create_app(limited, runtime, background=False, migrate=False)) as c:
        codes = [c.get("https://woes.dev/api/v1/conversations", headers={"Authorization": f"Bearer {secret}"})
                 for _ in range(6)]
    assert codes[0].status_code == 200
    limited_response = next(r for r in codes if r.status_code == 429)
    assert limited_response.json()["code"] == "rate_limited" and int(limited_response.headers["retry-after"]) >= 1


def test_readme_curl_examples_work_verbatim(client, runtime):
    """README's curl examples against the demo workspace `bash scripts/run.sh` sets up."""
    info = setup_demo(runtime.db)
    values = {"$WOES_API_KEY": info["apiKey"], "$AGENT_ID": str(info["agentId"])}
    curls = _readme_curls()
    assert curls, "README has curl examples"
    for b in curls:
        r = replay(client, parse_curl(b.body), values)
        assert r.status_code in (200, 201), (b.body, r.text)
        body = r.json()
        if body.get("object") == "agent_run" or "outcome" in body:
            assert body["outcome"] == "answer" and body["citations"], body
