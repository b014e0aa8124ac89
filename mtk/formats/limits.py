"""What a container may declare, checked before anything is decompressed or allocated.

A container's metadata says how big its arrays are; a compressed chunk says nothing true about its size until it
is inflated. So every container format (Zarr, HDF5, ``.npz``) is held to the same bounds:

- one chunk (a Zarr chunk or shard, an HDF5 chunk, an ``.npz`` member read at once) may declare at most
  :data:`CHUNK_BYTES_LIMIT` once decoded, unless its bytes are stored uncompressed (then the file holds them);
- an array may declare at most :data:`EXPANSION_LIMIT` times the bytes its storage holds (motion features barely
  compress, 1.01-1.14x; token codes 2-10x), above :data:`SMALL_ARRAY_BYTES`;
- metadata read whole (``zarr.json``, HDF5 attributes) may hold at most :data:`METADATA_LIMIT` bytes;
- a zip archive (``.npz``, a torch checkpoint) is judged by its central directory before a member is read: a
  stored member holds its bytes; a deflated one may declare at most :data:`EXPANSION_LIMIT` times its compressed
  bytes above :data:`SMALL_ARRAY_BYTES` (a deflate bomb declares ~1000x); other compressions are refused.
"""

from __future__ import annotations

import zipfile

from mtk.errors import BadInputError

#: the most one chunk may declare decoded: mtk's own are at most ~18 MB (16,384 frames x 272 float32)
CHUNK_BYTES_LIMIT = 256 * 2**20
#: an array may declare this much whatever its storage holds ...
SMALL_ARRAY_BYTES = 64 * 2**20
#: ... and beyond it at most this many times the bytes its storage holds
EXPANSION_LIMIT = 200
#: the most a metadata document or attribute read whole may hold
METADATA_LIMIT = 4 * 2**20


def declared_problem(chunk_bytes: int, total_bytes: int, stored_bytes: int) -> str | None:
    """Why an array declaring ``total_bytes`` in chunks of ``chunk_bytes`` (decoded), stored in
    ``stored_bytes``, declares more than could be real; None when it is within the bounds."""
    if chunk_bytes > CHUNK_BYTES_LIMIT:
        return f"declares chunks of {chunk_bytes:,} bytes (at most {CHUNK_BYTES_LIMIT:,})"
    if total_bytes > SMALL_ARRAY_BYTES and total_bytes > EXPANSION_LIMIT * stored_bytes:
        return (f"declares {total_bytes:,} bytes but stores {stored_bytes:,} (at most {EXPANSION_LIMIT}x, "
                "a decompression bomb or damaged metadata)")
    return None


def metadata_problem(size: int) -> str | None:
    """Why metadata of ``size`` bytes is too large to read whole, or None."""
    if size > METADATA_LIMIT:
        return f"holds {size:,} bytes of metadata (at most {METADATA_LIMIT:,})"
    return None


def zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why the zip member ``info`` declares more than it could hold (see the module doc), or None."""
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            return f"member {info.filename} declares {info.file_size:,} bytes but stores {info.compress_size:,}"
        return None
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return f"member {info.filename} uses compression method {info.compress_type}, which mtk does not read"
    problem = declared_problem(0, info.file_size, info.compress_size)
    return None if problem is None else f"member {info.filename} {problem}"


def zip_problem(path) -> str | None:
    """:func:`zip_member_problem` for every member of the zip archive at ``path``; None when it is not a zip
    archive (another reader judges it) or every member is within the bounds."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return None
    return next(filter(None, map(zip_member_problem, members)), None)


def refuse_zip_bomb(path) -> None:
    """A one-line error when the zip archive at ``path`` (an ``.npz``, a torch file) fails :func:`zip_problem`;
    called before a reader that trusts the archive's directory (``torch.load``) opens it."""
    if problem := zip_problem(path):
        raise BadInputError(path, problem, "the file is damaged or hostile")
