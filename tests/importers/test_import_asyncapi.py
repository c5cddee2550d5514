"""AsyncAPI importer: 1.x topics, 2.x channels, 3.x operations, $ref handling, and the corpora."""

from __future__ import annotations

import json

import pytest
from corpus_helpers import CORPORA, eval_validator

from woes.importers.asyncapi import AsyncAPIImporter
from woes.importers.base import ImportContext, ImportError_, SourceFile

IMP = AsyncAPIImporter()

V3 = """
asyncapi: 3.0.0
info:
  title: Orders
  version: 2024-01-01
  description: Order events.
defaultContentType: application/json
servers:
  prod:
    host: broker.example.com:8883
    protocol: mqtts
    security:
      - $ref: '#/components/securitySchemes/creds'
channels:
  orderCreated:
    address: 'orders/{orderId}/created'
    description: Order creation events.
    parameters:
      orderId:
        description: The order id.
    messages:
      created:
        $ref: '#/components/messages/OrderCreated'
  dynamic:
    address: null
    messages:
      ping:
        payload: {type: string}
  rpc:
    address: rpc/request
    messages:
      req:
        payload: {type: object, properties: {q: {type: string}}}
  rpcReply:
    address: rpc/reply
    messages:
      res:
        payload: {type: object, properties: {answer: {type: integer}}}
operations:
  onOrderCreated:
    action: receive
    channel: {$ref: '#/channels/orderCreated'}
    summary: Receive order creations.
    bindings:
      mqtt: {qos: 1}
    messages:
      - $ref: '#/channels/orderCreated/messages/created'
  sendPing:
    action: send
    channel: {$ref: '#/channels/dynamic'}
  ask:
    action: send
    channel: {$ref: '#/channels/rpc'}
    reply:
      channel: {$ref: '#/channels/rpcReply'}
  broken:
    channel: {$ref: '#/channels/orderCreated'}
  lost:
    action: send
    channel: {$ref: '#/channels/nowhere'}
components:
  securitySchemes:
    creds:
      type: userPassword
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://auth.example.com/token
          availableScopes:
            orders:read: Read orders
  messages:
    OrderCreated:
      name: OrderCreated
      title: Order created
      summary: An order was created.
      traits:
        - $ref: '#/components/messageTraits/common'
      payload:
        $ref: '#/components/schemas/Order'
      examples:
        - name: small
          payload: {id: o_1, total: 5}
  messageTraits:
    common:
      headers:
        type: object
        required: [x-correlation-id]
        properties:
          x-correlation-id: {type: string, description: Correlation id.}
  schemas:
    Order:
      type: object
      required: [id]
      properties:
        id: {type: string, description: Order id.}
        total: {type: number}
        status: {type: string, enum: [new, paid]}
        items:
          type: array
          items: {$ref: '#/components/schemas/Item'}
        parent: {$ref: '#/components/schemas/Order'}
    Item:
      allOf:
        - type: object
          properties:
            sku: {type: string}
        - type: object
          required: [qty]
          properties:
            qty: {type: integer, default: 1}
"""

V2 = {
    "asyncapi": "2.6.0",
    "info": {"title": "Chat", "version": "1.0"},
    "servers": {"ws": {"url": "chat.example.com/ws", "protocol": "wss", "security": [{"key": []}]}},
    "channels": {
        "room/{roomId}": {
            "parameters": {"roomId": {"description": "Room.", "schema": {"type": "string"}}},
            "publish": {
                "operationId": "postMessage",
                "message": {"oneOf": [{"$ref": "#/components/messages/Text"}, {"$ref": "#/components/messages/Image"}]},
            },
            "subscribe": {"operationId": "onMessage", "message": {"$ref": "#/components/messages/Text"}},
        },
        "bad": {"publish": "not an object", "subscribe": {"operationId": "ok", "message": {"payload": {"type": "string"}}}},
    },
    "components": {
        "securitySchemes": {"key": {"type": "httpApiKey", "in": "header", "name": "X-Key"}},
        "messages": {
            "Text": {"name": "text", "payload": {"type": "object", "properties": {"text": {"type": "string"}}}},
            "Image": {"name": "image", "payload": {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}}},
        },
    },
}

