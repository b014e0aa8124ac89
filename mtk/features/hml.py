"""The ``hml`` feature family: HumanML3D's generator, which makes the 263 (SMPL-22) and 251 (KIT-21) layouts.

Features are made from joint positions alone (docs/motion.md, "HumanML3D-263 and KIT-251"): the motion is
retargeted to the skeleton's bone lengths, put on the floor at the origin facing +z; each frame stores the
root's yaw velocity, xz velocity and height, the other joints relative to the root in its facing frame, IK
swing rotations (6D columns), joint velocities and foot contacts, for T-1 of the T source frames. The released
data carries the generator's quirks, reproduced by default because every trained model expects them:

* P2 - the per-frame IK heading uses (l_hip - r_hip) + (r_sho - l_sho), a flipped hip term;
* P3 - the frame-0 heading is forced to identity while later frames are Gaussian-smoothed;
* P4 - the root yaw velocity is ``arcsin`` of a relative quaternion that may have w < 0.

``reproduce_quirks=False`` fixes all three: the correct across vector, a facing alignment that uses the
smoothed heading (so frame 0 is identity without forcing it) and a hemisphere-safe yaw velocity.
Such features still decode with the ordinary recovery but no longer match the released files.

Recovery is HumanML3D's ``recover_from_ric``; the BVH pose is an approximation through the swing rotations.
"""

from __future__ import annotations

import numpy as np

from mtk.features.base import Check, DatasetFolder, Family, Pose, velocity_check
from mtk.features.registry import register_family
from mtk.maths import rotations as rot
from mtk.maths.fitting import global_to_local, rigid_fit
from mtk.maths.kinematics import children
from mtk.maths.rotations import Array, _cat, _cumsum, _stack
from mtk.maths.smoothing import gaussian_smooth
from mtk.schemas import HML263, KIT251, Layout, Skeleton

_UP = np.array([0.0, 1.0, 0.0])

#: HumanML3D and KIT-ML as published: ``new_joint_vecs/<name>.npy``, ``texts/``, ``<split>.txt`` at the root
HUMANML3D = DatasetFolder("humanml3d", "HumanML3D/KIT", motions="new_joint_vecs", mean="Mean.npy", std="Std.npy",
                          feat_bias_stats=("mean.npy", "std.npy"))
#: what the published Mean.npy/Std.npy are, by the layout's dataset
PUBLISHED = {"humanml3d": "HumanML3D Mean.npy/Std.npy (cal_mean_variance: 7 groups, no feat_bias)",
             "kit": "KIT-ML Mean.npy/Std.npy (HumanML3D's cal_mean_variance: 7 groups, no feat_bias)"}


# ---------------------------------------------------------------------------------------------------
# joints -> features

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
    """The generator's preprocessing: uniform skeleton, floor at y = 0, frame-0 root xz at the origin, face +z (frame-0
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


# ---------------------------------------------------------------------------------------------------
# features -> joints, a pose, a consistency check

def _shift_right(x: Array) -> Array:
    """x along the frame axis (-1) moved one step later, with a zero at frame 0."""
    return _cat([x[..., :1] * 0, x[..., :-1]], -1)


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


def _swing_globals(features: np.ndarray, layout: Layout) -> np.ndarray:
    """Global swing rotation of every bone (T, J, 3, 3) by HumanML3D's chain FK: along each kinematic
    chain, a bone's global swing is the previous one times its stored local swing; joint 0 = the root heading."""
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
    """A BVH pose through the 263/251 swing rotations, an approximation.

    In HumanML3D's convention a joint's rotation turns its *own* bone; in BVH a joint's rotation turns its
    children's bones. So a joint with one child takes that child's swing; a joint with several children
    (pelvis, upper spine) takes a rigid-body fit of its children's bones (Kabsch, with rest offsets fitted to
    the data); end joints keep their parent's rotation. The swings carry no twist, so the BVH reproduces the
    joint positions but not the limbs' roll.
    """
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


class HmlFamily(Family):
    """HumanML3D's generator (263, 251): made from joint positions, with the released data's quirks."""

    name = "hml"
    layouts = (HML263, KIT251)
    folders = (HUMANML3D,)
    has_quirks = True

    def extract(self, joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                reproduce_quirks: bool = True) -> np.ndarray:
        return extract_263(joints, layout, reproduce_quirks=reproduce_quirks)

    def recover_joints(self, features: Array, layout: Layout) -> Array:
        return recover_joints_263(features, layout)

    def pose(self, features: np.ndarray, layout: Layout) -> Pose:
        return pose_from_263(features, layout)

    def checks(self, features: np.ndarray, layout: Layout) -> list[Check]:
        return [velocity_check(velocity_error_263(features, layout))]

    def published_stats(self, layout: Layout) -> str:
        return PUBLISHED.get(layout.dataset_family, super().published_stats(layout))


register_family(HmlFamily())
