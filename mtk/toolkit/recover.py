"""Features -> 3D joints (and 272 -> SMPL-style local rotations), numpy or torch, one function per feature
family; :mod:`mtk.toolkit.families` picks the one for a layout.

Semantics follow ``shared/specs/feature_layouts.md`` §5: HumanML3D's ``recover_from_ric`` for 263/251 and
the 272 repo's ``recover_from_local_position`` / ``recover_from_local_rotation`` for 272.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.schemas import Layout
from mtk.toolkit import rotations as rot
from mtk.toolkit.rotations import Array, _cat, _is_torch, _stack


def _cumsum(x: Array, axis: int) -> Array:
    return x.cumsum(dim=axis) if _is_torch(x) else np.cumsum(x, axis=axis)


def _zeros_like_first(x: Array) -> Array:
    return x[..., :1] * 0


def _shift_right(x: Array) -> Array:
    """x along the frame axis (-1) moved one step later, with a zero at frame 0."""
    return _cat([_zeros_like_first(x), x[..., :-1]], -1)


def root_heading_263(features: Array) -> tuple[Array, Array]:
    """The 263/251 root: heading quaternion q[t] = r_rot (world -> facing) and root positions (..., T, 3)."""
    angle = _cumsum(_shift_right(features[..., 0]), -1)
    zero = angle * 0
    q = _stack([rot._cos(angle), zero, rot._sin(angle), zero], -1)
    vx = _shift_right(features[..., 1])
    vz = _shift_right(features[..., 2])
    velocity = rot.quat_rotate(rot.quat_conjugate(q), _stack([vx, zero, vz], -1))
    root = _cumsum(velocity, -2)
    root = _stack([root[..., 0], features[..., 3], root[..., 2]], -1)
    return q, root


def recover_joints_263(features: Array, layout: Layout) -> Array:
    """HumanML3D ``recover_from_ric``: (..., T, D) -> (..., T, J, 3)."""
    j = layout.num_joints
    q, root = root_heading_263(features)
    ric = features[..., layout.block("ric_positions").slice]
    ric = ric.reshape(*ric.shape[:-1], j - 1, 3)
    world = rot.quat_rotate(rot.quat_conjugate(q)[..., None, :], ric)
    offset = _stack([root[..., 0], root[..., 0] * 0, root[..., 2]], -1)[..., None, :]
    return _cat([root[..., None, :], world + offset], -2)


def heading_272(features: Array) -> Array:
    """Accumulated heading angle (..., T) of 272 features: H[t] = Ry(-heading[t]).

    Each frame's 6D heading change is projected to a pure yaw before accumulating (pitfall P8), which is
    exact for real data and stable for generated data.
    """
    delta = rot._atan2(-features[..., 4], features[..., 2])
    return _cumsum(delta, -1)


def root_trajectory_272(features: Array, heading: Array) -> Array:
    """Root xz (..., T, 3) with y = 0 from the 272 root velocity: v[t] uses the heading of frame t-1."""
    zero = features[..., 0] * 0
    local_velocity = _stack([features[..., 0], zero, features[..., 1]], -1)
    earlier = _cat([_zeros_like_first(heading), heading[..., :-1]], -1)
    world_velocity = (rot.rotation_y(earlier) @ local_velocity[..., None])[..., 0]
    return _cumsum(world_velocity, -2)


def recover_joints_272(features: Array, layout: Layout) -> Array:
    """``recover_from_local_position``: (..., T, 272) -> (..., T, 22, 3)."""
    heading = heading_272(features)
    local = features[..., layout.block("local_positions").slice]
    local = local.reshape(*local.shape[:-1], layout.num_joints, 3)
    world = (rot.rotation_y(heading)[..., None, :, :] @ local[..., None])[..., 0]
    root = root_trajectory_272(features, heading)
    return world + root[..., None, :]


@dataclass
class LocalRotations:
    """SMPL-style motion: parent-relative rotations (T, J, 3, 3) and pelvis positions (T, 3)."""

    rotations: Array
    translation: Array

    def axis_angle(self) -> Array:
        return rot.matrix_to_axis_angle(self.rotations)


def recover_local_rotations_272(features: Array, layout: Layout) -> LocalRotations:
    """272 -> per-joint local rotation matrices plus the pelvis trajectory (``recover_from_local_rotation``).

    The root rotation gets its heading back (R0 <- H^T R0); translation is (root x, pelvis height, root z).
    """
    heading = heading_272(features)
    sixd = features[..., layout.block("rotations_6d").slice]
    sixd = sixd.reshape(*sixd.shape[:-1], layout.num_joints, 6)
    matrices = rot.sixd_to_matrix(sixd, "rows")
    root = rot.rotation_y(heading) @ matrices[..., 0, :, :]
    matrices = _cat([root[..., None, :, :], matrices[..., 1:, :, :]], -3)
    trajectory = root_trajectory_272(features, heading)
    pelvis_height = features[..., layout.block("local_positions").start + 1]
    translation = _stack([trajectory[..., 0], pelvis_height, trajectory[..., 2]], -1)
    return LocalRotations(rotations=matrices, translation=translation)
