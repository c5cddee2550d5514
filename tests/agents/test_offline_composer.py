"""The offline composer's choice of fields: what the question points at, request side first."""

from __future__ import annotations

from woes.agents.matching import FieldMatch, match_fields, question_terms, strong
from woes.agents.providers.base import EvidenceItem
from woes.agents.providers.offline import _referenced_inputs, endpoint_answer


def _field(name: str, description: str = "", **extra) -> dict:
    return {"name": name, "type": extra.pop("type", "string"), "description": description, **extra}


REFUND = {
    "operation_key": "POST /v1/refunds", "method": "POST", "path": "/v1/refunds", "summary": "Create a refund",
    "parameters": [],
    "request_body": {"contentTypes": ["application/x-www-form-urlencoded"], "fields": [
        _field("amount", "A positive integer in cents representing how much to refund.", type="integer"),
        _field("charge", "The identifier of the charge to refund."),
        _field("customer", "Customer whose customer balance to refund from."),
        _field("instructions_email", "For payment methods without native refund support, the email to reach the customer."),
        _field("metadata", "Set of key-value pairs.", type="object"),
        _field("origin", "Origin of the refund.", enum=["customer_balance"]),
        _field("payment_intent", "The identifier of the PaymentIntent to refund."),
        _field("reason", "String indicating the reason for the refund.", enum=["duplicate", "fraudulent", "requested_by_customer"]),
        _field("refund_application_fee", "Boolean indicating whether the application fee should be refunded.", type="boolean"),
    ]},
    "responses": [{"code": "200", "fields": [
        _field("object", "String representing the object's type.", enum=["refund"]),
        _field("payment_intent", "ID of the PaymentIntent that was refunded."),
        _field("balance_transaction.type", "Transaction type.", enum=["refund", "charge", "payout"]),
    ]}],
}
QUESTION = "A customer sent back one of two items. How do I refund only $15 of a $40 PaymentIntent through the API?"


def test_a_money_amount_in_the_question_points_to_the_amount_field():
    matches = match_fields(REFUND, question_terms(QUESTION))
    amount = next(m for m in matches if m.name == "amount")
    assert "amount" in amount.reasons and amount.score >= 1.0
    without = next(m for m in match_fields(REFUND, question_terms("How do I refund a PaymentIntent?")) if m.name == "amount")
    assert without.score < amount.score


def test_a_response_enum_equal_to_a_question_word_is_not_what_was_asked():
    names = [(m.kind, m.name) for m in strong(match_fields(REFUND, question_terms(QUESTION)))]
    assert ("response", "balance_transaction.type") not in names and ("response", "object") not in names


def test_the_request_field_is_listed_not_the_response_field_of_the_same_name():
    item = EvidenceItem(1, "endpoint", "Create a refund", "", method="POST", path="/v1/refunds",
                        operation_key="POST /v1/refunds", record=REFUND)
    text = "\n".join(endpoint_answer(item, QUESTION, lead=True, preferred=["payment_intent", "payment_intent"]))
    assert "`payment_intent` (string, request body, optional)" in text
    assert "`amount` (integer, request body" in text
    assert "response)" not in text.split("Parameters and fields")[1].split("\n\n")[0]


RATE_LIMIT = {
    "operation_key": "GET /rate_limit", "method": "GET", "path": "/rate_limit", "summary": "Get rate limit status",
    "parameters": [], "request_body": None,
    "responses": [{"code": "200", "fields": [
        _field("resources", type="object"), _field("resources.core", "Core API budget.", type="object"),
        _field("resources.search", "Search API budget.", type="object"),
        _field("resources.search.remaining", "Requests left in the window.", type="integer"),
        _field("rate", type="object"),
    ]}],
}


def test_a_read_answer_names_the_nested_response_fields_the_question_points_at():
    item = EvidenceItem(1, "endpoint", "Get rate limit status", "", method="GET", path="/rate_limit",
                        operation_key="GET /rate_limit", record=RATE_LIMIT)
    text = "\n".join(endpoint_answer(item, "How many search requests do I have left?", lead=True))
    assert "In the response: " in text and "`resources.search`" in text
    plain = "\n".join(endpoint_answer(item, "What does the rate limit endpoint return?", lead=True))
    assert "In the response: " not in plain


def test_a_nested_object_the_question_points_at_is_shown_with_its_sub_fields():
    record = {**RATE_LIMIT, "responses": [{"code": "200", "fields": [
        *RATE_LIMIT["responses"][0]["fields"],
        _field("resources.search.reset", "Window reset time.", type="integer"),
        _field("resources.search.window", "The window.", type="object"),
        _field("resources.search.window.seconds", "A grandchild.", type="integer"),
        _field("resources.core.used", "Core requests used.", type="integer"),
    ]}]}
    item = EvidenceItem(1, "endpoint", "Get rate limit status", "", method="GET", path="/rate_limit",
                        operation_key="GET /rate_limit", record=record)
    line = next(x for x in endpoint_answer(item, "How many search requests do I have left?", lead=True)
                if x.startswith("In the response: "))
    search_part = line.split("`resources.search`")[1].split("; `")[0]
    assert search_part.startswith(" (object; fields `remaining`, `reset`, `window`): Search API budget.")
    assert "seconds" not in line and "`used`" not in search_part


MESSAGES = {
    "operation_key": "POST /Messages.json", "method": "POST", "path": "/Messages.json", "summary": "Send a message",
    "parameters": [],
    "request_body": {"contentTypes": ["application/x-www-form-urlencoded"], "fields": [
        _field("To", "The recipient's phone number.", required=True),
        _field("Body", "The text of the message."),
        _field("ScheduleType", "For Messaging Services only: include this with `fixed` to schedule a message. Set From or a "
               "status callback as usual.", enum=["fixed"]),
        _field("SendAt", "The time that the message will be sent.", type="string (date-time)"),
        _field("MessagingServiceSid", "The SID of the Messaging Service to use."),
        _field("From", "The sender."),
        _field("StatusCallback", "The URL for status updates."),
        *[_field(f"Extra{i}", f"Unrelated option {i}.") for i in range(12)],
    ]},
    "responses": [],
}


def test_an_input_that_a_chosen_input_names_in_words_is_listed_too():
    item = EvidenceItem(1, "endpoint", "Send a message", "", method="POST", path="/Messages.json",
                        operation_key="POST /Messages.json", record=MESSAGES)
    text = "\n".join(endpoint_answer(item, "Can I schedule an SMS to go out tomorrow at 9am?", lead=True))
    fields = text.split("Parameters and fields that matter here:")[1].split("\n\n")[0]
    assert "`ScheduleType`" in fields and "`MessagingServiceSid`" in fields  # "For Messaging Services only"
    assert "`StatusCallback`" in fields  # "a status callback": a two-word name, named in words
    assert "`From`" not in fields  # one-word names are too common to count as a reference
    assert fields.count("`MessagingServiceSid`") == 1
    # inputs whose descriptions name no other input add nothing; response fields are not read for this
    to = [FieldMatch("body", "To", MESSAGES["request_body"]["fields"][0], 1.0)]
    assert _referenced_inputs(MESSAGES, to) == []
    schedule = MESSAGES["request_body"]["fields"][2]
    assert _referenced_inputs(MESSAGES, [FieldMatch("response", "ScheduleType", schedule, 1.0)]) == []
