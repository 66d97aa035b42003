"""Which upstream serves a number, and the one at Meta for an account's business there.

The composition root (`web/app.py`) builds the upstreams this process runs, by name; everything else
asks a number's upstream through these functions and the upstream interface (`upstreams/base.py`),
never which upstream it is.
"""

from __future__ import annotations

from wagate.domain.tenancy import PhoneNumber
from wagate.errors import ApiError, GraphError
from wagate.services.runtime import Runtime
from wagate.upstreams.base import Upstream


def running_upstream(rt: Runtime, number: PhoneNumber) -> Upstream | None:
    """The number's upstream when it runs in this process (the simulator runs only in `wagate serve`)."""
    return rt.upstreams.get(number.upstream)


def upstream_for(rt: Runtime, number: PhoneNumber, *, code: int = 131016) -> Upstream:
    """The number's upstream; Meta's error (`code`) when it does not run in this process."""
    upstream = rt.upstreams.get(number.upstream)
    if upstream is None:
        raise GraphError(code, f"the upstream {number.upstream!r} of this number is not running")
    return upstream


def at_meta(rt: Runtime) -> Upstream | None:
    """The upstream that is Meta's Graph API, for what an account does at Meta (its templates, its
    app subscription); None when this process runs none."""
    return next((upstream for upstream in rt.upstreams.values() if upstream.at_meta), None)


def api_at_meta(rt: Runtime) -> Upstream:
    """`at_meta` for a call on /api/v1: wagate's error when there is none."""
    upstream = at_meta(rt)
    if upstream is None:
        raise ApiError("upstream_unavailable", "the cloud upstream is not running", http_status=503)
    return upstream


def copies(rt: Runtime) -> list[Upstream]:
    """The upstreams that keep their own copy of accounts and templates (not at Meta, which holds them)."""
    return [upstream for upstream in rt.upstreams.values() if not upstream.at_meta]
