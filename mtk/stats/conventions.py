"""Which convention does a pair of Mean/Std files follow? (``mtk stats --check``)

Two ways to tell, both per std group of the layout:

- **against recomputed moments** (a dataset is given): the file's std divided by the recomputed group
  average (grouped file) or per-dim std (per-dim file). Groups outside the feat-bias set give the data
  ratio (1 when the files were computed from the same motions); feat-bias groups give that ratio / F.
- **from the files alone**: grouping is read off the std (one value per group or not). feat_bias comes
  from the contacts where the layout has them (binary contacts have std = sqrt(m (1 - m)), m their
  mean), otherwise from a heuristic: the root groups' std against same-unit groups (root velocity vs
  joint velocities, root height vs joint positions) is about 1 in every published unbiased file
  (0.66-1.26) and about 1/F after feat_bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mtk.features import family_of
from mtk.schemas import Layout
from mtk.stats.moments import SAME_VALUE_RTOL, Moments, convention_name, group_average

Grouping = Literal["grouped", "per-dim", "1 column"]
#: a ratio within this of 1 means "computed from the same motions"
MATCH_RTOL = 1e-4
#: a recomputed feat_bias within this of 1 means "no feat_bias"
NO_BIAS_TOL = 0.1
#: the ratio heuristic calls feat_bias present from this estimate on
HEURISTIC_BIAS_THRESHOLD = 2.0
#: the raw ratio estimate on the published unbiased files (HumanML3D 1.12, 272 repo 1.10, MotionMillion 1.14);
#: the heuristic divides by it so that those read 1
HEURISTIC_CALIBRATION = 1.12
#: from files alone, an estimate within this fraction of a whole number is taken as that number
SNAP_RTOL = 0.1
#: feat-bias block kind -> the same-unit block kind its std is compared with (from-files heuristic)
REFERENCE_KIND = {"root_yaw_velocity": "velocities", "root_velocity": "velocities",
                  "heading_6d": "velocities", "root_height": "positions"}
CANNOT_TELL = (
    "which motions or split the files were computed from (only a dataset can tell: pass DATASET)",
    "whether single-column groups were averaged (one column: grouped and per-dim agree)",
)


@dataclass
class GroupCheck:
    """One std group of the layout, as found in the files."""

    label: str
    columns: str
    feat_bias_group: bool
    grouping: Grouping
    file_std: float
    #: file std / recomputed std (same convention); None from files alone
    ratio: float | None = None
    #: max |file mean - recomputed mean| in units of the recomputed per-dim std; None from files alone
    mean_error: float | None = None


@dataclass
class ConventionCheck:
    """What a Mean/Std pair is: grouping, feat_bias, and whether it matches the data."""

    layout: str
    grouping: Literal["layout", "none", "mixed"]
    feat_bias: float
    feat_bias_basis: str
    convention: str
    description: str
    groups: list[GroupCheck]
    #: True when the files equal stats recomputed from the given motions; None from files alone
    matches_data: bool | None = None
    notes: list[str] = field(default_factory=list)


def _columns(slices: list[slice]) -> str:
    return ",".join(f"{s.start}:{s.stop}" for s in slices)


def _values(vector: np.ndarray, slices: list[slice]) -> np.ndarray:
    return np.concatenate([vector[s] for s in slices]).astype(np.float64)


def _is_one_value(values: np.ndarray) -> bool:
    return float(np.ptp(values)) <= SAME_VALUE_RTOL * float(np.abs(values).max())


def _grouping_of(values: np.ndarray) -> Grouping:
    if values.size == 1:
        return "1 column"
    return "grouped" if _is_one_value(values) else "per-dim"


def _overall(groups: list[GroupCheck]) -> Literal["layout", "none", "mixed"]:
    kinds = {g.grouping for g in groups} - {"1 column"}
    if kinds == {"grouped"}:
        return "layout"
    return "none" if kinds == {"per-dim"} else "mixed"


def _validate(mean: np.ndarray, std: np.ndarray, layout: Layout) -> None:
    for role, vector in (("mean", mean), ("std", std)):
        if vector.shape != (layout.dim,):
            raise ValueError(f"{role} has shape {vector.shape}, layout {layout.name} needs ({layout.dim},)")
        if not np.isfinite(vector).all():
            raise ValueError(f"{role} holds NaN or Inf")
    if (std <= 0).any():
        raise ValueError("std has zero or negative values (are MEAN and STD swapped?)")


def _describe(layout: Layout, grouping: str, feat_bias: float) -> str:
    if grouping == "mixed":
        return "mixed: some groups averaged, others per-dim; matches no published convention"
    if grouping == "none":
        base = "per-dim std (plain np.std, no grouping)"
        return base if feat_bias == 1 else f"{base}, feat_bias={feat_bias:g}"
    if feat_bias == 1:
        return family_of(layout).published_stats(layout)
    return (f"text-to-motion training meta/std.npy ({len(layout.std_groups)} groups, feat_bias={feat_bias:g}): "
            "the stats the T2M evaluators normalise with")


def _finish(layout: Layout, groups: list[GroupCheck], feat_bias: float, basis: str,
            matches: bool | None, notes: list[str]) -> ConventionCheck:
    grouping = _overall(groups)
    conv = convention_name("none" if grouping == "none" else "layout", feat_bias)
    return ConventionCheck(layout.name, grouping, feat_bias, basis, conv if grouping != "mixed" else "mixed",
                           _describe(layout, grouping, feat_bias), groups, matches, notes)


def compare_with_moments(mean: np.ndarray, std: np.ndarray, layout: Layout, moments: Moments) -> ConventionCheck:
    """Identify the files' convention against moments recomputed from a dataset's motions."""
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    _validate(mean, std, layout)
    per_dim = moments.std
    grouped = group_average(per_dim, layout)
    scale = np.where(per_dim > 0, per_dim, 1.0)
    groups = []
    for label, slices in layout.std_group_slices():
        values, kind = _values(std, slices), _grouping_of(_values(std, slices))
        reference = _values(grouped if kind == "grouped" else per_dim, slices)
        usable = reference > 0
        ratio = float(np.median(values[usable] / reference[usable])) if usable.any() else None
        error = float(np.max(np.abs(_values(mean, slices) - _values(moments.mean, slices)) / _values(scale, slices)))
        groups.append(GroupCheck(label, _columns(slices), _in_feat_bias(layout, label), kind,
                                 float(np.median(values)), ratio, error))
    plain = [g.ratio for g in groups if not g.feat_bias_group and g.ratio is not None]
    data_ratio = float(np.median(plain)) if plain else 1.0
    biased = [data_ratio / g.ratio for g in groups if g.feat_bias_group and g.ratio]
    feat_bias = _round_bias(float(np.median(biased)) if biased else 1.0)
    matches = (all(abs(r - 1) <= MATCH_RTOL for r in plain)
               and all(g.mean_error is not None and g.mean_error <= MATCH_RTOL for g in groups))
    notes = [] if matches else [f"the files were computed from other motions than these: std differs by a "
                                f"factor {data_ratio:.4f} (median over groups), mean by up to "
                                f"{max(g.mean_error or 0 for g in groups):.3g} std"]
    return _finish(layout, groups, feat_bias, "recomputed from the dataset", matches, notes)


def identify_convention(mean: np.ndarray, std: np.ndarray, layout: Layout) -> ConventionCheck:
    """Identify the files' convention from the files alone (see the module doc for what is certain)."""
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    _validate(mean, std, layout)
    groups = [GroupCheck(label, _columns(slices), _in_feat_bias(layout, label),
                         _grouping_of(_values(std, slices)), float(np.median(_values(std, slices))))
              for label, slices in layout.std_group_slices()]
    notes = list(CANNOT_TELL)
    contacts = _contacts_bias(mean, std, layout)
    heuristic = _ratio_bias(std, layout)
    if contacts is not None:
        feat_bias = _snap(contacts)
        basis = f"binary contacts: std = sqrt(m(1-m)) from the mean gives {contacts:.3f}"
        if heuristic is not None:
            notes.append(f"root groups against same-unit groups (heuristic) give feat_bias ~ {heuristic:.2f}")
    elif heuristic is not None:
        feat_bias = 1.0 if heuristic < HEURISTIC_BIAS_THRESHOLD else _snap(heuristic)
        basis = (f"heuristic: root groups against same-unit groups give {heuristic:.2f} (calibrated to 1 on the "
                 "published unbiased files); factors below about 2 cannot be told from none")
    else:
        feat_bias, basis = 1.0, "cannot tell: the layout has no contacts and no same-unit reference groups"
    if _overall(groups) == "none" and np.any(std == 1.0):
        notes.append(f"std is exactly 1 in dims {np.flatnonzero(std == 1.0).tolist()[:16]}: probably constant "
                     "dims clamped to 1")
    return _finish(layout, groups, feat_bias, basis, None, notes)


