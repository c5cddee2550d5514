"""The sufficiency judge's building blocks: requests only a person can serve, literal specifics, terms of art."""

from __future__ import annotations

import pytest

from woes.agents.judging import literal_specifics, missing_concepts, needs_human, normalize
from woes.agents.matching import question_terms


@pytest.mark.parametrize("question, category", [
    ("Is there a plan to support filtering accounts by email?", "roadmap"),
    ("When is the API going to support bulk exports?", "roadmap"),
    ("Can you raise our organization's rate limit to 20,000 an hour?", "commercial"),
    ("How much does it cost to send an SMS to Germany?", "pricing"),
    ("What is your pricing for the enterprise plan?", "pricing"),
    ("Our live account's payouts were paused yesterday. Why did that happen?", "account_case"),
    ("Is the API down right now? We see timeouts everywhere.", "service_status"),
    ("Invoice.upcoming no longer works for us. What's the alternative now?", "changed_behaviour"),
])
def test_requests_only_a_person_can_serve(question, category):
    found = needs_human(question)
    assert found is not None and found[0] == category


@pytest.mark.parametrize("question", [
    "How do I list prices for a product?",
    "How do I create a price with a monthly interval?",
    "What does the rate field of a shipping rate contain?",
    "How do I cancel a subscription at the end of the period?",
    "My webhook endpoint stopped receiving events; how do I list which events it is subscribed to?",
    "How do I raise an error from a webhook handler so the event is retried?",
    "Which endpoint returns the account's current balance?",
])
def test_ordinary_api_questions_are_not_flagged(question):
    assert needs_human(question) is None


def test_literal_specifics_keep_api_names_and_drop_code_and_ids():
    names = {normalize(n) for n in ("balance_transaction", "Stripe-Account", "invoice.paid")}
    q = ("I call `stripe.charges.create()` with expand `balance_transaction` and the Stripe-Account header for "
         "we_1NZDS6zmtogHmHGLVwIiSyC2 on invoice.paid (see package.json) and get error 21211")
    got = literal_specifics(q, question_terms(q), names)
    assert "balance_transaction" in got and "stripe-account" in got and "invoice.paid" in got and "code:21211" in got
    assert not any("we_1nzds" in g or "package" in g or "stripe.charges" in g for g in got)


def test_unknown_header_is_a_specific_even_when_the_source_never_names_it():
    q = "How do I use the Idempotency-Key header?"
    assert "idempotency-key" in literal_specifics(q, question_terms(q), set())


def test_terms_of_art_missing_from_the_evidence():
    df = {"idempotency": 3, "charge": 40, "webhook": 12}
    evidence = {"charge", "amount", "currency", "create"}
    assert missing_concepts("How would you use idempotency with a charge?", df, evidence) == ["idempotency"]
    # everyday words, API vocabulary and words the source never uses are not terms of art
    assert missing_concepts("How do I authenticate a webhook for my shop?", df, evidence) == []
    # covered by a morphological relative in the evidence
    assert missing_concepts("How do I use idempotency?", df, evidence | {"idempotent"}) == []
