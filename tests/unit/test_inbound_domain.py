"""What an inbound message does (`domain/inbound.py`) and the conversation's state machine
(`domain/conversations.py`), decided without a database."""

from __future__ import annotations

from typing import Any

import pytest

from wagate.domain import conversations as threads
from wagate.domain import inbound
from wagate.domain.consent import OPT_IN, OPT_OUT, KeywordIndex, KeywordMatch
from wagate.domain.conversations import State, Thread
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.tenancy import PhoneNumber

NOW = 1_800_000_000.0
NUMBER = PhoneNumber(
    id=106540352242922,
    org_id=1,
    waba_id=102290129340398,
    display_phone_number="+7 495 123-45-67",
    region="RU",
    verified_name="Shop",
    upstream="simulator",
    rate=80,
)


def text(body: str, **extra: Any) -> dict[str, Any]:
    return {
        "from": "79161234567",
        "id": "wamid.IN1",
        "timestamp": "1799999990",
        "type": "text",
        "text": {"body": body},
        **extra,
    }


def test_a_text_opens_the_window_and_names_its_contact() -> None:
    profile = {"profile": {"name": "Anna"}, "wa_id": "79161234567", "user_id": "RU.123"}
    decision = inbound.decide(text("Where is my order?"), profile, NOW, {})
    assert decision.contact == inbound.Contact("79161234567", "Anna", "RU.123", "RU.123")
    assert decision.kind == "text" and decision.at == 1799999990.0
    assert decision.conversational
    assert decision.context_wamid is None and decision.media is None
    assert decision.keyword is not None and decision.keyword.texts == ("Where is my order?",)


@pytest.mark.parametrize("kind", ["reaction", "system", "unsupported", "unknown"])
def test_what_is_not_from_a_person_opens_no_window(kind: str) -> None:
    message = {"from": "79161234567", "id": "wamid.IN2", "type": kind}
    decision = inbound.decide(message, None, NOW, {})
    assert not decision.conversational
    assert decision.keyword is None
    assert decision.at == NOW  # no timestamp: when it was received


def test_a_reply_and_a_reaction_point_at_the_business_message_in_wagates_ids() -> None:
    known = {"wamid.UP": "wamid.OURS"}
    reply = text("Yes", context={"from": "74951234567", "id": "wamid.UP"})
    assert inbound.referenced_ids(reply) == {"wamid.UP"}
    decision = inbound.decide(reply, None, NOW, known)
    assert decision.context_wamid == "wamid.OURS"
    assert decision.as_business_sees["context"]["id"] == "wamid.OURS"
    assert reply["context"]["id"] == "wamid.UP"  # the received message is left as it came
    reaction = {
        "from": "79161234567",
        "id": "wamid.IN3",
        "type": "reaction",
        "reaction": {"message_id": "wamid.UP", "emoji": "👍"},
    }
    seen = inbound.decide(reaction, None, NOW, known).as_business_sees
    assert seen["reaction"]["message_id"] == "wamid.OURS"
    unknown = inbound.decide(text("?", context={"id": "wamid.ELSEWHERE"}), None, NOW, known)
    assert unknown.context_wamid is None
    assert unknown.as_business_sees["context"]["id"] == "wamid.ELSEWHERE"


def test_a_user_id_on_the_message_only_is_kept_for_the_contact_but_not_repeated_in_the_event() -> None:
    decision = inbound.decide(text("hi", from_user_id="RU.9"), None, NOW, {})
    assert decision.contact.user_id == "RU.9" and decision.contact.listed_user_id is None
    payload, value = inbound.received_event(NUMBER, decision, {**decision.as_business_sees, "id": "wamid.W"})
    assert payload["contact"]["user_id"] is None
    assert "user_id" not in value["contacts"][0]


def test_the_received_event_and_its_meta_value() -> None:
    decision = inbound.decide(text("hi"), {"profile": {"name": "Anna"}}, NOW, {})
    message = {**decision.as_business_sees, "id": "wamid.W"}
    payload, value = inbound.received_event(NUMBER, decision, message)
    assert payload["message_id"] == "wamid.W" and payload["from"] == "79161234567"
    assert payload["type"] == "text" and payload["timestamp"] == 1799999990.0
    assert value["metadata"] == {"display_phone_number": "74951234567", "phone_number_id": str(NUMBER.id)}
    assert value["contacts"] == [{"profile": {"name": "Anna"}, "wa_id": "79161234567"}]
    system = inbound.decide({"from": "79161234567", "id": "wamid.S", "type": "system"}, None, NOW, {})
    _, system_value = inbound.received_event(NUMBER, system, {"id": "wamid.S2", "type": "system"})
    assert "contacts" not in system_value


