"""Who a request acts as: the audit log's actor for the caller of a token, with the client's address."""

from __future__ import annotations

from starlette.requests import Request

from wagate.domain.access import Actor, Caller


def client_ip(request: Request) -> str | None:
    """The peer's address (a proxy in front of wagate appears as itself)."""
    return request.client.host if request.client is not None else None


def actor_of(request: Request, caller: Caller) -> Actor:
    return caller.actor(client_ip(request))
