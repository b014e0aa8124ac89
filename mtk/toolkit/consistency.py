"""How well a motion's redundant feature blocks agree: the stored velocities against the positions, one
function per feature family (chosen through :mod:`mtk.toolkit.families`)."""

from __future__ import annotations

import numpy as np

from mtk.schemas import Layout
from mtk.toolkit import rotations as rot
from mtk.toolkit.recover import recover_joints_263, root_heading_263


def velocity_error_263(features: np.ndarray, layout: Layout) -> float:
    """Median |stored velocity - velocity implied by the recovered joints| (263/251), over frames and joints."""
    f = features.astype(np.float64)
    if len(f) < 3:
        return 0.0
    stored = f[:, layout.block("local_velocities").slice].reshape(len(f), -1, 3)
    joints = recover_joints_263(f, layout)
    q, _ = root_heading_263(f)
    implied = rot.quat_rotate(q[:-1, None, :], joints[1:] - joints[:-1])
    return float(np.median(np.abs(stored[:-1] - implied)))


def velocity_error_272(features: np.ndarray, layout: Layout) -> float:
    """Median |stored velocity - difference of the local positions| (272), over frames and joints."""
    f = features.astype(np.float64)
    if len(f) < 2:
        return 0.0
    stored = f[:, layout.block("local_velocities").slice].reshape(len(f), -1, 3)
    local = f[:, layout.block("local_positions").slice].reshape(len(f), -1, 3)
    return float(np.median(np.abs(stored[1:] - (local[1:] - local[:-1]))))
