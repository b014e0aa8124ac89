"""Skeletons as data: joint names, parents, rest directions and roles.

Offsets follow the HumanML3D / text-to-motion conventions (``raw_offset`` unit directions times a bone
length), y up, the body facing +z, the character's left at +x.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def joint_key(name: str) -> str:
    """A joint name compared loosely: ``Left_hip``, ``left_hip``, ``L_Hip`` and ``LeftHip`` are one key."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    for long, short in (("left", "l"), ("right", "r")):
        if key.startswith(long):
            key = short + key[len(long):]
    return key


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree. ``parents[j] < j`` for every non-root joint."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    raw_offsets: tuple[tuple[float, float, float], ...] = ()
    bone_lengths: tuple[float, ...] = ()
    chains: tuple[tuple[int, ...], ...] = ()
    roles: dict[str, int | tuple[int, ...]] = field(default_factory=dict)
    #: unit bone directions of the skeleton's rest pose (its T-pose), where one is defined
    rest_directions: tuple[tuple[float, float, float], ...] = ()
    #: (left, right) joint pairs that swap when the body is mirrored through the x = 0 plane
    mirror_pairs: tuple[tuple[int, int], ...] = ()
    #: joints that bend about one axis, with that axis in the rest pose (the joint's frame)
    hinge_axes: dict[int, tuple[float, float, float]] = field(default_factory=dict)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def offsets(self) -> np.ndarray:
        """Rest offsets (J, 3) = unit direction times bone length (metres where lengths are known)."""
        directions = np.asarray(self.raw_offsets, dtype=np.float64)
        lengths = np.asarray(self.bone_lengths or (1.0,) * self.num_joints, dtype=np.float64)
        return directions * lengths[:, None]

    def rest_offsets(self) -> np.ndarray:
        """Offsets (J, 3) of the rest pose: ``rest_directions`` (normalised) times the bone lengths."""
        if not self.rest_directions:
            raise ValueError(f"skeleton {self.name} has no rest pose")
        directions = np.asarray(self.rest_directions, dtype=np.float64)
        norms = np.linalg.norm(directions, axis=-1, keepdims=True)
        unit = np.divide(directions, norms, out=np.zeros_like(directions), where=norms > 0)
        return unit * np.asarray(self.bone_lengths, dtype=np.float64)[:, None]

    def mirror_permutation(self) -> np.ndarray:
        """Joint indices (J,) of each joint's mirror image (itself for joints on the mid-plane)."""
        order = np.arange(self.num_joints)
        for left, right in self.mirror_pairs:
            order[left], order[right] = right, left
        return order

    def index(self, joint_name: str) -> int:
        return self.joint_names.index(joint_name)

    def indices_in(self, names: Sequence[str]) -> list[int] | None:
        """The index in ``names`` of each of this skeleton's joints, matched by :func:`joint_key`; None when
        any is missing."""
        keys = {joint_key(n): i for i, n in enumerate(names)}
        found = [keys.get(joint_key(n)) for n in self.joint_names]
        return None if any(i is None for i in found) else found  # type: ignore[return-value]


_X, _NX, _Y, _NY, _Z = (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)
_ZERO = (0.0, 0.0, 0.0)

