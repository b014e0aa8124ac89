"""Dataset checks and summaries as pure functions (the readers that feed them live in mtk.formats).

Structural checks need only names, lengths, splits and stats shapes (cheap: ``mtk inspect``); content
checks need each motion's features (``mtk validate`` streams them through :func:`summarize_motion`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mtk.analysis.inspection import TRAINING_WINDOW, Finding, Report
from mtk.schemas import Layout

#: length histogram edges in frames (the last bin is open)
LENGTH_BINS = (0, 40, 64, 96, 120, 200, 300, 400, 600)
#: names quoted in one finding before "..."
EXAMPLES = 5


@dataclass(frozen=True)
class MotionSummary:
    """What the content checks need to know about one motion."""

    name: str
    frames: int
    dim: int
    nonfinite_rows: int
    has_text: bool


def summarize_motion(name: str, features: np.ndarray, texts: Sequence[str]) -> MotionSummary:
    shape = np.shape(features)
    bad = int((~np.isfinite(features).all(axis=1)).sum()) if len(shape) == 2 else 0
    return MotionSummary(name, int(shape[0]) if shape else 0, int(shape[1]) if len(shape) == 2 else -1, bad,
                         any(line.strip() for line in texts))


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:EXAMPLES])
    return shown + (f", ... ({len(names)} in all)" if len(names) > EXAMPLES else "")


def length_histogram(lengths: Iterable[int]) -> dict[str, int]:
    """Motion counts per length bin, labelled ``"a-b"`` (frames, b exclusive) and ``">=600"``."""
    values = np.fromiter(lengths, dtype=np.int64)
    edges = np.array(LENGTH_BINS)
    which = np.searchsorted(edges, values, side="right") - 1
    counts = np.bincount(which, minlength=len(edges))
    labels = [f"{a}-{b}" for a, b in zip(LENGTH_BINS[:-1], LENGTH_BINS[1:])] + [f">={LENGTH_BINS[-1]}"]
    return dict(zip(labels, (int(c) for c in counts)))


def check_splits(names: Sequence[str], splits: Mapping[str, Sequence[str]]) -> list[Finding]:
    """Split members without a motion (error), names listed twice in a split (warning), motions in no split."""
    findings = []
    present = set(names)
    for split, members in splits.items():
        lacking = [n for n in members if n not in present]
        if lacking:
            findings.append(Finding("error", "split_without_motion",
                                    f"split {split!r}: {len(lacking)} of {len(members)} names have no motion: "
                                    f"{_examples(lacking)}"))
        twice = [n for n, c in Counter(members).items() if c > 1]
        if twice:
            findings.append(Finding("warning", "duplicate_in_split",
                                    f"split {split!r} lists {len(twice)} names more than once: {_examples(twice)}"))
    if splits:
        listed = set().union(*map(set, splits.values()))
        orphans = [n for n in names if n not in listed]
        if orphans:
            findings.append(Finding("info", "motion_in_no_split",
                                    f"{len(orphans)} motions are in no split: {_examples(orphans)}"))
    return findings


def check_names(names: Sequence[str]) -> list[Finding]:
    twice = [n for n, c in Counter(names).items() if c > 1]
    if not twice:
        return []
    return [Finding("error", "duplicate_name", f"{len(twice)} motion names occur more than once: {_examples(twice)}")]


def check_stats(stats_dims: tuple[int, int] | None, dim: int | None, std: np.ndarray | None = None) -> list[Finding]:
    """Mean/std present, of the dataset's width, without zeros in std."""
    if stats_dims is None:
        return [Finding("warning", "no_stats", "the dataset has no mean/std (compute them with mtk stats)")]
    findings = []
    if dim is not None and stats_dims != (dim, dim):
        findings.append(Finding("error", "stats_wrong_size",
                                f"mean/std have {stats_dims[0]}/{stats_dims[1]} values; the motions have {dim}"))
    if std is not None and np.any(np.asarray(std) == 0):
        zeros = np.flatnonzero(np.asarray(std) == 0).tolist()
        findings.append(Finding("error", "zero_std", f"std is 0 in dims {zeros[:12]}: normalising divides by 0"))
    return findings


def check_lengths(lengths: Mapping[str, int], window: int = TRAINING_WINDOW) -> list[Finding]:
    """Motions too short for a training window."""
    short = [n for n, frames in lengths.items() if frames < window]
    if not short:
        return []
    return [Finding("warning", "too_short", f"{len(short)} motions are shorter than the {window}-frame training "
                    f"window (left out of window training): {_examples(short)}")]


def check_motions(summaries: Iterable[MotionSummary], dim: int | None) -> tuple[list[Finding], dict[str, int]]:
    """Content findings (wrong width, NaN/Inf, no text) and every motion's length."""
    wrong, nonfinite, textless, lengths = [], [], [], {}
    for s in summaries:
        lengths[s.name] = s.frames
        if dim is not None and s.dim != dim:
            wrong.append(f"{s.name} ({s.dim})")
        if s.nonfinite_rows:
            nonfinite.append(f"{s.name} ({s.nonfinite_rows} rows)")
        if not s.has_text:
            textless.append(s.name)
    findings = []
    if wrong:
        findings.append(Finding("error", "wrong_dim", f"{len(wrong)} motions do not have {dim} columns: "
                                f"{_examples(wrong)}"))
    if nonfinite:
        findings.append(Finding("error", "nan_inf", f"{len(nonfinite)} motions hold NaN or Inf: "
                                f"{_examples(nonfinite)}"))
    if textless:
        findings.append(Finding("warning", "no_text", f"{len(textless)} motions have no text: {_examples(textless)}"))
    return findings, lengths


def dataset_report(path: str, layout: Layout | None, fps: float, names: Sequence[str], lengths: Mapping[str, int],
                   splits: Mapping[str, Sequence[str]], stats_dims: tuple[int, int] | None,
                   std: np.ndarray | None = None, details: dict | None = None,
                   window: int = TRAINING_WINDOW, dtype: str | None = None) -> Report:
    """The ``mtk inspect`` report of a dataset (``lengths`` of its readable motions), with structural findings."""
    frames = int(sum(lengths.values()))
    report = Report(path=path, kind="dataset", layout=layout.name if layout else None, frames=frames,
                    dim=layout.dim if layout else None, fps=float(fps), duration_s=frames / fps if fps else None,
                    dtype=dtype)
    present = set(lengths)
    report.details.update(details or {})
    report.details.update({
        "motions": len(names),
        "hours": round(frames / fps / 3600, 4) if fps else None,
        "length_histogram": length_histogram(lengths.values()),
        "splits": {k: len(v) for k, v in splits.items()},
        "split_names_without_motion": {k: sum(n not in present for n in v) for k, v in splits.items()},
        "stats": stats_dims is not None,
    })
    if lengths:
        values = np.fromiter(lengths.values(), dtype=np.int64)
        report.details["frames_min_median_max"] = [int(values.min()), int(np.median(values)), int(values.max())]
    report.findings += check_names(names) + check_splits(names, splits)
    report.findings += check_stats(stats_dims, layout.dim if layout else None, std) + check_lengths(lengths, window)
    if layout is None:
        report.add("warning", "unknown_layout", "the motions' width matches no known layout")
    return report
