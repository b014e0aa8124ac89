"""Dataset mean/std in the conventions of the text-to-motion ecosystem (docs/stats.md, "The three conventions").

Pure functions on arrays. :class:`Moments` accumulates per-dimension count, mean and M2 in float64 and
merges chunks with Chan's exact pairwise formula, so a dataset is one streaming pass in O(D) memory and
partial results from several workers combine into the same numbers as one pass over the concatenation.

Three conventions turn moments into a normalisation std:

- ``groups="layout"``: per-dim std replaced by its group average over the layout's std groups
  (HumanML3D's 7 groups for 263/251, the 272 repo's 5 groups); what the published files hold.
- ``groups="none"``: the raw per-dim std.
- ``feat_bias=F``: the layout's feat-bias groups (root, contacts) divided again by F, as text-to-motion
  training does before saving its ``meta/std.npy``.

Dims whose final std is zero (below 1e-6 relative) get 1 (normalising leaves them at ``x - mean``, about 0)
and are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mtk.schemas import Layout

Grouping = Literal["layout", "none"]
GROUPINGS: tuple[str, ...] = ("layout", "none")

#: std below this fraction of max(|mean|, 1) counts as zero: a constant column, or one that varies only by
#: rounding (the 272 root rotation's R02 entry is 0 up to 1e-8); dividing by it would amplify that noise (the
#: same bound every command holds a given std to: ``mtk.analysis.finite.MIN_STD_RTOL``)
ZERO_STD_RTOL = 1e-6
#: two std values in one group are "the same" within this relative tolerance (float32 files round them)
SAME_VALUE_RTOL = 1e-5


def _as_rows(features: np.ndarray) -> np.ndarray:
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(f"expected features of shape (T, D), got {array.shape}")
    return array


class Scratch:
    """A reusable float64 work array, so chunks do not allocate (and page-fault) a fresh one each."""

    def __init__(self, dim: int):
        self.array = np.empty((0, dim), np.float64)

    def rows(self, count: int) -> np.ndarray:
        if self.array.shape[0] < count:
            self.array = np.empty((max(count, 2 * self.array.shape[0], 256), self.array.shape[1]), np.float64)
        return self.array[:count]


def chunk_moments(features: np.ndarray, scratch: Scratch | None = None) -> Moments:
    """The moments of one (T, D) chunk, two-pass in float64 (mean first, then squared deviations)."""
    rows = _as_rows(features)
    moments = Moments(rows.shape[1])
    count = rows.shape[0]
    if count == 0:
        return moments
    buffer = (scratch or Scratch(rows.shape[1])).rows(count)
    np.copyto(buffer, rows)
    mean = buffer.sum(axis=0) / count
    np.subtract(buffer, mean, out=buffer)
    moments.count, moments.mean, moments.m2 = count, mean, np.einsum("ij,ij->j", buffer, buffer)
    return moments


@dataclass
class Moments:
    """Per-dimension count, mean and sum of squared deviations (M2), in float64."""

    dim: int
    count: int = 0
    mean: np.ndarray = field(default=None)  # type: ignore[assignment]
    m2: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.mean is None:
            self.mean = np.zeros(self.dim, np.float64)
        if self.m2 is None:
            self.m2 = np.zeros(self.dim, np.float64)
        self._scratch: Scratch | None = None

    def __getstate__(self) -> dict:
        return {"dim": self.dim, "count": self.count, "mean": self.mean, "m2": self.m2}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._scratch = None

    @classmethod
    def of(cls, features: np.ndarray) -> Moments:
        """The moments of one (T, D) array."""
        rows = _as_rows(features)
        moments = cls(rows.shape[1])
        moments.update(rows)
        return moments

    def update(self, features: np.ndarray) -> Moments:
        """Fold one chunk of rows (T, D) in: two-pass float64 chunk moments, then an exact Chan merge."""
        rows = _as_rows(features)
        if rows.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim} columns, got {rows.shape[1]}")
        if self._scratch is None:
            self._scratch = Scratch(self.dim)
        return self.merge(chunk_moments(rows, self._scratch))

    def merge(self, other: Moments) -> Moments:
        """Fold another accumulator in (in place); returns self."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge moments of {other.dim} dims into {self.dim}")
        return self._merge(other.count, other.mean, other.m2)

    def _merge(self, n: int, mean: np.ndarray, m2: np.ndarray) -> Moments:
        """Chan et al.'s pairwise update: exact in exact arithmetic, whatever the split into chunks."""
        if n == 0:
            return self
        if self.count == 0:
            self.count, self.mean, self.m2 = n, np.array(mean, np.float64), np.array(m2, np.float64)
            return self
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * n / total)
        self.count = total
        return self

    @property
    def variance(self) -> np.ndarray:
        """Population variance (ddof=0, as ``np.std`` in the reference scripts)."""
        if self.count == 0:
            raise ValueError("no rows were accumulated")
        return np.maximum(self.m2, 0.0) / self.count

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.variance)


