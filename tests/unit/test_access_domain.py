"""Scopes, durations and the caller of a token: parsing and the rules, without I/O."""

from __future__ import annotations

import pytest

from wagate.domain.access import (
    ALL_SCOPES,
    Caller,
    Scope,
    ScopeError,
    parse_duration,
    parse_scopes,
    scope_of,
    scopes_json,
)
from wagate.domain.tenancy import Organization


def test_no_scopes_means_all_and_names_are_case_insensitive() -> None:
    assert parse_scopes([]) == ALL_SCOPES
    assert parse_scopes(["Send", " read "]) == {Scope.SEND, Scope.READ}
    assert scopes_json(parse_scopes(["manage", "send"])) == ["send", "manage"]


def test_unknown_scopes_are_named() -> None:
    with pytest.raises(ScopeError, match="admin, write"):
        parse_scopes(["read", "write", "admin"])


@pytest.mark.parametrize(
    ("raw", "seconds"), [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2W", 1209600)]
)
def test_durations(raw: str, seconds: int) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", "0d", "30", "d", "1.5h", "-1d", "10y"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(ScopeError):
        parse_duration(raw)


def test_reading_methods_need_read_and_others_the_route_scope() -> None:
    assert scope_of("GET", Scope.MANAGE) is Scope.READ
    assert scope_of("head", Scope.MANAGE) is Scope.READ
    assert scope_of("PATCH", Scope.MANAGE) is Scope.MANAGE
    assert scope_of("POST", Scope.SEND) is Scope.SEND


def test_a_caller_expires_at_its_time_and_is_named_by_its_token() -> None:
    caller = Caller(
        Organization(1, "Demo", "demo", "TIER_250"), 12, frozenset({Scope.READ}), expires_at=100.0
    )
    assert not caller.expired(99.9) and caller.expired(100.0)
    assert caller.may(Scope.READ) and not caller.may(Scope.SEND)
    assert caller.actor("10.0.0.1").name == "token:12" and caller.actor("10.0.0.1").ip == "10.0.0.1"
    assert not Caller(caller.org, 1, ALL_SCOPES).expired(1e12)
