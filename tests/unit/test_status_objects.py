"""The one builder of Meta's status object, used by the simulator and by wagate's own status events."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from sqlalchemy import Connection, create_engine

from wagate.cloudapi.webhooks import ERROR_CODES_HREF, StatusEvent, error_object, status_event, status_object
from wagate.domain.tenancy import PhoneNumber
from wagate.store.schema import contacts
from wagate.store.status_events import StatusChange, status_events

NUMBER = PhoneNumber(7, 1, 3, "+1 555-0100", "US", "Demo", "cloud", 80)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    contacts.metadata.create_all(engine, tables=[contacts])
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_the_status_object_decodes_as_the_ingest_path_reads_it() -> None:
    built = status_object(
        "wamid.1",
        "failed",
        1700000000.7,
        "15550001",
        callback_data="cb",
        errors=[
            error_object(131047, "Re-engagement message", "more than 24 hours", "https://example.test/e")
        ],
        recipient_user_id="US.1",
    )
    event = msgspec.convert(built, StatusEvent)
    assert event.timestamp == "1700000000"
    assert event.biz_opaque_callback_data == "cb"
    assert event.recipient_user_id == "US.1"
    assert event.errors is not None and event.errors[0].href == "https://example.test/e"
    assert event.errors[0].error_data == {"details": "more than 24 hours"}


def test_an_error_without_href_leaves_it_out_and_details_fall_back_to_the_title() -> None:
    assert "href" not in error_object(131000, "Something went wrong", "x", None)
    assert error_object(131000, "Something went wrong", None)["error_data"] == {
        "details": "Something went wrong"
    }
    assert error_object(131000, "Something went wrong", "")["error_data"] == {"details": ""}
    assert error_object(131000, "t", "d")["href"] == ERROR_CODES_HREF


def test_the_simulators_status_is_priced_only_once_sent_or_delivered() -> None:
    sent = status_event("wamid.1", "sent", 1.0, "1555", category="marketing")
    assert sent["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }
    assert "pricing" not in status_event("wamid.1", "read", 1.0, "1555", category="marketing")


def test_a_status_event_keeps_metas_href_in_metas_object_and_not_in_wagates_payload(conn: Connection) -> None:
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "details": "gone",
        "href": "https://example.test/h",
    }
    change = StatusChange(1, NUMBER, "wamid.1", "15550001", "failed", 10.0, None, error)
    [event] = status_events(conn, [change], 10.0)
    assert event.meta_value is not None
    [status] = event.meta_value["statuses"]
    assert status["errors"] == [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "gone"},
            "href": "https://example.test/h",
        }
    ]
    assert event.payload["error"] == {"code": 131026, "title": "Message undeliverable", "details": "gone"}
    assert event.meta_value["metadata"] == {"display_phone_number": "15550100", "phone_number_id": "7"}


def test_a_status_event_without_href_or_details_says_the_title(conn: Connection) -> None:
    change = StatusChange(1, NUMBER, "wamid.1", "15550001", "failed", 10.0, "cb", {"code": 1, "title": "T"})
    [event] = status_events(conn, [change], 10.0)
    assert event.meta_value is not None
    [status] = event.meta_value["statuses"]
    assert status["errors"] == [{"code": 1, "title": "T", "message": "T", "error_data": {"details": "T"}}]
    assert status["biz_opaque_callback_data"] == "cb"
    assert "recipient_user_id" not in status
