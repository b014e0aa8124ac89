"""The logic shared by the Zarr and HDF5 stores: one concatenated ``features`` array plus ``offsets``.

Logical layout (docs/formats.md; the package map is docs/architecture.md)::

    features (total_frames, D)   the source dtype (float32; float64 kept when the source is float64)
    offsets  (count + 1,) int64  motion i = features[offsets[i]:offsets[i + 1]]
    names    (count,) str        texts (count,) str: the motion's text lines joined by "\\n"
    splits/<split> (k,) int64    indices into names; -1 where the split names a motion the store lacks,
    missing/<split> (m,) str     ... whose names are listed here, in order
    stats/mean, stats/std (D,)   attributes: convention, split, frames

Writers buffer whole shards (the unit of writing) and journal what is safely on disk, so a killed
conversion resumes from the last shard. Backends implement a handful of small methods.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from mtk.errors import BadInputError, MtkError, damaged_input
from mtk.features import get_layout
from mtk.formats.base import DatasetReader, DatasetWriter
from mtk.formats.model import DatasetInfo, Motion, Stats
from mtk.io.destination import Destination, Journal, prepare
from mtk.io.names import check_name, check_names, name_index
from mtk.io.location import is_url
from mtk.io.testhooks import pause_point
from mtk.io.workdir import source_identity

FORMAT_VERSION = 1
#: frames per chunk (the unit of reading) and per shard (the unit of writing); see docs/formats.md
CHUNK_FRAMES = 1024
SHARD_FRAMES = 1024 * 16
#: entries per chunk of the names/texts arrays
TEXT_CHUNK = 4096
#: a root attribute saying that every chunk of texts was written, empty ones too: a missing one is damage
#: (stores written before it existed skip chunks of empty texts, so theirs are not checked)
TEXT_CHUNKS_ATTR = "texts_complete"


def created_by() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mtk {version('mtk')}"
    except PackageNotFoundError:
        return "mtk"


def join_texts(lines: Sequence[str]) -> str:
    return "\n".join(lines)


def split_texts(text: str) -> list[str]:
    return text.split("\n") if text else []


def string_blocks(values: Iterator[str], size: int = TEXT_CHUNK) -> Iterator[tuple[int, list[str]]]:
    """``values`` in lists of ``size`` (the last may be shorter), each with its start index."""
    block: list[str] = []
    start = 0
    for value in values:
        block.append(value)
        if len(block) == size:
            yield start, block
            start += len(block)
            block = []
    if block:
        yield start, block


def split_indices(members: Sequence[str], index: dict[str, int]) -> tuple[np.ndarray, list[str]]:
    """Indices of ``members`` into the names (-1 for names the store lacks) and the lacking names."""
    indices = np.array([index.get(name, -1) for name in members], dtype=np.int64)
    missing = [name for name in members if name not in index]
    return indices, missing


def split_members(indices: np.ndarray, missing: Sequence[str], names: Sequence[str]) -> list[str]:
    """The inverse of :func:`split_indices`."""
    lacking = iter(missing)
    return [names[i] if i >= 0 else next(lacking) for i in indices.tolist()]


def structure_problem(features, offsets: np.ndarray, names, texts) -> str | None:
    """What breaks the store's invariants (shapes, dtypes, offsets cutting features into one run per name),
    or None. ``features``/``names``/``texts`` are array-likes with ``shape`` and ``dtype``."""
    if len(features.shape) != 2 or np.dtype(features.dtype).kind != "f":
        return f"features has shape {tuple(features.shape)} and dtype {features.dtype}; expected (frames, D) floats"
    if len(names.shape) != 1 or len(texts.shape) != 1 or texts.shape != names.shape:
        return f"names {tuple(names.shape)} and texts {tuple(texts.shape)} are not two lists of equal length"
    if offsets.dtype.kind not in "iu" or offsets.shape != (names.shape[0] + 1,) or offsets[0] != 0 \
            or offsets[-1] != features.shape[0] or (np.diff(offsets) < 0).any():
        return f"offsets {tuple(offsets.shape)} do not cut the {features.shape[0]} frames into one run per name"
    return None


def split_problem(key: str, indices: np.ndarray, missing: Sequence[str], count: int) -> str | None:
    """What is wrong with a stored split (indices into the names, -1 for each missing name), or None."""
    if indices.ndim != 1 or indices.dtype.kind not in "iu":
        return f"split {key} has shape {indices.shape} and dtype {indices.dtype}; expected integer indices"
    if ((indices < -1) | (indices >= count)).any() or int((indices == -1).sum()) != len(missing):
        return f"split {key} indexes outside the {count} names"
    return None


class RaggedWriter(DatasetWriter):
    """Buffers motions into whole shards and writes them through the backend's ``_write_rows``.

    Backends implement the abstract hooks below (``_create``, ``_reopen``, ``_write_rows``, ``_resize_rows``,
    ``_write_vector``, ``_write_strings``, ``_set_attrs``, ``_close``), and say whether they write URLs.
    """

    #: whether the backend writes fsspec URLs (else a URL output is refused)
    writes_urls = False

    def __init__(self, path: str, info: DatasetInfo, overwrite: bool = False, resume: bool = False,
                 chunk_frames: int = CHUNK_FRAMES, shard_frames: int = SHARD_FRAMES):
        if shard_frames % chunk_frames:
            raise MtkError(None, f"shard_frames {shard_frames} is not a multiple of chunk_frames {chunk_frames}")
        self.info = info
        self.chunk_frames = chunk_frames
        self.shard_frames = shard_frames
        self.dest: Destination = prepare(path, overwrite=overwrite, resume=resume, urls=self.writes_urls)
        self.journal = Journal(self.dest.journal)
        self.splits: dict[str, list[str]] = {}
        self.stats: Stats | None = None
        self._start_empty()
        if self.dest.resuming:
            self._resume()

    def _start_empty(self) -> None:
        self.names: list[str] = []
        self.lengths: list[int] = []
        self.bad: list[tuple[str, str]] = []
        self.order: list[str] = []  # every source name handled, good or bad, in order
        self.pending: list[dict] = []
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.written = 0  # frames safely on disk
        self.dim: int | None = None
        self.dtype: np.dtype | None = None

    def _start_over(self) -> None:
        """Forget an interrupted run whose output cannot be continued."""
        self.dest.discard()
        self.dest.resuming = False
        self._start_empty()

    @property
    def path(self) -> str:
        return self.dest.final

    # -- resume -------------------------------------------------------------------------------------
    def _resume(self) -> None:
        records = self.journal.read()
        header = next((r for r in records if "dim" in r), None)
        flushed = max((r["flushed"] for r in records if "flushed" in r), default=0)
        if header is None:
            self._start_over()
            return
        self.dim, self.dtype = header["dim"], np.dtype(header["dtype"])
        end = 0
        kept = [header]
        for record in records:
            if "m" in record:
                if end + record["n"] > flushed:
                    break
                end += record["n"]
                self.names.append(record["m"])
                self.lengths.append(record["n"])
                self.order.append(record["m"])
            elif "bad" in record:
                self.bad.append((record["bad"], record["why"]))
                self.order.append(record["bad"])
            else:
                continue
            kept.append(record)
        self.written = end
        self.journal.rewrite(kept + [{"flushed": end}])
        try:
            self._reopen()
        except (OSError, ValueError, KeyError):  # the killed run left the container unreadable
            self._start_over()

    def resume_index(self, names: Sequence[str]) -> int:
        """How many of the source ``names`` (in order) are already in the store or recorded as skipped."""
        if list(names[:len(self.order)]) != self.order:
            raise MtkError(self.dest.partial, "the interrupted conversion was of a different source",
                           "rerun without --resume to start over")
        return len(self.order)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return list(self.bad)

    # -- writing ------------------------------------------------------------------------------------
    def __enter__(self) -> RaggedWriter:
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is not None:
            self._abandon(exc_type)
            self.dest.close(exc_type)
            return
        try:
            self._flush(final=True)
            self._finish()
            self._close()
        except BaseException as err:  # a failed write (full disk ...): close what is open, drop the partial
            self._abandon(type(err))
            self.dest.close(type(err))
            raise
        self.dest.close(None)

    def _abandon(self, exc_type: type[BaseException]) -> None:
        """Close after an error or interruption, ignoring the errors of closing a container left in a failed
        state (the error that stopped the run is what the user sees)."""
        try:
            self._close()
        except Exception:  # noqa: BLE001
            pass

    def add(self, motion: Motion) -> None:
        check_name(motion.name, self.dest.final)
        features = np.asarray(motion.features)
        if features.ndim != 2 or features.shape[0] == 0:
            raise BadInputError(motion.name, f"has shape {features.shape}; expected features (T, D) with T > 0")
        if self.dim is None:
            self.dim, self.dtype = int(features.shape[1]), np.dtype(features.dtype)
            if self.dtype not in (np.float32, np.float64):
                self.dtype = np.dtype(np.float32)
            self._create(self.dim, self.dtype)
            self.journal.append([{"dim": self.dim, "dtype": self.dtype.str}])
        if features.shape[1] != self.dim:
            raise BadInputError(motion.name, f"has {features.shape[1]} columns; the dataset has {self.dim}")
        if not np.can_cast(features.dtype, self.dtype, "safe"):
            raise BadInputError(motion.name, f"is {features.dtype} but the store holds {self.dtype}",
                                "this would lose precision")
        self.buffer.append(features.astype(self.dtype, copy=False))
        self.buffered += len(features)
        self.names.append(motion.name)
        self.lengths.append(len(features))
        self.order.append(motion.name)
        self.pending.append({"m": motion.name, "n": len(features), "t": join_texts(motion.texts)})
        boundary = (self.written // self.shard_frames + 1) * self.shard_frames
        if self.written + self.buffered >= boundary:
            self._flush()

    def add_bad(self, name: str, reason: str) -> None:
        self.bad.append((name, reason))
        self.order.append(name)
        self.pending.append({"bad": name, "why": reason})

    def set_splits(self, splits: dict[str, list[str]]) -> None:
        where = self.dest.final
        self.splits = {check_name(key, where, "split name"): check_names(members, where, unique=False)
                       for key, members in splits.items()}

    def set_stats(self, stats: Stats) -> None:
        self.stats = stats

    def _flush(self, final: bool = False) -> None:
        if self.buffered:
            rows = np.concatenate(self.buffer) if len(self.buffer) > 1 else self.buffer[0]
            end = self.written + len(rows)
            cut = end if final else end - end % self.shard_frames
            self._write_rows(self.written, rows[:cut - self.written])
            rest = rows[cut - self.written:]
            self.buffer = [rest] if len(rest) else []
            self.buffered = len(rest)
            self.written = cut
        self.journal.append(self.pending + [{"flushed": self.written}])
        self.pending = []
        if self.written:
            pause_point("piece")

    def _finish(self) -> None:
        if self.dim is None:
            raise MtkError(self.dest.final, "no motions to write", "the source has no readable motions")
        count = len(self.names)
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        self._resize_rows(int(offsets[-1]))
        self._write_vector("offsets", offsets)
        self._write_strings("names", iter(self.names), count)
        self._write_strings("texts", self._journal_texts(), count)
        index = {name: i for i, name in enumerate(self.names)}
        for key, members in self.splits.items():
            indices, missing = split_indices(members, index)
            self._write_vector(f"splits/{key}", indices)
            if missing:
                self._write_strings(f"missing/{key}", iter(missing), len(missing))
        if self.stats is not None:
            attrs = {"convention": self.stats.convention, "split": self.stats.split, "frames": self.stats.frames}
            attrs = {k: v for k, v in attrs.items() if v is not None}
            self._write_vector("stats/mean", np.asarray(self.stats.mean), attrs)
            self._write_vector("stats/std", np.asarray(self.stats.std), attrs)
        layout = self.info.layout
        self._set_attrs({
            "mtk_format": FORMAT_VERSION, "layout": layout.name if layout else None, "fps": float(self.info.fps),
            "dim": self.dim, "count": count, "total_frames": int(offsets[-1]), "created_by": created_by(),
            "family": self.info.family, TEXT_CHUNKS_ATTR: True,
        })

    def _journal_texts(self) -> Iterator[str]:
        """Every written motion's texts, streamed back from the journal (never all in memory)."""
        wanted = len(self.names)
        for record in self.journal.records():
            if not wanted:
                return
            if "m" in record:
                wanted -= 1
                yield record["t"]

    # -- backend hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _create(self, dim: int, dtype: np.dtype) -> None:
        """Create the empty container with a (0, dim) ``features`` array of ``dtype``."""

    @abstractmethod
    def _reopen(self) -> None:
        """Open the interrupted run's container to continue writing it."""

    @abstractmethod
    def _write_rows(self, start: int, rows: np.ndarray) -> None:
        """Write ``rows`` into ``features`` from row ``start`` (whole shards, except the last)."""

    @abstractmethod
    def _resize_rows(self, total: int) -> None:
        """Set ``features``' length to ``total`` rows."""

    @abstractmethod
    def _write_vector(self, key: str, values: np.ndarray, attrs: dict | None = None) -> None:
        """Write a 1-D array at ``key`` (``offsets``, ``splits/<split>``, ``stats/mean``), with ``attrs``."""

    @abstractmethod
    def _write_strings(self, key: str, values: Iterator[str], count: int) -> None:
        """Write ``count`` strings from ``values`` at ``key`` (``names``, ``texts``, ``missing/<split>``)."""

    @abstractmethod
    def _set_attrs(self, attrs: dict) -> None:
        """Set the root attributes (format version, layout, fps, family, created_by)."""

    @abstractmethod
    def _close(self) -> None:
        """Close the container's handles."""


