"""Wire shape and limits of the `template` send object.

Only what can be judged without the stored template is checked here (names, parameter shapes, lengths);
whether the parameters fit the template is `wagate.domain.templates`' job.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, UnsetType

from wagate.cloudapi.send_interactive import MediaObject, MediaSink, NonEmpty, Wire, check_media
from wagate.errors import invalid_value, missing_parameter

Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]


class TemplateLanguage(Wire):
    # No format check: Meta answers an unknown language with 132001 when it looks the template up.
    code: NonEmpty
    policy: Literal["deterministic"] | UnsetType = UNSET


class Currency(Wire):
    fallback_value: NonEmpty
    code: NonEmpty
    amount_1000: int


class DateTime(Wire):
    fallback_value: NonEmpty
    # Older localisation fields: Cloud API renders fallback_value only, but still accepts these.
    calendar: str | UnsetType = UNSET
    year: int | UnsetType = UNSET
    month: int | UnsetType = UNSET
    day_of_month: int | UnsetType = UNSET
    day_of_week: int | UnsetType = UNSET
    hour: int | UnsetType = UNSET
    minute: int | UnsetType = UNSET


class LocationParameter(Wire):
    latitude: Latitude
    longitude: Longitude
    name: str | UnsetType = UNSET
    address: str | UnsetType = UNSET


class LimitedTimeOffer(Wire):
    expiration_time_ms: int


class TemplateParameter(Wire):
    type: NonEmpty
    parameter_name: NonEmpty | UnsetType = UNSET
    # A scalar, not just str: Meta's own `sample_issue_resolution` example sends booleans as quick-reply
    # button text. Body and header text must still be strings (checked below).
    text: str | bool | int | float | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    date_time: DateTime | UnsetType = UNSET
    image: MediaObject | UnsetType = UNSET
    video: MediaObject | UnsetType = UNSET
    document: MediaObject | UnsetType = UNSET
    location: LocationParameter | UnsetType = UNSET
    payload: str | UnsetType = UNSET
    coupon_code: NonEmpty | UnsetType = UNSET
    action: dict[str, Any] | UnsetType = UNSET
    limited_time_offer: LimitedTimeOffer | UnsetType = UNSET


class TemplateComponent(Wire):
    type: NonEmpty
    sub_type: NonEmpty | UnsetType = UNSET
    index: int | str | UnsetType = UNSET
    parameters: list[TemplateParameter] | UnsetType = UNSET
    cards: list[TemplateCard] | UnsetType = UNSET


class TemplateCard(Wire):
    card_index: Annotated[int, Meta(ge=0, le=9)]
    components: list[TemplateComponent]


class TemplateMessage(Wire):
    name: Annotated[str, Meta(min_length=1, max_length=512)]
    language: TemplateLanguage
    components: list[TemplateComponent] | UnsetType = UNSET


_NAME = re.compile(r"[a-z0-9_]+")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_INDEX = re.compile(r"[0-9]")
_COMPONENT_TYPES = frozenset({"header", "body", "button", "limited_time_offer", "carousel"})
_SUB_TYPES = frozenset({"quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "spm", "voice_call"})
_PARAMETER_TYPES = frozenset(
    {
        "text",
        "currency",
        "date_time",
        "image",
        "video",
        "document",
        "location",
        "payload",
        "coupon_code",
        "action",
        "limited_time_offer",
    }
)
_MEDIA_TYPES = frozenset({"image", "video", "document"})
# Legacy per-parameter limits from Meta's reference collection.
_TEXT_LIMITS = {"header": 60, "body": 1024}


def check_template(template: TemplateMessage, sink: MediaSink) -> None:
    """Checks the template object; raises GraphError 131008/131009 naming the field path."""
    if not _NAME.fullmatch(template.name):
        raise invalid_value("template.name", "only lowercase letters, digits and underscores are allowed")
    if isinstance(template.components, list):
        _check_components(template.components, "template.components", sink, in_card=False)


def _check_components(
    components: list[TemplateComponent], path: str, sink: MediaSink, *, in_card: bool
) -> None:
    for i, component in enumerate(components):
        cpath = f"{path}[{i}]"
        ctype = component.type.lower()
        if ctype not in _COMPONENT_TYPES or (in_card and ctype == "carousel"):
            raise invalid_value(f"{cpath}.type", f"unsupported component type {component.type!r}")
        if ctype == "button":
            _check_button(component, cpath)
        elif ctype == "carousel":
            if not isinstance(component.cards, list) or not component.cards:
                raise missing_parameter(f"{cpath}.cards")
            for j, card in enumerate(component.cards):
                _check_components(card.components, f"{cpath}.cards[{j}].components", sink, in_card=True)
        if isinstance(component.parameters, list):
            for j, parameter in enumerate(component.parameters):
                _check_parameter(parameter, ctype, f"{cpath}.parameters[{j}]", sink)


def _check_button(component: TemplateComponent, path: str) -> None:
    if component.sub_type is UNSET:
        raise missing_parameter(f"{path}.sub_type")
    if component.sub_type.lower() not in _SUB_TYPES:
        raise invalid_value(f"{path}.sub_type", f"unsupported button sub_type {component.sub_type!r}")
    index = component.index
    if index is UNSET:
        raise missing_parameter(f"{path}.index")
    valid = (0 <= index <= 9) if isinstance(index, int) else bool(_INDEX.fullmatch(index))
    if not valid:
        raise invalid_value(f"{path}.index", f"must be 0-9 (an integer or a numeric string), got {index!r}")


def _check_parameter(parameter: TemplateParameter, ctype: str, path: str, sink: MediaSink) -> None:
    ptype = parameter.type.lower()
    if ptype not in _PARAMETER_TYPES:
        raise invalid_value(f"{path}.type", f"unsupported parameter type {parameter.type!r}")
    value = getattr(parameter, ptype)
    if value is UNSET:
        raise missing_parameter(f"{path}.{ptype}")
    if ptype == "text":
        _check_text(value, ctype, f"{path}.text")
    elif ptype in _MEDIA_TYPES:
        check_media(value, ptype, f"{path}.{ptype}", sink)
    elif ptype == "currency" and not _CURRENCY_CODE.fullmatch(value.code):
        raise invalid_value(f"{path}.currency.code", "must be an ISO 4217 code of three capital letters")


def _check_text(value: str | bool | float, ctype: str, path: str) -> None:
    if ctype == "button":
        return
    if not isinstance(value, str):
        raise invalid_value(path, f"Expected `str`, got `{type(value).__name__}`")
    if not value:
        raise invalid_value(path, "must not be empty")
    limit = _TEXT_LIMITS.get(ctype)
    if limit is not None and len(value) > limit:
        raise invalid_value(path, f"at most {limit} characters in a {ctype} parameter, got {len(value)}")
