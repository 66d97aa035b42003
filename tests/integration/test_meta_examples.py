"""Every `/messages` request example of Meta's OpenAPI file, sent to wagate over HTTP.

Placeholders are filled in: the recipient with a valid number, message ids with messages that exist in
wagate (an inbound message from a simulated customer), template names with templates created for the
test. Self-contained examples must be accepted; the others are accepted, or refused with Meta's error
object when they name an object wagate does not have (uploaded media, a catalog, a flow).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from tests import meta_examples
from tests.conftest import Wagate
from tests.helpers import eventually
from wagate.store import access as access_sql
from wagate.store import templates as templates_sql
from wagate.store.schema import messages

EXAMPLES = meta_examples.load()

BODY_3 = {
    "type": "BODY",
    "text": "Hello {{1}}, you owe {{2}} since {{3}}.",
    "example": {"body_text": [["Anna", "$10", "May 1"]]},
}
IMAGE_HEADER = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}}
TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "template_name": [BODY_3],
    "template_name_media": [IMAGE_HEADER, BODY_3],
    "template_name_interactive": [
        IMAGE_HEADER,
        BODY_3,
        {
            "type": "BUTTONS",
            "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "No"}],
        },
    ],
    "sample_issue_resolution": [
        {"type": "BODY", "text": "Hi {{1}}, was your issue resolved?", "example": {"body_text": [["Anna"]]}},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "No"}],
        },
    ],
    "intro_catalog_offer": [
        {
            "type": "BODY",
            "text": "Now shop {{1}} products, {{2}} off over {{3}} items.",
            "example": {"body_text": [["100", "400", "3"]]},
        },
        {"type": "BUTTONS", "buttons": [{"type": "CATALOG", "text": "View catalog"}]},
    ],
}
# "template-name" stands for three different templates in Meta's examples; each gets its own here.
NAMES_BY_EXAMPLE = {
    "Send Message Template Media": "template_name_media",
    "Send Message Template Interactive": "template_name_interactive",
}


def self_contained(payload: dict[str, Any]) -> bool:
    """Needs no object wagate may lack: no uploaded media id, catalog, product or flow."""
    text = repr(payload)
    if payload.get("type") == "template" or "status" in payload:
        # the templates and the message read exist (created by this test); a flow does not
        return "flow_token" not in text
    content = payload.get(payload.get("type", ""), {})
    if isinstance(content, dict) and "id" in content:
        return False
    return not any(
        word in text
        for word in (
            "catalog_id",
            "product_retailer_id",
            "flow_id",
            "flow_name",
            "order_details",
            "order_status",
            "catalog_message",
        )
    )


def fill(name: str, inbound: str) -> dict[str, Any]:
    payload: dict[str, Any] = meta_examples.fill_placeholders(copy.deepcopy(EXAMPLES[name]))
    if "context" in payload:
        payload["context"]["message_id"] = inbound
    if payload.get("type") == "reaction":
        payload["reaction"]["message_id"] = inbound
    if "status" in payload:
        payload["message_id"] = inbound
    template = payload.get("template")
    if template is not None:
        if template["language"]["code"] == "language-and-locale-code":
            template["language"]["code"] = "en_US"
        template["name"] = NAMES_BY_EXAMPLE.get(name, template["name"])
    return payload


@pytest.mark.skipif(not EXAMPLES, reason=meta_examples.MISSING)
async def test_every_meta_example(wagate: Wagate) -> None:
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    for template_name, components in TEMPLATES.items():
        template_id = wagate.rt.db.write_now(
            templates_sql.CreateTemplate(
                org.id, int(wagate.waba_id), template_name, "en_US", "UTILITY", "APPROVED", components, 0.0
            )
        )
        await wagate.template_added(template_id)
    said = await wagate.client.post(
        "/api/v1/simulator/messages",
        json={"phone_number_id": wagate.phone_number_id, "from": meta_examples.PHONE, "text": "Hello"},
    )
    assert said.status_code == 201

    async def inbound_wamid() -> str | None:
        row = wagate.rt.db.read_now(
            lambda c: c.execute(
                select(messages.c.wamid).where(messages.c.upstream_id == said.json()["id"])
            ).first()
        )
        return None if row is None else str(row[0])

    inbound = await eventually(inbound_wamid)
    outcomes: dict[str, int] = {}
    for name in sorted(EXAMPLES):
        payload = fill(name, inbound)
        response = await wagate.send(payload)
        outcomes[name] = response.status_code
        if self_contained(payload):
            assert response.status_code == 200, (name, response.text)
        elif response.status_code != 200:
            error = response.json()["error"]
            assert 400 <= response.status_code < 500, (name, response.text)
            assert isinstance(error["code"], int) and error["message"] and error["fbtrace_id"], name
    accepted = sum(1 for status in outcomes.values() if status == 200)
    assert accepted >= 35, outcomes
    print(
        f"\nMeta's examples: {accepted} of {len(outcomes)} accepted; refused: "
        f"{sorted(n for n, s in outcomes.items() if s != 200)}"
    )
