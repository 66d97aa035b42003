"""Refusing server-side request forgery: targets must be public addresses, checked after DNS resolution.

Every URL wagate calls or fetches on someone's say-so (webhook targets, media links, the Graph base URL)
goes through `check_url` (scheme, host, literal addresses) and is connected through `SafeResolver`, which
checks each address a name resolves to at the moment of connecting, so a name that later resolves to a
private address (DNS rebinding) is refused too. Redirects must not be followed (`allow_redirects=False`):
a redirect to a literal address would skip the resolver.

Private, loopback, link-local, multicast, reserved and unspecified addresses are refused unless the
deployment allows them (`WAGATE_ALLOW_PRIVATE_TARGETS`, which tests set for loopback).
"""

from __future__ import annotations

import ipaddress
import socket
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


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL's host after checking the scheme and, for a literal address, that it may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"{url!r}: only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeTarget(f"{url!r}: the URL has no host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host  # a name: checked when it is resolved, see SafeResolver
    if not allow_private and not is_public(host):
        raise UnsafeTarget(f"{url!r}: {host} is not a public address")
    return host


class SafeResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses names with any non-public address."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if not self.allow_private:
            refused = [r["host"] for r in results if not is_public(r["host"])]
            if refused:
                raise UnsafeTarget(f"{host} resolves to {', '.join(refused)}, which is not a public address")
        return results

    async def close(self) -> None:
        await self._resolver.close()


def safe_session(
    *, allow_private: bool, timeout: float, limit: int = 100, **kwargs: Any
) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection is checked by `SafeResolver`."""
    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow_private=allow_private), limit=limit)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs)
