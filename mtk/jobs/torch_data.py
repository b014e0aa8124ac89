"""PyTorch datasets over any dataset store (npy folder, Zarr, HDF5; local or fsspec URL).

* :class:`WindowDataset` - one random fixed-length window per motion per epoch (MotionMillion's tokenizer
  sampling: every motion is drawn equally often), normalised with the dataset's mean/std.
* :class:`MotionDataset` - whole motions, normalised and zero-padded, with lengths and names (evaluation).

``layout=`` (or ``splits=``, a folder of split lists) also opens any folder tree of feature ``.npy`` files
(:mod:`mtk.formats.npy_tree`). Both are picklable and open their files lazily in each DataLoader worker
(h5py is never opened before a fork). On a local Zarr store a window is one direct read from an uncompressed
shard (:class:`mtk.formats.zarr_store.ShardFiles`), so memory holds only the window being returned.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import Dataset

from mtk.analysis.finite import check_normalisation, require_finite
from mtk.analysis.length import MAX_ENCODE_FRAMES, require_frames
from mtk.errors import BadInputError, MtkError
from mtk.formats.base import DatasetReader
from mtk.formats.datasets import open_dataset


class _StoreDataset(Dataset):
    """Shared setup: the reader, the split's motions that have data, their lengths and the stats."""

    def __init__(self, path: str, split: str | None, layout: str | None, normalize: bool,
                 splits: str | None = None):
        self.path = str(path)
        self.split = split
        self.splits = splits
        reader = open_dataset(self.path, layout=layout, splits=splits)
        info = reader.info
        try:
            wanted = info.split_names(split)
        except KeyError as err:
            raise MtkError(self.path, str(err.args[0]), "pass one of them, or all for every motion") from None
        present = set(info.names)
        names = [n for n in wanted if n in present]
        self.missing = len(wanted) - len(names)
        self.layout = info.layout
        dim = int(info.layout.dim) if info.layout else int(reader.read_window(names[0], 0, 1).shape[1])
        if normalize and info.stats is None:
            raise MtkError(self.path, "has no mean/std to normalise with", "compute them with mtk stats")
        if info.stats is not None and normalize:
            check_normalisation(info.stats.mean, info.stats.std, dim, f"{self.path} mean/std")
            self.mean = np.asarray(info.stats.mean, dtype=np.float32)
            self.std = np.asarray(info.stats.std, dtype=np.float32)
        else:
            self.mean, self.std = np.zeros(dim, np.float32), np.ones(dim, np.float32)
        self.all_names = names
        self.all_lengths = np.array([reader.length(n) for n in names], dtype=np.int64)
        reader.close()
        self._reader: DatasetReader | None = None

    @property
    def reader(self) -> DatasetReader:
        if self._reader is None:
            self._reader = open_dataset(self.path, layout=self.layout.name if self.layout else None,
                                        splits=self.splits)
        return self._reader

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_reader"] = None
        return state

    def normalize(self, features: np.ndarray, name: str) -> torch.Tensor:
        """(x - mean) / std in the features' precision (float64 sources stay exact until the cast); motion
        ``name``'s features must be finite and of the dataset's width."""
        if features.ndim != 2 or features.shape[1] != len(self.mean):
            raise BadInputError(f"{self.path}: motion {name}", f"has shape {features.shape}; the dataset's "
                                f"motions have {len(self.mean)} columns", "fix or remove it")
        require_finite(features, f"{self.path}: motion {name}")
        normalized = np.subtract(features, self.mean, dtype=np.result_type(features.dtype, np.float32))
        normalized /= self.std
        return torch.from_numpy(normalized.astype(np.float32, copy=False))


class WindowDataset(_StoreDataset):
    """Random ``window``-frame windows, one per motion per epoch; items are (window, D) float32 tensors.

    Motions shorter than the window are left out and counted in ``excluded`` (a warning says how many).
    ``seed`` fixes the window starts together with torch's per-worker seed; a key ``(index, start)`` reads
    the window at ``start`` instead (what the tokenizer's trainer asks for).
    """

    def __init__(self, path: str, window: int = 64, split: str | None = None, seed: int = 0,
                 layout: str | None = None, normalize: bool = True, splits: str | None = None):
        super().__init__(path, split, layout, normalize, splits)
        self.window = int(window)
        self.seed = int(seed)
        keep = self.all_lengths >= self.window
        self.names = [n for n, k in zip(self.all_names, keep) if k]
        self.lengths = self.all_lengths[keep]
        self.excluded = int((~keep).sum())
        if self.excluded:
            warnings.warn(f"{self.path}: {self.excluded} of {len(keep)} motions are shorter than the "
                          f"{self.window}-frame window and are left out", stacklevel=2)
        self._rng: np.random.Generator | None = None

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_rng"] = None
        return state

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng([self.seed, torch.initial_seed() % 2**63])
        return self._rng

    def __len__(self) -> int:
        return len(self.names)

    def start_for(self, index: int) -> int:
        """A uniform start in 0..T-window (inclusive), as MotionMillion's loader draws it."""
        return int(self.rng.integers(0, self.lengths[index] - self.window + 1))

    def __getitem__(self, key: int | tuple[int, int]) -> torch.Tensor:
        """Motion ``key``'s window at a random start, or, for a key ``(index, start)``, at that start (a
        sampler that plans the windows itself, e.g. :class:`mtk.tokenizer.sampling.WindowStream`)."""
        index, start = key if isinstance(key, tuple) else (key, self.start_for(key))
        if not 0 <= start <= self.lengths[index] - self.window:
            raise IndexError(f"window start {start} is outside motion {self.names[index]!r}")
        rows = self.reader.read_window(self.names[index], start, self.window)
        return self.normalize(rows, self.names[index])


class MotionDataset(_StoreDataset):
    """Whole motions for evaluation: dict(features=(L_max, D) float32 normalised and zero-padded,
    length=int, name=str). Motions longer than ``max_length`` keep their first ``max_length`` frames."""

    def __init__(self, path: str, split: str | None = None, max_length: int | None = None,
                 layout: str | None = None, normalize: bool = True, splits: str | None = None):
        super().__init__(path, split, layout, normalize, splits)
        self.names = self.all_names
        self.lengths = self.all_lengths
        longest = int(self.lengths.max()) if len(self.lengths) else 0
        if not max_length and longest > MAX_ENCODE_FRAMES:  # every item is padded to the longest motion
            name = self.names[int(self.lengths.argmax())]
            require_frames(longest, f"{self.path}: motion {name}", MAX_ENCODE_FRAMES, "evaluates")
        self.max_length = int(max_length) if max_length else longest

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> dict:
        name = self.names[index]
        length = int(min(self.lengths[index], self.max_length))
        rows = self.reader.read_window(name, 0, length)
        features = torch.zeros(self.max_length, len(self.mean), dtype=torch.float32)
        features[:length] = self.normalize(rows, name)
        return {"features": features, "length": length, "name": name}
