"""Media rules without I/O: the MIME/size table, signed URLs, id translation; the store contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wagate.errors import GraphError
from wagate.media import rules, samples, urls
from wagate.media.store import LocalMediaStore, MediaNotStored, MediaStore, MemoryMediaStore, new_key
from wagate.media.translate import media_ids, replace_media_ids

ANIMATED_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + bytes(16)


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("audio/aac", "audio"),
        ("audio/amr", "audio"),
        ("audio/mpeg", "audio"),
        ("audio/mp4", "audio"),
        ("audio/ogg; codecs=opus", "audio"),
        ("text/plain", "document"),
        ("application/pdf", "document"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document"),
        ("image/jpeg", "image"),
        ("IMAGE/PNG", "image"),
        ("image/webp", "sticker"),
        ("video/mp4", "video"),
        ("video/3gpp", "video"),
    ],
)
def test_each_supported_type_is_accepted(mime: str, kind: str) -> None:
    assert rules.check_upload(mime, b"x") == rules.base_mime(mime)
    assert rules.kind_of(mime) == kind


@pytest.mark.parametrize("mime", ["image/gif", "application/zip", "video/quicktime", "audio/wav", ""])
def test_unsupported_or_missing_type_is_131053(mime: str) -> None:
    with pytest.raises(GraphError) as caught:
        rules.check_upload(mime, b"x")
    assert caught.value.code == 131053 and caught.value.details


@pytest.mark.parametrize(
    ("mime", "limit"),
    [
        ("image/png", 5 * rules.MB),
        ("audio/mpeg", 16 * rules.MB),
        ("video/mp4", 16 * rules.MB),
    ],
)
def test_size_limits(mime: str, limit: int) -> None:
    assert rules.size_limit(mime, b"") == limit
    rules.check_upload(mime, bytes(limit))
    with pytest.raises(GraphError, match="at most") as caught:
        rules.check_upload(mime, bytes(limit + 1))
    assert caught.value.code == 131053


def test_documents_may_be_largest() -> None:
    assert rules.size_limit("application/pdf", b"") == rules.MAX_UPLOAD == 100 * rules.MB


def test_static_and_animated_stickers_have_their_own_limits() -> None:
    assert not rules.is_animated_webp(samples.webp())
    assert rules.is_animated_webp(ANIMATED_WEBP)
    static = samples.webp() + bytes(100 * rules.KB)
    with pytest.raises(GraphError):
        rules.check_upload("image/webp", static)
    rules.check_upload("image/webp", ANIMATED_WEBP + bytes(400 * rules.KB))


def test_empty_file_is_refused() -> None:
    with pytest.raises(GraphError, match="empty"):
        rules.check_upload("image/png", b"")


def test_what_may_be_sent_as_what() -> None:
    assert rules.sendable_as("image", "image/png")
    assert not rules.sendable_as("image", "image/webp")
    assert rules.sendable_as("sticker", "image/webp")
    assert not rules.sendable_as("audio", "video/mp4")
    assert rules.sendable_as("document", "application/zip")


def test_the_largest_file_of_each_kind() -> None:
    assert rules.largest("image") == 5 * rules.MB
    assert rules.largest("audio") == rules.largest("video") == 16 * rules.MB
    assert rules.largest("document") == 100 * rules.MB
    assert rules.largest("sticker") == 500 * rules.KB  # an animated one's


def test_a_linked_file_must_be_of_its_kinds_types() -> None:
    assert rules.check_linked_type("image", "image/PNG; charset=binary") == "image/png"
    for kind, mime in [("image", "image/webp"), ("image", "text/html"), ("audio", "video/mp4")]:
        with pytest.raises(GraphError, match="must be one of") as caught:
            rules.check_linked_type(kind, mime)
        assert caught.value.code == 131053
        assert f"'{mime}'" in (caught.value.details or "")
    # Unlike media sent by id (`sendable_as`), a document by link is of a document type.
    with pytest.raises(GraphError, match="application/pdf"):
        rules.check_linked_type("document", "application/zip")


def test_a_linked_file_must_fit_its_limit() -> None:
    assert rules.check_linked_file("image", "image/jpeg", 5 * rules.MB, animated=False) == "image/jpeg"
    with pytest.raises(GraphError, match="at most 5242880 bytes"):
        rules.check_linked_file("image", "image/jpeg", 5 * rules.MB + 1, animated=False)
    with pytest.raises(GraphError, match="empty"):
        rules.check_linked_file("document", "application/pdf", 0, animated=False)
    assert rules.check_linked_file("sticker", "image/webp", 400 * rules.KB, animated=True)
    with pytest.raises(GraphError, match="at most 102400 bytes"):
        rules.check_linked_file("sticker", "image/webp", 400 * rules.KB, animated=False)
    with pytest.raises(GraphError, match="must be one of"):
        rules.check_linked_file("sticker", "image/png", 10, animated=False)


def test_samples_are_what_they_claim() -> None:
    for kind in rules.KINDS:
        mime, data, _ = samples.sample(kind)
        assert rules.kind_of(mime) == kind
        assert rules.check_upload(mime, data) == mime
    assert samples.png().startswith(b"\x89PNG\r\n\x1a\n")
    assert samples.mp4()[4:8] == b"ftyp"
    with pytest.raises(ValueError):
        samples.sample("location")


# -- signed download URLs ---------------------------------------------------------------------------
def test_url_signature_holds_until_expiry(tmp_path: Path) -> None:
    secret = urls.url_secret(tmp_path)
    assert urls.url_secret(tmp_path) == secret and len(secret) == 32
    path = urls.download_path(secret, 123, now=1000.0)
    assert path.startswith(urls.DOWNLOAD_PREFIX + "123?")
    query = dict(part.split("=") for part in path.split("?")[1].split("&"))
    assert query["expires"] == str(1000 + int(urls.URL_LIFETIME))
    assert urls.check_download(secret, 123, query["expires"], query["sig"], now=1200.0)
    assert not urls.check_download(secret, 123, query["expires"], query["sig"], now=1301.0)
    assert not urls.check_download(secret, 124, query["expires"], query["sig"], now=1200.0)
    later = str(int(query["expires"]) + 3600)
    assert not urls.check_download(secret, 123, later, query["sig"], now=1200.0)
    assert not urls.check_download(secret, 123, None, query["sig"], now=1200.0)
    assert not urls.check_download(b"x" * 32, 123, query["expires"], query["sig"], now=1200.0)


def test_url_secret_survives_and_differs_per_deployment(tmp_path: Path) -> None:
    first = urls.url_secret(tmp_path / "a")
    assert (tmp_path / "a" / "media-url.key").read_bytes() == first
    assert urls.url_secret(tmp_path / "b") != first


# -- ids in send bodies -----------------------------------------------------------------------------
def test_media_ids_are_found_and_replaced_everywhere() -> None:
    payload: dict[str, Any] = {
        "type": "template",
        "image": {"id": "1", "caption": "top"},
        "interactive": {"header": {"type": "video", "video": {"id": "2"}}},
        "template": {
            "components": [
                {"type": "header", "parameters": [{"type": "document", "document": {"id": "3"}}]},
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://a/b.png"}}]},
                {"type": "carousel", "cards": [{"components": [{"parameters": [{"image": {"id": "4"}}]}]}]},
            ]
        },
    }
    assert media_ids(payload) == {"1", "2", "3", "4"}
    replaced = replace_media_ids(payload, {"1": "a", "2": "b", "3": "c", "4": "d"})
    assert media_ids(replaced) == {"a", "b", "c", "d"}
    assert replaced["image"] == {"id": "a", "caption": "top"}
    assert replaced["template"]["components"][1] == payload["template"]["components"][1]
    assert media_ids(payload) == {"1", "2", "3", "4"}, "the original is left as it was"
    assert media_ids({"type": "text", "text": {"body": "image"}}) == set()


# -- the store contract, for every implementation ---------------------------------------------------
STORES: dict[str, Callable[[Path], MediaStore]] = {
    "local": lambda root: LocalMediaStore(root / "media"),
    "memory": lambda root: MemoryMediaStore(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    return STORES[request.param](tmp_path)


async def test_store_puts_reads_and_deletes(store: MediaStore) -> None:
    key = new_key()
    with pytest.raises(MediaNotStored):
        await store.read(key)
    await store.put(key, b"hello")
    assert await store.read(key) == b"hello"
    await store.put(key, b"replaced")
    assert await store.read(key) == b"replaced"
    await store.delete(key)
    await store.delete(key)
    with pytest.raises(MediaNotStored):
        await store.read(key)


@pytest.mark.parametrize("key", ["../escape", "a/b", ".hidden", "", "x" * 300])
async def test_store_refuses_keys_that_are_not_plain_names(store: MediaStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x")


async def test_local_store_leaves_only_the_file(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    key = new_key()
    await store.put(key, b"data")
    assert [p.name for p in (tmp_path / "media").iterdir()] == [key]