def _in_feat_bias(layout: Layout, label: str) -> bool:
    return set(label.split("+")) <= set(layout.feat_bias_groups)


def _round_bias(value: float) -> float:
    return 1.0 if abs(value - 1) <= NO_BIAS_TOL else round(value, 2)


def _snap(value: float) -> float:
    whole = max(round(value), 1)
    return float(whole) if abs(value - whole) <= SNAP_RTOL * whole else round(value, 1)


def _contacts_bias(mean: np.ndarray, std: np.ndarray, layout: Layout) -> float | None:
    """feat_bias implied by binary contacts (None without contacts or with a mean outside (0, 1))."""
    if not layout.has_contacts or "foot_contacts" not in layout.feat_bias_groups:
        return None
    cols = layout.block("foot_contacts").slice
    m = mean[cols]
    if not ((m > 0) & (m < 1)).all():
        return None
    return float(np.sqrt(m * (1 - m)).mean() / std[cols].mean())


def _ratio_bias(std: np.ndarray, layout: Layout) -> float | None:
    """1 / geometric mean of (root group std / same-unit group std) over the feat-bias root groups."""
    ratios = []
    for name in layout.feat_bias_groups:
        block = layout.block(name)
        kind = REFERENCE_KIND.get(block.kind)
        refs = [b for b in layout.blocks if b.kind == kind and b.name not in layout.feat_bias_groups]
        if refs:
            ratios.append(std[block.slice].mean() / std[refs[0].slice].mean())
    return float(1 / np.exp(np.mean(np.log(ratios))) / HEURISTIC_CALIBRATION) if ratios else None
