"""Refusing server-side request forgery: targets must be public addresses, checked after DNS resolution.

Every URL wagate calls or fetches on someone's say-so (webhook targets, media links, the Graph base URL)
goes through `check_url` (scheme, host, literal addresses) and is connected through `SafeResolver`, which
checks each address a name resolves to at the moment of connecting, so a name that later resolves to a
private address (DNS rebinding) is refused too. Redirects must not be followed (`allow_redirects=False`):
a redirect to a literal address would skip the resolver.

Private, loopback, link-local, multicast, reserved and unspecified addresses are refused unless the
deployment allows them (`WAGATE_ALLOW_PRIVATE_TARGETS`, which tests set for loopback). A host written as
a number in the old IPv4 forms (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) is the address it stands
for, as the system's resolver reads it.

Names are resolved by the system's resolver; `resolving_with` puts another behind every `SafeResolver`
(a `StaticResolver` answers from a table: tests use it to name private addresses, and names whose
answer changes, without asking any DNS server).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from wagate.errors import WagateError


class UnsafeTarget(WagateError):
    """A URL wagate will not call: not http(s), no host, or an address that is not public."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# A host that may be an IPv4 address in a legacy form: digits first, then only hex digits, x and dots.
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fA-FxX.]*")


def literal_address(host: str) -> str | None:
    """The address a host written as an address stands for (None for a name): the usual forms, and the
    old IPv4 ones the system's resolver also reads (decimal, octal, hex, fewer than four parts)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


# Said with every refusal of a private address: how to allow them, for a receiver on this machine.
PRIVATE_HINT = (
    "; to let wagate call private addresses (a receiver on this machine or network), "
    "start it with WAGATE_ALLOW_PRIVATE_TARGETS=1"
)


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL's host after checking the scheme and, for a literal address, that it may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"{url!r}: only http and https URLs are allowed")
    try:
        host = parts.hostname
    except ValueError:
        raise UnsafeTarget(f"{url!r}: the URL's host cannot be read") from None
    if not host:
        raise UnsafeTarget(f"{url!r}: the URL has no host")
    address = literal_address(host)
    if address is None:
        return host  # a name: checked when it is resolved, see SafeResolver
    if not allow_private and not is_public(address):
        raise UnsafeTarget(f"{url!r}: {host} is not a public address{PRIVATE_HINT}")
    return host


class StaticResolver(AbstractResolver):
    """Answers from a table instead of DNS: each name maps to the addresses it resolves to in turn, one per
    resolution, the last repeating (two entries make a name that changes its answer: DNS rebinding). A
    name not in the table does not resolve; a literal address resolves to itself."""

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        self._answers = {name.lower(): list(addresses) for name, addresses in names.items()}
        self.asked: list[str] = []  # the names resolved, in order

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address = literal_address(host)
        if address is None:
            answers = self._answers.get(host.lower().rstrip("."))
            if not answers:
                raise OSError(socket.EAI_NONAME, f"{host} does not resolve")
            address = answers.pop(0) if len(answers) > 1 else answers[0]
        ip = ipaddress.ip_address(address)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


_base_resolver: Callable[[], AbstractResolver] = DefaultResolver


@contextlib.contextmanager
def resolving_with(resolver: AbstractResolver) -> Iterator[None]:
    """Every `SafeResolver` made inside the block resolves through `resolver` (then checks as always)."""
    global _base_resolver
    previous = _base_resolver
    _base_resolver = lambda: resolver  # noqa: E731 - the one resolver, shared by every SafeResolver
    try:
        yield
    finally:
        _base_resolver = previous


class SafeResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses names with any non-public address."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._resolver = _base_resolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if not self.allow_private:
            refused = [r["host"] for r in results if not is_public(r["host"])]
            if refused:
                raise UnsafeTarget(
                    f"{host} resolves to {', '.join(refused)}, which is not a public address{PRIVATE_HINT}"
                )
        return results

    async def close(self) -> None:
        await self._resolver.close()


def safe_session(
    *, allow_private: bool, timeout: float, limit: int = 100, **kwargs: Any
) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection is checked by `SafeResolver`."""
    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow_private=allow_private), limit=limit)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs)
