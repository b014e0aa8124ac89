"""Which format a path is in. Each format is one module with ``detect(path) -> bool`` and, where mtk can
describe it, ``inspect(path, layout=None, fps=None) -> Report`` (dataset readers and writers are opened
through :mod:`mtk.formats.datasets`). Modules import their heavy dependencies lazily, so detection stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mtk.errors import MtkError
from mtk.io.destination import is_url


@dataclass(frozen=True)
class FormatEntry:
    name: str
    module: str
    description: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


#: Detection order matters: the first format whose ``detect`` says yes wins.
FORMATS: tuple[FormatEntry, ...] = (
    FormatEntry("tokens-zarr", "mtk.formats.tokens.zarr", "a Zarr tokens store (codes, offsets, names, texts, counts)"),
    FormatEntry("tokens-motionmillion", "mtk.formats.tokens.motionmillion",
                "MotionMillion tokens: a code folder with <folder>_prob.npy beside it, that file, or all_data.pkl"),
    FormatEntry("pfnn", "mtk.formats.pfnn", "a PFNN database: database.npz {Xun, Yun, Pun} or its export folder"),
    FormatEntry("zarr", "mtk.formats.zarr_store", "a Zarr v3 dataset store (.zarr folder or fsspec URL)"),
    FormatEntry("hdf5", "mtk.formats.hdf5_store", "an HDF5 dataset file (.h5/.hdf5)"),
    FormatEntry("npy-folder", "mtk.formats.npy_folder",
                "a dataset folder: HumanML3D/KIT (new_joint_vecs/) or MotionMillion (motion_data/vector_272/)"),
    FormatEntry("bvh", "mtk.formats.bvh", "a BVH motion capture file (any skeleton)"),
    FormatEntry("npy", "mtk.formats.arrays", "a single .npy array: features (T, D), joints (T, J, 3) or stats (D,)"),
)


def detect(path: str | Path) -> FormatEntry:
    """The format of ``path``; a one-line error when none fits."""
    text = str(path)
    if not is_url(text) and not Path(text).exists():
        raise MtkError(text, "no such file or folder", "check the path")
    for entry in FORMATS:
        if entry.load().detect(text):
            return entry
    raise MtkError(text, "is not in a format mtk knows",
                   "expected a .npy array, a dataset folder, a .zarr store, an .h5 file, a .bvh file, "
                   "a PFNN database.npz or tokens")


def inspect(path: str | Path, layout: str | None = None, fps: float | None = None):
    """Detect ``path``'s format and describe it."""
    entry = detect(path)
    module = entry.load()
    if not hasattr(module, "inspect"):
        raise MtkError(path, f"mtk cannot describe {entry.name} inputs yet")
    return module.inspect(str(path), layout=layout, fps=fps)