SMPL22 = Skeleton(
    name="smpl22",
    joint_names=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
        "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
    raw_offsets=(
        _ZERO, _X, _NX, _Y, _NY, _NY, _Y, _NY, _NY, _Y, _Z, _Z, _Y, _X, _NX, _Z,
        _NY, _NY, _NY, _NY, _NY, _NY,
    ),
    # HumanML3D's uniform target skeleton (clip 000021), measured on new_joints/012314.npy (frame-to-frame
    # std <= 2.5e-7 m, so 6 decimals; extraction needs them to match the released features to ~1e-6).
    bone_lengths=(
        0.0, 0.103074, 0.109883, 0.131568, 0.393623, 0.390188, 0.14319, 0.432433, 0.425643, 0.057365,
        0.143382, 0.149419, 0.21936, 0.137487, 0.143383, 0.103039, 0.131614, 0.122984, 0.25684, 0.263092,
        0.266012, 0.269876,
    ),
    chains=((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20)),
    roles={
        # HumanML3D processing parameters (face_joint_indx = r_hip, l_hip, r_sho, l_sho).
        "face_joints": (2, 1, 17, 16),
        "feet_left": (7, 10),
        "feet_right": (8, 11),
        "leg_bones": (5, 8),
        "hip_left": 1, "hip_right": 2, "shoulder_left": 16, "shoulder_right": 17,
        "heel_left": 7, "toe_left": 10, "heel_right": 8, "toe_right": 11, "head": 15,
    },
    # SMPL's rest pose (a T-pose facing +z, arms along +-x, palms down): the template's bone directions as
    # SMPL-skeleton BVH exports write them (MotionMillion's), made left-right symmetric and rounded to 0.01.
    # The solved rotations of ``mtk.mocap.ik`` are relative to this pose, as SMPL rotations are.
    rest_directions=(
        _ZERO, (0.60, -0.80, -0.05), (-0.60, -0.80, -0.05), (0.0, 0.97, -0.24), (0.10, -0.99, -0.02),
        (-0.10, -0.99, -0.02), (0.0, 1.0, 0.01), (-0.04, -0.99, -0.11), (0.04, -0.99, -0.11), (0.0, 0.90, 0.43),
        (0.19, -0.39, 0.90), (-0.19, -0.39, 0.90), (0.0, 0.98, -0.20), (0.54, 0.81, -0.24), (-0.54, 0.81, -0.24),
        (0.0, 0.79, 0.62), (0.94, 0.32, -0.09), (-0.94, 0.32, -0.09), (0.99, -0.05, -0.09), (-0.99, -0.05, -0.09),
        (1.0, 0.03, -0.01), (-1.0, 0.03, -0.01),
    ),
    mirror_pairs=((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)),
    # knees and elbows bend about one axis: in the rest pose, the knees about +x (the shin swings back) and
    # the elbows about -y (left) and +y (right) (the forearm swings forward)
    hinge_axes={4: _X, 5: _X, 18: _NY, 19: _Y},
)

KIT21 = Skeleton(
    name="kit21",
    joint_names=(
        "root", "BP", "BT", "BLN", "BUN", "LS", "LE", "LW", "RS", "RE", "RW",
        "LH", "LK", "LA", "LMrot", "LF", "RH", "RK", "RA", "RMrot", "RF",
    ),
    parents=(-1, 0, 1, 2, 3, 3, 5, 6, 3, 8, 9, 0, 11, 12, 13, 14, 0, 16, 17, 18, 19),
    raw_offsets=(
        _ZERO, _Y, _Y, _Y, _Y, _X, _NY, _NY, _NX, _NY, _NY,
        _X, _NY, _NY, _Z, _Z, _NX, _NY, _NY, _Z, _Z,
    ),
    chains=((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4), (3, 5, 6, 7), (3, 8, 9, 10)),
    roles={
        # text-to-motion's KIT parameters; its "r_hip" is MMM's LH (docs/motion.md, "What the families compute").
        "face_joints": (11, 16, 5, 8),
        "feet_left": (19, 20),
        "feet_right": (14, 15),
        "leg_bones": (17, 18),
        "hip_left": 11, "hip_right": 16, "shoulder_left": 5, "shoulder_right": 8,
        "heel_left": 13, "toe_left": 15, "heel_right": 18, "toe_right": 20, "head": 4,
    },
    mirror_pairs=((5, 8), (6, 9), (7, 10), (11, 16), (12, 17), (13, 18), (14, 19), (15, 20)),
)

PFNN31 = Skeleton(
    name="pfnn31",
    joint_names=(
        "Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RHipJoint", "RightUpLeg",
        "RightLeg", "RightFoot", "RightToeBase", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head",
        "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftFingerBase", "LeftHandIndex1", "LThumb",
        "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightFingerBase", "RightHandIndex1", "RThumb",
    ),
    parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 20, 21, 20, 13, 24, 25,
             26, 27, 28, 27),
    roles={
        "hip_left": 2, "hip_right": 7, "shoulder_left": 18, "shoulder_right": 25,
        "heel_left": 4, "toe_left": 5, "heel_right": 9, "toe_right": 10, "head": 16,
        # joints PFNN masks with weight 1e-10 in its input normalisation
        "masked": (1, 6, 11, 14, 17, 21, 22, 23, 24, 28, 29, 30),
    },
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (SMPL22, KIT21, PFNN31)}


def get_skeleton(name: str) -> Skeleton:
    """Look a skeleton up by name (``smpl22``, ``kit21``, ``pfnn31``)."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; known: {', '.join(SKELETONS)}") from None
