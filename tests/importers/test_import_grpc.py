"""gRPC importer: .proto parsing (own tokenizer), comments, annotations, imports, partial results, corpora."""

from __future__ import annotations

import json

import pytest
from corpus_helpers import CORPORA, eval_validator

from woes.importers.base import ImportContext, ImportError_, SourceFile
from woes.importers.grpc import GrpcImporter

IMP = GrpcImporter()

SHOP = b"""// Copyright notice (detached: separated by a blank line).

syntax = "proto3";

package shop.v1;

import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
import "shop/v1/common.proto";

// The shop service.
service Shop {
  option (google.api.default_host) = "shop.example.com";
  option (google.api.oauth_scopes) =
      "https://example.com/auth/shop,"
      "https://example.com/auth/read";

  // Gets an order.
  //
  // Returns NOT_FOUND when missing.
  rpc GetOrder(GetOrderRequest) returns (Order) {
    option (google.api.http) = {
      get: "/v1/{name=orders/*}"
      additional_bindings { post: "/v1/{name=orders/*}:get" body: "*" }
    };
    option (google.api.method_signature) = "name";
  }

  /* Streams order updates. */
  rpc WatchOrders(stream WatchRequest) returns (stream Order);

  rpc OldCall(GetOrderRequest) returns (common.Money) { option deprecated = true; }
}

message GetOrderRequest {
  // The order name.
  string name = 1 [(google.api.field_behavior) = REQUIRED];
}

// An order.
message Order {
  string name = 1; // resource name
  repeated LineItem items = 2;
  map<string, string> labels = 3;
  map<string, LineItem> by_sku = 4;
  oneof payment {
    string card = 5;
    string invoice = 6;
  }
  State state = 7 [(google.api.field_behavior) = OUTPUT_ONLY];
  google.protobuf.Timestamp create_time = 8;
  common.Money total = 9;
  Order parent = 10;

  message LineItem {
    string sku = 1;
    int32 qty = 2;
  }

  enum State {
    STATE_UNSPECIFIED = 0;
    OPEN = 1;
    CLOSED = 2;
  }
}

message WatchRequest { repeated string names = 1; }
"""

COMMON = b"""syntax = "proto3";
package shop.v1.common;
// An amount of money.
message Money { string currency = 1; int64 units = 2; }
"""


def _parse(files, ctx=None):
    return IMP.parse(files, ctx or ImportContext())


def _by_key(r):
    return {e.operation_key: e for e in r.endpoints}


def test_detect():
    assert IMP.detect([SourceFile("shop.proto", SHOP)]) >= 0.9
    assert IMP.detect([SourceFile("shop.txt", SHOP)]) >= 0.8
    assert IMP.detect([SourceFile("common.proto", COMMON)]) > 0.5
    assert IMP.detect([SourceFile("api.yaml", b"openapi: 3.0.0")]) == 0


def test_happy_path():
    r = _parse([SourceFile("protos/shop/v1/shop.proto", SHOP), SourceFile("protos/shop/v1/common.proto", COMMON)])
    eps = _by_key(r)
    assert list(eps) == ["RPC Shop/GetOrder", "RPC Shop/WatchOrders", "RPC Shop/OldCall"]
    # only the google/api import is missing (google/protobuf/* are well-known)
    assert [i.where for i in r.issues] == [
        "protos/shop/v1/shop.proto (import google/api/annotations.proto)",
        "protos/shop/v1/common.proto",
    ]
    assert all(i.severity == "warning" for i in r.issues)
    assert r.title == "shop.v1" and r.servers == ["shop.example.com"]

    get = eps["RPC Shop/GetOrder"]
    assert (get.method, get.path, get.operation_id) == ("RPC", "/shop.v1.Shop/GetOrder", "GetOrder")
    assert get.summary == "Gets an order." and "Returns NOT_FOUND when missing." in get.description
    assert "Copyright" not in (get.description or "")
    assert get.extra["service"] == "shop.v1.Shop" and get.extra["request_type"] == "shop.v1.GetOrderRequest"
    assert get.extra["http"] == [
        {"method": "get", "path": "/v1/{name=orders/*}"},
        {"method": "post", "path": "/v1/{name=orders/*}:get", "body": "*"},
    ]
    assert get.extra["method_signature"] == ["name"]
    assert get.examples[0].content.startswith("GET /v1/{name=orders/*}")
    assert "grpcurl" in get.examples[-1].content and "shop.example.com:443 shop.v1.Shop/GetOrder" in get.examples[-1].content
    assert [(p.name, p.location) for p in get.parameters] == [("name", "path")]
    assert [a.scopes for a in get.auth] == [["https://example.com/auth/shop", "https://example.com/auth/read"]]

    req = {f.name: f for f in get.request_body.fields}
    assert req["name"].required and req["name"].description.startswith("The order name.")
    resp = {f.name: f for f in get.responses[0].fields}
    assert resp["name"].description == "resource name"
    assert resp["items[]"].type == "repeated LineItem" and {"items[].sku", "items[].qty"} <= set(resp)
    assert resp["labels"].type == "map<string, string>" and "by_sku{}.sku" in resp
    assert "oneof `payment`" in resp["card"].description and "oneof `payment`" in resp["invoice"].description
    assert resp["state"].enum == ["STATE_UNSPECIFIED", "OPEN", "CLOSED"] and "OUTPUT_ONLY" in resp["state"].description
    assert resp["create_time"].type == "google.protobuf.Timestamp" and "RFC 3339" in resp["create_time"].description
    assert {"total.currency", "total.units"} <= set(resp)  # resolved across files (package shop.v1.common)
    assert "parent" in resp and "parent.name" not in resp  # a type already on the path is not expanded again

    watch = eps["RPC Shop/WatchOrders"]
    assert watch.extra["client_streaming"] and watch.extra["server_streaming"]
    assert watch.summary == "Streams order updates." and "Bidirectional streaming" in watch.description
    assert "(stream)" in watch.request_body.description

    old = eps["RPC Shop/OldCall"]
    assert old.deprecated and [f.name for f in old.responses[0].fields] == ["currency", "units"]
    json.dumps([e.extra for e in r.endpoints])
    md = "\n".join(d.markdown for d in r.documents)
    assert (
        "## message shop.v1.Order" in md and "## enum shop.v1.Order.State" in md and "rpc WatchOrders(stream WatchRequest)" in md
    )