def test_media_is_named_for_the_store_to_keep() -> None:
    image = {
        "from": "79161234567",
        "id": "wamid.IMG",
        "type": "image",
        "image": {"id": "m1", "mime_type": "image/jpeg"},
    }
    assert inbound.decide(image, None, NOW, {}).media == {"id": "m1", "mime_type": "image/jpeg"}
    broken = {**image, "image": "not an object"}
    assert inbound.decide(broken, None, NOW, {}).media is None


def test_incomplete_messages_are_told_apart() -> None:
    assert inbound.is_complete(text("hi"))
    assert not inbound.is_complete({"id": "wamid.X", "type": "text"})
    assert not inbound.is_complete({"from": "79161234567", "id": 5})


def test_keywords_match_the_organizations_words_then_stop_promotions_under_a_marketing_template() -> None:
    index = KeywordIndex(PolicySettings())
    stop = inbound.decide(text("стоп!"), None, NOW, {})
    assert stop.keyword is not None
    assert inbound.keyword_match(stop.keyword, index, None) == KeywordMatch(OPT_OUT, "ru")
    start = inbound.decide(text("START"), None, NOW, {})
    assert start.keyword is not None
    assert inbound.keyword_match(start.keyword, index, None) == KeywordMatch(OPT_IN, "en")
    button = {
        "from": "79161234567",
        "id": "wamid.B",
        "type": "button",
        "button": {"text": "Stop promotions", "payload": "STOP_PROMOTIONS"},
        "context": {"id": "wamid.UP"},
    }
    pressed = inbound.decide(button, None, NOW, {"wamid.UP": "wamid.OFFER"})
    assert inbound.may_stop_promotions(pressed)
    assert pressed.keyword is not None
    assert inbound.keyword_match(pressed.keyword, index, "de") == KeywordMatch(OPT_OUT, "de")
    # The same button under no marketing template carries no consent.
    assert inbound.keyword_match(pressed.keyword, index, None) is None
    assert not inbound.may_stop_promotions(inbound.decide(button, None, NOW, {}))
    plain = inbound.decide(text("Thanks"), None, NOW, {})
    assert plain.keyword is not None and inbound.keyword_match(plain.keyword, index, None) is None


def test_a_customer_asking_puts_a_new_or_resolved_thread_in_the_queue() -> None:
    assert threads.customer_wrote(None, 10.0, True) == Thread(State.PENDING, 10.0)
    assert threads.customer_wrote(None, 10.0, False) == Thread(State.OPEN)
    assert threads.customer_wrote(Thread(State.RESOLVED), 20.0, True) == Thread(State.PENDING, 20.0)
    # A reaction leaves a resolved thread resolved.
    assert threads.customer_wrote(Thread(State.RESOLVED), 20.0, False) == Thread(State.RESOLVED)
    # Waiting keeps its place in the queue; an open thread stays open (someone is on it).
    assert threads.customer_wrote(Thread(State.PENDING, 5.0), 20.0, True) == Thread(State.PENDING, 5.0)
    assert threads.customer_wrote(Thread(State.PENDING), 20.0, True) == Thread(State.PENDING, 20.0)
    assert threads.customer_wrote(Thread(State.OPEN), 20.0, True) == Thread(State.OPEN)


def test_a_free_form_answer_takes_the_thread_out_of_the_queue_a_template_does_not() -> None:
    waiting = Thread(State.PENDING, 5.0)
    assert threads.business_answered(waiting, free_form=True) == Thread(State.OPEN)
    assert threads.business_answered(waiting, free_form=False) == waiting
    assert threads.business_answered(Thread(State.RESOLVED), free_form=True) == Thread(State.RESOLVED)
    move = threads.BUSINESS_ANSWERED
    assert (move.source, move.target, move.keeps_waiting) == (State.PENDING, State.OPEN, False)


def test_a_person_setting_the_state() -> None:
    assert threads.set_by_person(State.PENDING, 30.0) == Thread(State.PENDING, 30.0)
    assert threads.set_by_person(State.RESOLVED, 30.0) == Thread(State.RESOLVED)
    assert threads.parse_state("resolved") is State.RESOLVED
    assert threads.parse_state("closed") is None
    assert threads.STATES == ("open", "pending", "resolved")
