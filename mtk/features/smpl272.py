"""The ``smpl272`` feature family: the 272 generator (HumanML3D-272, MotionMillion), made from SMPL rotations.

Each of the T frames stores the root's xz velocity in the previous frame's heading, the heading change as a
pure yaw (6D rows), all 22 joints in the frame's heading-free pose, their velocities, and the SMPL
parent-relative rotations with the root's heading removed (6D rows); docs/motion.md, "272". Recovery is the
272 repository's ``recover_from_local_position`` (joints) and ``recover_from_local_rotation`` (rotations);
the stored rotations are exact, so the BVH pose is exact too.
"""

from __future__ import annotations

import numpy as np

from mtk.features.base import Check, DatasetFolder, Family, LocalRotations, Pose, velocity_check
from mtk.features.registry import register_family
from mtk.maths import rotations as rot
from mtk.maths.fitting import fit_offsets
from mtk.maths.kinematics import forward_kinematics
from mtk.maths.rotations import Array, _cat, _cumsum, _stack
from mtk.schemas import HEADING_CONSTANTS, SMPL272, Layout

#: MotionMillion as published: ``motion_data/vector_272/<name>.npy`` (names may hold "/"), ``texts/``,
#: ``split/<version>/.../<split>.txt``, ``mean_std/vector_272/{mean,std}.npy``
MOTIONMILLION = DatasetFolder("motionmillion", "MotionMillion", motions="motion_data/vector_272",
                              mean="mean_std/vector_272/mean.npy", std="mean_std/vector_272/std.npy",
                              splits="split", split_version="version1", nested_names=True)
PUBLISHED = "272 repo / MotionMillion mean_std (cal_mean_std: 5 groups, no feat_bias)"


# ---------------------------------------------------------------------------------------------------
# rotations and joints -> features

def yaw_of(matrices: np.ndarray) -> np.ndarray:
    """Yaw angle theta of rotations (..., 3, 3): the heading of their z axis, atan2(R[0,2], R[2,2])."""
    return np.arctan2(matrices[..., 0, 2], matrices[..., 2, 2])


def extract_272(local_rotations: np.ndarray, joints: np.ndarray, layout: Layout, face_z: bool = True) -> np.ndarray:
    """SMPL-22 local rotations (T, 22, 3, 3) + joint positions (T, 22, 3) -> (T, 272) float64 features.

    ``joints`` are the body joints (the pelvis joint is the translation), y up, metres, at the layout's fps.
    With ``face_z`` the motion is first turned so that the frame-0 pelvis faces +z (the 272 pipeline's
    face_z_transform); the floor and the frame-0 root xz then go to zero (``ori``).
    """
    count = layout.num_joints
    if local_rotations.shape[1:] != (count, 3, 3) or joints.shape[1:] != (count, 3):
        raise ValueError(f"{layout.name} needs rotations (T, {count}, 3, 3) and joints (T, {count}, 3), "
                         f"got {local_rotations.shape} and {joints.shape}")
    if local_rotations.shape[0] != joints.shape[0]:
        raise ValueError(f"rotations have {local_rotations.shape[0]} frames but joints have {joints.shape[0]}")
    local_rotations = np.asarray(local_rotations, dtype=np.float64)
    positions = np.asarray(joints, dtype=np.float64)
    pelvis = local_rotations[:, 0]
    if face_z:
        turn = rot.rotation_y(-yaw_of(pelvis[0]))
        pelvis = turn @ pelvis
        positions = positions @ turn.T
    ori = np.array([positions[0, 0, 0], positions[..., 1].min(), positions[0, 0, 2]])
    positions = positions - ori
    theta = yaw_of(pelvis)
    heading = rot.rotation_y(-theta)  # H[t], world -> heading-free
    frames = positions.shape[0]
    root = positions[:, 0]
    root_velocity = np.zeros((frames, 2))
    root_velocity[1:] = (heading[:-1] @ (root[1:] - root[:-1])[..., None])[..., 0][:, [0, 2]]
    heading_change = rot.matrix_to_6d(rot.rotation_y(-(theta[1:] - theta[:-1])), "rows")
    heading_velocity = np.concatenate([rot.matrix_to_6d(np.eye(3), "rows")[None], heading_change])
    centred = positions - root[:, None] * np.array([1.0, 0.0, 1.0])
    local_positions = (heading[:, None] @ centred[..., None])[..., 0]
    local_velocity = np.zeros_like(local_positions)
    local_velocity[1:] = local_positions[1:] - local_positions[:-1]
    rotations = local_rotations.copy()
    rotations[:, 0] = heading @ pelvis
    parts = [root_velocity, heading_velocity, local_positions.reshape(frames, -1),
             local_velocity.reshape(frames, -1), rot.matrix_to_6d(rotations, "rows").reshape(frames, -1)]
    features = np.concatenate(parts, axis=-1)
    assert features.shape[1] == layout.dim
    return features

