"""No silent NaN: the checks at the points where features enter a computation, and of normalisation vectors.

Every command that computes from features (convert to joints/BVH/PFNN/263/272, stats, tokenize, tokenizer
eval, render) goes through :func:`require_finite`; every command that takes a mean/std pair through
:func:`check_normalisation`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtk.errors import BadInputError

SKIP_HINT = "fix or drop it; a dataset can skip it with --skip-bad"
#: for outputs computed from finite input (the final check before anything is written)
COMPUTED_HINT = "computing from it gave NaN or Inf (degenerate poses); check it with mtk inspect"


def finite_problem(array: np.ndarray) -> str | None:
    """Where ``array`` holds NaN or Inf (count and first position), or None when it is finite."""
    values = np.asarray(array)
    if values.dtype.kind not in "fc" or np.isfinite(values).all():
        return None
    bad = ~np.isfinite(values)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"frame {first[0]}, column {first[1]}" if len(first) == 2 else f"index {first}"
    return f"holds {int(bad.sum())} NaN or Inf values (the first at {where})"


def require_finite(array: np.ndarray, what: str | Path, hint: str = SKIP_HINT) -> np.ndarray:
    """``array`` unchanged when it is finite; otherwise a one-line error naming ``what`` (a file, or a
    dataset's motion)."""
    problem = finite_problem(array)
    if problem is not None:
        raise BadInputError(what, problem, hint)
    return array


def require_bounded(array: np.ndarray, limit: float, what: str | Path, hint: str, label: str = "values") -> np.ndarray:
    """``array`` unchanged when it is finite and no value exceeds ``limit`` in magnitude (so that sums and
    products of a few of them stay finite); otherwise a one-line error naming ``what``."""
    require_finite(array, what, hint)
    values = np.asarray(array)
    if values.size and float(np.abs(values).max()) > limit:
        top = float(np.abs(values).max())
        raise BadInputError(what, f"holds {label} of magnitude {top:.3g}, beyond {limit:.0e}", hint)
    return array


#: the largest |mean| and std a feature normalisation may hold: features are metres, radians, velocities and
#: contact flags (real stats stay within 0.001 .. 2); beyond it, normalised values overflow float32 products
NORMALISATION_LIMIT = 1e6
#: the smallest std relative to max(|mean|, 1) (as ``mtk stats`` sets such columns to 1): dividing by less
#: amplifies rounding noise by more than a million
MIN_STD_RTOL = 1e-6


def check_normalisation(mean: np.ndarray, std: np.ndarray, dim: int | None, source: str | Path) -> None:
    """Refuse a mean/std pair that cannot normalise features of width ``dim`` (None: any width): each a
    (D,) vector of that width, finite, |mean| and std at most :data:`NORMALISATION_LIMIT`, and the std at
    least :data:`MIN_STD_RTOL` times max(|mean|, 1). ``source`` names where they come from."""
    mean, std = np.asarray(mean), np.asarray(std)
    for key, vector in (("mean", mean), ("std", std)):
        if vector.ndim != 1 or (dim is not None and vector.shape[0] != dim):
            expected = f"({dim},)" if dim is not None else "(D,)"
            raise BadInputError(source, f"{key} has shape {vector.shape}; expected {expected}",
                                "pass the mean and std of the features' layout")
        problem = finite_problem(vector)
        if problem is not None:
            raise BadInputError(source, f"{key} {problem}", "recompute them with mtk stats")
    if mean.shape != std.shape:
        raise BadInputError(source, f"mean has {mean.shape[0]} values but std has {std.shape[0]}",
                            "pass the mean and std of the same dataset")
    bad = np.flatnonzero(std <= 0)
    if bad.size:
        raise BadInputError(source, f"std has {bad.size} values that are zero or negative (the first at "
                            f"column {int(bad[0])})", "recompute them with mtk stats")
    for key, vector in (("mean", mean), ("std", std)):
        require_bounded(vector, NORMALISATION_LIMIT, source, "recompute them with mtk stats", f"a {key}")
    tiny = np.flatnonzero(std < MIN_STD_RTOL * np.maximum(np.abs(mean), 1.0))
    if tiny.size:
        raise BadInputError(source, f"std has {tiny.size} values too small to divide by (the first, "
                            f"{float(std[tiny[0]]):.3g}, at column {int(tiny[0])}; at least {MIN_STD_RTOL:g} x "
                            "max(|mean|, 1))", "recompute them with mtk stats (it sets constant columns to 1)")
