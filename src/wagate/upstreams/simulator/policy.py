"""Meta's messaging policy as the simulated network keeps it, from its own state only. Pure, no I/O.

The simulator plays Meta, so it never asks wagate: it learns of templates and messaging limits when told
(`services/simulator_sync.py`), of windows when a simulated customer writes, and of marketing stops when
a simulated customer opts out. Rules (reference sections 6.1 to 6.6):

* a free-form message outside the 24-hour window of (business number, customer) → 131047;
* a template that does not exist or is not approved → 132001, paused → 132015, disabled → 132016, body
  or header parameters that do not match the template's variables → 132000;
* a MARKETING template to a customer who stopped marketing from the account → 131050;
* accepted, then failed with 131049: a MARKETING template to a US number; a template reaching a new
  customer outside the window beyond the account's messaging limit (unique customers in 24 hours;
  250 for an account never heard of); a MARKETING template outside a window beyond the per-customer
  daily cap (counted across every account).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from wagate.domain.phone import is_us_number

DAY = 24 * 3600.0
NEW_PORTFOLIO_LIMIT = 250

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_NOT_SENDABLE = {"PAUSED": 132015, "DISABLED": 132016}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule the send broke: which rule (for the counters), Meta's code, and why."""

    rule: str
    code: int
    details: str


@dataclass(frozen=True, slots=True)
class Admission:
    """A send the network takes: its pricing category and, if it will not be delivered, why."""

    category: str
    failure: Refusal | None = None
    counts_tier: bool = False  # it reached a customer outside the window (the messaging limit)
    counts_marketing: bool = False  # it is a marketing template outside a window (the per-user cap)


@dataclass(frozen=True, slots=True)
class SimTemplate:
    """What the network knows of a template: enough to gate a send and count its parameters."""

    id: int
    waba_id: int
    name: str
    language: str
    status: str
    category: str
    named: bool
    body: tuple[str, ...]  # the variables a send must fill: "1".."n" when positional
    header: tuple[str, ...] | None  # None: a media header (or none checked)


def expected_template(
    template_id: int,
    waba_id: int,
    name: str,
    language: str,
    status: str,
    category: str,
    parameter_format: str,
    components: list[dict[str, Any]],
) -> SimTemplate:
    """A template in Meta's create format reduced to what a send must match."""
    named = parameter_format.lower() == "named"
    by_type = {str(c.get("type", "")).upper(): c for c in components}
    if category.upper() == "AUTHENTICATION":
        # The text is Meta's own; the one-time code is the body's single parameter.
        body: tuple[str, ...] = ("1",)
        header: tuple[str, ...] | None = ()
    else:
        body = _variables(str(by_type.get("BODY", {}).get("text", "")), named)
        stored_header = by_type.get("HEADER")
        if stored_header is None:
            header = ()
        elif str(stored_header.get("format", "TEXT")).upper() == "TEXT":
            header = _variables(str(stored_header.get("text", "")), named)
        else:
            header = None
    return SimTemplate(
        template_id, waba_id, name, language, status.upper(), category.upper(), named, body, header
    )


def _variables(text: str, named: bool) -> tuple[str, ...]:
    found = [m.group(1) for m in _VARIABLE.finditer(text)]
    if named:
        return tuple(dict.fromkeys(found))
    highest = max((int(v) for v in found if v.isdigit()), default=0)
    return tuple(str(i) for i in range(1, highest + 1))


