"""What a locomotion controller learns from: ``--select all|locomotion`` and ``--keep LABELS``.

``locomotion`` drops a whole motion whose texts name only activities that are not locomotion (``a person
sits down``, ``dances``), and single frames the motion labels as not locomotion (gliding, sitting, busy in
place: :mod:`mtk.pfnn.gait`) or as a gait outside ``--keep``. The rows left form runs of consecutive frames;
a run shorter than :data:`MIN_RUN_S` is dropped too. Every dropped row is counted under its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mtk.errors import MtkError
from mtk.pfnn.gait import LABELS, LOCOMOTION, FrameLabels, TextLabels

#: a run of kept rows shorter than this (s) is dropped
MIN_RUN_S = 0.5
SelectMode = Literal["all", "locomotion"]


@dataclass(frozen=True)
class Selection:
    """Which frames become rows."""

    mode: SelectMode = "all"
    keep: tuple[str, ...] = LOCOMOTION

    @classmethod
    def parse(cls, mode: str | None, keep: str | None) -> Selection:
        """``--select`` and ``--keep`` (comma-separated labels); ``--keep`` alone means ``locomotion``."""
        if mode not in (None, "all", "locomotion"):
            raise MtkError(None, f"unknown selection {mode!r}", "use --select all or locomotion")
        if keep is None:
            return cls(mode or "all")  # type: ignore[arg-type]
        labels = tuple(dict.fromkeys(part.strip() for part in keep.split(",") if part.strip()))
        unknown = [label for label in labels if label not in LOCOMOTION]
        if unknown or not labels:
            raise MtkError(None, f"--keep: unknown gait label(s) {', '.join(unknown) or '(none given)'}",
                           f"choose from {', '.join(LOCOMOTION)}")
        if mode == "all":
            raise MtkError(None, "--keep needs --select locomotion", "drop --select all")
        return cls("locomotion", labels)

    def describe(self) -> str:
        if self.mode == "all":
            return "all frames"
        kept = "every gait" if set(self.keep) == set(LOCOMOTION) else ", ".join(self.keep)
        return f"locomotion ({kept})"

    def rows_to_keep(self, frames: np.ndarray, labels: FrameLabels, text: TextLabels,
                     fps: float) -> tuple[np.ndarray, Counter]:
        """A keep mask over the rows standing for ``frames``, and the dropped rows counted by reason."""
        dropped: Counter = Counter()
        if self.mode == "all" or not len(frames):
            return np.ones(len(frames), bool), dropped
        if text.says_not_locomotion:
            dropped["texts: " + ", ".join(sorted(text.not_locomotion)[:3])] += len(frames)
            return np.zeros(len(frames), bool), dropped
        names = np.array(LABELS)[labels.label[frames]]
        keep = np.isin(names, self.keep)
        for name, count in Counter(names[~keep].tolist()).items():
            dropped[f"{'gait' if name in LOCOMOTION else 'motion'}: {name}"] += count
        shortest = int(np.ceil(MIN_RUN_S * fps))
        for start, stop in runs(frames, keep):
            if stop - start < shortest:
                keep[start:stop] = False
                dropped["runs under 0.5 s"] += stop - start
        return keep, dropped


def runs(frames: np.ndarray, keep: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the kept rows whose frames follow one another."""
    out: list[tuple[int, int]] = []
    start = None
    for i in range(len(frames) + 1):
        inside = i < len(frames) and keep[i] and (start is None or frames[i] == frames[i - 1] + 1)
        if start is not None and not inside:
            out.append((start, i))
            start = None
        if i < len(frames) and keep[i] and start is None:
            start = i
    return out