# ---------------------------------------------------------------------------------------------------
# features -> joints, rotations, a pose, consistency checks

def heading_272(features: Array) -> Array:
    """Accumulated heading angle (..., T) of 272 features: H[t] = Ry(-heading[t]).

    Each frame's 6D heading change is projected to a pure yaw before accumulating: exact for real data (a pure
    yaw to rounding) and stable for generated data, whose heading blocks drift from a pure yaw.
    """
    delta = rot._atan2(-features[..., 4], features[..., 2])
    return _cumsum(delta, -1)


def root_trajectory_272(features: Array, heading: Array) -> Array:
    """Root xz (..., T, 3) with y = 0 from the 272 root velocity: v[t] uses the heading of frame t-1."""
    zero = features[..., 0] * 0
    local_velocity = _stack([features[..., 0], zero, features[..., 1]], -1)
    earlier = _cat([heading[..., :1] * 0, heading[..., :-1]], -1)
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


def pose_from_272(features: np.ndarray, layout: Layout) -> Pose:
    """Exact SMPL rotations and the pelvis trajectory of 272 features, with fitted rest offsets."""
    local = recover_local_rotations_272(features, layout)
    joints = recover_joints_272(features, layout)
    parents = layout.skeleton.parents
    _, global_rotations = forward_kinematics(local.rotations, local.translation, np.zeros((layout.num_joints, 3)),
                                             parents)
    return Pose(local.rotations, local.translation, fit_offsets(joints, global_rotations, parents))


def velocity_error_272(features: np.ndarray, layout: Layout) -> float:
    """Median |stored velocity - difference of the local positions| (272), over frames and joints."""
    f = features.astype(np.float64)
    if len(f) < 2:
        return 0.0
    stored = f[:, layout.block("local_velocities").slice].reshape(len(f), -1, 3)
    local = f[:, layout.block("local_positions").slice].reshape(len(f), -1, 3)
    return float(np.median(np.abs(stored[1:] - (local[1:] - local[:-1]))))


def heading_error_272(features: np.ndarray, layout: Layout) -> float:
    """Max |stored - constant| over the heading 6D entries that a pure yaw fixes (3, 5, 6, 7 = 0, 0, 1, 0)."""
    start = layout.block("heading_velocity").start
    return max(float(np.abs(features[:, start + col - 2] - value).max()) for col, value in HEADING_CONSTANTS.items())


class Smpl272Family(Family):
    """The 272 generator: made from SMPL rotations, which the features store exactly."""

    name = "smpl272"
    layouts = (SMPL272,)
    folders = (MOTIONMILLION,)
    needs_rotations = True
    stores_rotations = True
    exact_pose = True

    def extract(self, joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                reproduce_quirks: bool = True) -> np.ndarray:
        if rotations is None:
            raise ValueError(f"{layout.name} features are made from parent-relative rotations; none were given")
        return extract_272(rotations, joints, layout)

    def recover_joints(self, features: Array, layout: Layout) -> Array:
        return recover_joints_272(features, layout)

    def local_rotations(self, features: Array, layout: Layout) -> LocalRotations:
        return recover_local_rotations_272(features, layout)

    def pose(self, features: np.ndarray, layout: Layout) -> Pose:
        return pose_from_272(features, layout)

    def checks(self, features: np.ndarray, layout: Layout) -> list[Check]:
        heading = heading_error_272(features, layout) if len(features) else 0.0
        return [Check("heading_constant_max_error", heading, 1e-3, "error", "heading_not_yaw",
                      f"heading 6D entries 3, 5, 6, 7 must be 0, 0, 1, 0; off by up to {heading:.3g}"),
                velocity_check(velocity_error_272(features, layout))]

    def published_stats(self, layout: Layout) -> str:
        return PUBLISHED


register_family(Smpl272Family())
