"""Features -> a posed skeleton (parent-relative rotations, root positions, rest offsets) for BVH export.

* 272: the stored SMPL rotations are exact; rest offsets are the least-squares fit of the stored joint
  positions to those rotations (exact for data made from a rigid skeleton).
* 263/251: an approximation through the stored IK swing rotations. In HumanML3D's convention a joint's
  rotation turns its *own* bone; in BVH a joint's rotation turns its children's bones. So a joint with one
  child takes that child's swing; a joint with several children (pelvis, upper spine) takes a rigid-body
  fit of its children's bones (Kabsch, with rest offsets fitted to the data); end joints get identity.
  The swings carry no twist, so the BVH reproduces the joint positions but not the limbs' roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.schemas import Layout
from mtk.toolkit import rotations as rot
from mtk.toolkit.extract import bone_lengths
from mtk.toolkit.kinematics import children, forward_kinematics
from mtk.toolkit.recover import recover_joints_263, recover_joints_272, recover_local_rotations_272, root_heading_263


@dataclass
class Pose:
    """A skeleton motion ready for BVH: local rotations (T, J, 3, 3), root positions (T, 3), offsets (J, 3)."""

    local_rotations: np.ndarray
    root_positions: np.ndarray
    offsets: np.ndarray


def global_to_local(global_rotations: np.ndarray, parents: tuple[int, ...] | list[int]) -> np.ndarray:
    """Parent-relative rotations (T, J, 3, 3) from global ones."""
    local = global_rotations.copy()
    for j, p in enumerate(parents):
        if p >= 0:
            local[:, j] = np.swapaxes(global_rotations[:, p], -1, -2) @ global_rotations[:, j]
    return local


def fit_offsets(positions: np.ndarray, global_rotations: np.ndarray, parents: tuple[int, ...] | list[int]) -> np.ndarray:
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


def pose_from_272(features: np.ndarray, layout: Layout) -> Pose:
    """Exact SMPL rotations and the pelvis trajectory of 272 features, with fitted rest offsets."""
    local = recover_local_rotations_272(features, layout)
    joints = recover_joints_272(features, layout)
    parents = layout.skeleton.parents
    _, global_rotations = forward_kinematics(local.rotations, local.translation, np.zeros((layout.num_joints, 3)),
                                             parents)
    return Pose(local.rotations, local.translation, fit_offsets(joints, global_rotations, parents))


def _swing_globals(features: np.ndarray, layout: Layout) -> np.ndarray:
    """Global swing rotation of every bone (T, J, 3, 3) by HumanML3D's chain FK (spec §5.3); joint 0 = root."""
    skeleton = layout.skeleton
    q, _ = root_heading_263(features)
    root = rot.quat_to_matrix(q)
    block = features[:, layout.block("rotations_6d").slice]
    local = rot.sixd_to_matrix(block.reshape(features.shape[0], -1, 6), "columns")
    swings = np.broadcast_to(np.eye(3), (features.shape[0], skeleton.num_joints, 3, 3)).copy()
    swings[:, 0] = root
    for chain in skeleton.chains:
        current = root
        for b in chain[1:]:
            current = current @ local[:, b - 1]
            swings[:, b] = current
    return swings


def pose_from_263(features: np.ndarray, layout: Layout) -> Pose:
    """A BVH pose through the 263/251 swing rotations (an approximation; see the module notes)."""
    skeleton = layout.skeleton
    parents = skeleton.parents
    joints = recover_joints_263(features, layout)
    directions = np.asarray(skeleton.raw_offsets, dtype=np.float64)
    lengths = bone_lengths(joints, skeleton).mean(0)
    offsets = directions * lengths[:, None]
    swings = _swing_globals(features, layout)
    kids_of = children(parents)
    global_rotations = np.empty_like(swings)
    for j in range(len(parents)):
        kids = kids_of[j]
        if len(kids) == 1:
            global_rotations[:, j] = swings[:, kids[0]]
        elif kids:
            global_rotations[:, j], offsets[kids] = rigid_fit(offsets[kids], joints[:, kids] - joints[:, j:j + 1])
        else:
            global_rotations[:, j] = global_rotations[:, parents[j]]
    return Pose(global_to_local(global_rotations, parents), joints[:, 0], offsets)
