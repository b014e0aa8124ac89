"""Smoothing along the time axis."""

from __future__ import annotations

import numpy as np


def gaussian_smooth(x: np.ndarray, sigma: float, axis: int = 0) -> np.ndarray:
    """Gaussian filter along ``axis`` with edge replication (scipy's ``mode='nearest'``, truncate 4)."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    moved = np.moveaxis(x, axis, 0)
    padded = np.concatenate([np.repeat(moved[:1], radius, 0), moved, np.repeat(moved[-1:], radius, 0)], 0)
    out = np.zeros_like(moved, dtype=np.float64)
    for k, weight in enumerate(kernel):
        out += weight * padded[k:k + moved.shape[0]]
    return np.moveaxis(out, 0, axis)
