"""Open any dataset (npy folder, Zarr store, HDF5 file; local path or fsspec URL) and create writers.

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

from mtk.errors import BadInputError, MtkError
from mtk.io.destination import is_url
from mtk.formats.model import DatasetInfo, DatasetReader, Motion

#: writer format -> (module, class); the module is imported only when used
WRITERS = {
    "npy": ("mtk.formats.npy_folder", "NpyFolderWriter"),
    "zarr": ("mtk.formats.zarr_store", "ZarrWriter"),
    "hdf5": ("mtk.formats.hdf5_store", "Hdf5Writer"),
}
READERS = {
    "npy": ("mtk.formats.npy_folder", "NpyFolderReader"),
    "zarr": ("mtk.formats.zarr_store", "ZarrReader"),
    "hdf5": ("mtk.formats.hdf5_store", "Hdf5Reader"),
}
SUFFIXES = {".zarr": "zarr", ".h5": "hdf5", ".hdf5": "hdf5"}


def _load(table: dict[str, tuple[str, str]], name: str):
    import importlib

    module, attribute = table[name]
    return getattr(importlib.import_module(module), attribute)


def dataset_format(path: str | Path) -> str:
    """``npy``, ``zarr`` or ``hdf5`` for a dataset at ``path``; a one-line error otherwise."""
    from mtk.formats import hdf5_store, npy_folder, zarr_store

    text = str(path)
    if not is_url(text) and not Path(text).exists():
        raise MtkError(text, "no such file or folder", "check the path")
    for name, module in (("zarr", zarr_store), ("hdf5", hdf5_store), ("npy", npy_folder)):
        if module.detect(text):
            return name
    raise MtkError(text, "is not a dataset", "expected a HumanML3D/KIT or MotionMillion folder, a .zarr store "
                   "or an .h5 file")


def open_dataset(path: str | Path, layout: str | None = None) -> DatasetReader:
    """A reader for the dataset at ``path`` (folder, store or URL). Files are opened lazily."""
    return _load(READERS, dataset_format(path))(str(path), layout=layout)


def format_for_path(path: str | Path) -> str | None:
    """The writer format implied by a destination's suffix (.zarr, .h5, .hdf5), or None."""
    return SUFFIXES.get(Path(str(path).rstrip("/")).suffix.lower())


def create_writer(path: str | Path, format: str, info: DatasetInfo, **options):
    """A writer (context manager: ``add``, ``set_splits``, ``set_stats``, atomic commit on clean exit).

    ``options``: ``overwrite``, ``resume``; store-specific ones (``chunk_frames``, ``shard_frames``) for
    Zarr/HDF5, ``family`` for npy folders.
    """
    if format not in WRITERS:
        raise MtkError(None, f"unknown dataset format {format!r}", f"known: {', '.join(WRITERS)}")
    return _load(WRITERS, format)(str(path), info, **options)


def read_block(reader: DatasetReader, names: Sequence[str]) -> list[tuple[str, Motion | MtkError]]:
    """Read ``names`` in one efficient pass; when that fails, one by one, so each bad motion is named."""
    try:
        return [(motion.name, motion) for motion in reader.iter_names(names)]
    except (MtkError, OSError, ValueError, KeyError):
        pass
    out: list[tuple[str, Motion | MtkError]] = []
    for name in names:
        try:
            out.append((name, reader.read(name)))
        except MtkError as err:
            out.append((name, err))
        except (OSError, ValueError, KeyError) as err:
            out.append((name, BadInputError(reader.path, f"motion {name!r} is unreadable: {err}")))
    return out


def _stats_dims(info: DatasetInfo) -> tuple[int, int] | None:
    if info.stats is None:
        return None
    return int(np.shape(info.stats.mean)[-1]), int(np.shape(info.stats.std)[-1])


def _std(info: DatasetInfo) -> np.ndarray | None:
    return None if info.stats is None else np.asarray(info.stats.std)


def _details(reader: DatasetReader) -> dict:
    return {"format": type(reader).__name__.replace("Reader", "").lower(), "family": reader.info.family}


def _dtype(reader: DatasetReader) -> str | None:
    """The features' dtype on disk, from one row of the first readable motion."""
    for name in reader.info.names[:16]:
        try:
            return str(reader.read_window(name, 0, 1).dtype)
        except MtkError:
            continue
    return None


def inspect_dataset(reader: DatasetReader, fps: float | None = None):
    """An inspect report (kind ``dataset``) from names, lengths, splits and stats alone."""
    from mtk.toolkit.validation import dataset_report

    info = reader.info
    if hasattr(reader, "check"):
        reader.check()
    lengths = {name: reader.length(name) for name in info.names}
    return dataset_report(reader.path, info.layout, fps or info.fps, info.names, lengths, info.splits,
                          _stats_dims(info), std=_std(info), details=_details(reader),
                          dtype=_dtype(reader))


def validate_dataset(path: str | Path, layout: str | None = None, window: int | None = None,
                     block: int = 256, on_progress: Callable[[int], None] | None = None):
    """Read every motion and report structural and content findings (``mtk validate``)."""
    from mtk.toolkit.inspection import TRAINING_WINDOW
    from mtk.toolkit.validation import check_motions, dataset_report, summarize_motion

    reader = open_dataset(path, layout=layout)
    info = reader.info
    unreadable: list[str] = []

    def summaries():
        for start in range(0, len(info.names), block):
            for name, motion in read_block(reader, info.names[start:start + block]):
                if isinstance(motion, MtkError):
                    unreadable.append(motion.one_line())
                else:
                    yield summarize_motion(name, motion.features, motion.texts)
            if on_progress:
                on_progress(len(info.names[start:start + block]))

    dim = info.layout.dim if info.layout else None
    content, lengths = check_motions(summaries(), dim)
    report = dataset_report(reader.path, info.layout, info.fps, info.names, lengths, info.splits,
                            _stats_dims(info), std=_std(info), details=_details(reader),
                            window=window or TRAINING_WINDOW, dtype=_dtype(reader))
    report.findings = content + report.findings
    for message in unreadable:
        report.add("error", "unreadable", message)
    reader.close()
    return report
