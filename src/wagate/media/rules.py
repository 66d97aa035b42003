"""Which files WhatsApp takes: MIME types and size limits per kind of media (reference, section 3).

Pure functions; errors are Meta's 131053 with `error_data.details` saying what is wrong.
"""

from __future__ import annotations

from wagate.errors import GraphError

MB = 1024 * 1024
KB = 1024

KINDS = ("audio", "document", "image", "sticker", "video")

# Meta writes the limits in MB; the binary unit is the more lenient reading.
_TYPES: dict[str, tuple[str, int]] = {
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 100 * MB),
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("sticker", 500 * KB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
}
STATIC_STICKER_MAX = 100 * KB
# The largest file any kind allows: uploads beyond it are refused while they stream in.
MAX_UPLOAD = max(limit for _, limit in _TYPES.values())

SUPPORTED = tuple(_TYPES)


def base_mime(mime_type: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`."""
    return mime_type.split(";", 1)[0].strip().lower()


def kind_of(mime_type: str) -> str | None:
    """The kind of media (image, sticker, ...) a MIME type uploads as, or None if WhatsApp refuses it."""
    entry = _TYPES.get(base_mime(mime_type))
    return None if entry is None else entry[0]


def is_animated_webp(data: bytes) -> bool:
    """An extended WebP (VP8X chunk first) with its animation flag set."""
    return len(data) > 20 and data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X" and bool(data[20] & 0x02)


def size_limit(mime_type: str, data: bytes) -> int:
    return _limit(base_mime(mime_type), is_animated_webp(data))


def _limit(mime: str, animated: bool) -> int:
    kind, limit = _TYPES[mime]
    if kind == "sticker" and not animated:
        return STATIC_STICKER_MAX
    return limit


def largest(kind: str) -> int:
    """The most bytes any file sent as `kind` may have (an animated sticker's, for stickers)."""
    return max(limit for of_kind, limit in _TYPES.values() if of_kind == kind)


def check_upload(mime_type: str | None, data: bytes) -> str:
    """The normalized MIME type of an upload WhatsApp accepts; 131053 naming the problem otherwise."""
    if not mime_type:
        raise GraphError(
            131053, "The MIME type of the file is missing: set the type field or the file's type."
        )
    mime = base_mime(mime_type)
    if mime not in _TYPES:
        raise GraphError(
            131053,
            f"Param file must be a file with one of the following types: {', '.join(SUPPORTED)}. "
            f"Received file of type '{mime}'.",
        )
    _check_size(mime, len(data), is_animated_webp(data))
    return mime


def check_linked_type(kind: str, mime_type: str) -> str:
    """The normalized MIME type of a file to be sent as `kind` by link, if it is one of that kind's
    types; 131053 naming them otherwise. Stricter than `sendable_as`: a link is fetched as an upload
    is taken, so a document must be of a document type too."""
    mime = base_mime(mime_type)
    if kind_of(mime) != kind:
        accepted = ", ".join(m for m, (of_kind, _) in _TYPES.items() if of_kind == kind)
        raise GraphError(131053, f"The file is of type '{mime}'; {kind} media must be one of: {accepted}.")
    return mime


def check_linked_file(kind: str, mime_type: str, size: int, *, animated: bool) -> str:
    """The normalized MIME type of a file of `size` bytes to be sent as `kind` by link (`animated`: an
    animated WebP); 131053 naming the problem if WhatsApp would not take it."""
    mime = check_linked_type(kind, mime_type)
    _check_size(mime, size, animated)
    return mime


def _check_size(mime: str, size: int, animated: bool) -> None:
    if size == 0:
        raise GraphError(131053, "The file is empty.")
    limit = _limit(mime, animated)
    if size > limit:
        kind = _TYPES[mime][0]
        raise GraphError(
            131053,
            f"The {kind} file is {size} bytes; files of type {mime} may have at most {limit} bytes.",
        )


def sendable_as(kind: str, mime_type: str) -> bool:
    """Whether media of `mime_type` may be sent as a message (or header) of `kind`.

    A document may be any file (customers send archives and other types WhatsApp then forwards);
    the other kinds need a MIME type of their own row of the table.
    """
    if kind == "document":
        return True
    return kind_of(mime_type) == kind
