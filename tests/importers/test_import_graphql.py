"""GraphQL importer: SDL and introspection JSON, partial results, and the GitHub corpora."""

from __future__ import annotations

import json

import pytest
from corpus_helpers import CORPORA, eval_validator
from graphql import build_schema, introspection_from_schema

from woes.importers.base import ImportContext, ImportError_, SourceFile
from woes.importers.graphql import GraphQLImporter

IMP = GraphQLImporter()

SDL = '''
"""The root of all queries."""
type Query {
  "Look up a user by id."
  user(id: ID!, kind: Kind = ADMIN, first: Int = 10): User
  "All users."
  users(first: Int, after: String): UserConnection!
  legacy: String @deprecated(reason: "Use user")
  search(term: String!): SearchResult
}

type Mutation {
  "Create a user."
  createUser(input: CreateUserInput!): CreateUserPayload
}

type Subscription {
  userChanged(id: ID!): User
}

"""A person."""
type User implements Node {
  id: ID!
  name: String @deprecated(reason: "use login")
  login: String!
  kind: Kind!
  team: Team
}

interface Node { id: ID! }
type Team { id: ID! title: String members: [User!]! }
type UserConnection { edges: [UserEdge] nodes: [User] pageInfo: PageInfo! totalCount: Int! }
type UserEdge { cursor: String! node: User }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type CreateUserPayload { clientMutationId: String user: User }
union SearchResult = User | Team

"""Kinds of users."""
enum Kind {
  "An administrator."
  ADMIN
  MEMBER
}

input CreateUserInput {
  login: String!
  kind: Kind = MEMBER
  profile: ProfileInput
  clientMutationId: String
}

input ProfileInput { bio: String tags: [String!] address: AddressInput }
input AddressInput { city: String! }
'''


def _parse(files: list[SourceFile], ctx: ImportContext | None = None):
    return IMP.parse(files, ctx or ImportContext())


def _by_key(result):
    return {e.operation_key: e for e in result.endpoints}


# ---------------------------------------------------------------------- detect


def test_detect():
    assert IMP.detect([SourceFile("schema.graphql", SDL.encode())]) >= 0.9
    assert IMP.detect([SourceFile("schema.txt", SDL.encode())]) >= 0.5
    assert IMP.detect([SourceFile("schema.json", b'{"data": {"__schema": {"types": []}}}')]) >= 0.9
    assert IMP.detect([SourceFile("openapi.json", b'{"openapi": "3.0.0"}')]) == 0
    assert IMP.detect([SourceFile("README.md", b"# Hello\n\nSome text.")]) == 0


# ---------------------------------------------------------------------- SDL happy path


def test_sdl_happy_path():
    r = _parse([SourceFile("schema.graphql", SDL.encode())])
    eps = _by_key(r)
    assert set(eps) == {
        "QUERY user",
        "QUERY users",
        "QUERY legacy",
        "QUERY search",
        "MUTATION createUser",
        "SUBSCRIPTION userChanged",
    }
    assert not [i for i in r.issues if i.severity == "error"]

    user = eps["QUERY user"]
    assert (user.method, user.path, user.operation_id) == ("QUERY", "user", "user")
    assert user.summary == "Look up a user by id."
    params = {p.name: p for p in user.parameters}
    assert params["id"].type == "ID!" and params["id"].required and params["id"].location == "argument"
    assert params["kind"].enum == ["ADMIN", "MEMBER"] and params["kind"].default == "ADMIN" and not params["kind"].required
    assert params["first"].default == "10"
    resp = user.responses[0]
    names = [f.name for f in resp.fields]
    assert names[:5] == ["id", "name", "login", "kind", "team"]  # first level before nested
    assert "team.title" in names and "team.members[]" in names
    fields = {f.name: f for f in resp.fields}
    assert fields["name"].deprecated and "use login" in fields["name"].description
    assert fields["login"].required and fields["kind"].enum == ["ADMIN", "MEMBER"]
    assert "query User($id: ID!)" in user.examples[0].content and "user(id: $id)" in user.examples[0].content

    legacy = eps["QUERY legacy"]
    assert legacy.deprecated and legacy.extra["deprecation_reason"] == "Use user"

    # connection return type: unwrapped to nodes[] / edges[].node
    conn = {f.name for f in eps["QUERY users"].responses[0].fields}
    assert {"totalCount", "nodes[]", "nodes[].login", "edges[].cursor", "edges[].node", "pageInfo.hasNextPage"} <= conn
    assert "first: 10" in eps["QUERY users"].examples[0].content

    assert "union of User | Team" in eps["QUERY search"].responses[0].description

    create = eps["MUTATION createUser"]
    body = {f.name: f for f in create.request_body.fields}
    assert list(body)[:2] == ["login", "kind"]
    assert body["login"].required and not body["kind"].required and body["kind"].default == "MEMBER"
    assert {"profile.bio", "profile.tags[]", "profile.address.city"} <= set(body)
    assert create.request_body.required
    assert {"clientMutationId", "user", "user.login"} <= {f.name for f in create.responses[0].fields}

    sub = eps["SUBSCRIPTION userChanged"]
    assert sub.method == "SUBSCRIPTION" and sub.extra["streaming"] is True

    # documents: overview + reachable types + enums, each a readable chunk
    titles = [d.title for d in r.documents]
    assert titles[0] == "GraphQL schema overview"
    md = "\n".join(d.markdown for d in r.documents)
    assert "## User (object)" in md and "## Kind (enum)" in md and "- `ADMIN` — An administrator." in md
    assert "## UserConnection" not in md  # connection boilerplate left out
    assert "## CreateUserPayload" not in md  # described by its endpoint