class _Reached:
    """Customers reached in the last 24 hours, each with when it was last reached."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()

    def prune(self, now: float) -> None:
        while self._order and self._order[0][0] <= now - DAY:
            at, who = self._order.popleft()
            if self.last.get(who) == at:
                del self.last[who]

    def add(self, who: str, at: float) -> None:
        self.last[who] = at
        self._order.append((at, who))


class Policy:
    def __init__(self, marketing_per_user_day: int) -> None:
        self.marketing_per_user_day = marketing_per_user_day
        self._windows: dict[tuple[int, str], float] = {}
        self._templates: dict[tuple[int, str, str], SimTemplate] = {}
        self._template_keys: dict[int, tuple[int, str, str]] = {}
        self._limits: dict[int, int | None] = {}
        self._reached: dict[int, _Reached] = {}
        self._marketing: dict[str, deque[float]] = {}
        self._stopped: set[tuple[int, str]] = set()

    # -- what the network is told --------------------------------------------------------------
    def customer_wrote(self, number_id: int, wa_id: str, at: float) -> None:
        key = (number_id, wa_id)
        self._windows[key] = max(at, self._windows.get(key, at))

    def window_open(self, number_id: int, wa_id: str, now: float) -> bool:
        opened = self._windows.get((number_id, wa_id))
        return opened is not None and now < opened + DAY

    def set_marketing_stopped(self, waba_id: int, wa_id: str, stopped: bool) -> None:
        if stopped:
            self._stopped.add((waba_id, wa_id))
        else:
            self._stopped.discard((waba_id, wa_id))

    def sync_template(self, template: SimTemplate) -> None:
        self.forget_template(template.waba_id, template.id)
        key = (template.waba_id, template.name, template.language)
        self._templates[key] = template
        self._template_keys[template.id] = key

    def forget_template(self, waba_id: int, template_id: int) -> None:
        key = self._template_keys.get(template_id)
        if key is None or key[0] != waba_id:
            return
        del self._template_keys[template_id]
        held = self._templates.get(key)
        if held is not None and held.id == template_id:
            del self._templates[key]

    def template_account(self, template_id: int) -> int | None:
        key = self._template_keys.get(template_id)
        return None if key is None else key[0]

    def template_ids(self, waba_id: int, name: str) -> list[int]:
        return [t.id for key, t in self._templates.items() if key[0] == waba_id and key[1] == name]

    def sync_account(self, waba_id: int, messaging_limit: int | None) -> None:
        self._limits[waba_id] = messaging_limit

    def messaging_limit(self, waba_id: int) -> int | None:
        return self._limits.get(waba_id, NEW_PORTFOLIO_LIMIT)

    def restore_reached(self, waba_id: int, wa_id: str, at: float) -> None:
        self._reached.setdefault(waba_id, _Reached()).add(wa_id, at)

    def restore_marketing(self, wa_id: str, at: float) -> None:
        self._marketing.setdefault(wa_id, deque()).append(at)

    # -- judging a send ------------------------------------------------------------------------
    def admit(
        self, number_id: int, waba_id: int, to: str, payload: dict[str, Any], now: float, is_user: bool
    ) -> Admission | Refusal:
        """Judge a send; an Admission is counted at once (concurrent sends cannot both take the last
        place), a Refusal changes nothing."""
        in_window = self.window_open(number_id, to, now)
        if payload.get("type") != "template":
            if not in_window:
                return Refusal(
                    "window",
                    131047,
                    "Message failed to send because more than 24 hours have passed since the customer "
                    "last replied to this number.",
                )
            return Admission("service")
        found = self._check_template(waba_id, payload)
        if isinstance(found, Refusal):
            return found
        marketing = found.category == "MARKETING"
        category = found.category.lower()
        if marketing and (waba_id, to) in self._stopped:
            return Refusal("opted_out", 131050, "the customer stopped marketing messages from this business")
        if not is_user:
            return Admission(category)
        if marketing and is_us_number(to):
            failure = Refusal("us_marketing", 131049, "marketing templates are not delivered to US numbers")
            return Admission(category, failure)
        if in_window:
            return Admission(category)
        return self._admit_business_initiated(waba_id, to, now, category, marketing)

    def _admit_business_initiated(
        self, waba_id: int, to: str, now: float, category: str, marketing: bool
    ) -> Admission:
        limit = self._limits.get(waba_id, NEW_PORTFOLIO_LIMIT)
        reached = self._reached.setdefault(waba_id, _Reached())
        reached.prune(now)
        if limit is not None and to not in reached.last and len(reached.last) >= limit:
            return Admission(category, Refusal("tier", 131049, "messaging limit reached"))
        recent = self._marketing.setdefault(to, deque()) if marketing else None
        if recent is not None:
            while recent and recent[0] <= now - DAY:
                recent.popleft()
            if len(recent) >= self.marketing_per_user_day:
                failure = Refusal(
                    "marketing_limit",
                    131049,
                    "the customer has received as many marketing messages as allowed in 24 hours",
                )
                return Admission(category, failure)
            recent.append(now)
        if limit is not None:
            reached.add(to, now)
        return Admission(category, counts_tier=limit is not None, counts_marketing=marketing)

    def _check_template(self, waba_id: int, payload: dict[str, Any]) -> SimTemplate | Refusal:
        sent = payload.get("template")
        sent = sent if isinstance(sent, dict) else {}
        name = str(sent.get("name", ""))
        language_object = sent.get("language")
        language = str(language_object.get("code", "")) if isinstance(language_object, dict) else ""
        template = self._templates.get((waba_id, name, language))
        if template is not None and template.status in _NOT_SENDABLE:
            state = template.status.lower()
            return Refusal("template", _NOT_SENDABLE[template.status], f"Template {name!r} is {state}.")
        if template is None or template.status != "APPROVED":
            return Refusal(
                "template", 132001, f"template name ({name}) does not exist or is not approved in {language}"
            )
        given = _given_parameters(sent.get("components"))
        for component, expected in (("body", template.body), ("header", template.header)):
            if expected is None:
                continue
            mismatch = _mismatch(component, expected, given.get(component, []), template.named)
            if mismatch is not None:
                return Refusal("template", 132000, mismatch)
        return template


def _given_parameters(components: Any) -> dict[str, list[Any]]:
    given: dict[str, list[Any]] = {}
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict):
            kind = str(component.get("type", "")).lower()
            parameters = component.get("parameters")
            given[kind] = list(parameters) if isinstance(parameters, list) else []
    return given


def _mismatch(component: str, expected: tuple[str, ...], given: list[Any], named: bool) -> str | None:
    if len(given) != len(expected):
        return f"{component}: expected {len(expected)} parameters, given {len(given)}"
    if named:
        names = {p.get("parameter_name") for p in given if isinstance(p, dict)}
        if names != set(expected):
            return f"{component}: expected parameters {sorted(expected)}"
    return None