def read_rows_direct(start: int, stop: int, dim: int, dtype: np.dtype, chunk: int,
                     locate: Callable[[int], tuple[int, int] | None], source: str) -> np.ndarray:
    """Rows ``[start, stop)`` of a 2-D array stored as uncompressed chunks of ``chunk`` whole rows.

    ``locate(j)`` gives chunk j's (file descriptor, byte offset), or None for a chunk never written: every
    chunk of an mtk store below its last frame is written, so that is an error, never zeros. Every chunk is
    located before the rows are allocated. One ``pread`` per chunk the rows touch; nothing is cached.
    ``source`` names the array in errors.
    """
    first = start // chunk
    places = []
    for j in range(first, -(-stop // chunk) if stop > start else first):
        where = locate(j)
        if where is None:
            raise BadInputError(source, f"chunk {j} (frames {j * chunk}-{(j + 1) * chunk - 1}) is missing",
                                "the store is incomplete or damaged; rewrite it with mtk convert")
        places.append(where)
    out = np.empty((max(stop - start, 0), dim), dtype=dtype)
    view = memoryview(out).cast("B")
    row_bytes = dim * dtype.itemsize
    row = start
    for j, (fd, offset) in enumerate(places, first):
        within = row - j * chunk
        take = min(stop - row, chunk - within)
        begin = (row - start) * row_bytes
        size = take * row_bytes
        if os.preadv(fd, [view[begin:begin + size]], offset + within * row_bytes) != size:
            raise BadInputError(source, f"chunk {j} ends early", "the file may be truncated")
        row += take
    return out


class BlockCache:
    """A small LRU of decoded blocks (aligned runs of rows) of one array; bounded by ``max_blocks``."""

    def __init__(self, read: Callable[[int, int], np.ndarray], block: int, max_blocks: int = 4):
        self.read = read
        self.block = block
        self.max_blocks = max_blocks
        self.blocks: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, k: int) -> np.ndarray:
        if k in self.blocks:
            self.blocks.move_to_end(k)
            return self.blocks[k]
        data = self.read(k * self.block, (k + 1) * self.block)
        self.blocks[k] = data
        if len(self.blocks) > self.max_blocks:
            self.blocks.popitem(last=False)
        return data

    def rows(self, start: int, stop: int) -> np.ndarray:
        first, last = start // self.block, (stop - 1) // self.block
        parts = [self.get(k) for k in range(first, last + 1)]
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
        base = first * self.block
        return joined[start - base:stop - base]


class RaggedReader(DatasetReader):
    """Reader logic over a backend that opens lazily (picklable; handles are dropped when pickled).

    Backends implement ``_open()`` returning an object with ``features``, ``offsets``, ``names``, ``texts``
    (array-likes supporting slicing), ``attrs`` (dict), ``splits()`` -> {key: (indices, missing)},
    ``stats()`` -> (mean, std, attrs) or None, ``window(start, stop)`` (rows, by the fastest route) and
    ``read_block`` (rows per bulk read, e.g. a shard; 0 when ``window`` reads directly and needs no block cache).
    """

    def __init__(self, path: str, layout: str | None = None):
        self.path = str(path)
        self._layout_request = layout
        self._handle = None
        self._meta = None
        self._features = None
        self._texts = None
        self._info: DatasetInfo | None = None
        self._fingerprint: str | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_layout_request": self._layout_request}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["_layout_request"])

    @abstractmethod
    def _open(self):
        """The backend handle (see the class docstring)."""

    @property
    def handle(self):
        if self._handle is None:
            with damaged_input(self.path):
                self._handle = self._open()
            block = int(self._handle.read_block)
            self._features = BlockCache(self._handle.window, block, max_blocks=2) if block else None
            self._texts = BlockCache(lambda a, b: self._handle.texts[a:b], TEXT_CHUNK, max_blocks=2)
        return self._handle

    @property
    def meta(self):
        """Offsets, names and the name index, loaded once per process."""
        if self._meta is None:
            h = self.handle
            with damaged_input(self.path):
                offsets = np.asarray(h.offsets[:])
                problem = structure_problem(h.features, offsets, h.names, h.texts)
                names = [str(n) for n in h.names[:]]
            if problem:
                raise BadInputError(self.path, f"is damaged: {problem}", "rewrite it with mtk convert")
            offsets = offsets.astype(np.int64)
            self._meta = (offsets, names, name_index(names, self.path))
        return self._meta

    @property
    def info(self) -> DatasetInfo:
        if self._info is None:
            with damaged_input(self.path):
                self._info = self._read_info()
        return self._info

    def _read_info(self) -> DatasetInfo:
        h = self.handle
        offsets, names, _ = self.meta
        attrs = h.attrs
        if attrs.get("mtk_format") != FORMAT_VERSION:
            raise BadInputError(self.path, "is not an mtk dataset store (no mtk_format=1 attribute)",
                                "write it with mtk convert")
        layout_name = self._layout_request or attrs.get("layout")
        layout = get_layout(layout_name) if layout_name else None
        splits = {}
        for key, (indices, missing) in h.splits().items():
            indices = np.asarray(indices)
            problem = split_problem(key, indices, missing, len(names))
            if problem:
                raise BadInputError(self.path, f"is damaged: {problem}", "rewrite it with mtk convert")
            check_name(key, self.path, "split name")
            splits[key] = check_names(split_members(indices, missing, names), self.path, unique=False)
        stats = h.stats()
        if stats is not None:
            mean, std, stat_attrs = (np.asarray(stats[0]), np.asarray(stats[1]), stats[2])
            dim = h.features.shape[1]
            if mean.shape != (dim,) or std.shape != (dim,) or mean.dtype.kind != "f" or std.dtype.kind != "f":
                raise BadInputError(self.path, f"is damaged: stats/mean {mean.shape} and stats/std {std.shape} are "
                                    f"not ({dim},) floats", "rewrite it with mtk convert")
            stats = Stats(mean=mean, std=std, convention=stat_attrs.get("convention"),
                          split=stat_attrs.get("split"), frames=stat_attrs.get("frames"))
        return DatasetInfo(layout=layout, fps=float(attrs.get("fps", layout.fps if layout else 20.0)),
                           names=list(names), splits=splits, stats=stats, family=attrs.get("family", "mtk"),
                           fps_source="file" if "fps" in attrs else "layout default")

    def __len__(self) -> int:
        return len(self.meta[1])

    @property
    def names(self) -> list[str]:
        return list(self.meta[1])

    def index(self, name: str) -> int:
        try:
            return self.meta[2][name]
        except KeyError:
            raise MtkError(self.path, f"no motion named {name!r} in this store") from None

    def span(self, name: str) -> tuple[int, int]:
        return self._span_at(self.index(name))

    def _span_at(self, i: int) -> tuple[int, int]:
        offsets = self.meta[0]
        return int(offsets[i]), int(offsets[i + 1])

    def length(self, name: str) -> int:
        start, stop = self.span(name)
        return stop - start

    def fingerprint(self, name: str) -> str | None:
        """The state of the whole store (every file's :func:`~mtk.io.workdir.file_state`, hashed once per
        reader): a resumed conversion refuses when anything in the store changed; None for URLs."""
        if self._fingerprint is None and not is_url(self.path):
            self._fingerprint = str(source_identity(self.path)[1])
        return self._fingerprint

    def read(self, name: str) -> Motion:
        i = self.index(name)
        start, stop = self._span_at(i)
        with damaged_input(self.path):
            return Motion(name, self.handle.window(start, stop), split_texts(str(self.handle.texts[i])))

    def iter(self, split: str | None = None) -> Iterator[Motion]:
        index = self.meta[2]
        names = self.names if split is None else self.info.split_names(split)
        return self.iter_names([n for n in names if n in index])

    def iter_names(self, names: Sequence[str]) -> Iterator[Motion]:
        """Motions in the given order; through the zarr API whole shards are read and the last two kept."""
        self.handle
        for name in names:
            i = self.index(name)
            start, stop = self._span_at(i)
            with damaged_input(self.path):
                if self._features is None:
                    features = self.handle.window(start, stop)
                else:
                    features = np.array(self._features.rows(start, stop))
                texts = split_texts(str(self._texts.rows(i, i + 1)[0]))
            yield Motion(name, features, texts)

    def read_window(self, name: str, start: int, length: int) -> np.ndarray:
        first, stop = self.span(name)
        with damaged_input(self.path):
            return self.handle.window(first + start, min(first + start + length, stop))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = self._meta = self._features = self._texts = None