def test_sdl_split_over_several_files():
    q = SourceFile("query.graphql", b"type Query { ping: Pong }")
    t = SourceFile("types/pong.gql", b"type Pong { ok: Boolean! }")
    r = _parse([q, t])
    assert [e.operation_key for e in r.endpoints] == ["QUERY ping"]
    assert [f.name for f in r.endpoints[0].responses[0].fields] == ["ok"]
    assert not r.issues


def test_sdl_with_nul_bytes():
    r = _parse([SourceFile("s.graphql", b"type Query {\x00 hello: String\x00 }")])
    assert [e.operation_key for e in r.endpoints] == ["QUERY hello"]


# ---------------------------------------------------------------------- partial / invalid


def test_sdl_malformed_definition_is_skipped_rest_kept():
    broken = SDL.replace("type Team { id: ID! title: String members: [User!]! }", "type Team { id: ID! title: ??? }")
    r = _parse([SourceFile("schema.graphql", broken.encode())])
    assert "QUERY user" in _by_key(r) and "MUTATION createUser" in _by_key(r)
    errors = [i for i in r.issues if i.severity == "error"]
    assert len(errors) == 1 and "(Team)" in errors[0].where and "Syntax Error" in errors[0].reason
    assert errors[0].where.startswith("schema.graphql:")
    # the dropped type is still shown by name where it is used
    assert any("Team" in i.reason and i.severity == "warning" for i in r.issues)
    team = {f.name: f for f in _by_key(r)["QUERY user"].responses[0].fields}["team"]
    assert team.type == "Team"


def test_sdl_problems_kept_as_warnings():
    sdl = "type Query { a: Int a: String b: Missing }"
    r = _parse([SourceFile("s.graphql", sdl.encode())])
    assert {e.operation_key for e in r.endpoints} == {"QUERY a", "QUERY b"}
    reasons = " ".join(i.reason for i in r.issues)
    assert "can only be defined once" in reasons and "Missing" in reasons
    assert all(i.severity == "warning" for i in r.issues)


@pytest.mark.parametrize(
    "name,data,where",
    [
        ("x.graphql", b"type {{{ nonsense", "x.graphql:1:6"),
        ("x.graphql", b"query { me { id } }", "x.graphql"),
        ("x.json", b'{"__schema": 5}', "x.json"),
        ("x.json", b'{"__schema": {"types": [', "x.json:1:25"),
    ],
)
def test_invalid_input_raises(name, data, where):
    with pytest.raises(ImportError_) as e:
        _parse([SourceFile(name, data)])
    assert e.value.where == where and e.value.reason


def test_nothing_graphql_raises():
    with pytest.raises(ImportError_, match="no GraphQL"):
        _parse([SourceFile("notes.md", b"# not a schema")])


# ---------------------------------------------------------------------- introspection


def _introspection() -> dict:
    return introspection_from_schema(build_schema(SDL))


def test_introspection_with_and_without_data_wrapper():
    intro = _introspection()
    for payload in ({"data": intro}, intro):
        r = _parse([SourceFile("schema.json", json.dumps(payload).encode())])
        eps = _by_key(r)
        assert len(eps) == 6 and not r.issues
        params = {p.name: p for p in eps["QUERY user"].parameters}
        assert params["kind"].default == "ADMIN" and params["id"].required
        assert eps["QUERY legacy"].deprecated
        assert {"login", "profile.address.city"} <= {f.name for f in eps["MUTATION createUser"].request_body.fields}


