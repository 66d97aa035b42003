"""The words of a message a person would search for: what the customer or the business wrote.

Pure: given a message's type, its body as the Cloud API has it, and its category, the texts to put in
the blind index (`wagate.crypto.blind_index`). Authentication templates give none: their parameters
are one-time codes, which must not be findable (their content is redacted after the send, too).
"""

from __future__ import annotations

from typing import Any

_MEDIA = ("image", "video", "document", "audio", "sticker")


def _texts_of_template(template: Any) -> list[str]:
    found: list[str] = []
    components = template.get("components") if isinstance(template, dict) else None
    for component in components if isinstance(components, list) else []:
        parameters = component.get("parameters") if isinstance(component, dict) else None
        for parameter in parameters if isinstance(parameters, list) else []:
            if isinstance(parameter, dict) and isinstance(parameter.get("text"), str):
                found.append(parameter["text"])
    return found


def _texts_of_interactive(interactive: Any) -> list[str]:
    if not isinstance(interactive, dict):
        return []
    found: list[str] = []
    for part in ("header", "body", "footer"):
        value = interactive.get(part)
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            found.append(value["text"])
    for reply in ("button_reply", "list_reply"):  # what a customer chose
        value = interactive.get(reply)
        if isinstance(value, dict) and isinstance(value.get("title"), str):
            found.append(value["title"])
    return found


def searchable_texts(kind: str, body: dict[str, Any], category: str | None) -> list[str]:
    """The texts of one message worth finding by its words."""
    if category == "AUTHENTICATION":
        return []
    value = body.get(kind)
    if kind == "text" and isinstance(value, dict) and isinstance(value.get("body"), str):
        return [value["body"]]
    if kind in _MEDIA and isinstance(value, dict) and isinstance(value.get("caption"), str):
        return [value["caption"]]
    if kind == "template":
        return _texts_of_template(value)
    if kind == "interactive":
        return _texts_of_interactive(value)
    if kind == "button" and isinstance(value, dict) and isinstance(value.get("text"), str):
        return [value["text"]]
    if kind == "location" and isinstance(value, dict):
        return [value[k] for k in ("name", "address") if isinstance(value.get(k), str)]
    return []
