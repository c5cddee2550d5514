"""Schemathesis over the served OpenAPI document: generated requests to every operation, valid and
invalid (positive and negative generation), never get a server error, and every response conforms to
the document (content type, and the response schema where the document gives one). Bounded in time: a few
examples per operation and mode. Driven through schemathesis' strategies with Hypothesis directly (its
pytest plugin does not run on pytest 9)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

EXAMPLES_PER_OPERATION = 4
SHARDS = 4
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_server_errors_and_responses_match_the_document(app, ws, shard):
    """Every SHARDS-th operation from `shard` (the shards run on parallel test workers)."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for i, result in enumerate(schema.get_all_operations()):
        if i % SHARDS != shard:
            continue
        operation = result.ok()
        operations += 1
        for mode in MODES:
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy, _=st.just(None))
            def check(case, _):
                case.call_and_validate(headers=ws.headers, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing to make invalid in an operation without inputs
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:600]}")
    assert operations >= 100 // SHARDS
    assert not failures, "\n\n".join(failures)
