"""Open any registered dataset format (npy folder, Zarr store, HDF5 file; local path or fsspec URL), create
writers, and describe a dataset from its reader (``mtk inspect``).

>>> reader = open_dataset("HumanML3D")            # or "data.zarr", "data.h5", "s3://bucket/data.zarr"
>>> with create_writer("out.zarr", "zarr", reader.info) as writer:
...     for motion in reader.iter():
...         writer.add(motion)
...     writer.set_splits(reader.info.splits)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mtk.analysis.finite import SKIP_HINT, finite_problem
from mtk.errors import BadInputError, BadNameError, DuplicateNameError, MtkError
from mtk.formats import registry
from mtk.formats.base import DatasetReader, DatasetWriter
from mtk.formats.model import DatasetInfo, Motion
from mtk.io.location import local_path
from mtk.schemas import Layout


#: the format that reads any folder tree of feature .npy files (never detected on its own)
TREE_FORMAT = "npy-tree"


def open_dataset(path: str | Path, layout: str | None = None, splits: str | Path | None = None) -> DatasetReader:
    """A reader for the dataset at ``path`` (folder, store or URL). Files are opened lazily.

    A folder that is no known dataset is read as a tree of feature ``.npy`` files when ``layout`` names its
    features, and always when ``splits`` (a folder of split lists) is given.
    """
    path = local_path(path)
    if splits is not None:
        return registry.get("dataset", TREE_FORMAT).reader(str(path), layout=layout, splits=local_path(splits))
    try:
        entry = registry.detect(path, "dataset")
    except BadInputError:
        if layout is None or not Path(path).is_dir():
            raise
        entry = registry.get("dataset", TREE_FORMAT)
    return entry.reader(str(path), layout=layout)


def tree_layout(path: str | Path, layout: str | None = None) -> str:
    """The layout of a tree of feature ``.npy`` files: ``layout`` when given, else detected from the width of
    its first motion (what ``--as-dataset`` passes on, so every reader of the tree agrees)."""
    if layout is not None:
        return layout
    found = registry.get("dataset", TREE_FORMAT).reader(str(path)).info.layout
    if found is None:
        raise BadInputError(path, "holds features of a width that matches no known layout", "pass --layout")
    return found.name


def format_for_path(path: str | Path) -> str | None:
    """The dataset format a destination's suffix names (.zarr, .h5, .hdf5), or None."""
    entry = registry.for_suffix(path, "dataset")
    return entry.name if entry else None


def create_writer(path: str | Path, format: str, info: DatasetInfo, **options) -> DatasetWriter:
    """A writer for dataset format ``format`` (a context manager; atomic commit on clean exit).

    ``options``: ``overwrite``, ``resume`` and the writer's own (``chunk_frames``, ``shard_frames`` for
    Zarr/HDF5, ``family`` for npy folders).
    """
    path = local_path(path)
    entry = registry.get("dataset", format)
    if entry.writer is None:
        writable = ", ".join(registry.names("dataset", writable=True))
        raise MtkError(None, f"mtk cannot write {format} datasets", f"write one of: {writable}")
    return entry.writer(str(path), info, **options)


def read_block(reader: DatasetReader, names: Sequence[str],
               usable: bool = True) -> list[tuple[str, Motion | MtkError]]:
    """Read ``names`` in one efficient pass; when that fails, one by one, so each bad motion is named. With
    ``usable`` a motion that cannot be used (:func:`motion_problem`) comes back as its error, like one that
    cannot be read (``validate`` reads them raw, to report each problem by kind)."""
    try:
        found = [(motion.name, motion) for motion in reader.iter_names(names)]
    except (MtkError, OSError, ValueError, KeyError):
        found = []
        for name in names:
            try:
                found.append((name, reader.read(name)))
            except MtkError as err:
                found.append((name, err))
            except (OSError, ValueError, KeyError) as err:
                found.append((name, BadInputError(reader.path, f"motion {name!r} is unreadable: {err}")))
    if not usable:
        return found
    layout = reader.info.layout
    return [(name, motion if isinstance(motion, MtkError) else _usable(motion, reader.path, layout))
            for name, motion in found]


def motion_problem(features: np.ndarray, dim: int | None) -> str | None:
    """Why ``features`` cannot be used as a motion of width ``dim`` (None: any), or None: no frames, another
    width, not floating point, NaN or Inf."""
    if features.ndim != 2 or features.shape[0] == 0:
        return f"has shape {features.shape}; expected (T, D) features with T > 0"
    if dim is not None and features.shape[1] != dim:
        return f"has {features.shape[1]} columns; the dataset's layout has {dim}"
    if features.dtype.kind != "f":
        return f"is {features.dtype}; expected floating-point features"
    return finite_problem(features)


def _usable(motion: Motion, path: str, layout: Layout | None) -> Motion | MtkError:
    problem = motion_problem(np.asarray(motion.features), layout.dim if layout else None)
    return motion if problem is None else BadInputError(path, f"motion {motion.name} {problem}", SKIP_HINT)


def _stats_dims(info: DatasetInfo) -> tuple[int, int] | None:
    if info.stats is None:
        return None
    return int(np.shape(info.stats.mean)[-1]), int(np.shape(info.stats.std)[-1])


def _dtype(reader: DatasetReader) -> str | None:
    """The features' dtype on disk, from one row of the first readable motion."""
    for name in reader.info.names[:16]:
        try:
            return str(reader.read_window(name, 0, 1).dtype)
        except MtkError:
            continue
    return None


def reader_format(reader: DatasetReader) -> str:
    """The registered name of the dataset format ``reader`` reads."""
    return next(f.name for f in registry.formats("dataset") if type(reader) is f.reader)


def dataset_report(reader: DatasetReader, lengths: dict[str, int], fps: float | None = None,
                   window: int | None = None):
    """A report (kind ``dataset``) from the reader's names, splits and stats and the motions' ``lengths``."""
    from mtk.analysis.validation import dataset_report as report

    info = reader.info
    std = None if info.stats is None else np.asarray(info.stats.std)
    details = {"format": reader_format(reader), "family": info.family}
    extra = {} if window is None else {"window": window}
    found = report(reader.path, info.layout, fps or info.fps, info.names, lengths, info.splits, _stats_dims(info),
                   std=std, details=details, dtype=_dtype(reader), **extra)
    found.fps_source = "--fps" if fps else info.fps_source
    return found


def bad_names_report(path: str, err: BadNameError):
    """The report of a dataset that cannot be opened because of a bad or repeated motion name: one error."""
    from mtk.analysis.inspection import Report

    report = Report(path=str(path), kind="dataset")
    report.add("error", "duplicate_name" if isinstance(err, DuplicateNameError) else "bad_name", err.one_line())
    return report


def inspect_dataset(reader: DatasetReader, fps: float | None = None):
    """An inspect report (kind ``dataset``) from names, lengths, splits and stats alone; a bad motion name is
    reported as an error finding."""
    try:
        info = reader.info
    except BadNameError as err:
        return bad_names_report(reader.path, err)
    reader.check()
    return dataset_report(reader, {name: reader.length(name) for name in info.names}, fps)


def inspector(reader: type[DatasetReader]) -> Callable[..., object]:
    """The registry's ``inspect(path, layout=None, fps=None)`` for a dataset format read by ``reader``."""
    def inspect(path: str, layout: str | None = None, fps: float | None = None):
        return inspect_dataset(reader(path, layout=layout), fps=fps)

    return inspect
