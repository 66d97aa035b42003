"""Reading the host of a URL wagate is asked to call: addresses in every spelling, and names."""

from __future__ import annotations

import pytest

from wagate.net.addresses import StaticResolver, UnsafeTarget, check_url, is_public, literal_address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("1password.com", None),
        ("deadbeef", None),
        ("123abc.example", None),
    ],
)
def test_a_host_is_read_as_the_system_resolver_reads_it(host: str, address: str | None) -> None:
    assert literal_address(host) == address


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://[::1]/",
    ],
)
def test_literal_private_addresses_are_refused_in_any_spelling(url: str) -> None:
    with pytest.raises(UnsafeTarget, match="not a public address"):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True)


def test_mapped_ipv6_is_judged_by_its_ipv4_address() -> None:
    assert not is_public("::ffff:10.0.0.1") and is_public("::ffff:93.184.216.34")


async def test_a_static_name_answers_in_turn_then_repeats_its_last_answer() -> None:
    names = StaticResolver({"rebind.example.test": ["93.184.216.34", "127.0.0.1"]})
    answers = [(await names.resolve("rebind.example.test", 80))[0]["host"] for _ in range(3)]
    assert answers == ["93.184.216.34", "127.0.0.1", "127.0.0.1"]
    assert (await names.resolve("2130706433", 80))[0]["host"] == "127.0.0.1"
    with pytest.raises(OSError, match="does not resolve"):
        await names.resolve("unknown.example.test", 80)
