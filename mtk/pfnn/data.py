"""A PFNN database for training: rows, normalisation, and a validation split that holds out whole clips.

Clips are the ``clips`` entries of the export's ``layout.json`` (name, rows [start, stop)); a clip's rows
are either all in training or all in validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError

NORM_FILES = ("Xmean", "Xstd", "Ymean", "Ystd")


@dataclass
class Database:
    X: np.ndarray
    Y: np.ndarray
    P: np.ndarray
    layout: dict[str, Any]
    norm: dict[str, np.ndarray]
    path: str

    def clips(self) -> list[tuple[str, int, int]]:
        """(name, start, stop) of every clip, checked to tile the rows."""
        clips = self.layout.get("clips")
        if not isinstance(clips, list) or not clips:
            return [("all", 0, len(self.X))]
        out, expected = [], 0
        for clip in clips:
            start, stop = (int(v) for v in clip["rows"])
            if start != expected or stop < start:
                raise BadInputError(self.path, f"layout.json's clip {clip.get('name')!r} rows {start}:{stop} do not "
                                    "follow the previous clip", "re-export the database")
            out.append((str(clip["name"]), start, stop))
            expected = stop
        if expected != len(self.X):
            raise BadInputError(self.path, f"layout.json's clips cover {expected} rows, the database has {len(self.X)}")
        return out


def read_database(path: str | Path) -> Database:
    """An ``mtk convert --to pfnn`` folder with its layout.json and normalisation (``.npy``)."""
    from mtk.formats.arrays import load_npy
    from mtk.formats.pfnn import database_root, read_pfnn_database

    folder = Path(path)
    X, Y, P, layout = read_pfnn_database(folder)
    root = database_root(folder)
    if layout is None:
        raise BadInputError(folder, "has no layout.json", "train on a folder written by `mtk convert --to pfnn`")
    if folder.suffix == ".npz":
        folder = folder.parent
    norm = {}
    for name, dim in zip(NORM_FILES, (X.shape[1], X.shape[1], Y.shape[1], Y.shape[1]), strict=True):
        file = root.check(folder / f"{name}.npy")
        vector = load_npy(file)
        if vector.shape != (dim,) or not np.isfinite(vector).all():
            raise BadInputError(file, f"has shape {vector.shape} or non-finite values, expected ({dim},)")
        if name.endswith("std") and (vector <= 0).any():
            raise BadInputError(file, "holds a std that is zero or negative", "re-export the database")
        norm[name] = vector.astype(np.float64)
    return Database(X, Y, P, layout, norm, str(path))


def clip_split(clips: list[tuple[str, int, int]], fraction: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training rows, validation rows and the validation clips' names: whole clips, picked in a seeded
    random order until they hold ``fraction`` of the rows (at least one clip; none when there is only one)."""
    total = sum(stop - start for _, start, stop in clips)
    order = np.random.default_rng(seed).permutation(len(clips))
    held: set[int] = set()
    rows = 0
    if len(clips) > 1 and fraction > 0:
        for index in order[:-1]:
            held.add(int(index))
            rows += clips[index][2] - clips[index][1]
            if rows >= fraction * total:
                break

    def rows_of(indices) -> np.ndarray:
        parts = [np.arange(clips[i][1], clips[i][2]) for i in sorted(indices)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    train = rows_of(set(range(len(clips))) - held)
    return train, rows_of(held), [clips[i][0] for i in sorted(held)]
