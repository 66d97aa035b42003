"""A failed outbound HTTP call told in words a person can act on, never as a Python repr."""

from __future__ import annotations

import os
import ssl

import aiohttp


def describe(exc: BaseException, *, timeout: float | None = None) -> str:
    """What went wrong with a call: the name did not resolve, the connection was refused, no answer…"""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"the name {exc.host} does not resolve"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {exc.host} was refused: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
        return f"the TLS handshake failed: {_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {exc.host}:{exc.port}: {_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without an answer"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "no answer in time" if timeout is None else f"no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer was cut short: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"{exc.url} is not a valid URL"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        text = os.strerror(exc.errno) if exc.errno else (exc.strerror or "")
        if text:
            return text[0].lower() + text[1:]
    return str(exc) or type(exc).__name__