def group_average(per_dim: np.ndarray, layout: Layout) -> np.ndarray:
    """Replace each std group's values by their average (the HumanML3D / 272-repo rule)."""
    out = np.array(per_dim, np.float64)
    for _label, slices in layout.std_group_slices():
        value = np.concatenate([out[s] for s in slices]).mean()
        for s in slices:
            out[s] = value
    return out


def feat_bias_slices(layout: Layout) -> list[slice]:
    return [layout.block(name).slice for name in layout.feat_bias_groups]


def apply_feat_bias(std: np.ndarray, layout: Layout, feat_bias: float) -> np.ndarray:
    """Divide the layout's feat-bias groups (root, contacts) by ``feat_bias``."""
    if feat_bias <= 0:
        raise ValueError(f"feat_bias must be positive, got {feat_bias}")
    out = np.array(std, np.float64)
    for s in feat_bias_slices(layout):
        out[s] /= feat_bias
    return out


def zero_std_dims(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Indices whose std is zero, or below :data:`ZERO_STD_RTOL` relative to max(|mean|, 1)."""
    return np.flatnonzero(std < ZERO_STD_RTOL * np.maximum(np.abs(mean), 1.0))


@dataclass
class NormStats:
    """Normalisation vectors (float64) and how they were made."""

    mean: np.ndarray
    std: np.ndarray
    groups: Grouping
    feat_bias: float
    frames: int
    #: dims whose std was zero and were set to 1
    zero_dims: list[int]

    @property
    def convention(self) -> str:
        return convention_name(self.groups, self.feat_bias)


def convention_name(groups: Grouping, feat_bias: float) -> str:
    """``grouped`` or ``per-dim``, with ``+feat_bias=F`` when F is not 1."""
    name = "grouped" if groups == "layout" else "per-dim"
    return name if feat_bias == 1 else f"{name}+feat_bias={feat_bias:g}"


def normalization(moments: Moments, layout: Layout, groups: Grouping = "layout",
                  feat_bias: float = 1.0) -> NormStats:
    """Mean and std in a convention: group averaging, then feat_bias, then zero std -> 1."""
    if groups not in GROUPINGS:
        raise ValueError(f"groups must be one of {GROUPINGS}, got {groups!r}")
    if moments.dim != layout.dim:
        raise ValueError(f"moments have {moments.dim} dims but layout {layout.name} has {layout.dim}")
    std = moments.std
    if groups == "layout":
        std = group_average(std, layout)
    std = apply_feat_bias(std, layout, feat_bias)
    zeros = zero_std_dims(std, moments.mean)
    std[zeros] = 1.0
    return NormStats(moments.mean.copy(), std, groups, float(feat_bias), moments.count, zeros.tolist())


def accumulate(arrays: Iterable[np.ndarray], dim: int) -> tuple[Moments, list[int]]:
    """Moments of every finite array; returns them with the positions of arrays skipped for NaN/Inf."""
    moments = Moments(dim)
    skipped = []
    for index, features in enumerate(arrays):
        if not np.isfinite(features).all():
            skipped.append(index)
            continue
        moments.update(features)
    return moments, skipped


def dataset_stats_from_arrays(arrays: Iterable[np.ndarray], layout: Layout, groups: Grouping = "layout",
                              feat_bias: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) as float64 over feature arrays, in a convention; arrays with NaN/Inf are skipped."""
    moments, _skipped = accumulate(arrays, layout.dim)
    stats = normalization(moments, layout, groups, feat_bias)
    return stats.mean, stats.std
