"""Resample motions by time (not by integer stride): linear for positions, slerp for rotations."""

from __future__ import annotations

import numpy as np

from mtk.maths import rotations as rot


def sample_times(frames: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """Source-frame positions (fractional) of the output frames k / dst_fps that fall inside the motion."""
    if src_fps <= 0 or dst_fps <= 0:
        raise ValueError(f"frame rates must be positive, got {src_fps} and {dst_fps}")
    duration = (frames - 1) / src_fps
    count = int(np.floor(duration * dst_fps + 1e-6)) + 1
    return np.arange(count) * (src_fps / dst_fps)


def same_rate(src_fps: float, dst_fps: float) -> bool:
    return abs(src_fps - dst_fps) <= 1e-6 * max(src_fps, dst_fps)


def _brackets(times: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lower = np.clip(np.floor(times).astype(int), 0, frames - 1)
    upper = np.minimum(lower + 1, frames - 1)
    return lower, upper, times - lower


def resample_linear(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """x (T, ...) at fractional frame positions ``times`` (any shape) by linear interpolation."""
    lower, upper, w = _brackets(times, x.shape[0])
    w = w.reshape(times.shape + (1,) * (x.ndim - 1))
    return x[lower] * (1 - w) + x[upper] * w


def resample_rotations(matrices: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, ..., 3, 3) at fractional frame positions by quaternion slerp."""
    q = rot.matrix_to_quat(matrices)
    lower, upper, w = _brackets(times, q.shape[0])
    a, b = q[lower], q[upper]
    dot = (a * b).sum(-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    w = w.reshape(-1, *([1] * (q.ndim - 1)))
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(angle)
    small = sin < 1e-6
    safe = np.where(small, 1.0, sin)
    wa = np.where(small, 1 - w, np.sin((1 - w) * angle) / safe)
    wb = np.where(small, w, np.sin(w * angle) / safe)
    return rot.quat_to_matrix(wa * a + wb * b)


def resample_motion(positions: np.ndarray | None, rotations: np.ndarray | None, src_fps: float,
                    dst_fps: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Positions (T, ..., 3) and/or rotations (T, ..., 3, 3) at ``dst_fps``; unchanged when the rates agree."""
    if same_rate(src_fps, dst_fps):
        return positions, rotations
    frames = (positions if positions is not None else rotations).shape[0]
    times = sample_times(frames, src_fps, dst_fps)
    return (None if positions is None else resample_linear(positions, times),
            None if rotations is None else resample_rotations(rotations, times))
