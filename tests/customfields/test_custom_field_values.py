"""`validate_custom_field_values`, the service helper other domains call: every type, null removal, merge,
provenance and the AI-never-overwrites-manual rule."""

from __future__ import annotations

import copy
import math

import pytest

from woes.core.errors import ProblemError
from woes.customfields import service
from woes.customfields.schemas import CustomFieldCreate
from woes.events.service import SYSTEM

FIELDS = [
    ("about", "text", None, False),
    ("seats", "number", None, False),
    ("mrr", "decimal", None, False),
    ("vip", "boolean", None, False),
    ("renewal", "date", None, False),
    ("dashboard", "url", None, False),
    ("plan", "select", ["free", "pro", {"value": "ent", "label": "Enterprise"}], False),
    ("areas", "multi_select", ["api", "billing", "sdk"], False),
    ("region", "text", None, True),
]


@pytest.fixture
def fws(runtime, make_workspace):
    """A workspace with one conversation field of every type (+ a required one) and a customer field."""
    ws = make_workspace()
    with runtime.db.transaction() as s:
        for key, type_, options, required in FIELDS:
            service.do_create_custom_field(s, ws.id, CustomFieldCreate(
                key=key, label=key.title(), type=type_, options=options, required=required), SYSTEM)
        service.do_create_custom_field(s, ws.id, CustomFieldCreate(
            key="lifetime", label="Lifetime", type="number", target="customer"), SYSTEM)
    return ws


def run(runtime, ws, values, *, existing=None, source="manual", existing_sources=None, target="conversation", **kw):
    with runtime.db.reading() as s:
        return service.validate_custom_field_values(s, ws.id, target, values, existing=existing, source=source,
                                                    existing_sources=existing_sources, **kw)


def value_of(runtime, ws, key, raw):
    values, sources = run(runtime, ws, {key: raw})
    assert sources == {key: "manual"}
    return values[key]


def errors_of(runtime, ws, values, **kw) -> list[dict[str, str]]:
    with pytest.raises(ProblemError) as exc:
        run(runtime, ws, values, **kw)
    assert exc.value.status == 422 and exc.value.code == "validation_failed"
    return exc.value.errors


def rejects(runtime, ws, key, raw) -> str:
    errors = errors_of(runtime, ws, {key: raw})
    assert [e["field"] for e in errors] == [f"customFields.{key}"], errors
    return errors[0]["message"]


# -- each type ------------------------------------------------------------------------------------------


TYPE_CASES = {
    "about": {
        "valid": [("hello", "hello"), ("", ""), ("  spaced  ", "  spaced  "), ("x" * 10_000, "x" * 10_000),
                  ("ünïcødé ✓", "ünïcødé ✓")],
        "invalid": [5, 1.5, True, ["a"], {"a": 1}, "x" * 10_001],
    },
    "seats": {
        "valid": [(0, 0), (42, 42), (-7, -7), (3.0, 3), (2**53 - 1, 2**53 - 1), (-(2**53 - 1), -(2**53 - 1))],
        "invalid": [1.5, "42", True, False, math.nan, math.inf, -math.inf, 2**53, [1], {"n": 1}],
    },
    "mrr": {
        "valid": [(12.5, "12.5"), ("12.50", "12.50"), ("-3", "-3"), (7, "7"), ("+1.25", "1.25"), (0.1, "0.1"),
                  (1e20, "100000000000000000000"), (" 4.20 ", "4.20"), (-0.5, "-0.5")],
        "invalid": ["abc", "1.2.3", "1e5", "", ".5", "5.", "1,5", True, math.nan, math.inf, "9" * 65, [], {"v": 1},
                    "NaN", "Infinity"],
    },
    "vip": {
        "valid": [(True, True), (False, False)],
        "invalid": ["true", "false", 1, 0, "yes", []],
    },
    "renewal": {
        "valid": [("2026-02-28", "2026-02-28"), ("2024-02-29", "2024-02-29"), ("0001-01-01", "0001-01-01")],
        "invalid": ["2026-02-30", "2025-02-29", "2026-13-01", "2026-2-3", "2026-02-28T10:00:00Z", "28/02/2026",
                    "20260228", 20260228, "", "2026-W09", True],
    },
    "dashboard": {
        "valid": [("https://example.com", "https://example.com"), ("http://localhost:8000/x?y=1#z", "http://localhost:8000/x?y=1#z"),
                  ("HTTPS://Example.com/Path", "HTTPS://Example.com/Path"), (" https://a.io ", "https://a.io")],
        "invalid": ["ftp://example.com", "example.com", "https://", "javascript:alert(1)", "https://exa mple.com",
                    "mailto:a@b.c", 5, "https://" + "a" * 2050, "http://[::1", "", "https://a.io/\x00"],
    },
    "plan": {
        "valid": [("free", "free"), ("ent", "ent")],
        "invalid": ["Free", "Enterprise", "gold", "", 1, ["pro"], True],
    },
    "areas": {
        "valid": [(["api"], ["api"]), (["sdk", "api"], ["sdk", "api"]), ([], []), (["api", "billing", "sdk"], ["api", "billing", "sdk"])],
        "invalid": ["api", ["api", "api"], ["docs"], [1], ["API"], [None], {"api": True}, [["api"]]],
    },
}


