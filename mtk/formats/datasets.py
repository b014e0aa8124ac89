"""Open any dataset (npy folder, Zarr store, HDF5 file; local path or fsspec URL) and create writers.

>>> reader = open_dataset("HumanML3D")            # or "data.zarr", "data.h5", "s3://bucket/data.zarr"
>>> with create_writer("out.zarr", "zarr", reader.info) as writer:
...     for motion in reader.iter():
...         writer.add(motion)
...     writer.set_splits(reader.info.splits)
"""

from __future__ import annotations

from pathlib import Path

from mtk.errors import MtkError
from mtk.formats.model import DatasetInfo, DatasetReader

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
    if "://" not in text and not Path(text).exists():
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


def inspect_dataset(reader: DatasetReader, fps: float | None = None):
    """An inspect report (kind ``dataset``) for an open reader."""
    from mtk.toolkit.validation import dataset_report

    info = reader.info
    lengths = {name: reader.length(name) for name in info.names}
    return dataset_report(reader.path, info.layout, fps or info.fps, lengths, info.splits,
                          stats_dim=None if info.stats is None else int(info.stats.mean.shape[-1]),
                          details={"format": type(reader).__name__.replace("Reader", "").lower(),
                                   "family": info.family})