def test_proto2_groups_defaults_and_required():
    src = b"""syntax = "proto2";
package legacy;
service Old { rpc Call(Req) returns (Res); }
message Req {
  required string id = 1;
  optional int32 retries = 2 [default = 3];
  optional group Meta = 3 { optional string note = 4; }
  extensions 100 to 199;
}
message Res { optional bool ok = 1; }
"""
    r = _parse([SourceFile("old.proto", src)])
    f = {x.name: x for x in r.endpoints[0].request_body.fields}
    assert f["id"].required and not f["retries"].required and f["retries"].default == 3
    assert "meta.note" in f


def test_edition_2023():
    src = b'edition = "2023";\npackage ed;\nservice S { rpc A(M) returns (M) {} }\nmessage M { string a = 1 [features.field_presence = EXPLICIT]; }\n'
    r = _parse([SourceFile("ed.proto", src)])
    assert [e.operation_key for e in r.endpoints] == ["RPC S/A"] and not r.issues


def test_malformed_rpc_and_field_skipped_rest_kept():
    src = b"""syntax = "proto3";
package p;
service S {
  rpc Good(Req) returns (Res);
  rpc Broken(Req returns (Res);
  rpc AlsoGood(Req) returns (stream Res) {}
}
message Req {
  string ok = 1;
  string = 2;
  int32 bad = x;
  int32 fine = 4;
}
message Res { string id = 1 }
"""
    r = _parse([SourceFile("s.proto", src)])
    assert [e.operation_key for e in r.endpoints] == ["RPC S/Good", "RPC S/AlsoGood"]
    errors = [(i.where, i.reason) for i in r.issues if i.severity == "error"]
    assert errors[0][0] == "s.proto:5 (S/Broken)" and "malformed rpc" in errors[0][1]
    assert [w for w, _ in errors[1:]] == ["s.proto:10 (Req)", "s.proto:11 (Req)", "s.proto:14 (Res)"]
    assert [f.name for f in r.endpoints[0].request_body.fields] == ["ok", "fine"]


@pytest.mark.parametrize("data", [b"hello world this is not proto", b"\x00\x01 {{{", b"", b"{ } ; ;"])
def test_invalid_input_raises(data):
    with pytest.raises(ImportError_, match="no protobuf definitions"):
        _parse([SourceFile("x.proto", data)])


def test_unterminated_comment_and_string():
    src = b'syntax = "proto3";\npackage p;\nservice S { rpc A(M) returns (M); }\nmessage M { string a = 1; }\noption x = "unterminated;\n/* never closed'
    r = _parse([SourceFile("u.proto", src)])
    assert [e.operation_key for e in r.endpoints] == ["RPC S/A"]
    assert any("unterminated" in i.reason for i in r.issues)


def test_missing_imports_are_warnings_and_nothing_is_fetched():
    src = b'syntax = "proto3";\nimport "https://evil.example/x.proto";\nimport "other/dep.proto";\nservice S { rpc A(dep.Thing) returns (M); }\nmessage M {}\n'

    def fetch(url: str) -> bytes:
        raise AssertionError(f"fetched {url}")

    r = _parse([SourceFile("a.proto", src)], ImportContext(fetch=fetch))
    assert [e.operation_key for e in r.endpoints] == ["RPC S/A"]
    reasons = [i.reason for i in r.issues]
    assert any("https://evil.example/x.proto" in x for x in reasons) and any("other/dep.proto" in x for x in reasons)
    assert any("dep.Thing" in x for x in reasons)
    assert r.endpoints[0].extra["request_type"] == "dep.Thing" and r.endpoints[0].request_body.fields == []


