"""Zarr v3 dataset stores, local paths or fsspec URLs (layout in :mod:`mtk.formats.ragged_store`).

Features are sharded (shards are the unit of writing, chunks the unit of reading) and stored without a
compressor: motion features barely compress (1.01-1.14x with Blosc/Zstd on the real 263/272 samples), and
uncompressed chunks let local stores serve random training windows by direct reads (:class:`ShardFiles`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError
from mtk.formats.datasets import inspector
from mtk.formats.limits import CHUNK_BYTES_LIMIT, declared_problem, metadata_problem
from mtk.formats.frames import FRAME_HEAD_BYTES, frame_bytes
from mtk.formats.ragged_store import TEXT_CHUNK, TEXT_CHUNKS_ATTR, RaggedReader, RaggedWriter, read_rows_direct, string_blocks
from mtk.formats.registry import register_format
from mtk.io.atomic import atomic_file
from mtk.io.contained import Root
from mtk.io.location import Tree, is_url

#: chunks in one shard index entry: (offset, nbytes) uint64; the index ends with a crc32c checksum
INDEX_ENTRY_BYTES, INDEX_CHECKSUM_BYTES = 16, 4
EMPTY_CHUNK = np.iinfo(np.uint64).max


def missing_shard(path: str, why: str = "a shard below the store's last frame") -> BadInputError:
    """The error for an absent shard or chunk file: an mtk store writes every one, so it is never zeros."""
    return BadInputError(path, f"is missing ({why})", "the store is incomplete or damaged; rewrite it with mtk convert")


#: the metadata documents of Zarr v3 (and v2) hierarchies, read whole by zarr
METADATA_FILES = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")


def open_store(path: str):
    """The Zarr group at ``path`` (local folder or URL) for reading, after the checks that read nothing of it:
    no link inside a local store leads outside it, and every metadata document is at most
    :data:`~mtk.formats.limits.METADATA_LIMIT` bytes (an 800 MB attribute is refused, not parsed)."""
    import zarr

    tree = Tree(path)
    if not tree.url:
        Root(path, "the store").check_tree()
    for relative, size in tree.files():
        if relative.rsplit("/", 1)[-1] in METADATA_FILES and (problem := metadata_problem(size)):
            raise BadInputError(f"{path}/{relative}", problem, "the store's metadata is damaged; rewrite it")
    return zarr.open_group(path, mode="r", zarr_format=3), tree


def oversized(array, tree: Tree, key: str) -> str | None:
    """Why ``array`` (at ``key`` in the store ``tree``) declares more data than could be real (a damaged or
    hostile ``zarr.json``, or small compressed chunks that would decode to gigabytes), or None. Checked before
    anything is read, by :func:`~mtk.formats.limits.declared_problem`; then every chunk's compressed frame
    (:func:`frames_problem`)."""
    itemsize = max(int(getattr(array.dtype, "itemsize", 0) or 0), 8)
    chunk = math.prod(int(n) for n in (array.shards or array.chunks)) * itemsize
    total = math.prod(int(n) for n in array.shape) * itemsize
    return declared_problem(chunk, total, tree.bytes_below(key)) or frames_problem(array, tree, key)


def frames_problem(array, tree: Tree, key: str) -> str | None:
    """Why a compressed chunk of ``array`` would decode to more than
    :data:`~mtk.formats.limits.CHUNK_BYTES_LIMIT` bytes, or None. The decoded size is read from the
    compressor's frame header (:func:`~mtk.formats.frames.frame_bytes`) before zarr decodes anything; a frame
    that does not say is refused. Chunk files, and the inner chunks of shards (located through the shard's
    index), are all checked."""
    from zarr.abc.codec import BytesBytesCodec
    from zarr.codecs import ShardingCodec

    codecs = array.metadata.codecs
    sharding = codecs[0] if len(codecs) == 1 and isinstance(codecs[0], ShardingCodec) else None
    inner = sharding.codecs if sharding is not None else codecs
    if not any(isinstance(codec, BytesBytesCodec) for codec in inner):
        return None
    per_shard = math.prod(int(s) // int(c) for s, c in zip(array.shards, sharding.chunk_shape)) if sharding else 0
    for relative, size in tree.files(f"{key}/c"):
        with tree.open(relative) as handle:
            spans = _shard_spans(handle, size, per_shard, sharding) if sharding else [(0, size)]
            for offset, length in spans:
                handle.seek(offset)
                head = handle.read(min(FRAME_HEAD_BYTES, length))
                handle.seek(offset + max(length - 4, 0))
                decoded = frame_bytes(head, handle.read(min(4, length)), length)
                if decoded is None:
                    return f"chunk {relative} is compressed without saying its decoded size"
                if decoded > CHUNK_BYTES_LIMIT:
                    return f"chunk {relative} would decode to {decoded:,} bytes (at most {CHUNK_BYTES_LIMIT:,})"
    return None


def _shard_spans(handle, size: int, per_shard: int, sharding) -> list[tuple[int, int]]:
    """(offset, bytes) of every inner chunk a shard file's index lists (Zarr's sharding spec: (offset, nbytes)
    uint64 pairs and a crc32c, at the file's end or start); the spans must lie inside the file."""
    index_bytes = per_shard * INDEX_ENTRY_BYTES + INDEX_CHECKSUM_BYTES
    handle.seek(0 if sharding.index_location.value == "start" else max(size - index_bytes, 0))
    raw = handle.read(index_bytes)
    if len(raw) != index_bytes:
        return [(0, 0)]
    index = np.frombuffer(raw[:-INDEX_CHECKSUM_BYTES], dtype="<u8").reshape(-1, 2)
    used = index[index[:, 0] != EMPTY_CHUNK]
    return [(int(o), int(n)) for o, n in used.tolist() if o + n <= size]