V1 = {
    "asyncapi": "1.2.0",
    "info": {"title": "Events", "version": "1"},
    "baseTopic": "acme",
    "servers": [{"url": "hooks.example.com", "scheme": "https"}],
    "topics": {
        "user.created": {
            "subscribe": {
                "summary": "A user was created.",
                "payload": {"type": "object", "properties": {"id": {"type": "string"}}},
                "x-scopes-required": ["users:read"],
            }
        },
        "user.pinged": {"publish": {"payload": {"type": "string"}}, "subscribe": {"payload": {"type": "string"}}},
    },
}


def _parse(files, ctx=None):
    return IMP.parse(files, ctx or ImportContext())


def _by_key(r):
    return {e.operation_key: e for e in r.endpoints}


def test_detect():
    assert IMP.detect([SourceFile("api.yaml", V3.encode())]) >= 0.9
    assert IMP.detect([SourceFile("api.json", json.dumps(V2).encode())]) >= 0.9
    assert IMP.detect([SourceFile("openapi.yaml", b"openapi: 3.0.0\n")]) == 0


def test_v3_happy_path():
    r = _parse([SourceFile("asyncapi.yaml", V3.encode())])
    eps = _by_key(r)
    assert set(eps) == {"RECEIVE orders/{orderId}/created", "SEND dynamic", "SEND rpc/request"}
    assert r.title == "Orders" and r.version == "2024-01-01"
    assert r.servers == ["mqtts://broker.example.com:8883"]
    assert {a.scheme: a.type for a in r.auth_schemes} == {"creds": "basic", "oauth": "oauth2"}

    ep = eps["RECEIVE orders/{orderId}/created"]
    assert (ep.method, ep.path, ep.operation_id, ep.summary) == (
        "RECEIVE",
        "orders/{orderId}/created",
        "onOrderCreated",
        "Receive order creations.",
    )
    assert "Order creation events." in ep.description
    assert [(p.name, p.location, p.required) for p in ep.parameters] == [
        ("orderId", "path", True),
        ("x-correlation-id", "header", True),
    ]
    msg = ep.responses[0]
    assert msg.code == "message" and msg.content_types == ["application/json"]
    assert "OrderCreated" in msg.description and "Order created" in msg.description and "An order was created." in msg.description
    fields = {f.name: f for f in msg.fields}
    assert fields["id"].required and fields["id"].description == "Order id."
    assert fields["status"].enum == ["new", "paid"]
    assert {"items[]", "items[].sku", "items[].qty", "parent"} <= set(fields)
    assert fields["items[].qty"].required and fields["items[].qty"].default == 1
    assert "parent.id" not in fields  # recursive schema stops
    assert ep.extra["bindings"]["operation"] == {"mqtt": {"qos": 1}}
    assert ep.extra["channel"] == "orderCreated" and ep.extra["action"] == "receive"
    assert [a.scheme for a in ep.auth] == ["creds"] and ep.servers == ["mqtts://broker.example.com:8883"]
    assert json.loads(ep.examples[0].content) == {"payload": {"id": "o_1", "total": 5}}
    json.dumps(ep.extra)  # plain JSON

    # null address -> channel key; a message without operation-level list -> the channel's messages
    ping = eps["SEND dynamic"]
    assert ping.path == "dynamic" and ping.extra["address"] is None and len(ping.responses) == 1

    ask = eps["SEND rpc/request"]
    assert [r_.code for r_ in ask.responses] == ["message", "reply"]
    assert [f.name for f in ask.responses[1].fields] == ["answer"] and ask.extra["reply"]["address"] == "rpc/reply"

    errors = {i.where: i.reason for i in r.issues if i.severity == "error"}
    assert any("operations.broken" in w and "action" in reason for w, reason in errors.items())
    assert any("operations.lost" in w for w in errors)
    assert r.documents and "# Orders" in r.documents[0].markdown


