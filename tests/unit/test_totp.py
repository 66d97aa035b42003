"""TOTP (RFC 6238): the published SHA-1 test vectors, the window, single use, the provisioning URI."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from wagate.domain import totp

# RFC 6238, appendix B: the SHA-1 seed and its 8-digit codes.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("t", "code"), RFC_VECTORS)
def test_rfc_6238_vectors(t: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, t, digits=8) == code
    assert totp.verify(RFC_SECRET, code, t, digits=8) == t // 30


def test_six_digit_codes_are_the_last_six_of_the_rfc_ones() -> None:
    # Dynamic truncation takes the value modulo 10^digits, so 6 digits are the 8-digit code's tail.
    for t, code in RFC_VECTORS:
        assert totp.code_at(RFC_SECRET, t) == code[-6:]


def test_one_step_either_side_is_accepted_and_no_further() -> None:
    secret = totp.new_secret()
    t = 1_700_000_000.0
    code = totp.code_at(secret, t)
    assert totp.verify(secret, code, t + 30) == totp.step_at(t)
    assert totp.verify(secret, code, t - 30) == totp.step_at(t)
    assert totp.verify(secret, code, t + 60) is None
    assert totp.verify(secret, code, t - 60) is None


def test_a_code_is_accepted_once() -> None:
    secret = totp.new_secret()
    t = 1_700_000_000.0
    step = totp.verify(secret, totp.code_at(secret, t), t)
    assert step is not None
    assert totp.verify(secret, totp.code_at(secret, t), t + 5, last_step=step) is None
    # The next step's code still works.
    assert totp.verify(secret, totp.code_at(secret, t + 30), t + 30, last_step=step) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 345"])
def test_malformed_codes_are_refused(bad: str) -> None:
    assert totp.verify(totp.new_secret(), bad, 1_700_000_000.0) is None


def test_secrets_are_random_base32_of_160_bits() -> None:
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(totp.secret_bytes(first)) == 20


def test_provisioning_uri_names_the_account_issuer_and_parameters() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "demo/anna@example.com")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == "/wagate:demo/anna@example.com"
    assert parse_qs(parts.query) == {
        "secret": ["JBSWY3DPEHPK3PXP"],
        "issuer": ["wagate"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
