"""Joints / rotations -> features: the HumanML3D generator (263, 251) and the 272 generator.

Follows ``shared/specs/feature_layouts.md`` §3 (263/251) and §4 (272). The 263/251 path reproduces the
released data's quirks by default, because every trained model expects them:

* P2 - the per-frame IK heading uses (l_hip - r_hip) + (r_sho - l_sho), a flipped hip term;
* P3 - the frame-0 heading is forced to identity while later frames are Gaussian-smoothed;
* P4 - the root yaw velocity is ``arcsin`` of a relative quaternion that may have w < 0.

``reproduce_quirks=False`` fixes all three: the correct across vector, a facing alignment that uses the
smoothed heading (so frame 0 is identity without forcing it) and a hemisphere-safe yaw velocity.
Such features still decode with the ordinary recovery but no longer match the released files.
"""

from __future__ import annotations

import numpy as np

from mtk.schemas import Layout, Skeleton
from mtk.toolkit import rotations as rot

_UP = np.array([0.0, 1.0, 0.0])


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


def _facing_quat(forward: np.ndarray) -> np.ndarray:
    """The yaw quaternion (w >= 0) taking horizontal ``forward`` (..., 3) to +z, i.e. world -> facing."""
    heading = np.arctan2(forward[..., 0], forward[..., 2])
    return rot.yaw_quat(-heading)


def _across(positions: np.ndarray, skeleton: Skeleton, hip_bug: bool) -> np.ndarray:
    """Hips + shoulders across vector (pointing to the character's right), with or without P2's hip flip."""
    r_hip, l_hip, r_sho, l_sho = skeleton.roles["face_joints"]
    hips = positions[..., r_hip, :] - positions[..., l_hip, :]
    shoulders = positions[..., r_sho, :] - positions[..., l_sho, :]
    return (-hips if hip_bug else hips) + shoulders


def _forward(positions: np.ndarray, skeleton: Skeleton, hip_bug: bool) -> np.ndarray:
    """y x normalize(across): horizontal, with length |across_xz| / |across| (not normalised: it is smoothed)."""
    return np.cross(_UP, rot._normalize(_across(positions, skeleton, hip_bug)))


