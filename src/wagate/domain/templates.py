"""Checking a template send against the stored template, and rendering its text. Pure, no I/O.

The stored template is in Meta's create format (reference section 5.2); the send is the wire-validated
`TemplateSend`. Codes follow Meta: 132001/132015/132016 for the status gate, 132000 for a parameter count
that does not match the template's variables, 132012 for parameters that do not fit the template's shape,
132005 for rendered text over a limit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wagate.cloudapi.send import TemplateSend
from wagate.errors import GraphError

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

_THIRTY_DAYS = 30 * 24 * 3600
_AUTH_DEFAULT_TTL = 600
_AUTH_CODE_MAX = 15
_HEADER_TEXT_MAX = 60
# Meta: a body may render to 32,768 characters when it is the template's only component, else 1,024.
_BODY_ONLY_MAX = 32768
_BODY_MAX = 1024
_SECURITY_SENTENCE = "For your security, do not share this code."

# The parameter type a media/location header expects at send time. GIF headers (Marketing Messages API)
# are mp4 files, sent as video.
_HEADER_PARAMETER = {
    "IMAGE": "image",
    "VIDEO": "video",
    "DOCUMENT": "document",
    "GIF": "video",
    "LOCATION": "location",
}
# Which send-side `sub_type`s may address a stored button type. Phone-number and contact-info buttons take
# no parameters, so no button component may address them.
_BUTTON_SUB_TYPES: Mapping[str, frozenset[str]] = {
    "QUICK_REPLY": frozenset({"quick_reply"}),
    "URL": frozenset({"url"}),
    "OTP": frozenset({"url"}),
    "COPY_CODE": frozenset({"copy_code"}),
    "FLOW": frozenset({"flow"}),
    "CATALOG": frozenset({"catalog"}),
    "MPM": frozenset({"mpm"}),
    "SPM": frozenset({"spm"}),
    "VOICE_CALL": frozenset({"voice_call"}),
    "PHONE_NUMBER": frozenset(),
    "REQUEST_CONTACT_INFO": frozenset(),
}
# The parameter types each stored button type accepts. Meta's own quick-reply example sends `text`.
_BUTTON_PARAMETER_TYPES: Mapping[str, frozenset[str]] = {
    "QUICK_REPLY": frozenset({"payload", "text"}),
    "URL": frozenset({"text"}),
    "OTP": frozenset({"text"}),
    "COPY_CODE": frozenset({"coupon_code"}),
    "FLOW": frozenset({"action"}),
    "CATALOG": frozenset({"action"}),
    "MPM": frozenset({"action"}),
    "SPM": frozenset({"action"}),
}


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    id: int
    name: str
    language: str
    category: str  # MARKETING|UTILITY|AUTHENTICATION
    status: str  # APPROVED|PENDING|REJECTED|PAUSED|DISABLED|...
    parameter_format: str  # "positional" | "named"
    components: list[dict[str, Any]]
    message_send_ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    body_text: str
    header_text: str | None
    code: str | None  # the one-time code of an AUTHENTICATION template
    category: str
    ttl_seconds: int | None


@dataclass(slots=True)
class _SendParts:
    header: list[dict[str, Any]] | None = None
    body: list[dict[str, Any]] | None = None
    buttons: dict[int, dict[str, Any]] | None = None


def check_template_send(template: StoredTemplate, send: TemplateSend) -> RenderedTemplate:
    """Check `send` against `template` and render its text; GraphError when Meta would refuse it."""
    _check_status(template, send)
    stored = _stored_components(template)
    parts = _split_send(send.components)
    category = template.category.upper()
    if category == "AUTHENTICATION":
        return _check_authentication(template, stored, parts)

    named = template.parameter_format.lower() == "named"
    header_text = _check_header(stored.get("HEADER"), parts.header, named)
    body = stored.get("BODY")
    body_text = _fill("body", str(body.get("text", "")) if body else "", parts.body or [], named)
    limit = _BODY_ONLY_MAX if set(stored) <= {"BODY"} else _BODY_MAX
    if len(body_text) > limit:
        raise GraphError(132005, f"body: rendered text is {len(body_text)} characters, the limit is {limit}")
    _check_buttons(_stored_buttons(stored), parts.buttons or {})
    return RenderedTemplate(
        body_text=body_text,
        header_text=header_text,
        code=None,
        category=template.category,
        ttl_seconds=_ttl(template.message_send_ttl_seconds),
    )


def status_refusal(name: str, language: str, status: str | None) -> GraphError | None:
    """Meta's error for sending a template in `status` (None: no such template), or None if it may be
    sent. Checked when a send is requested and again when it is dispatched."""
    status = (status or "").upper()
    if status == "APPROVED":
        return None
    if status == "PAUSED":
        return GraphError(132015, f"Template {name!r} is paused.")
    if status == "DISABLED":
        return GraphError(132016, f"Template {name!r} is disabled.")
    return GraphError(132001, f"template name ({name}) does not exist or is not approved in {language}")


def _check_status(template: StoredTemplate, send: TemplateSend) -> None:
    refusal = status_refusal(template.name, template.language, template.status)
    if refusal is not None:
        raise refusal
    if send.name != template.name or send.language != template.language:
        raise GraphError(
            132001, f"template name ({send.name}) does not exist or is not approved in {send.language}"
        )


def _ttl(seconds: int | None) -> int | None:
    # Meta's -1 means "the default of 30 days", spelled out so the caller needs no special case.
    return _THIRTY_DAYS if seconds == -1 else seconds


def _stored_components(template: StoredTemplate) -> dict[str, dict[str, Any]]:
    return {str(c.get("type", "")).upper(): c for c in template.components}


def _stored_buttons(stored: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    buttons = stored.get("BUTTONS")
    return list(buttons.get("buttons", [])) if buttons else []


def _split_send(components: list[dict[str, Any]]) -> _SendParts:
    parts = _SendParts()
    for component in components:
        ctype = str(component.get("type", "")).lower()
        parameters = list(component.get("parameters") or [])
        if ctype in ("header", "body"):
            if getattr(parts, ctype) is not None:
                raise GraphError(132000, f"{ctype}: the component is given more than once")
            setattr(parts, ctype, parameters)
        elif ctype == "button":
            try:
                index = int(component.get("index", 0))
            except (TypeError, ValueError):
                raise GraphError(132012, f"button index {component.get('index')!r} is not a number") from None
            buttons = parts.buttons if parts.buttons is not None else {}
            if index in buttons:
                raise GraphError(132012, f"button at index {index} is given more than once")
            buttons[index] = component
            parts.buttons = buttons
        # limited_time_offer and carousel components are Meta's own shapes; they are forwarded unchecked.
    return parts


@functools.lru_cache(maxsize=4096)
def _variables(text: str) -> tuple[str, ...]:
    """The distinct variables of a template text, in order (cached: templates are few, sends many)."""
    return tuple(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(text)))


def _parameter_text(component: str, index: int, parameter: Mapping[str, Any]) -> str:
    ptype = str(parameter.get("type", "")).lower()
    if ptype == "text" and isinstance(parameter.get("text"), str):
        return str(parameter["text"])
    if ptype in ("currency", "date_time"):
        value = parameter.get(ptype)
        if isinstance(value, Mapping) and isinstance(value.get("fallback_value"), str):
            return str(value["fallback_value"])
    raise GraphError(
        132012, f"{component}: parameters[{index}] of type {ptype!r} does not fit a text variable"
    )


def _fill(component: str, text: str, parameters: list[dict[str, Any]], named: bool) -> str:
    """`text` with its variables replaced by `parameters`, after checking they fit."""
    variables = _variables(text)
    replace: Callable[[re.Match[str]], str]
    if named:
        for i, parameter in enumerate(parameters):
            if "parameter_name" not in parameter:
                raise GraphError(
                    132012,
                    f"{component}: the template uses named parameters; parameters[{i}] has no parameter_name",
                )
        _check_count(component, len(variables), len(parameters))
        values: dict[str, str] = {}
        for i, parameter in enumerate(parameters):
            name = str(parameter["parameter_name"])
            if name not in variables:
                raise GraphError(132012, f"{component}: parameters[{i}] names unknown parameter {name!r}")
            if name in values:
                raise GraphError(132012, f"{component}: parameter {name!r} is given more than once")
            values[name] = _parameter_text(component, i, parameter)

        def replace(match: re.Match[str]) -> str:
            return values.get(match.group(1), match.group(0))

    else:
        for i, parameter in enumerate(parameters):
            if "parameter_name" in parameter:
                raise GraphError(
                    132012,
                    f"{component}: the template uses positional parameters; parameters[{i}] has a "
                    "parameter_name",
                )
        # Positional variables are numbered from 1; the highest number is how many values are needed.
        expected = max((int(v) for v in variables if v.isdigit()), default=0)
        _check_count(component, expected, len(parameters))
        texts = [_parameter_text(component, i, parameter) for i, parameter in enumerate(parameters)]

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            return texts[int(name) - 1] if name.isdigit() and 0 < int(name) <= len(texts) else match.group(0)

    return _VARIABLE.sub(replace, text)


def _check_count(component: str, expected: int, given: int) -> None:
    if expected != given:
        raise GraphError(132000, f"{component}: expected {expected} parameters, given {given}")


def _check_header(
    stored: Mapping[str, Any] | None, parameters: list[dict[str, Any]] | None, named: bool
) -> str | None:
    given = parameters or []
    if stored is None:
        _check_count("header", 0, len(given))
        return None
    header_format = str(stored.get("format", "TEXT")).upper()
    if header_format == "TEXT":
        text = _fill("header", str(stored.get("text", "")), given, named)
        if len(text) > _HEADER_TEXT_MAX:
            raise GraphError(
                132005, f"header: rendered text is {len(text)} characters, the limit is {_HEADER_TEXT_MAX}"
            )
        return text
    expected_type = _HEADER_PARAMETER.get(header_format)
    if expected_type is None:
        return None  # a header format wagate does not model: nothing to check
    if not given:
        raise GraphError(
            132012,
            f"header: the template has a {header_format} header; a {expected_type} parameter is required",
        )
    _check_count("header", 1, len(given))
    ptype = str(given[0].get("type", "")).lower()
    if ptype != expected_type:
        raise GraphError(
            132012,
            f"header: the template has a {header_format} header; expected a {expected_type} parameter, "
            f"given {ptype!r}",
        )
    return None


def _button_variable_count(button: Mapping[str, Any]) -> int:
    btype = str(button.get("type", "")).upper()
    if btype in ("URL", "OTP"):
        return 1 if _VARIABLE.search(str(button.get("url", ""))) or btype == "OTP" else 0
    if btype == "COPY_CODE":
        return 1
    return -1  # parameters optional or free-form: not counted


def _check_buttons(stored: list[dict[str, Any]], given: dict[int, dict[str, Any]]) -> None:
    for index, component in sorted(given.items()):
        path = f"button[{index}]"
        if index >= len(stored):
            raise GraphError(
                132012, f"{path}: the template has {len(stored)} buttons, no button at index {index}"
            )
        btype = str(stored[index].get("type", "")).upper()
        sub_type = str(component.get("sub_type", "")).lower()
        if sub_type not in _BUTTON_SUB_TYPES.get(btype, frozenset({btype.lower()})):
            raise GraphError(
                132012, f"{path}: sub_type {sub_type!r} does not match the template's {btype} button"
            )
        parameters = list(component.get("parameters") or [])
        expected = _button_variable_count(stored[index])
        if expected == 0 and parameters:
            raise GraphError(132012, f"{path}: the template's {btype} button has no variable to fill")
        if expected > 0:
            _check_count(path, expected, len(parameters))
        elif len(parameters) > 1:
            _check_count(path, 1, len(parameters))
        allowed = _BUTTON_PARAMETER_TYPES.get(btype)
        for i, parameter in enumerate(parameters):
            ptype = str(parameter.get("type", "")).lower()
            if allowed is not None and ptype not in allowed:
                raise GraphError(
                    132012,
                    f"{path}: parameters[{i}] of type {ptype!r} does not fit the template's {btype} button",
                )
    for index, button in enumerate(stored):
        if index not in given and _button_variable_count(button) > 0:
            _check_count(f"button[{index}]", 1, 0)


def _check_authentication(
    template: StoredTemplate, stored: Mapping[str, dict[str, Any]], parts: _SendParts
) -> RenderedTemplate:
    # Authentication text is fixed by Meta: "<code> is your verification code." The code is the body's
    # single parameter and is repeated as the OTP button's parameter.
    _check_count("header", 0, len(parts.header or []))
    body = parts.body or []
    _check_count("body", 1, len(body))
    parameter = body[0]
    if str(parameter.get("type", "")).lower() != "text" or not isinstance(parameter.get("text"), str):
        raise GraphError(132012, "body: the one-time code must be a text parameter")
    code = str(parameter["text"])
    if not code:
        raise GraphError(131009, "body: parameters[0].text: the one-time code must not be empty")
    if len(code) > _AUTH_CODE_MAX:
        raise GraphError(
            132005, f"body: the one-time code is {len(code)} characters, the limit is {_AUTH_CODE_MAX}"
        )

    buttons = _stored_buttons(stored)
    given = parts.buttons or {}
    for index in given:
        if index >= len(buttons):
            raise GraphError(
                132012,
                f"button[{index}]: the template has {len(buttons)} buttons, no button at index {index}",
            )
    for index, button in enumerate(buttons):
        btype = str(button.get("type", "")).upper()
        if btype not in ("OTP", "URL"):
            continue
        path = f"button[{index}]"
        component = given.get(index)
        if component is None:
            raise GraphError(132000, f"{path}: expected 1 parameter (the one-time code), given 0")
        if str(component.get("sub_type", "")).lower() != "url":
            raise GraphError(132012, f"{path}: an OTP button is sent with sub_type 'url'")
        parameters = list(component.get("parameters") or [])
        _check_count(path, 1, len(parameters))
        if str(parameters[0].get("type", "")).lower() != "text":
            raise GraphError(132012, f"{path}: the OTP button takes a text parameter")
        if str(parameters[0].get("text")) != code:
            raise GraphError(131009, f"{path}: the OTP button parameter must equal the code in the body")

    body_text = f"{code} is your verification code."
    stored_body = stored.get("BODY") or {}
    if stored_body.get("add_security_recommendation"):
        body_text = f"{body_text} {_SECURITY_SENTENCE}"
    ttl = _ttl(template.message_send_ttl_seconds)
    if ttl is None:
        minutes = (stored.get("FOOTER") or {}).get("code_expiration_minutes")
        ttl = int(minutes) * 60 if isinstance(minutes, int) else _AUTH_DEFAULT_TTL
    return RenderedTemplate(
        body_text=body_text, header_text=None, code=code, category=template.category, ttl_seconds=ttl
    )
