"""An organization's policy settings: the effective values, and changing some of them."""

from __future__ import annotations

from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.consent import normalize
from wagate.domain.policy_settings import PolicySettings, check_policy
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError
from wagate.services.runtime import Runtime
from wagate.store import consent as store
from wagate.store.audit import Entry, WithAudit

MAX_REPLY = 4096  # a WhatsApp text body
_change_decoder = msgspec.json.Decoder(dict[str, Any])
_stored_decoder = msgspec.json.Decoder(dict[str, Any])


def present(settings: PolicySettings) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(settings)
    return shown


async def get_policy(rt: Runtime, org: Organization) -> dict[str, Any]:
    """The effective settings: what the organization set, defaults for the rest."""
    return present(await rt.db.read(lambda conn: store.load_policy(conn, org.id)))


async def do_change_policy(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    """Merge the given keys over the stored ones (a key given as null goes back to its default); nothing
    changes unless the result is valid."""
    try:
        change = _change_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", f"the body must be a JSON object: {exc}") from exc
    stored = await rt.db.read(lambda conn: store.stored_policies(conn, [org.id]))
    merged = _stored_decoder.decode(stored[org.id]) if org.id in stored else {}
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    try:
        settings = msgspec.convert(merged, PolicySettings)
    except msgspec.ValidationError as exc:
        raise ApiError("invalid_request", str(exc), problems=[str(exc)]) from exc
    problems = check_policy(settings) + _reply_problems(settings) + _keyword_problems(settings)
    if problems:
        raise ApiError("invalid_request", "; ".join(problems), problems=problems)
    overrides = {key: msgspec.to_builtins(getattr(settings, key)) for key in merged}
    now = rt.clock.now()
    entry = Entry("policy.update", "policy", org.id, {"changed": sorted(change)})
    await rt.db.write(WithAudit(store.SavePolicy(org.id, overrides, now), org.id, by, now, lambda _: entry))
    rt.policies.put(org.id, settings)
    return present(settings)


def _reply_problems(settings: PolicySettings) -> list[str]:
    problems = []
    for field in ("opt_out_reply", "opt_in_reply"):
        for language, text in getattr(settings, field).items():
            if not text.strip() or len(text) > MAX_REPLY:
                problems.append(f"{field}.{language}: a reply of 1 to {MAX_REPLY} characters")
    return problems


def _keyword_problems(settings: PolicySettings) -> list[str]:
    """A word cannot both opt out and opt in."""
    opting_out = {normalize(w) for words in settings.opt_out_keywords.values() for w in words}
    both = sorted(
        {w for words in settings.opt_in_keywords.values() for w in words if normalize(w) in opting_out}
    )
    return [f"{word!r} is both an opt-out and an opt-in keyword" for word in both]