def test_nul_bytes_stripped():
    r = _parse(
        [
            SourceFile(
                "n.proto", b'syntax = "proto3";\x00\nservice S {\x00 rpc A(M) returns (M); }\nmessage M { string a\x00 = 1; }'
            )
        ]
    )
    assert [f.name for f in r.endpoints[0].request_body.fields] == ["a"]


# ---------------------------------------------------------------------- corpora




@pytest.fixture(scope="module")
def corpus():
    d = CORPORA / "proto"
    if not d.exists():
        pytest.skip(f"corpus not available: {d}")
    files = {p.name: SourceFile(p.name, p.read_bytes()) for p in sorted(d.iterdir())}
    single = {name: IMP.parse([f], ImportContext()) for name, f in files.items()}
    both = IMP.parse([files["google-pubsub-v1-pubsub.proto"], files["google-pubsub-v1-schema.proto"]], ImportContext())
    return d, single, both


@pytest.mark.parametrize(
    "name,count",
    [("google-pubsub-v1-pubsub.proto", 25), ("google-pubsub-v1-schema.proto", 10), ("grpc-route_guide.proto", 4)],
)
def test_corpus_counts(corpus, name, count):
    d, single, _ = corpus
    r = single[name]
    assert len(r.endpoints) == count
    assert not [i for i in r.issues if i.severity == "error"]
    v = eval_validator()
    if v is not None:
        assert {e.operation_key for e in r.endpoints} == set(v.proto_ops(str(d / name)))


def test_corpus_pubsub(corpus):
    _, single, both = corpus
    r = single["google-pubsub-v1-pubsub.proto"]
    assert {e.tags[0] for e in r.endpoints} == {"Publisher", "Subscriber"}
    assert any(i.where.endswith("(import google/api/annotations.proto)") and i.severity == "warning" for i in r.issues)
    pub = _by_key(r)["RPC Publisher/Publish"]
    assert pub.path == "/google.pubsub.v1.Publisher/Publish" and pub.extra["service"] == "google.pubsub.v1.Publisher"
    req = {f.name: f for f in pub.request_body.fields}
    assert req["topic"].required and req["messages[]"].required and "messages[].data" in req
    assert pub.extra["http"] == [{"method": "post", "path": "/v1/{topic=projects/*/topics/*}:publish", "body": "*"}]
    assert "POST /v1/{topic=projects/*/topics/*}:publish" in pub.examples[0].content
    assert pub.servers == ["pubsub.googleapis.com"] and "https://www.googleapis.com/auth/pubsub" in pub.auth[0].scopes
    sub = {f.name: f for f in _by_key(r)["RPC Subscriber/CreateSubscription"].request_body.fields}
    assert sub["name"].required and sub["topic"].required  # two field_behavior annotations on `name`
    assert "push_config.oidc_token.audience" in sub
    assert _by_key(r)["RPC Subscriber/StreamingPull"].extra["streaming"] == "bidirectional streaming"

    # with schema.proto in the same source the import resolves (flattened file name) and so do its types
    assert len(both.endpoints) == 35
    assert not any("google/pubsub/v1/schema.proto" in i.where for i in both.issues)
    topic = {f.name: f for f in _by_key(both)["RPC Publisher/CreateTopic"].request_body.fields}
    assert topic["schema_settings.encoding"].enum == ["ENCODING_UNSPECIFIED", "JSON", "BINARY"]


def test_corpus_route_guide(corpus):
    _, single, _ = corpus
    eps = _by_key(single["grpc-route_guide.proto"])
    assert (
        eps["RPC RouteGuide/ListFeatures"].extra["client_streaming"],
        eps["RPC RouteGuide/ListFeatures"].extra["server_streaming"],
    ) == (False, True)
    assert eps["RPC RouteGuide/RecordRoute"].extra["streaming"] == "client-streaming"
    chat = eps["RPC RouteGuide/RouteChat"]
    assert chat.extra["streaming"] == "bidirectional streaming"
    assert {f.name for f in chat.request_body.fields} == {"location", "location.latitude", "location.longitude", "message"}
    assert eps["RPC RouteGuide/GetFeature"].summary == "A simple RPC."


def test_deeply_nested_file_is_skipped_others_kept():
    deep = "syntax = 'proto3';\nmessage D " + "{ message X " * 20_000 + "}" * 20_000
    ok = b'syntax = "proto3"; service S { rpc A(M) returns (M); } message M {}'
    r = _parse([SourceFile("ok.proto", ok), SourceFile("deep.proto", deep.encode())])
    assert [e.operation_key for e in r.endpoints] == ["RPC S/A"]
    assert any(i.where == "deep.proto" and "nested too deeply" in i.reason for i in r.issues)
