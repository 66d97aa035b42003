"""Operators' passwords (scrypt), e-mail and password rules, and the brake on guessing."""

from __future__ import annotations

import pytest

from wagate.domain import operators as rules


def test_a_password_verifies_against_its_hash_only() -> None:
    stored = rules.hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert rules.verify_password("correct horse battery", stored)
    assert not rules.verify_password("correct horse batterY", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert rules.hash_password("same password") != rules.hash_password("same password")


@pytest.mark.parametrize("stored", ["", "plain", "md5$x$y", "scrypt$1$2$3$!!$!!", rules.DUMMY_HASH])
def test_malformed_or_dummy_hashes_verify_nothing(stored: str) -> None:
    assert not rules.verify_password("anything at all", stored)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert rules.check_email("  Anna@Example.COM ") == "anna@example.com"


@pytest.mark.parametrize("raw", ["", "anna", "anna@", "@example.com", "anna@localhost", "a b@example.com"])
def test_bad_emails(raw: str) -> None:
    with pytest.raises(rules.CredentialError):
        rules.check_email(raw)


def test_password_length() -> None:
    assert rules.check_password("x" * rules.MIN_PASSWORD)
    with pytest.raises(rules.CredentialError):
        rules.check_password("x" * (rules.MIN_PASSWORD - 1))


def test_lockout_rules() -> None:
    assert not rules.should_lock(rules.MAX_FAILURES - 1) and rules.should_lock(rules.MAX_FAILURES)
    assert rules.locked(100.0, 99.0) and not rules.locked(100.0, 100.0) and not rules.locked(None, 0.0)
