"""PFNN's phase function: a cyclic Catmull-Rom spline through four control sets of every weight.

For a phase p in [0, 1): ``s = 4p``, ``k1 = int(s) % 4``, ``mu = s - floor(s)``; the controls
``k1-1, k1, k1+1, k1+2`` (mod 4) are blended by PFNN's cubic
``(-0.5y0+1.5y1-1.5y2+0.5y3)mu^3 + (y0-2.5y1+2y2-0.5y3)mu^2 + (-0.5y0+0.5y2)mu + y1``.
The blend is linear in the controls, so it is a (..., 4) weight vector per phase: :func:`control_weights`.
"""

from __future__ import annotations

import numpy as np

#: number of control sets (PFNN's ``nslices``)
CONTROLS = 4
#: phase samples PFNN's trainer precomputes for its demo (sample i is phase i / 50)
DEMO_SAMPLES = 50


def cubic(y0, y1, y2, y3, mu):
    """PFNN's cubic (Catmull-Rom) through y1 (mu = 0) and y2 (mu = 1); works on arrays and tensors."""
    return ((-0.5 * y0 + 1.5 * y1 - 1.5 * y2 + 0.5 * y3) * mu * mu * mu
            + (y0 - 2.5 * y1 + 2.0 * y2 - 0.5 * y3) * mu * mu
            + (-0.5 * y0 + 0.5 * y2) * mu + y1)


def spline_terms(phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first control index k1 (int, mod 4) and the fraction mu of each phase, as PFNN computes them."""
    scaled = CONTROLS * np.asarray(phase, dtype=np.float64)
    return scaled.astype(np.int64) % CONTROLS, scaled % 1.0


def control_weights(phase: np.ndarray | float) -> np.ndarray:
    """(..., 4) weight of each control set in the blend at ``phase`` (rows sum to 1)."""
    k1, mu = spline_terms(np.asarray(phase))
    eye = np.eye(CONTROLS)
    y = [eye[(k1 + offset) % CONTROLS] for offset in (-1, 0, 1, 2)]
    return cubic(*y, mu[..., None])


def sample_phases(indices: list[int] | np.ndarray | None = None) -> np.ndarray:
    """Phase of PFNN demo sample i (i / 50), for the given indices or all 50."""
    indices = np.arange(DEMO_SAMPLES) if indices is None else np.asarray(indices)
    return indices.astype(np.float64) / DEMO_SAMPLES
