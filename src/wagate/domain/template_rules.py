"""The rules a template must follow to be created or edited (reference section 5.2). Pure, no I/O.

Every check raises Meta's error with the offending field in `error_data.details`: 2388040 for a field
that is too long, 2388047/2388072/2388073 for a header/body/footer whose shape is wrong, 2388293 for a
body with too many variables for its length, 2388299 for a body that starts or ends with a variable, and
100 for everything else. Type and format values and field names are accepted in any case; the stored
components are normalised to Meta's create format (lowercase keys, uppercase types and formats).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagate.errors import GraphError

CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
PARAMETER_FORMATS = frozenset({"positional", "named"})
# The language and locale codes Meta accepts for templates.
LANGUAGES = frozenset(
    (
        "af",
        "sq",
        "ar",
        "ar_EG",
        "ar_AE",
        "ar_LB",
        "ar_MA",
        "ar_QA",
        "az",
        "be_BY",
        "bn",
        "bn_IN",
        "bg",
        "ca",
        "zh_CN",
        "zh_HK",
        "zh_TW",
        "hr",
        "cs",
        "da",
        "prs_AF",
        "nl",
        "nl_BE",
        "en",
        "en_GB",
        "en_US",
        "en_AE",
        "en_AU",
        "en_CA",
        "en_GH",
        "en_IE",
        "en_IN",
        "en_JM",
        "en_MY",
        "en_NZ",
        "en_QA",
        "en_SG",
        "en_UG",
        "en_ZA",
        "et",
        "fil",
        "fi",
        "fr",
        "fr_BE",
        "fr_CA",
        "fr_CH",
        "fr_CI",
        "fr_MA",
        "ka",
        "de",
        "de_AT",
        "de_CH",
        "el",
        "gu",
        "ha",
        "he",
        "hi",
        "hu",
        "id",
        "ga",
        "it",
        "ja",
        "kn",
        "kk",
        "rw_RW",
        "ko",
        "ky_KG",
        "lo",
        "lv",
        "lt",
        "mk",
        "ms",
        "ml",
        "mr",
        "nb",
        "ps_AF",
        "fa",
        "pl",
        "pt_BR",
        "pt_PT",
        "pa",
        "ro",
        "ru",
        "sr",
        "si_LK",
        "sk",
        "sl",
        "es",
        "es_AR",
        "es_CL",
        "es_CO",
        "es_CR",
        "es_DO",
        "es_EC",
        "es_HN",
        "es_MX",
        "es_PA",
        "es_PE",
        "es_ES",
        "es_UY",
        "sw",
        "sv",
        "ta",
        "te",
        "th",
        "tr",
        "uk",
        "ur",
        "uz",
        "vi",
        "zu",
    )
)
# Statuses from which a template may be edited, and the ones an edit sends back to review.
EDITABLE_STATUSES = frozenset({"APPROVED", "REJECTED", "PAUSED"})
TEMPLATE_LIMIT = 250  # per business account (an unverified portfolio's limit)

NAME_MAX = 512
HEADER_TEXT_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTONS_MAX = 10
BUTTON_TEXT_MAX = 25
QUICK_REPLY_MAX = 10
URL_BUTTONS_MAX = 2
URL_MAX = 2000
PHONE_MAX = 20
COPY_CODE_MAX = 20
CODE_EXPIRATION = range(1, 91)
# Meta limits the share of variables in a body (2388293) without publishing the ratio; wagate asks for
# at least two words of fixed text per variable.
WORDS_PER_VARIABLE = 2
OTP_TYPES = frozenset({"COPY_CODE", "ONE_TAP", "ZERO_TAP"})
HEADER_FORMATS = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "GIF", "LOCATION"})
BUTTON_TYPES = frozenset(
    {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "SPM", "VOICE_CALL"}
)
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
# TTL bounds per category (reference 1.6); -1 means the default (30 days) where Meta allows it.
TTL_RANGES: Mapping[str, range] = {
    "AUTHENTICATION": range(30, 901),
    "UTILITY": range(30, 43201),
    "MARKETING": range(43200, 2592001),
}

_NAME = re.compile(r"[a-z0-9_]+")
_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_NAMED = re.compile(r"[a-z][a-z0-9_]*")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A template that passed every creation rule, in the form it is stored."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    message_send_ttl_seconds: int | None


@dataclass(frozen=True, slots=True)
class TemplateEdit:
    """What an edit changes (None: unchanged)."""

    category: str | None
    components: list[dict[str, Any]] | None
    message_send_ttl_seconds: int | None


def _error(code: int, field: str, why: str) -> GraphError:
    title = {
        100: "Invalid parameter",
        2388019: "Message template limit reached",
        2388040: "Field is too long",
        2388047: "Invalid header format",
        2388072: "Invalid body format",
        2388073: "Invalid footer format",
        2388293: "Too many variables for the message length",
        2388299: "Variables can't be at the start or end of the template",
    }[code]
    return GraphError(code, f"{field}: {why}", message=f"(#{code}) {title}", http_status=400)


def limit_reached(limit: int = TEMPLATE_LIMIT) -> GraphError:
    return _error(2388019, "message_templates", f"a business account may hold {limit} templates")


def duplicate(name: str, language: str) -> GraphError:
    return _error(100, "name", f"a template named {name} already exists in {language}")


def _lower_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(100, field, "must be an object")
    return _lower_keys(value)


def _text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _error(100, field, "must be a non-empty string")
    if len(value) > limit:
        raise _error(2388040, field, f"is {len(value)} characters, the limit is {limit}")
    return value


def _upper(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise _error(100, field, "is required")
    return value.upper()


# -- the template's own fields ----------------------------------------------------------------------
def check_name(value: Any) -> str:
    name = _text(value, "name", NAME_MAX)
    if not _NAME.fullmatch(name):
        raise _error(100, "name", "may contain only lowercase letters, digits and underscores")
    return name


def check_category(value: Any) -> str:
    category = _upper(value, "category")
    if category not in CATEGORIES:
        raise _error(100, "category", f"must be one of {', '.join(sorted(CATEGORIES))}")
    return category


def check_language(value: Any) -> str:
    if not isinstance(value, str) or value not in LANGUAGES:
        raise _error(100, "language", f"{value!r} is not a supported language code")
    return value


def check_parameter_format(value: Any) -> str:
    if value is None:
        return "positional"
    if not isinstance(value, str) or value.lower() not in PARAMETER_FORMATS:
        raise _error(100, "parameter_format", "must be positional or named")
    return value.lower()


def check_ttl(value: Any, category: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(100, "message_send_ttl_seconds", "must be an integer")
    allowed = TTL_RANGES[category]
    if value == -1 and category != "MARKETING":
        return value
    if value not in allowed:
        raise _error(
            100, "message_send_ttl_seconds", f"must be {allowed.start} to {allowed.stop - 1} for {category}"
        )
    return value


def check_template_create(body: Any) -> TemplateDraft:
    """The create payload (`POST /{waba_id}/message_templates`) checked and normalised."""
    payload = _object(body, "body")
    name = check_name(payload.get("name"))
    language = check_language(payload.get("language"))
    category = check_category(payload.get("category"))
    parameter_format = check_parameter_format(payload.get("parameter_format"))
    components = check_components(payload.get("components"), category, parameter_format)
    ttl = check_ttl(payload.get("message_send_ttl_seconds"), category)
    return TemplateDraft(name, language, category, parameter_format, components, ttl)


def check_template_edit(body: Any, status: str, category: str, parameter_format: str) -> TemplateEdit:
    """An edit (`POST /{template_id}`) of a template in `status`; only APPROVED/REJECTED/PAUSED ones."""
    payload = _object(body, "body")
    if status not in EDITABLE_STATUSES:
        raise _error(100, "status", f"a template in status {status} cannot be edited")
    new_category = None
    if payload.get("category") is not None:
        new_category = check_category(payload["category"])
        if new_category != category and status == "APPROVED":
            raise _error(100, "category", "the category of an approved template cannot be changed")
    effective = new_category or category
    components = None
    if payload.get("components") is not None:
        components = check_components(payload["components"], effective, parameter_format)
    ttl = check_ttl(payload.get("message_send_ttl_seconds"), effective)
    if new_category is None and components is None and ttl is None:
        raise _error(100, "components", "an edit needs category, components or message_send_ttl_seconds")
    return TemplateEdit(new_category, components, ttl)


# -- components --------------------------------------------------------------------------------------
def check_components(value: Any, category: str, parameter_format: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _error(100, "components", "must be a non-empty list")
    components = [_object(c, f"components[{i}]") for i, c in enumerate(value)]
    seen: dict[str, int] = {}
    for i, component in enumerate(components):
        ctype = _upper(component.get("type"), f"components[{i}].type")
        if ctype not in COMPONENT_TYPES:
            raise _error(100, f"components[{i}].type", f"unknown component type {ctype}")
        if ctype in seen:
            raise _error(100, f"components[{i}].type", f"a template has at most one {ctype}")
        seen[ctype] = i
        component["type"] = ctype
    if "BODY" not in seen:
        raise _error(100, "components", "a template needs exactly one BODY")
    named = parameter_format == "named"
    for i, component in enumerate(components):
        field = f"components[{i}]"
        if category == "AUTHENTICATION":
            _check_authentication_component(component, field)
        elif component["type"] == "HEADER":
            _check_header(component, field, named, category)
        elif component["type"] == "BODY":
            _check_body(component, field, named)
        elif component["type"] == "FOOTER":
            _check_footer(component, field)
        else:
            _check_buttons(component, field, category)
    if category == "AUTHENTICATION" and "BUTTONS" not in seen:
        raise _error(100, "components", "an AUTHENTICATION template needs an OTP button")
    return components


def _variables(text: str) -> list[str]:
    return [v.strip() for v in _VARIABLE.findall(text)]


def _check_variable_names(names: list[str], field: str, named: bool, code: int) -> None:
    if named:
        for name in names:
            if not _NAMED.fullmatch(name):
                raise _error(code, field, f"{{{{{name}}}}} is not a lowercase parameter name")
        return
    for name in names:
        if not name.isdigit():
            raise _error(code, field, f"{{{{{name}}}}} is not a positional variable such as {{{{1}}}}")
    numbers = sorted({int(n) for n in names})
    if numbers != list(range(1, len(numbers) + 1)):
        raise _error(code, field, "positional variables must be numbered {{1}}, {{2}}... from 1")


def _check_examples(component: dict[str, Any], field: str, names: list[str], named: bool, kind: str) -> None:
    """Examples are required for every variable: `<kind>_text` (positional) or `<kind>_text_named_params`."""
    if not names:
        return
    example = component.get("example")
    if not isinstance(example, dict):
        raise _error(100, f"{field}.example", "examples are required for the variables")
    example = _lower_keys(example)
    if named:
        given = example.get(f"{kind}_text_named_params")
        have = {
            p.get("param_name")
            for p in given or []
            if isinstance(p, dict) and isinstance(p.get("example"), str)
        }
        missing = sorted(set(names) - have)
        if missing:
            raise _error(100, f"{field}.example.{kind}_text_named_params", f"no example for {missing[0]}")
        return
    count = len(set(names))
    values = example.get(f"{kind}_text")
    if kind == "body":
        values = values[0] if isinstance(values, list) and values and isinstance(values[0], list) else None
    if not isinstance(values, list) or len(values) != count or not all(isinstance(v, str) for v in values):
        raise _error(100, f"{field}.example.{kind}_text", f"needs {count} example value(s)")


def _check_header(component: dict[str, Any], field: str, named: bool, category: str) -> None:
    fmt = _upper(component.get("format"), f"{field}.format")
    if fmt not in HEADER_FORMATS:
        raise _error(2388047, f"{field}.format", f"unknown header format {fmt}")
    component["format"] = fmt
    if fmt == "TEXT":
        text = _text(component.get("text"), f"{field}.text", HEADER_TEXT_MAX)
        names = _variables(text)
        if len(names) > 1:
            raise _error(2388047, f"{field}.text", "a text header has at most one variable")
        _check_variable_names(names, f"{field}.text", named, 2388047)
        _check_examples(component, field, names, named, "header")
    elif fmt == "LOCATION":
        if category == "AUTHENTICATION":
            raise _error(2388047, f"{field}.format", "location headers are for utility and marketing")
    else:
        example = component.get("example")
        handles = _lower_keys(example).get("header_handle") if isinstance(example, dict) else None
        if not isinstance(handles, list) or not handles or not all(isinstance(h, str) for h in handles):
            raise _error(2388047, f"{field}.example.header_handle", f"a {fmt} header needs an example handle")


def _check_body(component: dict[str, Any], field: str, named: bool) -> None:
    text = _text(component.get("text"), f"{field}.text", BODY_MAX)
    names = _variables(text)
    _check_variable_names(names, f"{field}.text", named, 2388072)
    if names:
        stripped = text.strip()
        if stripped.startswith("{{") or stripped.endswith("}}"):
            raise _error(2388299, f"{field}.text", "the body cannot start or end with a variable")
        if re.search(r"\}\}\s*\{\{", text):
            raise _error(2388072, f"{field}.text", "variables must be separated by text")
        words = len(_WORD.findall(_VARIABLE.sub(" ", text)))
        if words < WORDS_PER_VARIABLE * len(names):
            raise _error(2388293, f"{field}.text", f"{len(names)} variables need more text around them")
    _check_examples(component, field, names, named, "body")


def _check_footer(component: dict[str, Any], field: str) -> None:
    text = _text(component.get("text"), f"{field}.text", FOOTER_MAX)
    if _variables(text):
        raise _error(2388073, f"{field}.text", "a footer cannot have variables")


def _button_list(component: dict[str, Any], field: str) -> list[dict[str, Any]]:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise _error(100, f"{field}.buttons", "must be a non-empty list")
    if len(buttons) > BUTTONS_MAX:
        raise _error(100, f"{field}.buttons", f"at most {BUTTONS_MAX} buttons")
    normalised = [_object(b, f"{field}.buttons[{j}]") for j, b in enumerate(buttons)]
    for j, button in enumerate(normalised):
        btype = _upper(button.get("type"), f"{field}.buttons[{j}].type")
        if btype not in BUTTON_TYPES:
            raise _error(100, f"{field}.buttons[{j}].type", f"unknown button type {btype}")
        button["type"] = btype
    component["buttons"] = normalised
    return normalised


def _check_buttons(component: dict[str, Any], field: str, category: str) -> None:
    buttons = _button_list(component, field)
    counts: dict[str, int] = {}
    limits = {"QUICK_REPLY": QUICK_REPLY_MAX, "URL": URL_BUTTONS_MAX, "PHONE_NUMBER": 1, "COPY_CODE": 1}
    quick = [j for j, b in enumerate(buttons) if b["type"] == "QUICK_REPLY"]
    if quick and quick[-1] - quick[0] + 1 != len(quick):
        raise _error(100, f"{field}.buttons", "quick reply buttons must be grouped together")
    for j, button in enumerate(buttons):
        bfield = f"{field}.buttons[{j}]"
        btype = button["type"]
        counts[btype] = counts.get(btype, 0) + 1
        if counts[btype] > limits.get(btype, BUTTONS_MAX):
            raise _error(100, f"{bfield}.type", f"at most {limits[btype]} {btype} button(s)")
        if btype == "OTP":
            raise _error(100, f"{bfield}.type", "OTP buttons are for AUTHENTICATION templates")
        if btype != "COPY_CODE" or button.get("text") is not None:
            _text(button.get("text"), f"{bfield}.text", BUTTON_TEXT_MAX)
        if btype == "URL":
            _check_url_button(button, bfield)
        elif btype == "PHONE_NUMBER":
            _text(button.get("phone_number"), f"{bfield}.phone_number", PHONE_MAX)
        elif btype == "COPY_CODE":
            example = button.get("example")
            _text(example, f"{bfield}.example", COPY_CODE_MAX)
        elif btype == "FLOW" and not any(button.get(k) for k in ("flow_id", "flow_name", "flow_json")):
            raise _error(100, f"{bfield}.flow_id", "a FLOW button needs flow_id, flow_name or flow_json")


def _check_url_button(button: dict[str, Any], field: str) -> None:
    url = _text(button.get("url"), f"{field}.url", URL_MAX)
    names = _variables(url)
    if not names:
        return
    if len(names) > 1 or not url.rstrip().endswith("}}") or names[0] not in ("1",):
        raise _error(100, f"{field}.url", "a URL has at most one variable, {{1}}, at its end")
    example = button.get("example")
    if isinstance(example, str):
        example = [example]
    if not isinstance(example, list) or len(example) != 1 or not isinstance(example[0], str):
        raise _error(100, f"{field}.example", "a URL with a variable needs one example")


def _check_authentication_component(component: dict[str, Any], field: str) -> None:
    ctype = component["type"]
    extra = set(component) - {"type"}
    if ctype == "HEADER":
        raise _error(2388047, f"{field}.type", "AUTHENTICATION templates have no header")
    if ctype == "BODY":
        if extra - {"add_security_recommendation"}:
            raise _error(
                2388072, f"{field}.{sorted(extra)[0]}", "the body may carry only add_security_recommendation"
            )
        if not isinstance(component.get("add_security_recommendation", False), bool):
            raise _error(100, f"{field}.add_security_recommendation", "must be true or false")
    elif ctype == "FOOTER":
        if extra - {"code_expiration_minutes"}:
            raise _error(
                2388073, f"{field}.{sorted(extra)[0]}", "the footer may carry only code_expiration_minutes"
            )
        minutes = component.get("code_expiration_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in CODE_EXPIRATION:
            raise _error(100, f"{field}.code_expiration_minutes", "must be 1 to 90")
    else:
        buttons = _button_list(component, field)
        if len(buttons) > 1:
            raise _error(100, f"{field}.buttons", "an AUTHENTICATION template has one OTP button")
        button = buttons[0]
        if button["type"] != "OTP":
            raise _error(100, f"{field}.buttons[0].type", "AUTHENTICATION templates have only OTP buttons")
        otp_type = _upper(button.get("otp_type"), f"{field}.buttons[0].otp_type")
        if otp_type not in OTP_TYPES:
            raise _error(
                100, f"{field}.buttons[0].otp_type", f"must be one of {', '.join(sorted(OTP_TYPES))}"
            )
        button["otp_type"] = otp_type
        if button.get("text") is not None:
            _text(button.get("text"), f"{field}.buttons[0].text", BUTTON_TEXT_MAX)
        if otp_type == "ZERO_TAP" and button.get("zero_tap_terms_accepted") is not True:
            raise _error(100, f"{field}.buttons[0].zero_tap_terms_accepted", "must be true for ZERO_TAP")
        if otp_type in ("ONE_TAP", "ZERO_TAP") and not isinstance(button.get("supported_apps"), list):
            raise _error(100, f"{field}.buttons[0].supported_apps", f"{otp_type} needs supported_apps")


# -- the simulator's automatic review (docs/simulator.md) ---------------------------------------------
REVIEW_DELAY = 2.0  # seconds of clock time a template waits in PENDING before its review
PROMOTIONAL_WORDS = ("sale", "discount", "% off", "скидка", "акция")
_PROMOTIONAL = re.compile(
    "|".join(
        rf"(?<!\w){re.escape(word)}" if word[0].isalnum() else re.escape(word) for word in PROMOTIONAL_WORDS
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    status: str  # APPROVED | REJECTED
    reason: str  # Meta's `reason` of the status event
    category: str  # may differ from the template's: a utility promotion becomes MARKETING


def _texts(components: list[dict[str, Any]]) -> list[str]:
    texts = [str(c.get("text", "")) for c in components]
    for component in components:
        texts += [str(b.get("text", "")) for b in component.get("buttons") or [] if isinstance(b, dict)]
    return texts


def review(category: str, components: list[dict[str, Any]]) -> ReviewOutcome:
    """The simulator's verdict on a PENDING template: REJECTED (INVALID_FORMAT) when its body starts or
    ends with a variable; recategorised to MARKETING when a UTILITY or AUTHENTICATION template uses
    promotional words; APPROVED otherwise."""
    for component in components:
        if str(component.get("type", "")).upper() == "BODY":
            text = str(component.get("text", "")).strip()
            if text.startswith("{{") or text.endswith("}}"):
                return ReviewOutcome("REJECTED", "INVALID_FORMAT", category)
    if category != "MARKETING" and any(_PROMOTIONAL.search(text) for text in _texts(components)):
        return ReviewOutcome("APPROVED", "NONE", "MARKETING")
    return ReviewOutcome("APPROVED", "NONE", category)
