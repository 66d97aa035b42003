"""Which media of a send the simulated network fetches by link: every media object given by `link`,
wherever the send puts it, with the kind it is sent as."""

from __future__ import annotations

from typing import Any

from wagate.upstreams.simulator.media_links import linked_media

PHOTO = "https://cdn.example.com/photo.jpg"


def test_the_message_own_media_by_link() -> None:
    for kind in ("image", "audio", "video", "document", "sticker"):
        payload = {"messaging_product": "whatsapp", "to": "1", "type": kind, kind: {"link": PHOTO}}
        assert linked_media(payload) == [(kind, PHOTO)]


def test_media_by_id_and_other_objects_are_not_fetched() -> None:
    assert linked_media({"type": "image", "image": {"id": "1037543291543636"}}) == []
    assert linked_media({"type": "text", "text": {"body": "image", "preview_url": True}}) == []
    cta = {"type": "cta_url", "action": {"name": "cta_url", "parameters": {"url": PHOTO}}}
    assert linked_media({"type": "interactive", "interactive": cta}) == []


def test_template_headers_interactive_headers_and_cards() -> None:
    template: dict[str, Any] = {
        "type": "template",
        "template": {
            "name": "receipt",
            "components": [
                {
                    "type": "header",
                    "parameters": [{"type": "document", "document": {"link": "https://a/r.pdf"}}],
                },
                {"type": "body", "parameters": [{"type": "text", "text": "image"}]},
                {
                    "type": "carousel",
                    "cards": [
                        {
                            "components": [
                                {
                                    "type": "header",
                                    "parameters": [{"type": "image", "image": {"link": PHOTO}}],
                                }
                            ]
                        },
                        {
                            "components": [
                                {
                                    "type": "header",
                                    "parameters": [{"type": "video", "video": {"link": "https://a/v.mp4"}}],
                                }
                            ]
                        },
                    ],
                },
            ],
        },
    }
    assert linked_media(template) == [
        ("document", "https://a/r.pdf"),
        ("image", PHOTO),
        ("video", "https://a/v.mp4"),
    ]
    interactive = {
        "type": "interactive",
        "interactive": {"type": "button", "header": {"type": "image", "image": {"link": PHOTO}}},
    }
    assert linked_media(interactive) == [("image", PHOTO)]


def test_each_link_once_per_kind() -> None:
    cards = [{"components": [{"parameters": [{"type": "image", "image": {"link": PHOTO}}]}]}] * 3
    assert linked_media({"template": {"components": [{"type": "carousel", "cards": cards}]}}) == [
        ("image", PHOTO)
    ]
    both = {"image": {"link": PHOTO}, "interactive": {"header": {"document": {"link": PHOTO}}}}
    assert linked_media(both) == [("image", PHOTO), ("document", PHOTO)]
