"""Wire shape and limits of `interactive` send objects, plus the media object and link check.

The media object and the link check live here, not in `send`, because interactive headers, template
parameters and top-level media messages all share them, and `send` imports this module: keeping this one
a leaf avoids an import cycle. Types are decoded by `send`'s one module-level decoder; this module only
declares them and runs the checks a decoder cannot express (uniqueness, totals, either-or fields).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, Meta, UnsetType

from wagate.errors import invalid_value, missing_parameter


class Wire(msgspec.Struct, kw_only=True, gc=False):
    """Base of every wire struct: keyword-only so optional and required fields mix freely, and out of the
    cycle collector because decoded JSON cannot form cycles."""


NonEmpty = Annotated[str, Meta(min_length=1)]


class MediaObject(Wire):
    id: NonEmpty | UnsetType = UNSET
    link: NonEmpty | UnsetType = UNSET
    caption: Annotated[str, Meta(max_length=1024)] | UnsetType = UNSET
    filename: str | UnsetType = UNSET
    voice: bool | UnsetType = UNSET


# A sink for media found while checking: (field path, kind, the media object). `send` turns these into
# `MediaRef`s; collecting tuples keeps that type out of this module.
MediaSink = list[tuple[str, str, MediaObject]]

_CAPTION_KINDS = frozenset({"image", "video", "document"})


def check_http_url(url: str, path: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise invalid_value(path, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise invalid_value(path, "must be an http(s) URL with a host")


def check_media(media: MediaObject, kind: str, path: str, sink: MediaSink) -> None:
    has_id = media.id is not UNSET
    has_link = media.link is not UNSET
    if has_id and has_link:
        raise invalid_value(path, "give exactly one of id or link, not both")
    if not has_id and not has_link:
        raise missing_parameter(f"{path}.id or {path}.link")
    if isinstance(media.link, str):
        check_http_url(media.link, f"{path}.link")
    if media.caption is not UNSET and kind not in _CAPTION_KINDS:
        raise invalid_value(f"{path}.caption", f"caption is not supported for {kind}")
    if media.filename is not UNSET and kind != "document":
        raise invalid_value(f"{path}.filename", f"filename is only supported for document, not {kind}")
    if media.voice is not UNSET and kind != "audio":
        raise invalid_value(f"{path}.voice", f"voice is only supported for audio, not {kind}")
    sink.append((path, kind, media))


# --- interactive parts shared by every subtype --------------------------------------------------------------


class Header(Wire):
    type: Literal["text", "image", "video", "document"]
    text: Annotated[str, Meta(min_length=1, max_length=60)] | UnsetType = UNSET
    sub_text: Annotated[str, Meta(max_length=60)] | UnsetType = UNSET
    image: MediaObject | UnsetType = UNSET
    video: MediaObject | UnsetType = UNSET
    document: MediaObject | UnsetType = UNSET


class Body(Wire):
    # 4096 is the largest body of any subtype (list); the per-subtype limit is checked after decoding.
    text: Annotated[str, Meta(min_length=1, max_length=4096)]


class Footer(Wire):
    text: Annotated[str, Meta(min_length=1, max_length=60)]


class InteractiveBase(Wire, tag_field="type"):
    header: Header | UnsetType = UNSET
    body: Body | UnsetType = UNSET
    footer: Footer | UnsetType = UNSET


# --- reply buttons ------------------------------------------------------------------------------------------


class Reply(Wire):
    id: Annotated[str, Meta(min_length=1, max_length=256)]
    title: Annotated[str, Meta(min_length=1, max_length=20)]


class ReplyButton(Wire):
    type: Literal["reply"]
    reply: Reply


class ButtonAction(Wire):
    buttons: Annotated[list[ReplyButton], Meta(min_length=1, max_length=3)]


class ButtonMessage(InteractiveBase, tag="button", kw_only=True):
    action: ButtonAction


# --- list ---------------------------------------------------------------------------------------------------


class ListRow(Wire):
    id: Annotated[str, Meta(min_length=1, max_length=200)]
    title: Annotated[str, Meta(min_length=1, max_length=24)]
    description: Annotated[str, Meta(max_length=72)] | UnsetType = UNSET


class ListSection(Wire, kw_only=True):
    title: Annotated[str, Meta(min_length=1, max_length=24)] | UnsetType = UNSET
    rows: Annotated[list[ListRow], Meta(min_length=1, max_length=10)]


class ListAction(Wire):
    button: Annotated[str, Meta(min_length=1, max_length=20)]
    sections: Annotated[list[ListSection], Meta(min_length=1, max_length=10)]


class ListMessage(InteractiveBase, tag="list", kw_only=True):
    action: ListAction


# --- call-to-action URL -------------------------------------------------------------------------------------


class CtaUrlParameters(Wire):
    display_text: Annotated[str, Meta(min_length=1, max_length=20)]
    url: NonEmpty


class CtaUrlAction(Wire):
    name: Literal["cta_url"]
    parameters: CtaUrlParameters


class CtaUrlMessage(InteractiveBase, tag="cta_url", kw_only=True):
    action: CtaUrlAction


# --- location request ---------------------------------------------------------------------------------------


class LocationRequestAction(Wire):
    name: Literal["send_location"]


class LocationRequestMessage(InteractiveBase, tag="location_request_message", kw_only=True):
    action: LocationRequestAction


# --- flow ---------------------------------------------------------------------------------------------------


class FlowActionPayload(Wire):
    screen: NonEmpty | UnsetType = UNSET
    data: dict[str, Any] | UnsetType = UNSET


class FlowParameters(Wire, kw_only=True):
    flow_message_version: Literal["3"]
    flow_token: NonEmpty | UnsetType = UNSET
    flow_id: NonEmpty | UnsetType = UNSET
    flow_name: NonEmpty | UnsetType = UNSET
    # Meta's OpenAPI spec caps the CTA at 30 characters (older doc pages said 20); follow the spec.
    flow_cta: Annotated[str, Meta(min_length=1, max_length=30)]
    flow_action: Literal["navigate", "data_exchange"] | UnsetType = UNSET
    flow_action_payload: FlowActionPayload | UnsetType = UNSET
    mode: Literal["draft", "published"] | UnsetType = UNSET


class FlowAction(Wire):
    name: Literal["flow"]
    parameters: FlowParameters


class FlowMessage(InteractiveBase, tag="flow", kw_only=True):
    action: FlowAction


# --- catalog: single product, multi-product, catalog --------------------------------------------------------


class ProductAction(Wire):
    catalog_id: NonEmpty
    product_retailer_id: NonEmpty


class ProductMessage(InteractiveBase, tag="product", kw_only=True):
    action: ProductAction


class ProductItem(Wire):
    product_retailer_id: NonEmpty


class ProductSection(Wire, kw_only=True):
    title: Annotated[str, Meta(min_length=1, max_length=24)] | UnsetType = UNSET
    product_items: Annotated[list[ProductItem], Meta(min_length=1, max_length=30)]


class ProductListAction(Wire):
    catalog_id: NonEmpty
    sections: Annotated[list[ProductSection], Meta(min_length=1, max_length=10)]


class ProductListMessage(InteractiveBase, tag="product_list", kw_only=True):
    action: ProductListAction


class CatalogParameters(Wire):
    thumbnail_product_retailer_id: NonEmpty | UnsetType = UNSET


class CatalogAction(Wire):
    name: Literal["catalog_message"]
    # The spec marks it required, Meta's guide says the first catalog item is used when omitted.
    parameters: CatalogParameters | UnsetType = UNSET


class CatalogMessage(InteractiveBase, tag="catalog_message", kw_only=True):
    action: CatalogAction


# --- payments, address, calling: structure only; their parameters are Meta's business, forwarded as given ---


class OrderDetailsAction(Wire):
    name: Literal["review_and_pay"]
    parameters: dict[str, Any]


class OrderDetailsMessage(InteractiveBase, tag="order_details", kw_only=True):
    action: OrderDetailsAction


class OrderStatusAction(Wire):
    name: Literal["review_order"]
    parameters: dict[str, Any]


class OrderStatusMessage(InteractiveBase, tag="order_status", kw_only=True):
    action: OrderStatusAction


class AddressAction(Wire):
    name: Literal["address_message"]
    parameters: dict[str, Any] | UnsetType = UNSET


class AddressMessage(InteractiveBase, tag="address_message", kw_only=True):
    action: AddressAction


class CallPermissionAction(Wire):
    name: Literal["call_permission_request"]


class CallPermissionRequestMessage(InteractiveBase, tag="call_permission_request", kw_only=True):
    action: CallPermissionAction


# --- media carousel -----------------------------------------------------------------------------------------


class CarouselCard(Wire, kw_only=True):
    card_index: Annotated[int, Meta(ge=0, le=9)]
    type: NonEmpty | UnsetType = UNSET
    header: Header
    body: Body | UnsetType = UNSET
    action: dict[str, Any]


class CarouselAction(Wire):
    # Meta: a media carousel has between 2 and 10 cards.
    cards: Annotated[list[CarouselCard], Meta(min_length=2, max_length=10)]


class CarouselMessage(InteractiveBase, tag="carousel", kw_only=True):
    action: CarouselAction


Interactive = (
    ButtonMessage
    | ListMessage
    | CtaUrlMessage
    | LocationRequestMessage
    | FlowMessage
    | ProductMessage
    | ProductListMessage
    | CatalogMessage
    | OrderDetailsMessage
    | OrderStatusMessage
    | AddressMessage
    | CallPermissionRequestMessage
    | CarouselMessage
)

_P = "interactive"


def interactive_type(message: InteractiveBase) -> str:
    tag = message.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def _check_header(header: Header, path: str, sink: MediaSink) -> None:
    if header.type == "text":
        if header.text is UNSET:
            raise missing_parameter(f"{path}.text")
        return
    media = getattr(header, header.type)
    if media is UNSET:
        raise missing_parameter(f"{path}.{header.type}")
    check_media(media, header.type, f"{path}.{header.type}", sink)


def check_interactive(message: InteractiveBase, sink: MediaSink) -> None:
    """Checks what the decoder cannot; raises GraphError 131008/131009 naming the field path."""
    kind = interactive_type(message)
    header, body = message.header, message.body

    # Every subtype but a single product needs a body (Meta rejects e.g. a button message without one).
    if body is UNSET:
        if kind != "product":
            raise missing_parameter(f"{_P}.body")
    else:
        limit = 4096 if kind == "list" else 1024
        if len(body.text) > limit:
            why = f"at most {limit} characters for {kind}, got {len(body.text)}"
            raise invalid_value(f"{_P}.body.text", why)

    if header is UNSET:
        if kind == "product_list":
            raise missing_parameter(f"{_P}.header")
    else:
        if kind in ("product", "carousel"):
            raise invalid_value(f"{_P}.header", f"a header is not supported for {kind} messages")
        if kind in ("list", "product_list") and header.type != "text":
            raise invalid_value(f"{_P}.header.type", f"{kind} messages support only a text header")
        _check_header(header, f"{_P}.header", sink)

    if isinstance(message, ButtonMessage):
        _check_buttons(message.action)
    elif isinstance(message, ListMessage):
        _check_list(message.action)
    elif isinstance(message, CtaUrlMessage):
        check_http_url(message.action.parameters.url, f"{_P}.action.parameters.url")
    elif isinstance(message, FlowMessage):
        _check_flow(message.action.parameters)
    elif isinstance(message, ProductListMessage):
        _check_product_list(message.action)
    elif isinstance(message, CarouselMessage):
        if message.footer is not UNSET:
            raise invalid_value(f"{_P}.footer", "a footer is not supported for carousel messages")
        _check_carousel(message.action, sink)


def _check_buttons(action: ButtonAction) -> None:
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(action.buttons):
        path = f"{_P}.action.buttons[{i}].reply"
        reply = button.reply
        if reply.id != reply.id.strip():
            raise invalid_value(f"{path}.id", "must not have leading or trailing spaces")
        if reply.id in ids:
            raise invalid_value(f"{path}.id", f"duplicate button id {reply.id!r}")
        if reply.title in titles:
            raise invalid_value(f"{path}.title", f"duplicate button title {reply.title!r}")
        ids.add(reply.id)
        titles.add(reply.title)


def _check_list(action: ListAction) -> None:
    many = len(action.sections) > 1
    row_ids: set[str] = set()
    total = 0
    for i, section in enumerate(action.sections):
        path = f"{_P}.action.sections[{i}]"
        if many and section.title is UNSET:
            raise missing_parameter(f"{path}.title")
        for j, row in enumerate(section.rows):
            if row.id in row_ids:
                raise invalid_value(f"{path}.rows[{j}].id", f"duplicate row id {row.id!r}")
            row_ids.add(row.id)
        total += len(section.rows)
    if total > 10:
        raise invalid_value(f"{_P}.action.sections", f"at most 10 rows in total across sections, got {total}")


def _check_flow(parameters: FlowParameters) -> None:
    path = f"{_P}.action.parameters"
    if parameters.flow_id is not UNSET and parameters.flow_name is not UNSET:
        raise invalid_value(f"{path}.flow_name", "give exactly one of flow_id or flow_name, not both")
    if parameters.flow_id is UNSET and parameters.flow_name is UNSET:
        raise missing_parameter(f"{path}.flow_id or {path}.flow_name")
    payload = parameters.flow_action_payload
    if isinstance(payload, FlowActionPayload) and payload.data is not UNSET and not payload.data:
        raise invalid_value(f"{path}.flow_action_payload.data", "must be a non-empty object")


def _check_product_list(action: ProductListAction) -> None:
    many = len(action.sections) > 1
    total = 0
    for i, section in enumerate(action.sections):
        if many and section.title is UNSET:
            raise missing_parameter(f"{_P}.action.sections[{i}].title")
        total += len(section.product_items)
    if total > 30:
        why = f"at most 30 products in total across sections, got {total}"
        raise invalid_value(f"{_P}.action.sections", why)


def _check_carousel(action: CarouselAction, sink: MediaSink) -> None:
    for i, card in enumerate(action.cards):
        path = f"{_P}.action.cards[{i}]"
        if card.header.type not in ("image", "video"):
            raise invalid_value(f"{path}.header.type", "carousel cards need an image or video header")
        _check_header(card.header, f"{path}.header", sink)
        if isinstance(card.body, Body) and len(card.body.text) > 1024:
            raise invalid_value(f"{path}.body.text", f"at most 1024 characters, got {len(card.body.text)}")
