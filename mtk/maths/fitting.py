"""Rotations and rest offsets fitted to joint positions: global <-> parent-relative rotations, rest offsets
that best explain a motion, and rigid-body fits (Kabsch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def global_to_local(global_rotations: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """Parent-relative rotations (T, J, 3, 3) from global ones."""
    local = global_rotations.copy()
    for j, p in enumerate(parents):
        if p >= 0:
            local[:, j] = np.swapaxes(global_rotations[:, p], -1, -2) @ global_rotations[:, j]
    return local


def fit_offsets(positions: np.ndarray, global_rotations: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """Rest offsets (J, 3): the mean over frames of G[parent]^T (P[j] - P[parent]); the root's is 0."""
    offsets = np.zeros((positions.shape[1], 3))
    for j, p in enumerate(parents):
        if p >= 0:
            bone = positions[:, j] - positions[:, p]
            offsets[j] = (np.swapaxes(global_rotations[:, p], -1, -2) @ bone[..., None])[..., 0].mean(0)
    return offsets


def kabsch(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations (T, 3, 3) that best map rest vectors (K, 3) onto target vectors (T, K, 3)."""
    covariance = np.swapaxes(target, -1, -2) @ rest  # (T, 3, 3) = sum_k t_k r_k^T
    u, _, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((covariance.shape[0], 3))
    fix[:, 2] = sign
    return (u * fix[:, None, :]) @ vt


def rigid_fit(rest: np.ndarray, bones: np.ndarray, rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rotations (T, 3, 3) and rest vectors (K, 3) that best explain bones (T, K, 3) as one rigid
    body; starts from ``rest`` (which fixes the body's overall orientation) and alternates fits."""
    rotations = kabsch(rest, bones)
    for _ in range(rounds):
        rest = (np.swapaxes(rotations, -1, -2)[:, None] @ bones[..., None])[..., 0].mean(0)
        rotations = kabsch(rest, bones)
    return rotations, rest
