"""The simulated Meta's side of a business number's life: the verification code it "sends", code
verification, registration with the two-step PIN, deregistration, the display-name request and the
business profile.

Used by both faces of the simulator: the in-process one (a `simulator` number's lifecycle calls, through
`SimulatedNumbers`) and the fake Meta over HTTP (`server.py`, for the `cloud` upstream's tests). The state
is kept in one JSON file in the simulator's folder, so a restart keeps it. The code "sent" is not sent
anywhere: the control API shows it (`GET /api/v1/simulator/numbers/{id}/verification-code`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wagate.cloudapi import number_lifecycle as rules
from wagate.errors import GraphError
from wagate.upstreams.base import MetaRefusal, NumberRef

SUCCESS: dict[str, Any] = {"success": True}


@dataclass
class NumberState:
    """What Meta knows of one number's life. A number Meta has not been told about is live: verified
    and registered (as the numbers tests and demos send from at once)."""

    verified: bool = True
    registered: bool = True
    pin_hash: str | None = None
    pending_code: str | None = None
    new_display_name: str | None = None
    new_name_status: str = "NONE"
    profile: dict[str, Any] = field(default_factory=dict)


def _hash(pin: str) -> str:
    return hashlib.sha256(pin.encode()).hexdigest()


def not_registered() -> GraphError:
    return GraphError(133010, "Phone number is not registered on the WhatsApp Business Platform.")


class Lifecycles:
    """Every number's lifecycle state, with Meta's rules for moving it on."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.numbers: dict[int, NumberState] = {}
        if path is not None and path.is_file():
            for key, raw in json.loads(path.read_text()).items():
                self.numbers[int(key)] = NumberState(**raw)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(k): dataclasses.asdict(v) for k, v in self.numbers.items()}))
        os.replace(tmp, self.path)

    def state(self, number_id: int) -> NumberState:
        return self.numbers.get(number_id) or NumberState()

    def adopt(self, number_id: int, *, verified: bool, registered: bool) -> None:
        """Start following a number in the state given, unless it is followed already."""
        if number_id not in self.numbers:
            self.numbers[number_id] = NumberState(verified=verified, registered=registered)
            self._save()

    def _change(self, number_id: int) -> NumberState:
        return self.numbers.setdefault(number_id, NumberState())

    # -- Meta's calls -----------------------------------------------------------------------------
    def request_code(self, number_id: int, params: dict[str, Any]) -> dict[str, Any]:
        rules.check_code_request(params)
        state = self._change(number_id)
        state.pending_code = f"{secrets.randbelow(1_000_000):06d}"
        self._save()
        return SUCCESS

    def verify_code(self, number_id: int, params: dict[str, Any]) -> dict[str, Any]:
        code = rules.check_verification_code(params)
        state = self._change(number_id)
        if state.pending_code is None or not secrets.compare_digest(state.pending_code, code):
            raise GraphError(136025, "Code couldn't be verified. Request a new code and try again.")
        state.pending_code = None
        state.verified = True
        self._save()
        return SUCCESS

    def register(self, number_id: int, params: dict[str, Any]) -> dict[str, Any]:
        registration = rules.check_registration(params)
        state = self._change(number_id)
        if not state.verified:
            raise GraphError(
                133006, "Verify the phone number (request_code, verify_code) before registering."
            )
        if state.pin_hash is not None and not secrets.compare_digest(state.pin_hash, _hash(registration.pin)):
            raise GraphError(
                133005, "The two-step verification PIN does not match the one set for this number."
            )
        state.pin_hash = _hash(registration.pin)
        state.registered = True
        self._save()
        return SUCCESS

    def deregister(self, number_id: int) -> dict[str, Any]:
        state = self._change(number_id)
        if not state.registered:
            raise GraphError(
                100, None, message="Phone number not registered on the WhatsApp Business Platform."
            )
        state.registered = False
        self._save()
        return SUCCESS

    def update_number(self, number_id: int, params: dict[str, Any]) -> dict[str, Any]:
        """`POST /{phone_number_id}` with `pin` (two-step PIN) and/or `new_display_name` (for review)."""
        if "pin" not in params and "new_display_name" not in params:
            raise GraphError(100, "Give pin or new_display_name.", message="(#100) Invalid parameter")
        pin = rules.check_pin(params) if "pin" in params else None
        name = rules.check_display_name(params) if "new_display_name" in params else None
        state = self._change(number_id)
        if pin is not None:
            state.pin_hash = _hash(pin)
        if name is not None:
            state.new_display_name = name
            state.new_name_status = "PENDING_REVIEW"
        self._save()
        return SUCCESS

    def profile(self, number_id: int, fields: str | None) -> dict[str, Any]:
        wanted = rules.check_profile_fields(fields)
        stored = {**self.state(number_id).profile, "messaging_product": "whatsapp"}
        stored.pop("profile_picture_handle", None)
        return {"data": [{k: stored[k] for k in wanted if k in stored}]}

    def update_profile(self, number_id: int, params: dict[str, Any]) -> dict[str, Any]:
        changes = rules.check_profile_update(params)
        state = self._change(number_id)
        handle = changes.pop("profile_picture_handle", None)
        if handle is not None:
            changes["profile_picture_url"] = f"https://pps.whatsapp.net/v/{_hash(handle)[:24]}.jpg"
        state.profile.update(changes)
        self._save()
        return SUCCESS

    def describe(self, number_id: int) -> dict[str, Any]:
        """The lifecycle fields of `GET /{phone_number_id}`."""
        state = self.state(number_id)
        described: dict[str, Any] = {
            "code_verification_status": "VERIFIED" if state.verified else "UNVERIFIED",
            # Never registered yet (no PIN set): PENDING; deregistered since: DISCONNECTED.
            "status": "CONNECTED"
            if state.registered
            else "PENDING"
            if state.pin_hash is None
            else "DISCONNECTED",
            "new_name_status": state.new_name_status,
        }
        if state.new_display_name is not None:
            described["new_display_name"] = state.new_display_name
        return described

    def check_can_send(self, number_id: int) -> None:
        if not self.state(number_id).registered:
            raise not_registered()

    def current_code(self, number_id: int) -> str | None:
        return self.state(number_id).pending_code


class SimulatedNumbers:
    """The in-process simulator answering a `simulator` number's lifecycle calls as Meta would, with
    the methods of the upstream interface (`upstreams/base.NumberAdmin`); mixed into the simulator."""

    lifecycles: Lifecycles

    async def follow(self, number: NumberRef, *, verified: bool, registered: bool) -> None:
        # The simulator follows a number from the state wagate has recorded for it.
        self.lifecycles.adopt(number.id, verified=verified, registered=registered)

    async def request_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.request_code(number.id, params)

    async def verify_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.verify_code(number.id, params)

    async def register(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.register(number.id, params)

    async def deregister(self, number: NumberRef) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.deregister(number.id)

    async def update_number(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.update_number(number.id, params)

    async def business_profile(self, number: NumberRef, fields: str | None) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.profile(number.id, fields)

    async def update_business_profile(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        with _as_meta():
            return self.lifecycles.update_profile(number.id, params)

    def sent_code(self, number: NumberRef) -> str | None:
        return self.lifecycles.current_code(number.id)


@contextlib.contextmanager
def _as_meta() -> Iterator[None]:
    """A refusal reaches the caller as the `cloud` upstream's does: Meta's error object, whole."""
    try:
        yield
    except GraphError as exc:
        error = exc.to_body()["error"]
        raise MetaRefusal(error, exc.http_status, exc.details or exc.message, None) from exc
