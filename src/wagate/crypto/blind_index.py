"""A blind index for search over sealed text: keyed HMACs of words and word prefixes.

A contact's name and attribute values are sealed, so the database cannot search them. Instead each
casefolded word is stored as a short HMAC under a key derived from the encryption key, and so is each
of its prefixes of `MIN_PREFIX` to `MAX_PREFIX` characters; a query is turned into the same tokens.
Equal words give equal tokens: the index shows which rows share a word (not which word).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from wagate.crypto.keys import Key, KeyRing

MIN_PREFIX = 3
MAX_PREFIX = 16
_TOKEN_HEX = 16  # 64 bits: collisions among one organization's words are out of reach
_WORD = re.compile(r"\w+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _token(key: Key, word: str) -> str:
    digest = hmac.new(key.index_secret, word.encode(), hashlib.sha256).hexdigest()
    return f"{key.id}.{digest[:_TOKEN_HEX]}"


def index_of(ring: KeyRing, texts: Iterable[str]) -> str:
    """The tokens of every word and word prefix in `texts`, under the current key, space-separated
    with a space at each end so that a token is found as ` token `."""
    wanted: set[str] = set()
    for text in texts:
        for word in words_of(text):
            wanted.add(word)
            wanted.update(word[:n] for n in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1))
    key = ring.current
    return " " + " ".join(sorted(_token(key, w) for w in wanted)) + " "


def query_tokens(ring: KeyRing, query: str) -> list[list[str]]:
    """Per word of the query, its token under each key of the ring (an index not yet rotated is still
    found). A word longer than `MAX_PREFIX` is looked for by its indexed prefix."""
    return [[f" {_token(key, word[:MAX_PREFIX])} " for key in ring.keys] for word in words_of(query)]