def bone_lengths(positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Bone lengths (..., J) from positions (..., J, 3); the root's is 0."""
    parents = np.array(skeleton.parents)
    lengths = np.linalg.norm(positions - positions[..., np.maximum(parents, 0), :], axis=-1)
    lengths[..., 0] = 0.0
    return lengths


def leg_scale(joints: np.ndarray, skeleton: Skeleton) -> float:
    """Target leg length / the leg length of frame 0 of ``joints`` (T, J, 3): how :func:`uniform_skeleton`
    scales the root trajectory."""
    legs = list(skeleton.roles["leg_bones"])
    target = np.asarray(skeleton.bone_lengths, dtype=np.float64)
    return float(target[legs].sum() / bone_lengths(joints[0], skeleton)[legs].sum())


def uniform_skeleton(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Retarget (T, J, 3) joints to the skeleton's bone lengths, keeping every bone's direction.

    The root trajectory is scaled by target leg length / source leg length (frame 0), as HumanML3D's
    ``uniform_skeleton`` does. Skeletons without bone lengths (KIT) are returned unchanged.
    """
    if not skeleton.bone_lengths:
        return joints.astype(np.float64)
    target = np.asarray(skeleton.bone_lengths, dtype=np.float64)
    out = np.empty_like(joints, dtype=np.float64)
    out[:, 0] = joints[:, 0] * leg_scale(joints, skeleton)
    for j, parent in enumerate(skeleton.parents):
        if parent >= 0:
            bone = rot._normalize(joints[:, j] - joints[:, parent])
            out[:, j] = out[:, parent] + target[j] * bone
    return out


def preprocess_joints(joints: np.ndarray, skeleton: Skeleton, retarget: bool = True) -> np.ndarray:
    """§3 steps 2-5: uniform skeleton, floor at y = 0, frame-0 root xz at the origin, face +z (frame-0
    hips + shoulders, correct sign)."""
    positions = uniform_skeleton(joints, skeleton) if retarget else joints.astype(np.float64)
    positions = positions - np.array([0.0, positions[..., 1].min(), 0.0])
    positions = positions - positions[0, 0] * np.array([1.0, 0.0, 1.0])
    return rot.quat_rotate(_facing_quat(_forward(positions[0], skeleton, hip_bug=False)), positions)


def smoothed_heading(positions: np.ndarray, skeleton: Skeleton, hip_bug: bool, sigma: float = 20.0) -> np.ndarray:
    """Per-frame root quaternions r_rot (T, 4), world -> facing, from the Gaussian-smoothed forward."""
    return _facing_quat(gaussian_smooth(_forward(positions, skeleton, hip_bug), sigma))


def swing_rotations(positions: np.ndarray, r_rot: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """HumanML3D IK: local swing quaternions (T, J, 4); joint 0 holds r_rot.

    Each bone's global swing g[b] takes the rest direction to the data direction; the local is
    prev^-1 g[b], where prev is r_rot at a chain's first bone and g[parent] further down the chain.
    """
    raw = np.asarray(skeleton.raw_offsets, dtype=np.float64)
    parents = skeleton.parents
    chain_starts = {chain[1] for chain in skeleton.chains}
    local = np.zeros(positions.shape[:-1] + (4,))
    local[:, 0] = r_rot
    swing = np.zeros_like(local)
    for chain in skeleton.chains:
        for b in chain[1:]:
            direction = rot._normalize(positions[:, b] - positions[:, parents[b]])
            swing[:, b] = rot.quat_between(np.broadcast_to(raw[b], direction.shape), direction)
            prev = r_rot if b in chain_starts else swing[:, parents[b]]
            local[:, b] = rot.quat_multiply(rot.quat_conjugate(prev), swing[:, b])
    return local


def foot_contacts(positions: np.ndarray, joints: tuple[int, ...], threshold: float) -> np.ndarray:
    """(T-1, len(joints)) 0/1: squared displacement P[t+1]-P[t] below ``threshold`` (the t2m rule)."""
    step = positions[1:, list(joints)] - positions[:-1, list(joints)]
    return ((step ** 2).sum(-1) < threshold).astype(np.float64)


def root_yaw_velocity(r_rot: np.ndarray, fix_branch: bool) -> np.ndarray:
    """(T-1,) arcsin of the y component of r_rot[t+1] r_rot[t]^-1 (P4: w may be < 0 unless fixed)."""
    relative = rot.quat_multiply(r_rot[1:], rot.quat_conjugate(r_rot[:-1]))
    if fix_branch:
        relative = rot.quat_canonical(relative)
    return np.arcsin(np.clip(relative[:, 2], -1.0, 1.0))


def branch_flips(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Rows whose root yaw velocity the released generator turns the wrong way (P4: the heading crosses
    +-180 degrees there), for joints (T, J, 3) made into features with the quirks kept."""
    _, r_rot = canonical_positions(joints, skeleton, reproduce_quirks=True)
    relative = rot.quat_multiply(r_rot[1:], rot.quat_conjugate(r_rot[:-1]))
    return np.flatnonzero(relative[:, 0] < 0)


def canonical_positions(joints: np.ndarray, skeleton: Skeleton, reproduce_quirks: bool = True,
                        retarget: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The global positions (T, J, 3) that 263/251 features describe, and their root quaternions r_rot (T, 4).

    With the quirks these are :func:`preprocess_joints`'s; without them the motion is turned once more so
    that the smoothed frame-0 heading faces +z.
    """
    positions = preprocess_joints(joints, skeleton, retarget)
    if reproduce_quirks:
        r_rot = smoothed_heading(positions, skeleton, hip_bug=True)
        r_rot[0] = (1.0, 0.0, 0.0, 0.0)
        return positions, r_rot
    positions = rot.quat_rotate(smoothed_heading(positions, skeleton, hip_bug=False)[0], positions)
    return positions, smoothed_heading(positions, skeleton, hip_bug=False)


def extract_263(joints: np.ndarray, layout: Layout, reproduce_quirks: bool = True,
                retarget: bool = True) -> np.ndarray:
    """Joints (T, J, 3) -> (T-1, D) float32 features of a 263/251 layout (HumanML3D ``process_file``).

    ``joints`` are global positions, y up, in the layout's units, sampled at the layout's fps.
    """
    skeleton = layout.skeleton
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.num_joints, 3):
        raise ValueError(f"{layout.name} needs joints of shape (T, {skeleton.num_joints}, 3), got {joints.shape}")
    if joints.shape[0] < 2:
        raise ValueError(f"{layout.name} needs at least 2 frames, got {joints.shape[0]}")
    positions, r_rot = canonical_positions(joints, skeleton, reproduce_quirks, retarget)
    return assemble_263(positions, r_rot, layout, fix_branch=not reproduce_quirks).astype(np.float32)


def assemble_263(positions: np.ndarray, r_rot: np.ndarray, layout: Layout, fix_branch: bool) -> np.ndarray:
    """Features (T-1, D) from preprocessed global positions (T, J, 3) and root quaternions r_rot (T, 4)."""
    frames, count = positions.shape[:2]
    local = swing_rotations(positions, r_rot, layout.skeleton)
    root = positions[:, 0]
    linear = rot.quat_rotate(r_rot[1:], root[1:] - root[:-1])[:, [0, 2]]
    centred = positions - root[:, None] * np.array([1.0, 0.0, 1.0])
    ric = rot.quat_rotate(r_rot[:, None], centred)[:, 1:]
    velocity = rot.quat_rotate(r_rot[:-1, None], positions[1:] - positions[:-1])
    contacts = foot_contacts(positions, layout.block("foot_contacts").joints, layout.contact_threshold)
    parts = [
        root_yaw_velocity(r_rot, fix_branch)[:, None],
        linear,
        root[:-1, 1:2],
        ric[:-1].reshape(frames - 1, -1),
        rot.quat_to_6d(local[:-1, 1:], "columns").reshape(frames - 1, -1),
        velocity.reshape(frames - 1, -1),
        contacts,
    ]
    features = np.concatenate(parts, axis=-1)
    assert features.shape[1] == layout.dim and count == layout.num_joints
    return features


def yaw_of(matrices: np.ndarray) -> np.ndarray:
    """Yaw angle theta of rotations (..., 3, 3): the heading of their z axis, atan2(R[0,2], R[2,2])."""
    return np.arctan2(matrices[..., 0, 2], matrices[..., 2, 2])


def extract_272(local_rotations: np.ndarray, joints: np.ndarray, layout: Layout, face_z: bool = True) -> np.ndarray:
    """SMPL-22 local rotations (T, 22, 3, 3) + joint positions (T, 22, 3) -> (T, 272) float64 features.

    ``joints`` are the body joints (the pelvis joint is the translation), y up, metres, at the layout's fps.
    With ``face_z`` the motion is first turned so that the frame-0 pelvis faces +z (the 272 pipeline's
    face_z_transform); the floor and the frame-0 root xz then go to zero (``ori``), as in §4.
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
