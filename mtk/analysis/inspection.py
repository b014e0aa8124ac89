"""Describe arrays: per-block statistics and findings (NaN, contacts, 6D, heading, velocities, length).

Pure functions on arrays; the CLI and format modules turn the reports into tables or JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from mtk.analysis.frame_rate import OPTION, chosen_rate, rate_doubt
from mtk.features import family_of, layouts, skeleton_for_joints
from mtk.schemas import Layout

Level = Literal["error", "warning", "info"]
#: the training window of MotionMillion's tokenizer config is 96; 64 is the common VQ window
TRAINING_WINDOW = 64
#: frames of features inspected at once: memory stays ~8 KB per frame of the window (~130 MB) at any length;
#: the content checks (6D, contacts, heading, velocities, frame rate) read the first window
INSPECT_WINDOW = 16_384
#: widths of (T, D) arrays that sit beside feature files but are not features
OTHER_WIDTHS = {
    85: "SMPL parameters as the 272 pipeline saves them (smpl_85: 66 axis-angle for 22 joints, "
        "6 zeros, 3 translation, 10 betas)",
}


@dataclass
class Finding:
    level: Level
    code: str
    message: str


@dataclass
class BlockStats:
    name: str
    start: int
    stop: int
    min: float
    max: float
    mean: float
    std: float


@dataclass
class Report:
    """What ``mtk inspect`` says about one input: the ``--json`` document (see docs/architecture.md)."""

    path: str
    kind: str
    layout: str | None = None
    frames: int | None = None
    dim: int | None = None
    fps: float | None = None
    #: where ``fps`` comes from: ``file``, ``layout default`` or ``--fps`` (:mod:`mtk.analysis.frame_rate`)
    fps_source: str | None = None
    dtype: str | None = None
    duration_s: float | None = None
    blocks: list[BlockStats] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def add(self, level: Level, code: str, message: str) -> None:
        self.findings.append(Finding(level, code, message))

    @property
    def has_errors(self) -> bool:
        return any(f.level == "error" for f in self.findings)

    def to_dict(self) -> dict:
        return asdict(self)


def block_stats(name: str, start: int, stop: int, values: np.ndarray) -> BlockStats:
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return BlockStats(name, start, stop, *(float("nan"),) * 4)
    return BlockStats(name, start, stop, float(finite.min()), float(finite.max()), float(finite.mean()),
                      float(finite.std()))


class Moments:
    """Min, max, mean and std of the finite values of a block, accumulated window by window (Chan's merge of
    counts, means and squared deviations: the same figures as :func:`block_stats` on the whole, to rounding)."""

    def __init__(self, name: str, start: int, stop: int):
        self.name, self.start, self.stop = name, start, stop
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.low, self.high = np.inf, -np.inf

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        finite = v[np.isfinite(v)]
        if not finite.size:
            return
        n, mean = finite.size, float(finite.mean())
        m2 = float(((finite - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.low, self.high = min(self.low, float(finite.min())), max(self.high, float(finite.max()))

    def stats(self) -> BlockStats:
        if not self.count:
            return BlockStats(self.name, self.start, self.stop, *(float("nan"),) * 4)
        return BlockStats(self.name, self.start, self.stop, self.low, self.high, self.mean,
                          float(np.sqrt(self.m2 / self.count)))


def sixd_deviations(features: np.ndarray, layout: Layout) -> np.ndarray:
    """Per-pair deviations of the stored 6D pairs from orthonormality: | |a|-1 |, | |b|-1 |, |a.b|, shape
    (3, T, pairs); no pairs when the layout stores no 6D rotations."""
    blocks = [features[:, b.slice] for b in layout.blocks if b.kind == "rotations_6d"]
    sixd = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(features), 0))
    sixd = sixd.astype(np.float64).reshape(len(sixd), sixd.shape[1] // 6, 6)
    a, b = sixd[..., :3], sixd[..., 3:]  # two columns or two rows: orthonormal either way
    return np.stack([np.abs(np.linalg.norm(a, axis=-1) - 1), np.abs(np.linalg.norm(b, axis=-1) - 1),
                     np.abs((a * b).sum(-1))])


def looks_normalized(features: np.ndarray, deviations: np.ndarray) -> bool:
    """True when finite ``features`` look z-normalised: most 6D pairs (``deviations`` from
    :func:`sixd_deviations`) are not unit vectors and values centre on 0 (never without 6D pairs)."""
    if len(features) == 0 or deviations.size == 0:
        return False
    return float(np.median(deviations)) > 0.2 and abs(float(features.mean(dtype=np.float64))) < 0.5


def _scan_windows(features, blocks: list[tuple[str, int, int]]) -> tuple[np.ndarray, int, int | None, list]:
    """The first window of ``features`` (any array-like whose row slices are arrays), the count of rows
    holding NaN or Inf and the first of them, and the stats of each (name, start, stop) block, reading
    :data:`INSPECT_WINDOW` rows at a time."""
    frames = features.shape[0]
    head = np.asarray(features[:INSPECT_WINDOW])
    whole = frames <= INSPECT_WINDOW
    moments = [Moments(*block) for block in blocks]
    bad, first = 0, None
    for start in range(0, frames, INSPECT_WINDOW):
        part = head if start == 0 else np.asarray(features[start:start + INSPECT_WINDOW])
        rows = ~np.isfinite(part).all(axis=1)
        if rows.any():
            first = start + int(np.argmax(rows)) if first is None else first
            bad += int(rows.sum())
        if not whole:
            for m in moments:
                m.add(part[:, m.start:m.stop])
    stats = ([block_stats(name, a, b, head[:, a:b]) for name, a, b in blocks] if whole
             else [m.stats() for m in moments])
    return head, bad, first, stats


def describe_features(features, layout: Layout | None, path: str, fps: float | None = None,
                      layout_requested: bool = False) -> Report:
    """Report on (T, D) features: an array, or any array-like whose row slices are arrays (read
    :data:`INSPECT_WINDOW` rows at a time, so memory does not grow with T)."""
    frames, dim = features.shape
    report = Report(path=path, kind="features", layout=layout.name if layout else None, frames=int(frames),
                    dim=int(dim), dtype=str(features.dtype))
    blocks = [(b.name, b.start, b.stop) for b in layout.blocks] if layout is not None else [("all", 0, dim)]
    head, bad, first, report.blocks = _scan_windows(features, blocks)
    if bad:
        report.add("error", "nan_inf", f"{bad} of {frames} rows hold NaN or Inf (first at row {first})")
    if layout is None:
        if dim in OTHER_WIDTHS:
            report.details["content"] = OTHER_WIDTHS[dim]
            report.add("info", "not_features", f"{dim} columns: {OTHER_WIDTHS[dim]}, not a feature layout")
        else:
            report.add("warning", "unknown_layout", f"{dim} columns match no known layout "
                       f"({', '.join(f'{name} = {lay.dim}' for name, lay in layouts().items())})")
        report.fps, report.fps_source = fps, OPTION if fps is not None else None
        return report
    rate = chosen_rate(fps, layout.fps)
    report.fps, report.fps_source = rate.value, rate.source
    report.duration_s = frames / report.fps
    if frames > len(head):
        report.add("info", "content_in_part", f"the content checks (6D, contacts, heading, velocities, frame rate) "
                   f"read the first {len(head)} of {frames} frames")
    clean = head[np.isfinite(head).all(axis=1)]
    deviations = sixd_deviations(clean, layout)
    normalized = looks_normalized(clean, deviations)
    report.details["normalized"] = normalized
    report.details["layout_confidence"] = "low" if normalized else "high"
    report.details["sixd_convention"] = layout.sixd
    if normalized:
        how = "given by --layout" if layout_requested else f"guessed from the {dim} columns"
        report.add("warning", "looks_normalized",
                   f"values look z-normalised (6D pairs are not unit vectors, mean near 0); layout {layout.name} "
                   f"is {how}; content checks skipped (denormalise with the dataset's mean/std first)")
    else:
        _content_findings(report, clean, layout, float(deviations.max()) if deviations.size else 0.0)
        doubt = rate_doubt(clean, layout, rate)
        if doubt:
            report.add("warning", "fps_doubt", doubt)
    if frames < TRAINING_WINDOW:
        report.add("warning", "too_short",
                   f"{frames} frames is shorter than a {TRAINING_WINDOW}-frame training window")
    return report


def _content_findings(report: Report, features: np.ndarray, layout: Layout, error: float) -> None:
    if len(features) == 0:
        return
    for block in (b for b in layout.blocks if b.kind == "contacts"):
        contacts = features[:, block.slice]
        bad = ~np.isin(contacts, (0.0, 1.0))
        if bad.any():
            report.add("error", "contacts_not_binary",
                       f"{int(bad.sum())} contact values are not 0 or 1 (e.g. {float(contacts[bad][0]):.4g})")
    report.details["sixd_max_error"] = error
    if error > 1e-2:
        report.add("error" if error > 0.1 else "warning", "sixd_not_orthonormal",
                   f"6D rotation pairs deviate from orthonormal by up to {error:.3g}")
    for check in family_of(layout).checks(features, layout):
        report.details[check.detail] = check.value
        if check.failed:
            report.add(check.level, check.code, check.message)


#: what joints recovered from features are (``mtk convert --to joints`` says it in its help and summary)
ALIGNED = "floor- and origin-aligned"


def looks_aligned(joints: np.ndarray, tolerance: float = 1e-5) -> bool:
    """True when the lowest joint touches y = 0 and the frame-0 root is above the origin, as in joints
    recovered from features (the feature layouts store the root relative to the start and the floor)."""
    finite = np.isfinite(joints).all()
    return bool(finite and abs(float(joints[..., 1].min())) < tolerance
                and np.abs(joints[0, 0, [0, 2]]).max() < tolerance)


def describe_joints(joints: np.ndarray, path: str, fps: float | None = None, fps_source: str = OPTION) -> Report:
    """Report on a (T, J, 3) joints array (``fps`` from ``fps_source``; joints .npy files carry no rate)."""
    frames, num_joints, _ = joints.shape
    found = skeleton_for_joints(int(num_joints))
    skeleton = found.name if found else None
    report = Report(path=path, kind="joints", frames=int(frames), dim=int(num_joints * 3), fps=fps,
                    fps_source=fps_source if fps else None, dtype=str(joints.dtype))
    report.details["joints"] = int(num_joints)
    report.details["skeleton"] = skeleton
    if fps:
        report.duration_s = frames / fps
    report.blocks = [block_stats(axis, k, k + 1, joints[..., k]) for k, axis in enumerate("xyz")]
    if not np.isfinite(joints).all():
        report.add("error", "nan_inf", "joint positions hold NaN or Inf")
    if skeleton is None:
        report.add("info", "unknown_skeleton", f"{num_joints} joints match no known skeleton")
    if frames and looks_aligned(joints):
        report.add("info", "aligned", f"{ALIGNED} (floor at y = 0, frame-0 root above the origin), as joints "
                   "recovered from features are: not the source's world placement")
    if frames < TRAINING_WINDOW:
        report.add("warning", "too_short",
                   f"{frames} frames is shorter than a {TRAINING_WINDOW}-frame training window")
    return report


def grouped_std_values(vector: np.ndarray, layout: Layout) -> dict[str, list[float]]:
    """The distinct values inside each of the layout's std groups."""
    out = {}
    for label, slices in layout.std_group_slices():
        values = np.concatenate([vector[s] for s in slices])
        out[label] = [float(v) for v in np.unique(values)]
    return out


