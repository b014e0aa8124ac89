"""``--to joints``: recover joint positions from a feature file, or take them from a BVH file."""

from __future__ import annotations

import numpy as np

from mtk.analysis.finite import COMPUTED_HINT, require_finite
from mtk.analysis.inspection import ALIGNED
from mtk.features import recover_joints
from mtk.formats.arrays import load_features, save_npy
from mtk.io.atomic import refuse_existing


def convert_to_joints(src: str, dst: str, *, layout: str | None = None, fps: float | None = None,
                      overwrite: bool = False) -> str:
    """Write (T, J, 3) float32 joints recovered from the (T, D) features in ``src``, or a BVH file's joint
    positions (resampled by time to ``fps`` when given)."""
    refuse_existing(dst, overwrite, sources=[src])
    if str(src).lower().endswith(".bvh"):
        from mtk.jobs.convert_motion import bvh_joints

        positions, rate = bvh_joints(src, fps)
        save_npy(dst, positions.astype(np.float32))
        return f"wrote {dst}: {positions.shape[0]} frames x {positions.shape[1]} joints (BVH at {rate})"
    feature_file = load_features(src, layout)
    joints = recover_joints(feature_file.features.astype(np.float64), feature_file.layout).astype(np.float32)
    save_npy(dst, require_finite(joints, src, COMPUTED_HINT))
    return f"wrote {dst}: {joints.shape[0]} frames x {joints.shape[1]} joints ({feature_file.layout.name}, {ALIGNED})"