@pytest.mark.parametrize("key", list(TYPE_CASES))
def test_each_type_valid_and_invalid(runtime, fws, key):
    for raw, stored in TYPE_CASES[key]["valid"]:
        assert value_of(runtime, fws, key, raw) == stored, (key, raw)
    for raw in TYPE_CASES[key]["invalid"]:
        message = rejects(runtime, fws, key, raw)
        assert message and len(message) < 400, (key, raw)


def test_error_messages_are_helpful(runtime, fws):
    assert "'free'" in rejects(runtime, fws, "plan", "gold")
    assert "more than once" in rejects(runtime, fws, "areas", ["api", "api"])
    assert "decimal" in rejects(runtime, fws, "seats", 1.5)
    assert "YYYY-MM-DD" in rejects(runtime, fws, "renewal", "2026-2-3")
    assert "not a valid calendar date" in rejects(runtime, fws, "renewal", "2026-02-30")
    assert "10,000" in rejects(runtime, fws, "about", "x" * 10_001)


def test_unknown_keys_and_all_errors_reported_together(runtime, fws):
    errors = errors_of(runtime, fws, {"nope": 1, "seats": "many", "plan": "pro", "Plan": "pro"})
    assert [e["field"] for e in errors] == ["customFields.nope", "customFields.seats", "customFields.Plan"]
    assert "nope" in errors[0]["message"] and "seats" in errors[0]["message"]  # lists the known keys
    # a customer field is not a conversation field, and vice versa
    assert [e["field"] for e in errors_of(runtime, fws, {"lifetime": 3})] == ["customFields.lifetime"]
    values, sources = run(runtime, fws, {"lifetime": 3}, target="customer")
    assert values == {"lifetime": 3} and sources == {"lifetime": "manual"}
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": 3}, target="customer")] == ["customFields.seats"]
    # the prefix is configurable for callers whose field has another name
    errors = errors_of(runtime, fws, {"nope": 1}, field_prefix="customer.customFields")
    assert errors[0]["field"] == "customer.customFields.nope"


def test_not_an_object(runtime, fws):
    for bad in (["seats"], "seats=1", 5):
        errors = errors_of(runtime, fws, bad)
        assert errors[0]["field"] == "customFields"
    assert run(runtime, fws, None) == ({}, {})
    assert run(runtime, fws, {}) == ({}, {})
    with pytest.raises(ValueError):
        run(runtime, fws, {}, source="robot")


def test_merge_null_removal_and_inputs_untouched(runtime, fws):
    existing = {"seats": 5, "plan": "pro", "about": "hi"}
    existing_sources = {"seats": "manual", "plan": "ai", "about": "manual"}
    values = {"seats": None, "vip": True, "about": "bye"}
    snapshot = copy.deepcopy((existing, existing_sources, values))
    merged, sources = run(runtime, fws, values, existing=existing, existing_sources=existing_sources)
    assert merged == {"plan": "pro", "about": "bye", "vip": True}
    assert sources == {"plan": "ai", "about": "manual", "vip": "manual"}
    assert (existing, existing_sources, values) == snapshot
    # null for a key that has no value is fine
    assert run(runtime, fws, {"renewal": None}, existing={"seats": 1}) == ({"seats": 1}, {"seats": "manual"})