def test_introspection_malformed_parts_skipped():
    intro = _introspection()
    for t in intro["__schema"]["types"]:
        if t["name"] == "User":
            t["fields"][1]["type"] = None  # User.name broken
        if t["name"] == "Team":
            t["fields"][0]["type"] = {"kind": "OBJECT", "name": "Gone", "ofType": None}
    intro["__schema"]["types"].append({"description": "no name or kind"})
    r = _parse([SourceFile("schema.json", json.dumps(intro).encode())])
    assert len(r.endpoints) == 6
    wheres = [i.where for i in r.issues]
    assert "schema.json:User.name" in wheres
    assert any(w.startswith("schema.json:__schema.types[") for w in wheres)
    assert any("Gone" in i.reason and i.severity == "warning" for i in r.issues)
    user_fields = [f.name for f in _by_key(r)["QUERY user"].responses[0].fields]
    assert "name" not in user_fields and "login" in user_fields


def test_remote_references_are_never_fetched():
    """GraphQL has no $refs; federation `@link(url: ...)` must not make the importer fetch anything."""
    sdl = b"""
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { product(id: ID!): Product }
    type Product @key(fields: "id") { id: ID! name: String }
    """

    def fetch(url: str) -> bytes:
        raise AssertionError(f"fetched {url}")

    r = _parse([SourceFile("subgraph.graphql", sdl)], ImportContext(fetch=fetch))
    assert [e.operation_key for e in r.endpoints] == ["QUERY product"]
    assert all(i.severity == "warning" for i in r.issues)  # unknown directives are reported, not fatal


def test_endpoint_limit():
    r = _parse([SourceFile("schema.graphql", SDL.encode())], ImportContext(max_endpoints=2))
    assert len(r.endpoints) == 2 and any("endpoint limit" in i.reason for i in r.issues)


# ---------------------------------------------------------------------- corpora




@pytest.fixture(scope="module")
def github_sdl():
    path = CORPORA / "graphql" / "github-schema.graphql"
    if not path.exists():
        pytest.skip(f"corpus not available: {path}")
    return path, IMP.parse([SourceFile(path.name, path.read_bytes())], ImportContext())


@pytest.fixture(scope="module")
def github_introspection():
    path = CORPORA / "graphql" / "github-introspection-2021-10-01.json"
    if not path.exists():
        pytest.skip(f"corpus not available: {path}")
    return path, IMP.parse([SourceFile(path.name, path.read_bytes())], ImportContext())


def test_corpus_github_sdl(github_sdl):
    path, r = github_sdl
    kinds = [e.method for e in r.endpoints]
    assert kinds.count("QUERY") == 31 and kinds.count("MUTATION") == 247 and len(kinds) == 278
    v = eval_validator()
    if v is not None:
        assert {e.operation_key for e in r.endpoints} == set(v.graphql_sdl_ops(str(path)))
    assert not [i for i in r.issues if i.severity == "error"]  # two duplicate field definitions are warnings
    eps = _by_key(r)
    create = eps["MUTATION createIssue"]
    body = {f.name: f for f in create.request_body.fields}
    assert body["repositoryId"].required and body["title"].required and "assigneeIds[]" in body
    assert {"issue.title", "issue.number"} <= {f.name for f in create.responses[0].fields}
    repo = {p.name: p for p in eps["QUERY repository"].parameters}
    assert repo["owner"].required and repo["name"].required and repo["owner"].type == "String!"
    resp = eps["QUERY repository"].responses[0]
    assert len(resp.fields) <= 400 and "more nested fields" in resp.description
    assert "nameWithOwner" in {f.name for f in resp.fields}  # every first-level field survives truncation
    assert len(r.documents) < 60 and max(len(d.markdown) for d in r.documents) < 200_000
    assert any("## Repository (object)" in d.markdown for d in r.documents)


def test_corpus_github_introspection(github_introspection):
    path, r = github_introspection
    kinds = [e.method for e in r.endpoints]
    assert kinds.count("QUERY") == 28 and kinds.count("MUTATION") == 155
    v = eval_validator()
    if v is not None:
        assert {e.operation_key for e in r.endpoints} == set(v.graphql_introspection_ops(str(path)))
    assert not r.issues
    create = _by_key(r)["MUTATION createIssue"]
    assert {"repositoryId", "title"} <= {f.name for f in create.request_body.fields}
    assert create.description and create.summary


def test_plain_text_sdl_is_detected_and_parsed():
    """Raw content pasted with `type: auto` arrives as content.txt."""
    f = SourceFile("content.txt", SDL.encode())
    assert IMP.detect([f]) >= 0.6
    assert len(_parse([f]).endpoints) == 6
    prose = SourceFile("content.txt", b"The type of this thing is unclear.\nWe use enum values sometimes.\n")
    assert IMP.detect([prose]) == 0
