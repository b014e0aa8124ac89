"""Single-array files: a feature file (T, D), a joints file (T, J, 3), a stats vector (D,).

Loading never unpickles (``allow_pickle=False``) and turns every failure into a one-line
:class:`~mtk.errors.BadInputError` naming the file. Saving is atomic.
"""

from __future__ import annotations

import math
import os
import stat
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mtk.analysis.finite import require_finite
from mtk.analysis.length import require_frames
from mtk.errors import BadInputError, MtkError, first_line
from mtk.features import get_layout, layout_dims, layout_for_dim, layout_names, layouts
from mtk.formats.limits import zip_member_problem
from mtk.formats.registry import register_format
from mtk.io.atomic import atomic_file
from mtk.io.location import require_local
from mtk.schemas import Layout

ArrayKind = Literal["features", "joints", "stats"]
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_MAGIC = b"\x80"  # the PROTO opcode that starts every pickle of protocol 2 and above
#: what parsing a damaged .npy header raises
_HEADER_ERRORS = (OSError, EOFError, ValueError, SyntaxError, TypeError, tokenize.TokenError)


@dataclass(frozen=True)
class NpyHeader:
    """What a .npy file declares, checked against its size: ``offset`` + the data's bytes == the file size."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int


def _read_header(handle, path: Path, size: int | None = None) -> NpyHeader:
    """Parse the header at the start of the open ``handle`` and check it against the file size (``size``:
    the bytes of a stream that is not a file, such as an archive member)."""
    try:
        magic = handle.read(len(NPY_MAGIC))
        if magic != NPY_MAGIC:
            problem = ("is an .npz archive, not a single array" if magic[:4] == ZIP_MAGIC else
                       "holds pickled data (a raw pickle), which mtk never unpickles" if magic[:1] == PICKLE_MAGIC
                       else "is not a .npy file")
            raise BadInputError(path, problem, "expected an array saved with numpy.save")
        handle.seek(0)
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(handle)
    except _HEADER_ERRORS as err:
        raise BadInputError(path, f"is not a readable .npy file: {first_line(err)}",
                            "the file may be truncated or corrupted") from None
    if dtype.hasobject:
        raise BadInputError(path, "holds pickled data (e.g. an object array), which mtk never unpickles",
                            "save it as a plain numeric array")
    header = NpyHeader(tuple(int(n) for n in shape), dtype, bool(fortran_order), handle.tell())
    size = os.fstat(handle.fileno()).st_size if size is None else size
    declared = header.offset + math.prod(header.shape) * dtype.itemsize
    if declared != size:
        raise BadInputError(path, f"declares {header.shape} {dtype} ({declared} bytes with its header) but holds "
                            f"{size} bytes", "the file is truncated or corrupted")
    return header


def _open_npy(path: Path):
    """``path`` opened for reading, with one-line errors for what is not a regular file (opening never blocks
    on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MtkError(path, "no such file", "check the path") from None
    except OSError as err:
        raise BadInputError(path, f"cannot be read: {err.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise MtkError(path, "is a folder, not a .npy file")
        raise BadInputError(path, "is not a regular file (a device, FIFO or socket)", "give a .npy file")
    return os.fdopen(fd, "rb")


def npy_header(path: str | Path) -> NpyHeader:
    """The header of a .npy file, checked against the file's size (nothing else is read)."""
    path = Path(path)
    with _open_npy(path) as handle:
        return _read_header(handle, path)


def load_npy(path: str | Path, mmap: bool = False) -> np.ndarray:
    """Load a .npy file safely: the header is checked against the file size before anything is allocated; no
    pickles, numeric dtypes only, one-line errors."""
    path = Path(path)
    with _open_npy(path) as handle:
        header = _read_header(handle, path)
        if not (np.issubdtype(header.dtype, np.floating) or np.issubdtype(header.dtype, np.integer)):
            raise BadInputError(path, f"has dtype {header.dtype}, expected a numeric array")
        order = "F" if header.fortran_order else "C"
        try:
            count = math.prod(header.shape)
            if mmap and count:
                return np.memmap(handle, dtype=header.dtype, mode="r", offset=header.offset, shape=header.shape,
                                 order=order)
            data = np.fromfile(handle, dtype=header.dtype, count=count) if count else np.empty(0, header.dtype)
        except (OSError, ValueError) as err:
            raise BadInputError(path, f"is not a readable .npy file: {first_line(err)}",
                                "the file may be truncated or corrupted") from None
    if len(data) != count:
        raise BadInputError(path, f"ended early ({len(data)} of {count} values)", "the file may be truncated")
    return data.reshape(header.shape, order=order)


def load_npz(path: str | Path, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (default: all) of an ``.npz`` archive, read without trusting it: the archive's
    directory is checked first (:func:`mtk.formats.limits.zip_member_problem`: a deflate bomb is refused), each
    member's ``.npy`` header against the member's size, before its array is allocated; no pickles, numbers
    and fixed-width text only, one-line errors."""
    path = Path(path)
    handle = _open_npy(path)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        handle.close()
        raise BadInputError(path, f"is not a readable .npz archive: {first_line(err)}",
                            "the file may be truncated or corrupted") from None
    with handle, archive:
        members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        wanted = list(members) if keys is None else list(keys)
        missing = [key for key in wanted if key not in members]
        if missing:
            raise BadInputError(path, f"has no array {missing[0]!r} (it holds {', '.join(members) or 'none'})")
        found = {}
        for key in wanted:
            info = members[key]
            if problem := zip_member_problem(info):
                raise BadInputError(path, problem, "the archive is damaged or hostile")
            try:
                with archive.open(info) as member:
                    header = _read_header(member, path / key, info.file_size)
                    if header.dtype.kind not in "biufU":
                        raise BadInputError(path / key, f"has dtype {header.dtype}, expected numbers or text")
                    member.seek(0)
                    found[key] = np.lib.format.read_array(member, allow_pickle=False)
            except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as err:
                raise BadInputError(path / key, f"is not readable: {first_line(err)}",
                                    "the archive may be truncated or corrupted") from None
        return found


class NpyRows:
    """The rows of a C-ordered 2-D ``.npy`` file, read on demand: ``rows[a:b]`` is a fresh array and nothing
    stays mapped, so a reader of windows holds one window, whatever the file's length."""

    def __init__(self, path: str | Path, header: NpyHeader):
        self.path, self.header = Path(path), header
        self.shape, self.dtype = header.shape, header.dtype

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("NpyRows reads contiguous rows only")
        count = max(stop - start, 0)
        width = self.shape[1]
        with _open_npy(self.path) as handle:
            handle.seek(self.header.offset + start * width * self.dtype.itemsize)
            data = np.fromfile(handle, dtype=self.dtype, count=count * width) if count * width else \
                np.empty(0, self.dtype)
        if data.size != count * width:
            raise BadInputError(self.path, "ended early", "the file may be truncated")
        return data.reshape(count, width)


def load_motion(path: str | Path) -> np.ndarray:
    """A feature (T, D) or joints (T, J, 3) file to compute on: :func:`load_npy` after its header's frames
    are checked against :data:`~mtk.analysis.length.MAX_FRAMES` (nothing is read of a longer one)."""
    shape = npy_header(path).shape
    if len(shape) in (2, 3):
        require_frames(shape[0], path)
    return load_npy(path)


def array_kind(array: np.ndarray, path: str | Path) -> ArrayKind:
    """What a loaded array is, from its shape; rejects shapes mtk has no meaning for."""
    if array.ndim == 1:
        if array.shape[0] == 0:
            raise BadInputError(path, "is an empty vector")
        return "stats"
    if array.ndim == 2:
        if array.shape[0] == 0:
            raise BadInputError(path, f"has 0 frames (shape {array.shape})")
        return "features"
    if array.ndim == 3 and array.shape[-1] == 3:
        if array.shape[0] == 0:
            raise BadInputError(path, f"has 0 frames (shape {array.shape})")
        return "joints"
    raise BadInputError(path, f"has shape {array.shape}; expected features (T, D), joints (T, J, 3) "
                        "or a stats vector (D,)")


def resolve_layout(dim: int, requested: str | None, path: str | Path) -> Layout | None:
    """The layout named by the user (checked against ``dim``) or the one detected from ``dim``."""
    if requested is not None:
        try:
            layout = get_layout(requested)
        except KeyError as err:
            raise MtkError(None, str(err.args[0]), f"use --layout {layout_names()}") from None
        if layout.dim != dim:
            raise BadInputError(path, f"has {dim} columns but layout {layout.name} has {layout.dim}",
                                "check --layout")
        return layout
    return layout_for_dim(dim)


@dataclass
class FeatureFile:
    """A feature array with its layout."""

    path: Path
    features: np.ndarray
    layout: Layout


def load_features(path: str | Path, layout: str | None = None) -> FeatureFile:
    """Load a (T, D) feature file whose D matches a known layout (or ``layout``), of at most
    :data:`~mtk.analysis.length.MAX_FRAMES` frames."""
    array = load_motion(path)
    if array_kind(array, path) != "features":
        raise BadInputError(path, f"has shape {array.shape}; expected features (T, D)")
    require_finite(array, path)
    found = resolve_layout(array.shape[1], layout, path)
    if found is None:
        raise BadInputError(path, f"has {array.shape[1]} columns, which matches no known layout",
                            "known: " + ", ".join(f"{spec.dim} ({spec.name})" for spec in layouts().values()))
    return FeatureFile(Path(path), array, found)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (temporary sibling, then rename)."""
    path = require_local(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def detect(path: str) -> bool:
    """A single .npy file."""
    return str(path).endswith(".npy") and Path(path).is_file()


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Report on a feature, joints or stats file (features of any length are read in windows)."""
    from mtk.analysis.inspection import describe_features, describe_joints, describe_stats

    header = npy_header(path)
    if len(header.shape) == 2 and not header.fortran_order and header.shape[0] > 0 \
            and header.dtype.kind in "biuf":
        found = resolve_layout(header.shape[1], layout, path)
        return describe_features(NpyRows(path, header), found, str(path), fps, layout_requested=layout is not None)
    array = load_motion(path)
    kind = array_kind(array, path)
    if kind == "joints":
        return describe_joints(array, str(path), fps)
    found = resolve_layout(array.shape[-1], layout, path)
    if kind == "stats":
        if found is None:
            raise BadInputError(path, f"is a 1-D array of {array.shape[0]} values, which is no layout's "
                                "mean/std size", f"expected {layout_dims()} values")
        return describe_stats(array, found, str(path))
    return describe_features(array, found, str(path), fps, layout_requested=layout is not None)


register_format("array", "array", "a single .npy array: features (T, D), joints (T, J, 3) or stats (D,)",
                "a .npy array", detect, suffixes=(".npy",), reader=load_npy, writer=save_npy, inspect=inspect,
                order=80)