def refuse_oversized(array, tree: Tree, key: str) -> None:
    """A one-line error naming the store's ``key`` when :func:`oversized` finds a problem."""
    if problem := oversized(array, tree, key):
        raise BadInputError(f"{tree.root}/{key}", problem, "the store's metadata is damaged; rewrite it")


def first_missing_shard(array, tree: Tree, key: str) -> str | None:
    """The key (``c/<k>`` or ``c/<k>/0``) of the first shard (or chunk) of a 1-D or 2-D ``array`` (at ``key``
    in ``tree``, local or URL) below its declared rows that is absent, or None. Lists ``key/c`` once: the cost
    follows the shards present, not the shards declared (a damaged ``zarr.json`` may declare 10^12 rows)."""
    encode = array.metadata.encode_chunk_key
    per = array.shards or array.chunks
    rest = (0,) * (array.ndim - 1)
    if array.ndim > 2 or any(n > p for n, p in zip(array.shape[1:], per[1:])) \
            or encode((1, *rest)) != "c/1" + "/0" * len(rest):  # another layout or key encoding: checked when read
        return None
    declared = -(-int(array.shape[0]) // int(per[0]))
    present = sorted(k for k in (int(n) for n in tree.names(f"{key}/c") if n.isdigit()) if k < declared)
    if len(present) == declared:
        return None
    gap = next((i for i, k in enumerate(present) if k != i), len(present))
    return encode((gap, *rest))


def detect(path: str) -> bool:
    """A ``.zarr`` path or URL, or a folder holding a Zarr v3 group (``zarr.json``)."""
    text = str(path).rstrip("/")
    if is_url(text):
        return text.endswith(".zarr")
    return Path(text, "zarr.json").is_file()


class ZarrWriter(RaggedWriter):
    """Writes a Zarr v3 store; see :class:`~mtk.formats.ragged_store.RaggedWriter` for the protocol."""

    writes_urls = True

    def _create(self, dim: int, dtype: np.dtype) -> None:
        import zarr

        self.root = zarr.open_group(self.dest.partial, mode="w", zarr_format=3)
        self.features = self.root.create_array(
            "features", shape=(0, dim), dtype=dtype, chunks=(self.chunk_frames, dim),
            shards=(self.shard_frames, dim), compressors=None, dimension_names=("frame", "feature"))
        self._find_shard_files()

    def _reopen(self) -> None:
        import zarr

        self.root = zarr.open_group(self.dest.partial, mode="r+", zarr_format=3)
        self.features = self.root["features"]
        self._find_shard_files()

    def _find_shard_files(self) -> None:
        self.shard_files = (ShardFiles(self.features, os.path.join(self.dest.partial, "features"))
                            if ShardFiles.supported(self.features, self.dest.partial) else None)

    def _resize_rows(self, total: int) -> None:
        if self.features.shape[0] != total:
            self.features.resize((total, self.dim))

    def _write_rows(self, start: int, rows: np.ndarray) -> None:
        """Whole shards go straight to their files (zarr-python's writer runs at about 100-170 MB/s here);
        a shard begun by an interrupted run, and URLs, go through zarr."""
        shards = self.shard_files
        head = len(rows) if shards is None else min(len(rows), -start % self.shard_frames)
        if head:
            if self.features.shape[0] < start + head:
                self.features.resize((start + head, self.dim))
            self.features[start:start + head] = rows[:head]
        for offset in range(head, len(rows), self.shard_frames):
            shards.write((start + offset) // self.shard_frames, rows[offset:offset + self.shard_frames])

    def _write_vector(self, key: str, values: np.ndarray, attrs: dict | None = None) -> None:
        self.root.create_array(key, data=values, attributes=attrs or {}, overwrite=True)

    def _write_strings(self, key: str, values, count: int) -> None:
        array = self.root.create_array(key, shape=(count,), dtype=str, chunks=(TEXT_CHUNK,), overwrite=True,
                                       config={"write_empty_chunks": True})  # every chunk: see TEXT_CHUNKS_ATTR
        for start, block in string_blocks(values):
            array[start:start + len(block)] = np.array(block, dtype=object)

    def _set_attrs(self, attrs: dict) -> None:
        self.root.attrs.update(attrs)

    def _close(self) -> None:
        """Zarr keeps nothing open between writes."""


class ShardFiles:
    """Direct reads of rows from, and writes of whole shards to, the uncompressed shards of a local
    ``features`` array.

    Follows the Zarr v3 sharding spec: each shard file holds its chunks and ends with an index of
    (offset, nbytes) per chunk plus a crc32c. Only used when the inner codec is plain little-endian bytes.
    """

    def __init__(self, array, folder: str):
        codec = array.metadata.codecs[0]
        self.array = array
        self.folder = folder
        self.chunk = int(codec.chunk_shape[0])
        self.shard = int(array.shards[0])
        self.dim = int(array.shape[1])
        self.dtype = np.dtype(array.dtype).newbyteorder("<")
        self.row_bytes = self.dim * self.dtype.itemsize
        self.per_shard = self.shard // self.chunk
        self.chunk_offsets: dict[int, list[int | None]] = {}
        self.fds: dict[int, int] = {}

    @classmethod
    def supported(cls, array, path: str) -> bool:
        from zarr.codecs import BytesCodec, ShardingCodec

        codecs = array.metadata.codecs
        if is_url(path) or len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
            return False
        inner = codecs[0].codecs
        return (len(inner) == 1 and isinstance(inner[0], BytesCodec) and str(inner[0].endian.value) == "little"
                and codecs[0].index_location.value == "end" and array.ndim == 2
                and tuple(codecs[0].chunk_shape)[1] == array.shape[1])

    def _path(self, k: int) -> str:
        return os.path.join(self.folder, *self.array.metadata.encode_chunk_key((k, 0)).split("/"))

    def _fd(self, k: int) -> int:
        if k not in self.fds:
            try:
                fd = os.open(self._path(k), os.O_RDONLY)
            except FileNotFoundError:
                raise missing_shard(self._path(k)) from None
            try:
                index = self._index(fd, k)
            except BadInputError:
                os.close(fd)
                raise
            self.chunk_offsets[k] = [None if o == EMPTY_CHUNK else o for o in index[:, 0].tolist()]
            self.fds[k] = fd
        return self.fds[k]

    def _index(self, fd: int, k: int) -> np.ndarray:
        """Shard ``k``'s chunk index, checked: its crc32c, and every chunk whole and inside the file."""
        import google_crc32c

        size = os.fstat(fd).st_size
        index_bytes = self.per_shard * INDEX_ENTRY_BYTES + INDEX_CHECKSUM_BYTES
        raw = os.pread(fd, index_bytes, max(size - index_bytes, 0))
        damaged = BadInputError(self._path(k), "is a damaged shard (its chunk index does not check out)",
                                "the store may be truncated or corrupted")
        checksum = np.array(google_crc32c.value(raw[:-INDEX_CHECKSUM_BYTES]), dtype="<u4").tobytes()
        if len(raw) != index_bytes or raw[-INDEX_CHECKSUM_BYTES:] != checksum:
            raise damaged
        index = np.frombuffer(raw[:-INDEX_CHECKSUM_BYTES], dtype="<u8").reshape(-1, 2)
        used = index[index[:, 0] != EMPTY_CHUNK]
        if (used[:, 1] != self.chunk * self.row_bytes).any() or (used[:, 0] + used[:, 1] > size).any():
            raise damaged
        return index

    def check(self) -> None:
        """Check every shard's index (cheap: one small read per shard; the shards are all present, as
        :class:`ZarrHandle` checked when it opened the store)."""
        for k in range(-(-int(self.array.shape[0]) // self.shard)):
            self._fd(k)

    def _locate(self, j: int) -> tuple[int, int] | None:
        k, local = divmod(j, self.per_shard)
        fd = self.fds.get(k)
        if fd is None:
            fd = self._fd(k)
        offset = self.chunk_offsets[k][local]
        return None if offset is None else (fd, offset)

    def rows(self, start: int, stop: int) -> np.ndarray:
        return read_rows_direct(start, stop, self.dim, self.dtype, self.chunk, self._locate, self.folder)

    def write(self, k: int, rows: np.ndarray) -> None:
        """Write shard ``k`` whole: its chunks in order (the last one zero-padded), chunks past the data
        marked empty, then the index and its crc32c. Atomic (temporary file, then rename)."""
        import google_crc32c

        used = -(-len(rows) // self.chunk)
        data = np.zeros((used * self.chunk, self.dim), dtype=self.dtype)
        data[:len(rows)] = rows
        chunk_bytes = self.chunk * self.row_bytes
        index = np.full((self.per_shard, 2), EMPTY_CHUNK, dtype="<u8")
        index[:used, 0] = np.arange(used, dtype=np.uint64) * chunk_bytes
        index[:used, 1] = chunk_bytes
        checksum = np.array(google_crc32c.value(index.tobytes()), dtype="<u4")
        path = self._path(k)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_file(path) as tmp, open(tmp, "wb") as handle:
            handle.write(memoryview(data).cast("B"))
            handle.write(index.tobytes())
            handle.write(checksum.tobytes())

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        self.chunk_offsets.clear()


class ZarrHandle:
    """The open arrays of a store, as :class:`~mtk.formats.ragged_store.RaggedReader` expects them."""

    def __init__(self, path: str):
        self.root, self.tree = open_store(path)
        self.attrs = dict(self.root.attrs)
        self.features = self.root["features"]
        self.offsets = self.root["offsets"]
        self.names = self.root["names"]
        self.texts = self.root["texts"]
        self.folder = None if self.tree.url else os.path.join(path, "features")
        for key in ("features", "offsets", "names", "texts"):
            refuse_oversized(self.root[key], self.tree, key)
        for key in ("features", "offsets", "names", *(("texts",) if self.attrs.get(TEXT_CHUNKS_ATTR) else ())):
            array = self.root[key]
            if missing := first_missing_shard(array, self.tree, key):
                raise missing_shard(f"{path}/{key}/{missing}",
                                    f"{key} declares {array.shape[0]} rows, more than its files present hold")
        self.shard_files = ShardFiles(self.features, self.folder) if ShardFiles.supported(self.features, path) \
            else None
        shards = self.features.shards
        self.bulk = int(shards[0] if shards else self.features.chunks[0])
        self.read_block = 0 if self.shard_files is not None else self.bulk

    def window(self, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.features.shape[0])
        if self.shard_files is not None:
            return self.shard_files.rows(start, stop)
        for k in range(start // self.bulk, -(-stop // self.bulk)):  # zarr would read an absent shard as zeros
            key = f"features/{self.features.metadata.encode_chunk_key((k, 0))}"
            if not self.tree.exists(key):
                raise missing_shard(f"{self.tree.root}/{key}")
        return np.asarray(self.features[start:stop])

    def _whole(self, key: str) -> np.ndarray:
        """The array at ``key``, read whole after :func:`refuse_oversized`."""
        array = self.root[key]
        refuse_oversized(array, self.tree, key)
        return np.asarray(array[:])

    def _group_arrays(self, name: str) -> list[str]:
        """The keys of every array under group ``name``, relative to the group."""
        import zarr

        if name not in self.root:
            return []
        return [key for key, array in self.root[name].members(max_depth=None) if isinstance(array, zarr.Array)]

    def splits(self) -> dict[str, tuple[np.ndarray, list[str]]]:
        missing = {key: [str(n) for n in self._whole(f"missing/{key}")] for key in self._group_arrays("missing")}
        return {key: (self._whole(f"splits/{key}"), missing.get(key, [])) for key in sorted(self._group_arrays("splits"))}

    def stats(self):
        if "stats" not in self.root:
            return None
        return self._whole("stats/mean"), self._whole("stats/std"), dict(self.root["stats/mean"].attrs)

    def check(self) -> None:
        if self.shard_files is not None:
            self.shard_files.check()

    def close(self) -> None:
        if self.shard_files is not None:
            self.shard_files.close()


class ZarrReader(RaggedReader):
    """Reads a Zarr v3 dataset store (local path or fsspec URL)."""

    def _open(self) -> ZarrHandle:
        return ZarrHandle(self.path)

    def check(self) -> None:
        """Verify the shard indexes of a local store (``mtk inspect`` runs this)."""
        self.handle.check()


register_format("zarr", "dataset", "a Zarr v3 dataset store (.zarr folder or fsspec URL)", "a .zarr store", detect,
                suffixes=(".zarr",), reader=ZarrReader, writer=ZarrWriter,
                inspect=inspector(ZarrReader), order=40)
