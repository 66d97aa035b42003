"""A failed call is told in words, never as a Python repr."""

from __future__ import annotations

import socket

import aiohttp

from wagate.net.failures import describe


async def _failure(url: str) -> BaseException:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        try:
            async with session.get(url):
                pass
        except aiohttp.ClientError as exc:
            return exc
    raise AssertionError(f"{url} answered")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_names_the_host_and_the_reason() -> None:
    port = _closed_port()
    text = describe(await _failure(f"http://127.0.0.1:{port}/"))
    assert text == f"could not connect to 127.0.0.1:{port}: connection refused"


async def test_a_name_that_does_not_resolve_says_so() -> None:
    text = describe(await _failure("http://nowhere.invalid/"))
    assert text == "the name nowhere.invalid does not resolve"
    assert "ConnectionKey" not in text


def test_a_timeout_says_how_long_was_waited() -> None:
    assert describe(TimeoutError(), timeout=10) == "no answer within 10 s"
