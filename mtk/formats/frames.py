"""The decoded size a compressed chunk declares, read from its compressor's frame header before decoding.

Zarr's bytes-to-bytes codecs write self-describing frames: zstd (the default) stores the content size in its
frame header, gzip the size modulo 2^32 in its last four bytes (ISIZE), blosc the uncompressed size in its
16-byte header. :func:`frame_bytes` reads them; a frame that does not say (a zstd frame without a content
size, an unknown format) gives None, and the caller refuses it rather than decode it blindly.
"""

from __future__ import annotations

#: bytes to read from a frame's start: enough for any of the headers below
FRAME_HEAD_BYTES = 18
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
#: deflate's most compact encoding expands 1 byte to at most 1032: a bound gzip's ISIZE (mod 2^32) must respect
_DEFLATE_RATIO = 1032


def _zstd(head: bytes) -> int | None:
    """A zstd frame's Frame_Content_Size (RFC 8878, 3.1.1.1), None when the frame omits it."""
    if len(head) < 5:
        return None
    descriptor = head[4]
    fcs_flag, single_segment, dict_flag = descriptor >> 6, (descriptor >> 5) & 1, descriptor & 3
    offset = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_flag]
    size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(head) < offset + size:
        return None
    value = int.from_bytes(head[offset:offset + size], "little")
    return value + 256 if size == 2 else value


def _gzip(tail: bytes, stored: int) -> int | None:
    """A gzip member's ISIZE; None when the file could hold more than 4 GiB decoded (ISIZE wraps there)."""
    if len(tail) != 4 or stored * _DEFLATE_RATIO >= 2**32:
        return None
    return max(int.from_bytes(tail, "little"), 0)


def _blosc(head: bytes) -> int | None:
    """A blosc frame's nbytes (header bytes 4-7), when the header is there."""
    if len(head) < 16 or head[0] not in (1, 2):
        return None
    return int.from_bytes(head[4:8], "little")


def frame_bytes(head: bytes, tail: bytes, stored: int | None = None) -> int | None:
    """The decoded bytes a compressed frame declares: ``head`` its first :data:`FRAME_HEAD_BYTES` bytes,
    ``tail`` its last four, ``stored`` its length. None when the frame does not say."""
    stored = len(head) if stored is None else stored
    if head.startswith(_ZSTD_MAGIC):
        return _zstd(head)
    if head.startswith(_GZIP_MAGIC):
        return _gzip(tail, stored)
    return _blosc(head)