def test_v2_happy_path_and_malformed_operation():
    r = _parse([SourceFile("chat.json", json.dumps(V2).encode())])
    eps = _by_key(r)
    assert set(eps) == {"PUBLISH room/{roomId}", "SUBSCRIBE room/{roomId}", "SUBSCRIBE bad"}
    pub = eps["PUBLISH room/{roomId}"]
    assert pub.operation_id == "postMessage"
    assert [f.name for resp in pub.responses for f in resp.fields] == ["text", "url"]
    assert [p.name for p in pub.parameters] == ["roomId"]
    assert pub.servers == ["wss://chat.example.com/ws"]
    assert [(a.scheme, a.type, a.location, a.parameter) for a in pub.auth] == [("key", "api_key", "header", "X-Key")]
    assert any(i.where.endswith("channels.bad.publish") and i.severity == "error" for i in r.issues)


def test_v1_topics():
    r = _parse([SourceFile("events.json", json.dumps(V1).encode())])
    eps = _by_key(r)
    assert set(eps) == {"SUBSCRIBE user.created", "PUBLISH user.pinged", "SUBSCRIBE user.pinged"}
    ep = eps["SUBSCRIBE user.created"]
    assert ep.operation_id == "user.created" and ep.summary == "A user was created."
    assert [f.name for f in ep.responses[0].fields] == ["id"]
    assert ep.extra["x-scopes-required"] == ["users:read"] and ep.extra["baseTopic"] == "acme"
    assert ep.servers == ["https://hooks.example.com"]


def test_remote_ref_refused_without_fetch_and_used_with_fetch():
    doc = {
        "asyncapi": "2.0.0",
        "info": {"title": "t", "version": "1"},
        "channels": {"c": {"subscribe": {"message": {"payload": {"$ref": "https://schemas.example.com/order.json#/Order"}}}}},
    }
    r = _parse([SourceFile("a.json", json.dumps(doc).encode())])
    assert list(_by_key(r)) == ["SUBSCRIBE c"]
    assert any(i.where.startswith("https://schemas.example.com/order.json") and "refused" in i.reason for i in r.issues)

    calls = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return json.dumps({"Order": {"type": "object", "properties": {"id": {"type": "string"}}}}).encode()

    r = _parse([SourceFile("a.json", json.dumps(doc).encode())], ImportContext(fetch=fetch))
    assert calls == ["https://schemas.example.com/order.json"]
    assert [f.name for f in r.endpoints[0].responses[0].fields] == ["id"]

    def refuse(url: str) -> bytes:
        raise PermissionError("blocked by policy")

    r = _parse([SourceFile("a.json", json.dumps(doc).encode())], ImportContext(fetch=refuse))
    assert any("blocked by policy" in i.reason for i in r.issues) and len(r.endpoints) == 1


def test_relative_file_ref_and_cycles():
    main = """
asyncapi: 2.4.0
info: {title: t, version: '1'}
channels:
  c:
    publish:
      message:
        payload:
          $ref: 'schemas/order.yaml#/Order'
  loop:
    subscribe:
      message: {$ref: '#/components/messages/A'}
components:
  messages:
    A: {$ref: '#/components/messages/B'}
    B: {$ref: '#/components/messages/A'}
"""
    other = "Order:\n  type: object\n  properties:\n    line:\n      $ref: '#/Line'\nLine:\n  type: object\n  properties:\n    sku: {type: string}\n"
    r = _parse([SourceFile("specs/asyncapi.yaml", main.encode()), SourceFile("specs/schemas/order.yaml", other.encode())])
    eps = _by_key(r)
    assert [f.name for f in eps["PUBLISH c"].responses[0].fields] == ["line", "line.sku"]
    assert "SUBSCRIBE loop" in eps and eps["SUBSCRIBE loop"].responses == []
    assert any("circular" in i.reason for i in r.issues)


@pytest.mark.parametrize(
    "name,data,match",
    [
        ("a.yaml", b"asyncapi: 2.0.0\ninfo: [unclosed\n", "invalid YAML at line"),
        ("a.json", b'{"asyncapi": "2.0.0", ', "invalid JSON"),
        ("a.yaml", b"openapi: 3.0.0\n", "no AsyncAPI document"),
        ("a.yaml", b"asyncapi: 2.0.0\n- a\n", "invalid YAML"),
    ],
)
def test_invalid_input_raises(name, data, match):
    with pytest.raises(ImportError_, match=match) as e:
        _parse([SourceFile(name, data)])
    assert e.value.where.startswith(name) or not e.value.where


