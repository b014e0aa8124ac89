"""Where a frame rate comes from, and whether a motion's content doubts it.

A rate is read from the file (a BVH's Frame Time, a store's attribute), given with ``--fps``, or assumed from
the layout (HumanML3D 20, KIT 12.5, 272 30). Feature files carry no rate, so the layout's is a guess; the 272
pipeline made its older releases at 60 fps. :func:`rate_doubt` judges the guess from the content: human
motion sampled at its true rate keeps a little energy up to 5-15 Hz in its joint velocities (foot strikes,
tremor, capture noise), while the same motion played at half its rate has every frequency halved. When 99 %
of the joint-velocity energy lies below :data:`LOW_CONTENT_HZ` at the assumed rate, the motion was most
likely made at twice that rate. It is a heuristic: it only warns, and never when ``--fps`` was given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mtk.errors import MtkWarning
from mtk.schemas import Layout

FILE = "file"
LAYOUT_DEFAULT = "layout default"
OPTION = "--fps"

#: below this (Hz, 99 % of the joint-velocity energy at the assumed rate) the content suggests twice the rate.
#: The real 60 fps 272 release file reads 4.0 Hz at 30 fps; real 20 fps HumanML3D 5.2 Hz, 30 fps motions 7-15 Hz.
LOW_CONTENT_HZ = 4.5
#: motions shorter than this (frames) are too short to judge
MIN_FRAMES = 120
ENERGY_SHARE = 0.99


@dataclass(frozen=True)
class FrameRate:
    """A frame rate and where it came from: ``file``, ``layout default`` or ``--fps``."""

    value: float
    source: str

    def __str__(self) -> str:
        return f"{self.value:g} fps ({self.source})"

    @property
    def label(self) -> str:
        """``30.0 (layout default)``: what ``mtk inspect`` prints after ``fps:``."""
        return f"{round(self.value, 3)} ({self.source})"


def chosen_rate(given: float | None, default: float, default_source: str = LAYOUT_DEFAULT) -> FrameRate:
    """``--fps`` when given, else ``default`` (from the layout, or the file with ``default_source="file"``)."""
    return FrameRate(float(given), OPTION) if given is not None else FrameRate(float(default), default_source)


def velocity_bandwidth(features: np.ndarray, layout: Layout) -> float | None:
    """The frequency (cycles per frame) below which :data:`ENERGY_SHARE` of the joint-velocity energy lies,
    or None when the layout has no velocity block or the motion is too short or still."""
    block = next((b for b in layout.blocks if b.kind == "velocities"), None)
    if block is None or len(features) < MIN_FRAMES:
        return None
    velocities = np.asarray(features[1:, block.slice], dtype=np.float64)
    velocities = velocities[np.isfinite(velocities).all(axis=1)]
    if len(velocities) < MIN_FRAMES:
        return None
    velocities = velocities - velocities.mean(axis=0)
    power = (np.abs(np.fft.rfft(velocities, axis=0)) ** 2).sum(axis=1)
    total = power.sum()
    if total <= 1e-12:
        return None
    share = np.cumsum(power) / total
    return float(np.fft.rfftfreq(len(velocities))[np.searchsorted(share, ENERGY_SHARE)])


def rate_doubt(features: np.ndarray, layout: Layout, rate: FrameRate) -> str | None:
    """A warning when the content suggests another rate than an assumed one (None when it fits, when the
    rate was given with ``--fps``, or when the motion cannot be judged)."""
    if rate.source == OPTION:
        return None
    bandwidth = velocity_bandwidth(features, layout)
    if bandwidth is None or bandwidth * rate.value >= LOW_CONTENT_HZ:
        return None
    other = 2 * rate.value
    return (f"content suggests {other:g} fps, not {rate}: 99 % of the joint-velocity energy lies below "
            f"{bandwidth * rate.value:.1f} Hz at {rate.value:g} fps, as in motion played at half its rate; "
            f"pass --fps {other:g} if so")


def warn_if_doubtful(features: np.ndarray, layout: Layout, rate: FrameRate) -> None:
    """Warn (:class:`mtk.errors.MtkWarning`) when :func:`rate_doubt` doubts ``rate``."""
    doubt = rate_doubt(features, layout, rate)
    if doubt:
        warnings.warn(doubt, MtkWarning, stacklevel=2)