def describe_stats(vector: np.ndarray, layout: Layout | None, path: str) -> Report:
    """Report on a mean or std vector: which layout, mean or std, grouped or per-dimension."""
    report = Report(path=path, kind="stats", layout=layout.name if layout else None, dim=int(vector.shape[0]),
                    dtype=str(vector.dtype))
    if not np.isfinite(vector).all():
        report.add("error", "nan_inf", "the vector holds NaN or Inf")
    if layout is None:
        report.add("error", "unknown_layout", f"{vector.shape[0]} values match no known layout")
        report.blocks.append(block_stats("all", 0, len(vector), vector))
        return report
    report.blocks = [block_stats(b.name, b.start, b.stop, vector[b.slice]) for b in layout.blocks]
    groups = grouped_std_values(vector, layout)
    grouped = all(len(values) == 1 for values in groups.values())
    if (vector < 0).any():
        role = "mean"
    elif grouped:
        role = "std"
    else:
        role = "std" if (vector > 0).all() and vector.max() < 1.0 else "mean"
    report.details["role"] = role
    if role == "std":
        report.details["std_grouping"] = "per-group (one value per std group)" if grouped else "per-dimension"
        report.details["std_groups"] = {k: v[0] for k, v in groups.items()} if grouped else None
        zeros = np.flatnonzero(vector == 0)
        if zeros.size:
            report.add("error", "zero_std", f"std is 0 in dims {zeros.tolist()[:12]}: normalising divides by 0")
    return report
