"""Parsing and wire validation of `POST /{version}/{Phone-Number-ID}/messages` bodies.

One module-level msgspec decoder turns the body into typed structs in a single pass (types, lengths, ranges
and required fields are enforced by the decoder); the few rules a decoder cannot express are checked after.
Errors are Meta's: 100 for a body that is not a JSON object or a bad `messaging_product`, 131008 for a
missing parameter, 131009 for an invalid value or a limit, 131051 for an unknown `type`. `details` always
names the field path.

What reaches `SendRequest.content` is the validated struct re-encoded as plain values: fields wagate does
not know are ignored, so they are neither validated nor stored nor forwarded upstream. Every content object
present in the body is decoded, so one that `type` does not name must still be well-formed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import UNSET, Meta, UnsetType

from wagate.cloudapi.send_interactive import (
    Interactive,
    MediaObject,
    MediaSink,
    NonEmpty,
    Wire,
    check_interactive,
    check_media,
    interactive_type,
)
from wagate.cloudapi.send_template import Latitude, Longitude, TemplateMessage, check_template
from wagate.errors import GraphError, invalid_parameter, invalid_value, missing_parameter

__all__ = ["Envelope", "MediaRef", "SendRequest", "TemplateSend", "is_single_emoji", "parse_send_request"]


# The output types are frozen msgspec Structs rather than frozen dataclasses: one is built per request, and
# a frozen dataclass spends ~2 µs in __init__ on thirteen object.__setattr__ calls.
class MediaRef(msgspec.Struct, frozen=True):
    path: str  # e.g. "image", "interactive.header.image", "template.components[0].parameters[0].image"
    kind: str  # image|audio|video|document|sticker
    id: str | None
    link: str | None


class TemplateSend(msgspec.Struct, frozen=True):
    name: str
    language: str  # language.code
    components: list[dict[str, Any]]


class SendRequest(msgspec.Struct, frozen=True):
    kind: Literal["message", "read", "typing"]
    to: str | None
    recipient: str | None
    type: str | None
    content: dict[str, Any]
    context_message_id: str | None
    biz_opaque_callback_data: str | None
    read_message_id: str | None
    typing_type: str | None
    media: tuple[MediaRef, ...]
    template: TemplateSend | None
    reaction_message_id: str | None
    interactive_type: str | None


# --- wire structs -------------------------------------------------------------------------------------------


class Text(Wire):
    body: Annotated[str, Meta(min_length=1, max_length=4096)]
    preview_url: bool | UnsetType = UNSET


class Location(Wire):
    latitude: Latitude
    longitude: Longitude
    name: str | UnsetType = UNSET
    address: str | UnsetType = UNSET


class ContactName(Wire):
    formatted_name: NonEmpty
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    middle_name: str | UnsetType = UNSET
    suffix: str | UnsetType = UNSET
    prefix: str | UnsetType = UNSET


class ContactAddress(Wire):
    street: str | UnsetType = UNSET
    city: str | UnsetType = UNSET
    state: str | UnsetType = UNSET
    zip: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    country_code: str | UnsetType = UNSET
    type: str | UnsetType = UNSET


class ContactEmail(Wire):
    email: NonEmpty
    type: str | UnsetType = UNSET


class ContactOrg(Wire):
    company: str | UnsetType = UNSET
    department: str | UnsetType = UNSET
    title: str | UnsetType = UNSET


class ContactPhone(Wire):
    phone: NonEmpty
    type: str | UnsetType = UNSET
    wa_id: str | UnsetType = UNSET


class ContactUrl(Wire):
    url: NonEmpty
    type: str | UnsetType = UNSET


class Contact(Wire):
    name: ContactName
    birthday: str | UnsetType = UNSET
    addresses: list[ContactAddress] | UnsetType = UNSET
    emails: list[ContactEmail] | UnsetType = UNSET
    org: ContactOrg | UnsetType = UNSET
    phones: list[ContactPhone] | UnsetType = UNSET
    urls: list[ContactUrl] | UnsetType = UNSET


class Reaction(Wire):
    message_id: NonEmpty
    emoji: str


class Context(Wire):
    message_id: NonEmpty


class TypingIndicator(Wire):
    type: Literal["text"]


class Envelope(Wire):
    # Checked by hand: Meta answers a missing or wrong messaging_product with code 100, not 131008/131009.
    # (The schema says what is checked, for the API reference.)
    messaging_product: Annotated[Any, Meta(extra_json_schema={"const": "whatsapp"})] = UNSET
    recipient_type: Literal["individual", "group"] | UnsetType = UNSET
    to: str | UnsetType = UNSET
    recipient: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    context: Context | UnsetType = UNSET
    biz_opaque_callback_data: Annotated[str, Meta(max_length=512)] | UnsetType = UNSET
    status: str | UnsetType = UNSET
    message_id: NonEmpty | UnsetType = UNSET
    typing_indicator: TypingIndicator | UnsetType = UNSET
    text: Text | UnsetType = UNSET
    image: MediaObject | UnsetType = UNSET
    audio: MediaObject | UnsetType = UNSET
    video: MediaObject | UnsetType = UNSET
    document: MediaObject | UnsetType = UNSET
    sticker: MediaObject | UnsetType = UNSET
    location: Location | UnsetType = UNSET
    contacts: Annotated[list[Contact], Meta(min_length=1)] | UnsetType = UNSET
    interactive: Interactive | UnsetType = UNSET
    template: TemplateMessage | UnsetType = UNSET
    reaction: Reaction | UnsetType = UNSET


_DECODER = msgspec.json.Decoder(Envelope)

_MESSAGE_TYPES = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
)
_MEDIA_KINDS = frozenset({"image", "audio", "video", "document", "sticker"})
_PHONE = re.compile(r"[0-9+\-() ]*[0-9][0-9+\-() ]*")
_BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
_BIRTHDAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NAME_PARTS = ("first_name", "last_name", "middle_name", "suffix", "prefix")

_ERROR = re.compile(r"(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.S)
_MISSING_FIELD = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


def _translate(error: msgspec.ValidationError) -> GraphError:
    match = _ERROR.fullmatch(str(error))
    assert match is not None  # the pattern matches any string
    message, path = match["msg"], (match["path"] or "").lstrip(".")
    missing = _MISSING_FIELD.fullmatch(message)
    if missing:
        return missing_parameter(f"{path}.{missing['field']}" if path else missing["field"])
    if not path:
        return invalid_parameter(f"The request body must be a JSON object: {message}")
    if path == "interactive.type" and message.startswith("Invalid value"):
        return invalid_value(path, f"unsupported interactive type: {message.removeprefix('Invalid value ')}")
    return invalid_value(path, message)


def parse_send_request(body: bytes) -> SendRequest:
    """Decode and validate a send, read-receipt or typing-indicator body; GraphError on anything invalid."""
    try:
        envelope = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise _translate(exc) from None
    except msgspec.DecodeError as exc:
        raise invalid_parameter(f"The request body is not valid JSON: {exc}") from None

    product = envelope.messaging_product
    if product is UNSET:
        raise invalid_parameter("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise invalid_parameter(f'Param messaging_product must be "whatsapp", got {product!r}.')

    if envelope.status is not UNSET or envelope.typing_indicator is not UNSET:
        return _parse_read(envelope)
    return _parse_message(envelope)


def _parse_read(envelope: Envelope) -> SendRequest:
    if envelope.status is UNSET:
        raise missing_parameter("status")
    if envelope.status != "read":
        raise invalid_value("status", f'only "read" is supported, got {envelope.status!r}')
    if envelope.message_id is UNSET:
        raise missing_parameter("message_id")
    typing = envelope.typing_indicator
    return SendRequest(
        kind="read" if typing is UNSET else "typing",
        to=None,
        recipient=None,
        type=None,
        content={},
        context_message_id=None,
        biz_opaque_callback_data=None,
        read_message_id=envelope.message_id,
        typing_type=None if typing is UNSET else typing.type,
        media=(),
        template=None,
        reaction_message_id=None,
        interactive_type=None,
    )


def _message_type(envelope: Envelope) -> str:
    if envelope.type is not UNSET:
        if envelope.type not in _MESSAGE_TYPES:
            raise GraphError(131051, f"type: unsupported message type {envelope.type!r}")
        return envelope.type
    # Meta defaults a missing type to "text". Its own "Send Reply to List Message" example omits type but
    # carries only an `interactive` object, so when exactly one other content object is present, use it.
    if envelope.text is not UNSET:
        return "text"
    present = [name for name in _MESSAGE_TYPES if getattr(envelope, name) is not UNSET]
    return present[0] if len(present) == 1 else "text"


def _check_recipient(envelope: Envelope) -> tuple[str | None, str | None]:
    to = None if envelope.to is UNSET else envelope.to
    recipient = None if envelope.recipient is UNSET else envelope.recipient
    if to is None and recipient is None:
        raise missing_parameter("to")
    if to is not None:
        if envelope.recipient_type == "group":
            # A group id is opaque (base64-like), so only its presence can be checked.
            if not to:
                raise invalid_value("to", "a group id must not be empty")
        elif not _PHONE.fullmatch(to):
            raise invalid_value("to", "a phone number has digits and only spaces, +, -, ( and )")
    if recipient is not None and not _BSUID.fullmatch(recipient):
        why = "a business-scoped user id is a 2-letter country code, '.', then 1-128 letters or digits"
        raise invalid_value("recipient", why)
    return to, recipient


def _parse_message(envelope: Envelope) -> SendRequest:
    to, recipient = _check_recipient(envelope)
    mtype = _message_type(envelope)
    obj = getattr(envelope, mtype)
    if obj is UNSET:
        raise missing_parameter(mtype)

    sink: MediaSink = []
    template: TemplateSend | None = None
    reaction_id: str | None = None
    itype: str | None = None
    if mtype in _MEDIA_KINDS:
        check_media(obj, mtype, mtype, sink)
    elif mtype == "contacts":
        _check_contacts(obj)
    elif mtype == "interactive":
        check_interactive(obj, sink)
        itype = interactive_type(obj)
    elif mtype == "template":
        check_template(obj, sink)
    elif mtype == "reaction":
        if envelope.context is not UNSET:
            raise invalid_value("context", "a reaction cannot be sent as a contextual reply")
        if not is_single_emoji(obj.emoji) and obj.emoji != "":
            raise invalid_value("reaction.emoji", "must be a single emoji, or empty to remove the reaction")
        reaction_id = obj.message_id

    content = cast(dict[str, Any], msgspec.to_builtins(obj if mtype != "contacts" else {"contacts": obj}))
    if mtype == "template":
        template = TemplateSend(
            name=obj.name, language=obj.language.code, components=content.get("components", [])
        )
    return SendRequest(
        kind="message",
        to=to,
        recipient=recipient,
        type=mtype,
        content=content,
        context_message_id=None if envelope.context is UNSET else envelope.context.message_id,
        biz_opaque_callback_data=(
            None if envelope.biz_opaque_callback_data is UNSET else envelope.biz_opaque_callback_data
        ),
        read_message_id=None,
        typing_type=None,
        media=tuple(
            MediaRef(
                path=path,
                kind=kind,
                id=None if media.id is UNSET else media.id,
                link=None if media.link is UNSET else media.link,
            )
            for path, kind, media in sink
        ),
        template=template,
        reaction_message_id=reaction_id,
        interactive_type=itype,
    )


def _check_contacts(contacts: list[Contact]) -> None:
    for i, contact in enumerate(contacts):
        path = f"contacts[{i}]"
        if all(getattr(contact.name, part) is UNSET for part in _NAME_PARTS):
            raise missing_parameter(f"{path}.name.first_name (or last_name, middle_name, suffix, prefix)")
        if isinstance(contact.birthday, str) and not _valid_date(contact.birthday):
            raise invalid_value(f"{path}.birthday", "must be a date in YYYY-MM-DD format")


def _valid_date(text: str) -> bool:
    match = _BIRTHDAY.fullmatch(text)
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return day <= days


# --- reactions: one emoji -----------------------------------------------------------------------------------
#
# Meta accepts exactly one emoji. Without a Unicode segmentation library, a reaction is accepted when it is
# one "cluster" built the way emoji are built: a pictographic base (or a regional-indicator pair for a flag,
# or a keycap sequence), optionally followed by variation selectors, skin-tone modifiers and tag characters,
# and joined to further bases only by ZERO WIDTH JOINER. Letters, digits and plain punctuation are rejected.

_PICTOGRAPHIC_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1F1E5),
    (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
)
_ZWJ = 0x200D
_KEYCAP = 0x20E3
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
_MAX_EMOJI_CODE_POINTS = 32  # generous: family ZWJ sequences and subdivision flags are 7-11 code points


def _is_pictographic(cp: int) -> bool:
    return any(low <= cp <= high for low, high in _PICTOGRAPHIC_RANGES)


def _is_modifier(cp: int) -> bool:
    return cp in (0xFE0E, 0xFE0F) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def is_single_emoji(text: str) -> bool:
    """True when `text` is one emoji (a flag, a keycap, a ZWJ sequence or a modified emoji count as one)."""
    if not text or len(text) > _MAX_EMOJI_CODE_POINTS:
        return False
    clusters = 0
    after_zwj = False
    open_flag = False
    i, n = 0, len(text)
    while i < n:
        cp = ord(text[i])
        if cp == _ZWJ:
            if clusters == 0 or after_zwj:
                return False
            after_zwj = True
            i += 1
            continue
        if _is_modifier(cp):
            if clusters == 0 or after_zwj:
                return False
        elif 0x1F1E6 <= cp <= 0x1F1FF:  # regional indicators pair up into one flag
            if open_flag:
                open_flag = False
            else:
                clusters += 0 if after_zwj else 1
                open_flag = True
            after_zwj = False
            i += 1
            continue
        elif cp in _KEYCAP_BASES:
            j = i + 1
            if j < n and ord(text[j]) == 0xFE0F:
                j += 1
            if j >= n or ord(text[j]) != _KEYCAP:
                return False
            clusters += 0 if after_zwj else 1
            i = j
        elif _is_pictographic(cp):
            clusters += 0 if after_zwj else 1
        else:
            return False
        open_flag = False
        after_zwj = False
        i += 1
    return clusters == 1 and not after_zwj
