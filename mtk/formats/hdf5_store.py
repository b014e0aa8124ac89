"""HDF5 dataset files (h5py) with the same logical layout as the Zarr store (:mod:`mtk.formats.ragged_store`).

``features`` is chunked by whole frames and extendable; strings are variable-length UTF-8. Files are
opened lazily in each process (h5py handles must not cross a fork) and flushed after every shard, so a
killed conversion can resume.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError
from mtk.formats.datasets import inspector
from mtk.formats.limits import declared_problem, metadata_problem
from mtk.formats.ragged_store import TEXT_CHUNK, RaggedReader, RaggedWriter, read_rows_direct, string_blocks
from mtk.formats.registry import register_format
from mtk.io.destination import is_url

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: h5py's chunk cache per open file (the default 1 MiB holds under four chunks of 272 float32 frames)
CHUNK_CACHE_BYTES = 64 * 1024 * 1024


def detect(path: str) -> bool:
    """A local file starting with the HDF5 signature."""
    text = str(path)
    if is_url(text) or not Path(text).is_file():
        return False
    with open(text, "rb") as handle:
        return handle.read(8) == HDF5_MAGIC


def storage_problem(dataset) -> str | None:
    """How a dataset's declared shape exceeds what the file stores (chunks allocated, or contiguous bytes), or
    None; asked of HDF5's index, never by reading the data (a resized dataset may declare 10^12 rows)."""
    shape = tuple(int(n) for n in dataset.shape)
    if dataset.chunks is None:
        stored, needed = dataset.id.get_storage_size(), math.prod(shape) * dataset.dtype.itemsize
        return None if stored >= needed else f"{dataset.name} declares {needed} bytes but the file stores {stored}"
    needed = math.prod(-(-n // c) for n, c in zip(shape, dataset.chunks))
    stored = dataset.id.get_num_chunks()
    if stored >= needed:
        return None
    return f"{dataset.name} declares {shape[0]} rows in {needed} chunks but the file stores {stored}"


def outside_problem(file) -> str | None:
    """How the HDF5 ``file`` reaches outside itself, or None: an external link (an object in another file),
    a dataset with external raw storage (its bytes in other files, any file on the machine) or a virtual
    dataset (mapped from other datasets, in this file or others). mtk reads none of them: every byte it
    reads lies inside the input. Asked of the file's links and creation properties, nothing is read."""
    import h5py

    found: list[str] = []

    def visit(name: str, link) -> None:
        if found:
            return
        if isinstance(link, h5py.ExternalLink):
            found.append(f"{name} is an external link to {link.filename}:{link.path}")
            return
        if isinstance(link, h5py.SoftLink):
            return
        target = file.get(name)
        if isinstance(target, h5py.Dataset):
            plist = target.id.get_create_plist()
            if plist.get_layout() == h5py.h5d.VIRTUAL:
                found.append(f"{name} is a virtual dataset (mapped from other datasets)")
            elif plist.get_external_count():
                found.append(f"{name} keeps its data in external files ({plist.get_external(0)[0].decode()!r} ...)")

    file.visititems_links(visit)
    return found[0] if found else None


def filter_problem(dataset) -> str | None:
    """Why a filtered (compressed) dataset declares more than its chunks could decode to within the bounds of
    :mod:`mtk.formats.limits` (a chunk decodes whole, whatever slice is read), or None."""
    if dataset.chunks is None:
        return None
    itemsize = max(dataset.dtype.itemsize, 8)
    chunk = math.prod(dataset.chunks) * itemsize
    total = math.prod(int(n) for n in dataset.shape) * itemsize
    stored = dataset.id.get_storage_size() if dataset.id.get_create_plist().get_nfilters() else total
    problem = declared_problem(chunk, total, stored)
    return None if problem is None else f"{dataset.name} {problem}"


def attribute_problem(obj) -> str | None:
    """Why an attribute of ``obj`` is too large to read (:data:`~mtk.formats.limits.METADATA_LIMIT`), or None."""
    import h5py

    for name in obj.attrs:
        size = h5py.h5a.open(obj.id, name.encode()).get_storage_size()
        if problem := metadata_problem(size):
            return f"attribute {name!r} of {obj.name} {problem}"
    return None


def _python(value):
    return value.item() if isinstance(value, np.generic) else value


#: free space kept beyond every write, for HDF5's metadata (see ``Hdf5Writer._reserve``)
HDF5_MARGIN = 1 << 20


class Hdf5Writer(RaggedWriter):
    """Writes an HDF5 dataset file; see :class:`~mtk.formats.ragged_store.RaggedWriter` for the protocol."""

    def __init__(self, path: str, info, **options):
        self.file = None
        super().__init__(path, info, **options)

    def _create(self, dim: int, dtype: np.dtype) -> None:
        import h5py

        self._reserve(0)
        self.file = h5py.File(self.dest.partial, "w")
        self.file.create_dataset("features", shape=(0, dim), maxshape=(None, dim), dtype=dtype,
                                 chunks=(self.chunk_frames, dim))

    def _reopen(self) -> None:
        import h5py

        self.file = h5py.File(self.dest.partial, "r+")

    def _resize_rows(self, total: int) -> None:
        self.file["features"].resize(total, axis=0)

    def _write_rows(self, start: int, rows: np.ndarray) -> None:
        self._reserve(rows.nbytes)
        features = self.file["features"]
        if features.shape[0] < start + len(rows):
            features.resize(start + len(rows), axis=0)
        features[start:start + len(rows)] = rows
        self.file.flush()

    def _write_vector(self, key: str, values: np.ndarray, attrs: dict | None = None) -> None:
        self._reserve(values.nbytes)
        if key in self.file:
            del self.file[key]
        dataset = self.file.create_dataset(key, data=values)
        dataset.attrs.update(attrs or {})

    def _write_strings(self, key: str, values, count: int) -> None:
        import h5py

        if key in self.file:
            del self.file[key]
        chunks = (min(TEXT_CHUNK, count),) if count else None
        dataset = self.file.create_dataset(key, shape=(count,), dtype=h5py.string_dtype(), chunks=chunks)
        for start, block in string_blocks(values):
            dataset[start:start + len(block)] = block

    def _set_attrs(self, attrs: dict) -> None:
        self.file.attrs.update({k: v for k, v in attrs.items() if v is not None})

    def _close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            file.close()

    def _reserve(self, nbytes: int) -> None:
        """Raise ENOSPC before HDF5 writes ``nbytes`` to a disk without room for them: HDF5 cannot recover
        from a failed write (closing such a file crashes the interpreter), so it must never see one."""
        folder = os.path.dirname(self.dest.partial)
        found = os.statvfs(folder)
        if found.f_bavail * found.f_frsize < nbytes + nbytes // 100 + HDF5_MARGIN:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.dest.partial)


class ChunkFile:
    """Direct reads of rows from the uncompressed chunks of a local HDF5 ``features`` dataset: each
    chunk's byte offset is asked of HDF5 once, then rows are one ``pread`` per chunk they touch."""

    def __init__(self, dataset, path: str):
        self.dataset = dataset
        self.path = path
        self.chunk = int(dataset.chunks[0])
        self.dim = int(dataset.shape[1])
        self.dtype = np.dtype(dataset.dtype)
        self.chunk_bytes = self.chunk * self.dim * self.dtype.itemsize
        self.fd = os.open(path, os.O_RDONLY)
        self.offsets: dict[int, int | None] = {}

    @staticmethod
    def supported(dataset) -> bool:
        return (dataset.chunks is not None and dataset.ndim == 2 and dataset.chunks[1] == dataset.shape[1]
                and dataset.compression is None and not dataset.shuffle and not dataset.fletcher32
                and dataset.scaleoffset is None and dataset.dtype.byteorder in "<=" and dataset.dtype.kind == "f")

    def _locate(self, j: int) -> tuple[int, int] | None:
        if j not in self.offsets:
            info = self.dataset.id.get_chunk_info_by_coord((j * self.chunk, 0))
            if info.byte_offset is not None and info.size != self.chunk_bytes:
                raise BadInputError(self.path, f"chunk {j} of features has {info.size} bytes, "
                                    f"expected {self.chunk_bytes}", "the file may be corrupted")
            self.offsets[j] = None if info.byte_offset is None else int(info.byte_offset)
        offset = self.offsets[j]
        return None if offset is None else (self.fd, offset)

    def rows(self, start: int, stop: int) -> np.ndarray:
        return read_rows_direct(start, stop, self.dim, self.dtype, self.chunk, self._locate, self.path)

    def close(self) -> None:
        os.close(self.fd)


class Hdf5Handle:
    """The open datasets of an HDF5 file, as :class:`~mtk.formats.ragged_store.RaggedReader` expects them."""

    def __init__(self, path: str):
        import h5py

        self.file = h5py.File(path, "r", rdcc_nbytes=CHUNK_CACHE_BYTES)
        outside = outside_problem(self.file)
        if outside:
            self.file.close()
            raise BadInputError(path, f"reaches outside itself: {outside}",
                                "mtk reads only data stored inside the file; copy it in (h5repack) or rewrite it")
        problem = attribute_problem(self.file) or next(filter(None, (
            filter_problem(obj) or storage_problem(obj) if key in ("features", "offsets", "names", "texts")
            else filter_problem(obj) for key, obj in self._datasets().items())), None)
        if problem:
            self.file.close()
            raise BadInputError(path, f"is damaged: {problem}", "the file is incomplete; rewrite it with mtk convert")
        self.attrs = {k: _python(v) for k, v in self.file.attrs.items()}
        self.features = self.file["features"]
        self.offsets = self.file["offsets"]
        self.names = self.file["names"].asstr()
        self.texts = self.file["texts"].asstr()
        self.read_block = 0  # direct reads (or h5py's chunk cache) serve motions and windows
        self.chunk_file = ChunkFile(self.features, path) if ChunkFile.supported(self.features) else None

    def _datasets(self) -> dict:
        """Every dataset in the file, by its path."""
        import h5py

        found: dict = {}
        self.file.visititems(lambda key, obj: found.__setitem__(key, obj) if isinstance(obj, h5py.Dataset) else None)
        return found

    def window(self, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.features.shape[0])
        if self.chunk_file is not None:
            return self.chunk_file.rows(start, stop)
        return self.features[start:stop]

    def _group_arrays(self, name: str) -> dict:
        import h5py

        found = {}
        if name in self.file:
            self.file[name].visititems(lambda key, obj: found.__setitem__(key, obj)
                                       if isinstance(obj, h5py.Dataset) else None)
        return found

    def splits(self) -> dict[str, tuple[np.ndarray, list[str]]]:
        missing = {key: list(array.asstr()[:]) for key, array in self._group_arrays("missing").items()}
        return {key: (array[:], missing.get(key, [])) for key, array in sorted(self._group_arrays("splits").items())}

    def stats(self):
        if "stats" not in self.file:
            return None
        mean, std = self.file["stats/mean"], self.file["stats/std"]
        problem = attribute_problem(mean)
        if problem:
            raise BadInputError(self.file.filename, f"is damaged: {problem}", "rewrite it with mtk convert")
        return mean[:], std[:], {k: _python(v) for k, v in mean.attrs.items()}

    def close(self) -> None:
        if self.chunk_file is not None:
            self.chunk_file.close()
        self.file.close()


class Hdf5Reader(RaggedReader):
    """Reads an HDF5 dataset file."""

    def _open(self) -> Hdf5Handle:
        return Hdf5Handle(self.path)


register_format("hdf5", "dataset", "an HDF5 dataset file (.h5/.hdf5)", "an .h5 file", detect,
                suffixes=(".h5", ".hdf5"), reader=Hdf5Reader, writer=Hdf5Writer,
                inspect=inspector(Hdf5Reader), order=50)
