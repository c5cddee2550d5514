"""Markdown importer (documents + endpoint headings) and the generic JSON document importer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from corpus_helpers import CORPORA  # noqa: E402

from woes.importers.base import ImportContext, ImportError_, SourceFile
from woes.importers.jsondoc import JsonDocImporter
from woes.importers.markdown import MarkdownImporter, clean_markdown, split_table_row

DISCORD = CORPORA / "markdown" / "discord"

CHANNEL_DOC = """---
sidebar_label: Channel
---

# Channels Resource

Intro with a [link](#DOCS_RESOURCES_CHANNEL/channel-object) and a [real link](https://example.com).

```md
# not a heading
## Fake % GET /inside/code/fence
```

## Get Channel % GET /channels/{channel.id#DOCS_RESOURCES_CHANNEL/channel-object}

Get a channel by ID. Returns a [channel](#DOCS_RESOURCES_CHANNEL/channel-object) object.

> warn
> Careful with this endpoint.

## Create Message % POST /channels/{channel.id#DOCS_RESOURCES_CHANNEL/channel-object}/messages

Post a message.

###### JSON/Form Params

| Field              | Type                                                           | Description                     |
|--------------------|----------------------------------------------------------------|---------------------------------|
| content?\\*         | string                                                         | Message contents (up to 2000)   |
| embeds?\\*          | array of [embed](#DOCS_RESOURCES_MESSAGE/embed-object) objects | Up to 10 `rich` embeds          |
| tts                | boolean                                                        | `true` if this is a TTS message |
| nonce?             | ?integer                                                       | a \\| separated value           |

###### Query String Params

| Field  | Type      | Description        | Required | Default |
|--------|-----------|--------------------|----------|---------|
| wait   | boolean   | wait for the send  | false    | false   |
| thread | snowflake | the thread         | true     | absent  |

###### Example Request Body (application/json)

```json
{"content": "Hello"}
```

### Sub section of Create Message

Still part of the section.

## Modify Channel % PATCH /channels/{channel.id#DOCS_RESOURCES_CHANNEL/channel-object}

Update a channel. All JSON parameters are optional.

###### JSON Params (Guild channel)

| Field | Type    | Description | Channel Type |
|-------|---------|-------------|--------------|
| name  | string  | the name    | All          |

###### Modify Response Body

| Field | Type    | Description |
|-------|---------|-------------|
| id    | snowflake | the id    |

# Next top-level section
"""

USER_DOC = """# Users Resource

## Create DM % POST /users/@me/channels

Create a new DM channel.

###### JSON Params

| Field        | Type      | Description   |
|--------------|-----------|---------------|
| recipient_id | snowflake | the recipient |

## Create Group DM % POST /users/@me/channels

> danger
> Deprecated in favor of something else.

Create a group DM.

###### JSON Params

| Field         | Type             | Description   |
|---------------|------------------|---------------|
| access_tokens | array of strings | access tokens |
"""


def _parse(*files: tuple[str, str]):
    return MarkdownImporter().parse([SourceFile(p, t.encode()) for p, t in files], ImportContext())


def test_documents_titles_and_cleanup() -> None:
    result = _parse(("resources/Channel.md", CHANNEL_DOC), ("notes/no_heading.md", "Just text, no heading.\n"))
    assert result.format == "markdown"
    docs = {d.path: d for d in result.documents}
    channel = docs["resources/Channel.md"]
    assert channel.title == "Channels Resource"
    assert docs["notes/no_heading.md"].title == "no_heading"
    md = channel.markdown
    assert "sidebar_label" not in md  # front matter dropped
    assert "Intro with a link and a [real link](https://example.com)." in md
    assert "#DOCS_" not in md
    assert "## Get Channel % GET /channels/{channel.id}" in md
    assert "> warn" not in md and "> Careful with this endpoint." in md
    assert "# not a heading" in md  # code fences untouched


def test_endpoint_headings_and_sections() -> None:
    result = _parse(("resources/Channel.md", CHANNEL_DOC))
    keys = [e.operation_key for e in result.endpoints]
    assert keys == ["GET /channels/{channel.id}", "POST /channels/{channel.id}/messages", "PATCH /channels/{channel.id}"]
    get, create, modify = result.endpoints

    assert get.summary == get.operation_id == "Get Channel"
    assert get.method == "GET" and get.path == "/channels/{channel.id}"
    assert get.tags == ["Channels Resource"] and get.source_path == "resources/Channel.md"
    assert get.description.startswith("Get a channel by ID. Returns a channel object.")
    assert "> Careful with this endpoint." in get.description and "> warn" not in get.description
    assert "Post a message" not in get.description  # the section stops at the next ## heading
    assert [(p.name, p.location, p.required) for p in get.parameters] == [("channel.id", "path", True)]

    params = {(p.location, p.name): p for p in create.parameters}
    assert params[("body", "content")].required is False and params[("body", "content")].type == "string"
    assert params[("body", "embeds")].type == "array of embed objects"
    assert params[("body", "tts")].required is True
    assert params[("body", "nonce")].type == "integer | null" and params[("body", "nonce")].description == "a | separated value"
    assert params[("query", "wait")].required is False and params[("query", "wait")].default == "false"
    assert params[("query", "thread")].required is True and params[("query", "thread")].default is None
    assert create.request_body is not None
    assert create.request_body.content_types == ["application/json", "multipart/form-data"]
    assert [f.name for f in create.request_body.fields] == ["content", "embeds", "tts", "nonce"]
    assert create.examples[0].content == '{"content": "Hello"}' and create.examples[0].language == "json"
    assert "Still part of the section." in create.description  # ### is deeper than ##: same section
    assert "Next top-level section" not in modify.description

    name = next(p for p in modify.parameters if p.name == "name")
    assert name.required is False  # "All JSON parameters are optional."
    assert name.description == "the name; Channel type: All"
    assert [(r.code, [f.name for f in r.fields]) for r in modify.responses] == [("200", ["id"])]


def test_same_route_twice_is_one_endpoint() -> None:
    result = _parse(("resources/User.md", USER_DOC))
    [endpoint] = result.endpoints
    assert endpoint.operation_key == "POST /users/@me/channels"
    assert endpoint.operation_id == "Create DM" and endpoint.extra["alternate_names"] == ["Create Group DM"]
    assert "Create a new DM channel." in endpoint.description and "Create a group DM." in endpoint.description
    params = {p.name: p for p in endpoint.parameters}
    assert set(params) == {"recipient_id", "access_tokens"}
    assert not params["recipient_id"].required and not params["access_tokens"].required
    assert endpoint.deprecated is False  # only one of the two is deprecated


def test_plain_endpoint_headings() -> None:
    text = """# Things API

## GET /v1/things

List things.

### Query parameters

| Name | Type | Description |
|------|------|-------------|
| `limit` | integer | page size |

## Create a thing (`POST /v1/things`)

### Body

| Field | Type | Description |
|---|---|---|
| name | string | required name |

## Delete a thing — DELETE /v1/things/{id}

Deprecated: this endpoint is deprecated.

## Not an endpoint: GET requests explained
"""
    result = _parse(("things.md", text))
    by_key = {e.operation_key: e for e in result.endpoints}
    assert list(by_key) == ["GET /v1/things", "POST /v1/things", "DELETE /v1/things/{id}"]
    assert by_key["GET /v1/things"].summary == "GET /v1/things"
    assert [(p.name, p.location) for p in by_key["GET /v1/things"].parameters] == [("limit", "query")]
    assert by_key["POST /v1/things"].summary == "Create a thing"
    assert [(p.name, p.location, p.required) for p in by_key["POST /v1/things"].parameters] == [("name", "body", True)]
    assert by_key["DELETE /v1/things/{id}"].summary == "Delete a thing"
    assert by_key["DELETE /v1/things/{id}"].deprecated


def test_split_table_row_and_clean() -> None:
    assert split_table_row("| a | `x | y` | c \\| d |") == ["a", "`x | y`", "c | d"]
    assert clean_markdown("> info\n> Note this.\n\nSee [Foo](#DOCS_FOO/bar).\n") == "> Note this.\n\nSee Foo.\n"


def test_detect_and_errors() -> None:
    imp = MarkdownImporter()
    assert imp.detect([SourceFile("docs/a.md", CHANNEL_DOC.encode())]) >= 0.85
    assert 0.6 <= imp.detect([SourceFile("README.md", b"# Hello\n\ntext")]) < 0.85
    assert imp.detect([SourceFile("spec.json", b'{"openapi": "3.0.0"}')]) == 0.0
    with pytest.raises(ImportError_):
        imp.parse([SourceFile("logo.png", b"\x89PNG\x00\x00")], ImportContext())
    result = imp.parse([SourceFile("a.md", b"# A\n"), SourceFile("logo.png", b"\x89PNG\x00\x00")], ImportContext())
    assert [d.title for d in result.documents] == ["A"]
    assert result.issues[0].where == "logo.png" and result.issues[0].severity == "warning"


def test_document_size_cap() -> None:
    big = "# Big\n\n" + ("word " * 1000 + "\n") * 10
    result = MarkdownImporter().parse([SourceFile("big.md", big.encode())], ImportContext(max_document_bytes=5000))
    assert len(result.documents[0].markdown.encode()) < 5100
    assert "truncated" in result.issues[0].reason


# ------------------------------------------------------------------------------------ Discord corpus


def _eval_markdown_ops(folder: Path) -> dict[str, set[str]]:
    """shared/eval/validate_questions.py `markdown_ops`, restated."""
    ops: dict[str, set[str]] = {}
    for fp in sorted(folder.iterdir()):
        for line in fp.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^#+ (.+?) % (GET|POST|PUT|PATCH|DELETE) (\S+)", line)
            if m:
                key = f"{m.group(2)} {re.sub(r'#DOCS_[^}]*}', '}', m.group(3))}"
                ops.setdefault(key, set()).add(m.group(1).strip())
    return ops


@pytest.mark.skipif(not DISCORD.is_dir(), reason="shared/corpora/markdown/discord is not available")
def test_discord_corpus() -> None:
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(DISCORD.iterdir()) if p.is_file()]
    importer = MarkdownImporter()
    assert importer.detect(files) >= 0.85
    result = importer.parse(files, ImportContext())
    assert len(result.endpoints) == 174
    assert len(result.documents) == len(files)
    expected = _eval_markdown_ops(DISCORD)
    by_key = {e.operation_key: e for e in result.endpoints}
    assert set(by_key) == set(expected)
    for key, endpoint in by_key.items():
        assert {endpoint.operation_id, *endpoint.extra.get("alternate_names", [])} == expected[key]
        assert "#DOCS_" not in (endpoint.description or "")

    assert "GET /channels/{channel.id}" in by_key
    create = by_key["POST /channels/{channel.id}/messages"]
    assert create.summary == "Create Message"
    content = next(p for p in create.parameters if p.name == "content")
    assert content.location == "body" and content.type == "string" and content.required is False
    assert {"embeds", "files[n]", "payload_json"} <= {p.name for p in create.parameters if p.location == "body"}
    assert ("channel.id", "path") in {(p.name, p.location) for p in create.parameters}

    edit = by_key["PATCH /channels/{channel.id}/messages/{message.id}"]
    assert edit.operation_id == "Edit Message" and {"content", "embeds"} <= {p.name for p in edit.parameters}
    role = by_key["PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id}"]
    assert role.operation_id == "Add Guild Member Role" and "MANAGE_ROLES" in (role.description or "")
    guilds = {p.name: p for p in by_key["GET /users/@me/guilds"].parameters}
    assert guilds["limit"].location == "query" and guilds["limit"].default == "200" and not guilds["limit"].required
    assert by_key["PATCH /guilds/{guild.id}/members/@me/nick"].deprecated


# ------------------------------------------------------------------------------------------- JSON


def test_json_document() -> None:
    data = {
        "title": "Error catalog",
        "description": "Errors the API returns.",
        "version": 3,
        "retryable": False,
        "errors": {"card_declined": {"status": 402, "message": "The card was declined."}},
    }
    importer = JsonDocImporter()
    files = [SourceFile("errors.json", json.dumps(data).encode())]
    assert 0.2 <= importer.detect(files) <= 0.35
    result = importer.parse(files, ImportContext())
    [doc] = result.documents
    assert doc.title == "Error catalog" and result.title == "Error catalog"
    md = doc.markdown
    assert md.startswith("# Error catalog\n\nErrors the API returns.")
    assert "## version\n\n`3`" in md and "## retryable\n\n`false`" in md
    assert '## errors\n\n```json\n{\n  "card_declined": {\n    "status": 402,' in md


def test_json_array_catalog_and_caps() -> None:
    catalog = [{"code": "rate_limited", "status": 429, "hint": "retry later", "details": {"a": 1}}, {"code": "not_found", "status": 404}]
    result = JsonDocImporter().parse([SourceFile("codes.json", json.dumps(catalog).encode())], ImportContext())
    md = result.documents[0].markdown
    assert "## rate_limited\n\n- **status**: 429\n- **hint**: retry later" in md and "## not_found" in md

    big = {"blob": ["x" * 100] * 1000}
    result = JsonDocImporter().parse([SourceFile("big.json", json.dumps(big).encode())], ImportContext())
    assert "… (truncated)" in result.documents[0].markdown
    assert any("truncated" in i.reason for i in result.issues)

    result = JsonDocImporter().parse(
        [SourceFile("ok.json", b'{"a": 1}'), SourceFile("bad.json", b"{nope")], ImportContext(max_document_bytes=1000)
    )
    assert [d.path for d in result.documents] == ["ok.json"] and result.issues[0].where == "bad.json"
    with pytest.raises(ImportError_, match="not valid JSON"):
        JsonDocImporter().parse([SourceFile("bad.json", b"{nope")], ImportContext())


def test_json_steps_aside_for_specs() -> None:
    importer = JsonDocImporter()
    assert importer.detect([SourceFile("openapi.json", b'{"openapi": "3.1.0", "paths": {}}')]) <= 0.05
    assert importer.detect([SourceFile("c.json", b'{"info": {"schema": "https://schema.getpostman.com/json/collection/v2.1.0/"}}')]) <= 0.05
    assert importer.detect([SourceFile("notes.md", b"# hi")]) == 0.0
