"""Single-array files: a feature file (T, D), a joints file (T, J, 3), a stats vector (D,).

Loading never unpickles (``allow_pickle=False``) and turns every failure into a one-line
:class:`~mtk.errors.BadInputError` naming the file. Saving is atomic.
"""

from __future__ import annotations

import tokenize
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line
from mtk.formats.registry import register_format
from mtk.io.atomic import atomic_file
from mtk.toolkit.finite import require_finite
from mtk.schemas import LAYOUTS, Layout, get_layout, layout_dims, layout_for_dim, layout_names

ArrayKind = Literal["features", "joints", "stats"]


def load_npy(path: str | Path, mmap: bool = False) -> np.ndarray:
    """``np.load`` a .npy file safely: no pickles, clear one-line errors, numeric dtypes only."""
    path = Path(path)
    if not path.exists():
        raise MtkError(path, "no such file", "check the path")
    if path.is_dir():
        raise MtkError(path, "is a folder, not a .npy file")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as err:
        if "allow_pickle" in str(err) or "pickle" in str(err).lower():
            raise BadInputError(path, "holds pickled data (e.g. an object array), which mtk never unpickles",
                                "save it as a plain numeric array") from None
        raise BadInputError(path, f"is not a readable .npy file: {first_line(err)}",
                            "the file may be truncated or corrupted") from None
    except (OSError, EOFError, zipfile.BadZipFile, SyntaxError, tokenize.TokenError) as err:  # header parsing
        raise BadInputError(path, f"is not a readable .npy file: {first_line(err)}",
                            "the file may be truncated or corrupted") from None
    if isinstance(array, np.lib.npyio.NpzFile):
        array.close()
        raise BadInputError(path, "is an .npz archive, not a single array")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise BadInputError(path, f"has dtype {array.dtype}, expected a numeric array")
    return array


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
    """Load a (T, D) feature file whose D matches a known layout (or ``layout``)."""
    array = load_npy(path)
    if array_kind(array, path) != "features":
        raise BadInputError(path, f"has shape {array.shape}; expected features (T, D)")
    require_finite(array, path)
    found = resolve_layout(array.shape[1], layout, path)
    if found is None:
        raise BadInputError(path, f"has {array.shape[1]} columns, which matches no known layout",
                            "known: " + ", ".join(f"{spec.dim} ({spec.name})" for spec in LAYOUTS.values()))
    return FeatureFile(Path(path), array, found)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (temporary sibling, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def detect(path: str) -> bool:
    """A single .npy file."""
    return str(path).endswith(".npy") and Path(path).is_file()


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Report on a feature, joints or stats file."""
    from mtk.toolkit.inspection import describe_features, describe_joints, describe_stats

    array = load_npy(path)
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