def test_ai_never_overwrites_manual(runtime, fws):
    existing = {"plan": "pro", "seats": 10, "vip": False}
    existing_sources = {"plan": "manual", "seats": "ai", "vip": "manual"}
    merged, sources = run(runtime, fws, {"plan": "free", "seats": 12, "about": "suggested", "vip": None},
                          existing=existing, source="ai", existing_sources=existing_sources)
    assert merged == {"plan": "pro", "seats": 12, "about": "suggested", "vip": False}
    assert sources == {"plan": "manual", "seats": "ai", "about": "ai", "vip": "manual"}
    # an invalid AI value for a manually set key is ignored too (not an error)
    assert run(runtime, fws, {"plan": "gold"}, existing=existing, source="ai",
               existing_sources=existing_sources)[0]["plan"] == "pro"
    # but an invalid AI value elsewhere, or an unknown key, is still an error
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": "x"}, existing=existing, source="ai",
                                          existing_sources=existing_sources)] == ["customFields.seats"]
    assert [e["field"] for e in errors_of(runtime, fws, {"nope": 1}, source="ai",
                                          existing_sources=None)] == ["customFields.nope"]
    # AI may remove its own value
    merged, sources = run(runtime, fws, {"seats": None}, existing=existing, source="ai",
                          existing_sources=existing_sources)
    assert "seats" not in merged and "seats" not in sources


def test_manual_overwrites_ai_and_takes_over_provenance(runtime, fws):
    merged, sources = run(runtime, fws, {"seats": 3}, existing={"seats": 10}, existing_sources={"seats": "ai"})
    assert merged == {"seats": 3} and sources == {"seats": "manual"}
    # confirming the same value makes it manual, so the AI can no longer change it
    merged, sources = run(runtime, fws, {"plan": "pro"}, existing={"plan": "pro"}, existing_sources={"plan": "ai"})
    assert sources == {"plan": "manual"}
    merged, sources = run(runtime, fws, {"plan": "free"}, existing=merged, source="ai", existing_sources=sources)
    assert merged == {"plan": "pro"}


def test_existing_values_without_known_source_count_as_manual(runtime, fws):
    merged, sources = run(runtime, fws, {"seats": 99}, existing={"seats": 1}, source="ai", existing_sources=None)
    assert merged == {"seats": 1} and sources == {"seats": "manual"}
    merged, sources = run(runtime, fws, {"seats": 99}, existing={"seats": 1}, source="ai",
                          existing_sources={"seats": "bogus"})
    assert merged == {"seats": 1} and sources == {"seats": "manual"}


def test_values_of_deleted_fields_are_dropped(runtime, fws):
    with runtime.db.reading() as s:
        seats = service.custom_field_definitions(s, fws.id, "conversation")["seats"]
    with runtime.db.transaction() as s:
        service.do_delete_custom_field(s, fws.id, seats.id, SYSTEM)
    merged, sources = run(runtime, fws, {"vip": True}, existing={"seats": 4, "about": "x"},
                          existing_sources={"seats": "manual", "about": "ai"})
    assert merged == {"about": "x", "vip": True} and sources == {"about": "ai", "vip": "manual"}
    assert [e["field"] for e in errors_of(runtime, fws, {"seats": 4})] == ["customFields.seats"]


def test_enforce_required(runtime, fws):
    errors = errors_of(runtime, fws, {"seats": 1}, enforce_required=True)
    assert [e["field"] for e in errors] == ["customFields.region"] and "required" in errors[0]["message"]
    for empty in ("", None):
        errors = errors_of(runtime, fws, {"region": empty}, existing={"region": "eu"}, enforce_required=True)
        assert [e["field"] for e in errors] == ["customFields.region"]
    merged, _ = run(runtime, fws, {}, existing={"region": "eu"}, enforce_required=True)
    assert merged == {"region": "eu"}
    # without enforce_required, required fields may be missing
    assert run(runtime, fws, {"seats": 1}) == ({"seats": 1}, {"seats": "manual"})


def test_other_workspaces_fields_are_invisible(runtime, fws, make_workspace):
    other = make_workspace("Other")
    assert [e["field"] for e in errors_of(runtime, other, {"seats": 1})] == ["customFields.seats"]
