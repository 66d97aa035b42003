"""The Graph API versions Meta has released: a path's `{version}` must name one of them.

From Meta's Graph API changelog: v2.0 to v2.12, v3.0 to v3.3, then one major version at a time with
minor 0, v4.0 (2019) to v27.0 (2026-11-04). Meta serves an expired version as its oldest available
one, so an old version is accepted; a version Meta never released (`v1.0`, `v99.0`, `v23.1`) is not.
"""

from __future__ import annotations

import re

LATEST_MAJOR = 27
_SHAPE = re.compile(r"v(\d{1,2})\.(\d{1,2})")


def is_known(version: str) -> bool:
    match = _SHAPE.fullmatch(version)
    if match is None:
        return False
    major, minor = int(match[1]), int(match[2])
    if major == 2:
        return minor <= 12
    if major == 3:
        return minor <= 3
    return 4 <= major <= LATEST_MAJOR and minor == 0