def test_nul_bytes_stripped():
    r = _parse([SourceFile("a.json", json.dumps(V1).replace("user.created", "user.created\\u0000").encode() + b"\x00")])
    assert "SUBSCRIBE user.pinged" in _by_key(r)


# ---------------------------------------------------------------------- corpora




@pytest.fixture(scope="module")
def corpus():
    d = CORPORA / "asyncapi"
    if not d.exists():
        pytest.skip(f"corpus not available: {d}")
    return {p.name: (p, IMP.parse([SourceFile(p.name, p.read_bytes())], ImportContext())) for p in sorted(d.iterdir())}


@pytest.mark.parametrize(
    "name,count",
    [("streetlights-mqtt-asyncapi.yml", 4), ("slack-rtm-asyncapi.yml", 2), ("slack_events_api_async_v1.json", 66)],
)
def test_corpus_counts(corpus, name, count):
    path, r = corpus[name]
    assert len(r.endpoints) == count
    assert not [i for i in r.issues if i.severity == "error"]
    v = eval_validator()
    if v is not None:
        assert {e.operation_key for e in r.endpoints} == set(v.asyncapi_ops(str(path)))


def test_corpus_streetlights(corpus):
    _, r = corpus["streetlights-mqtt-asyncapi.yml"]
    ep = _by_key(r)["RECEIVE smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured"]
    assert {f.name for f in ep.responses[0].fields} == {"lumens", "sentAt"}
    assert ep.parameters[0].name == "streetlightId" and ep.parameters[0].description == "The ID of the streetlight."
    assert ep.extra["bindings"]["operation"]["mqtt"]["qos"] == 1
    assert r.servers == ["mqtt://test.mosquitto.org:{port}"]
    assert {"apiKey", "openIdConnectWellKnown"} <= {a.scheme for a in ep.auth}
    dim = _by_key(r)["SEND smartylighting/streetlights/1/0/action/{streetlightId}/dim"]
    assert [f.name for f in dim.responses[0].fields] == ["percentage", "sentAt"]


def test_corpus_slack(corpus):
    _, rtm = corpus["slack-rtm-asyncapi.yml"]
    send = _by_key(rtm)["SEND /"]
    assert len(send.responses) == 46 and "hello" in send.extra["message_names"]
    assert rtm.auth_schemes[0].type == "api_key" and rtm.auth_schemes[0].location == "query"
    _, events = corpus["slack_events_api_async_v1.json"]
    ep = _by_key(events)["SUBSCRIBE message.channels"]
    assert ep.extra["x-scopes-required"] == ["channels:history"]
    fields = {f.name: f for f in ep.responses[0].fields}
    assert fields["event.type"].required and fields["team_id"].required and "authed_users[]" in fields
    assert ep.examples and ep.summary == "A message was posted to a channel"


def test_yaml_alias_bomb_and_deep_nesting_do_not_hang():
    lol = "a0: &a0 {x: 1, y: [1, 2, 3]}\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)
    )
    doc = "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\nx-bomb:\n" + "".join(f"  {line}\n" for line in lol.splitlines())
    doc += "channels:\n  c:\n    subscribe:\n      x-big: *a9\n      bindings: {mqtt: *a9}\n"
    doc += "      message:\n        payload: {type: object, properties: {p: {allOf: *a9}}}\n"
    r = _parse([SourceFile("bomb.yaml", doc.encode())])
    assert [e.operation_key for e in r.endpoints] == ["SUBSCRIBE c"]
    assert len(json.dumps(r.endpoints[0].extra)) < 2_000_000
    with pytest.raises(ImportError_, match="nest"):
        _parse([SourceFile("deep.json", ('{"asyncapi": "2.0.0", "x": ' + "[" * 100_000 + "]" * 100_000 + "}").encode())])
