"""Tiny valid files of each kind, for simulated customers who send media without saying what."""

from __future__ import annotations

import base64
import struct
import zlib


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A 1×1 white 8-bit RGB PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def webp() -> bytes:
    """A 1×1 static lossless WebP (the image browsers are probed with)."""
    return base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def mp3(frames: int = 10) -> bytes:
    """About a quarter of a second of silence: MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz, mono.

    Each frame is its 4-byte header and 413 zero bytes; zero side information means no audio data.
    """
    return (b"\xff\xfb\x90\xc0" + bytes(413)) * frames


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4() -> bytes:
    """An MP4 container holding an empty movie (a file type box and a movie header, no tracks)."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, 1000, 0)  # version+flags, created, modified, timescale, duration
        + struct.pack(">IH", 0x10000, 0x100)  # rate 1.0, volume 1.0
        + bytes(10)
        + matrix
        + bytes(24)
        + struct.pack(">I", 1),  # next track id
    )
    return ftyp + _box(b"moov", mvhd)


def text_document() -> bytes:
    return b"A document sent by a simulated customer.\n"


def sample(kind: str) -> tuple[str, bytes, str | None]:
    """(MIME type, bytes, file name) of a small file of `kind` (image, sticker, audio, video, document)."""
    if kind == "image":
        return "image/png", png(), None
    if kind == "sticker":
        return "image/webp", webp(), None
    if kind == "audio":
        return "audio/mpeg", mp3(), None
    if kind == "video":
        return "video/mp4", mp4(), None
    if kind == "document":
        return "text/plain", text_document(), "document.txt"
    raise ValueError(f"no sample file for {kind!r}")
