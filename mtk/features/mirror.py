"""Left-right mirroring of joints, rotations and features (the motions of HumanML3D's ``M`` copies).

Every layout is y up with the character's left at +x, so a mirror image is the reflection x -> -x with each
left joint trading places with its right one (:attr:`mtk.schemas.Skeleton.mirror_pairs`). A rotation R
becomes M R M with M = diag(-1, 1, 1) (a proper rotation again: its axis keeps x and flips y and z, as the 272
pipeline flips its axis-angles), so every feature block mirrors by trading columns and flipping signs:

=================== ============================================================
block kind          mirrored
=================== ============================================================
root yaw velocity   negated
root velocity (xz)  x negated
root height         unchanged
heading 6D          the 6D entries of M R M (signs + - - - + + in either convention)
positions, velocity joints traded, x negated
rotations 6D        joints traded, signs + - - - + +
contacts            joints traded
=================== ============================================================

This is exact and its own inverse, and it equals making the features from the mirrored motion, because
both feature generators only ever compare directions, heights and headings, all of which the reflection
carries over (the 263 generator's flipped hip term included). :meth:`mtk.features.Family.mirror` uses it
by default, so a family whose layouts are made of these block kinds mirrors without code.
"""

from __future__ import annotations

import numpy as np

from mtk.schemas import Layout, Skeleton

#: the reflection x -> -x, as signs per axis
REFLECTION = np.array([-1.0, 1.0, 1.0])
#: which rotation-matrix entry each 6D value holds, per 6D convention
_SIXD_ENTRIES = {
    "columns": ((0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)),
    "rows": ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)),
}


def mirror_joints(positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Joint positions (..., J, 3) reflected through x = 0 with left and right joints traded."""
    return positions[..., skeleton.mirror_permutation(), :] * REFLECTION


def mirror_rotations(rotations: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Parent-relative (or global) rotations (..., J, 3, 3) of the mirrored motion: M R M, joints traded."""
    signs = REFLECTION[:, None] * REFLECTION[None, :]
    return rotations[..., skeleton.mirror_permutation(), :, :] * signs


def _sixd_signs(convention: str) -> np.ndarray:
    return np.array([REFLECTION[i] * REFLECTION[j] for i, j in _SIXD_ENTRIES[convention]])


def _column_map(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """For every column of ``layout``: the column its mirrored value comes from, and the sign it takes."""
    source = np.arange(layout.dim)
    sign = np.ones(layout.dim)
    order = layout.skeleton.mirror_permutation()
    for block in layout.blocks:
        if block.kind == "root_yaw_velocity":
            sign[block.slice] = -1.0
        elif block.kind == "root_velocity":
            sign[block.start] = -1.0
        elif block.kind == "heading_6d":
            sign[block.slice] = _sixd_signs(layout.sixd)
        elif block.kind in ("positions", "velocities", "rotations_6d", "contacts"):
            width = block.width // len(block.joints)
            place = {joint: k for k, joint in enumerate(block.joints)}
            pattern = {"rotations_6d": _sixd_signs(layout.sixd), "contacts": np.ones(1)}.get(block.kind, REFLECTION)
            for k, joint in enumerate(block.joints):
                start = block.start + k * width
                other = block.start + place[int(order[joint])] * width
                source[start:start + width] = np.arange(other, other + width)
                sign[start:start + width] = pattern
        elif block.kind != "root_height":
            raise ValueError(f"layout {layout.name}: mtk does not know how to mirror a {block.kind} block")
    return source, sign


def mirror_by_blocks(features: np.ndarray, layout: Layout) -> np.ndarray:
    """Features (..., T, D) of the mirror image of the motion they describe, one rule per block kind (exact;
    its own inverse)."""
    source, sign = _column_map(layout)
    return (features[..., source] * sign).astype(features.dtype, copy=False)
