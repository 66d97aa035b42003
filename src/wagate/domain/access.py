"""Who may do what with an API token: scopes, expiry, and the caller a request acts as."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from wagate.domain.tenancy import Organization


class Scope(StrEnum):
    """What a token may do. `send`: send messages, upload media, mark read. `read`: every GET.
    `manage`: templates, webhook subscriptions, contacts and consent, policy, numbers, tokens, audit."""

    SEND = "send"
    READ = "read"
    MANAGE = "manage"


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)
# What a login session may do: an operator reads and answers conversations, and changes nothing else.
SESSION_SCOPES: frozenset[Scope] = frozenset({Scope.READ, Scope.SEND})
SESSION_SECONDS = 12 * 3600

_READING_METHODS = frozenset({"GET", "HEAD"})


def scope_of(method: str, write: Scope) -> Scope:
    """The scope of one route serving both reads and writes: `read` for GET, `write` otherwise."""
    return Scope.READ if method.upper() in _READING_METHODS else write


class ScopeError(ValueError):
    """A scope or a duration that cannot be parsed."""


def parse_scopes(raw: Iterable[str]) -> frozenset[Scope]:
    """Scopes by name; none given means all of them (a token as before scopes existed)."""
    names = [name.strip().lower() for name in raw]
    unknown = sorted(set(names) - {scope.value for scope in Scope})
    if unknown:
        raise ScopeError(f"unknown scope {', '.join(unknown)} (expected send, read or manage)")
    return frozenset(Scope(name) for name in names) or ALL_SCOPES


_DURATION = re.compile(r"(\d{1,6})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(raw: str) -> float:
    """`90s`, `15m`, `12h`, `30d`, `2w` in seconds (more than zero)."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ScopeError(f"invalid duration {raw!r} (expected a number and s, m, h, d or w, e.g. 30d)")
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def scopes_json(scopes: frozenset[Scope]) -> list[str]:
    """Scopes in a stable order, for storage and answers."""
    return [scope.value for scope in Scope if scope in scopes]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes something, as the audit log names them (`token:12`, `cli`, `operator:3`), and the
    address the change came from when it came over HTTP."""

    name: str
    ip: str | None = None


CLI = Actor("cli")


@dataclass(frozen=True, slots=True)
class Caller:
    """An organization acting through one API token."""

    org: Organization
    token_id: int
    scopes: frozenset[Scope]
    expires_at: float | None = None

    def actor(self, ip: str | None = None) -> Actor:
        """This caller as the audit log names it."""
        return Actor(f"token:{self.token_id}", ip)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes
