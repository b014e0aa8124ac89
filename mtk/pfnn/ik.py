"""Foot IK for the controller's output, as PFNN's demo does it: feet planted while the network predicts
their contact, two-joint leg IK, locks blended in and out.

Each heel and toe (the preset's contact joints) is **locked** where it stands when its predicted contact
rises above :data:`CONTACT` and stays there while the contact holds; when the contact ends the lock's weight
falls by :data:`FADE` per 1/60 s (PFNN's: out in 0.22 s). Every frame, each leg:

1. takes the locked positions, blended by the locks' weights with where the network put the joints;
2. places the heel -- at its key, or, when the toe is the more firmly locked one (the heel rising at
   toe-off), a foot's length from the toe's key towards the heel's -- with the analytic two-joint IK of
   hip, knee and heel (PFNN's ``IK::two_joint``: the knee bends in the leg's own plane, then the leg swings
   onto the target);
3. turns the foot (the heel and everything below it) about the heel so that the toe points at its key.

The corrected pose goes to the outputs (``.npy``, ``.bvh``, GIF); the network is fed its own pose, as in
PFNN's demo, so IK never changes what the network sees. Any skeleton whose preset names the hips, heels and
toes (the knee is the heel's parent, its parent the hip) has leg chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.pfnn.schema import REFERENCE_FPS, PfnnPreset

#: a predicted contact above this plants the joint (the training labels are 0 or 1)
CONTACT = 0.5
#: a released lock's weight falls by this much per 1/60 s (PFNN's demo)
FADE = 0.075
_EPS = 1e-9


@dataclass(frozen=True)
class LegChain:
    """One leg: hip, knee, heel and toe joints, the heel and every joint below it, and where its heel and toe
    are among the four contacts (heel L, toe L, heel R, toe R)."""

    hip: int
    knee: int
    heel: int
    toe: int
    foot: tuple[int, ...]
    contacts: tuple[int, int]


def leg_chains(preset: PfnnPreset) -> tuple[LegChain, LegChain]:
    """The two leg chains of a preset's skeleton; ValueError when its roles do not form them."""
    parents = preset.skeleton.parents
    chains = []
    for index, side in enumerate(("left", "right")):
        hip, heel, toe = (preset.role(f"{part}_{side}") for part in ("hip", "heel", "toe"))
        knee = parents[heel]
        foot = _subtree(parents, heel)
        if knee < 0 or parents[knee] != hip or toe not in foot:
            raise ValueError(f"{preset.name}: the {side} hip, knee, heel and toe do not form a leg chain")
        chains.append(LegChain(hip, knee, heel, toe, foot, (2 * index, 2 * index + 1)))
    return chains[0], chains[1]


def _subtree(parents: tuple[int, ...], root: int) -> tuple[int, ...]:
    inside = [root]
    for joint in range(root + 1, len(parents)):
        if parents[joint] in inside:
            inside.append(joint)
    return tuple(inside)


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """The rotation matrix of ``angle`` radians about ``axis`` (right-handed); identity for a null axis."""
    length = np.linalg.norm(axis)
    if length < _EPS or abs(angle) < _EPS:
        return np.eye(3)
    x, y, z = axis / length
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < _EPS or nv < _EPS:
        return 0.0
    return float(np.arccos(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0)))


def two_joint(hip: np.ndarray, knee: np.ndarray, heel: np.ndarray, target: np.ndarray,
              eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The rotations (about the hip) of the thigh and of the shin that bring the heel onto ``target``, or as
    close as the leg reaches (its length less ``eps``): PFNN's ``IK::two_joint``."""
    thigh, shin = np.linalg.norm(knee - hip), np.linalg.norm(heel - knee)
    if np.linalg.norm(heel - target) < _EPS or thigh < _EPS or shin < _EPS:
        return np.eye(3), np.eye(3)
    reach = float(np.clip(np.linalg.norm(target - hip), eps, thigh + shin - eps))
    hip_now, knee_now = _angle(heel - hip, knee - hip), _angle(hip - knee, heel - knee)
    hip_goal = np.arccos(np.clip((shin**2 - thigh**2 - reach**2) / (-2 * thigh * reach), -1.0, 1.0))
    knee_goal = np.arccos(np.clip((reach**2 - thigh**2 - shin**2) / (-2 * thigh * shin), -1.0, 1.0))
    bend_axis = np.cross(knee - hip, heel - hip)
    if np.linalg.norm(bend_axis) < _EPS:  # a straight leg: bend it forward about its own side axis
        bend_axis = np.cross(knee - hip, np.array([0.0, 0.0, 1.0]))
    swing_axis = np.cross(target - hip, heel - hip)
    bend_thigh = axis_angle(bend_axis, -(hip_goal - hip_now))
    bend_knee = axis_angle(bend_axis, -(knee_goal - knee_now))
    swing = axis_angle(swing_axis, -_angle(heel - hip, target - hip))
    return swing @ bend_thigh, swing @ bend_thigh @ bend_knee


def _aim(current: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The shortest rotation taking direction ``current`` onto ``wanted``."""
    return axis_angle(np.cross(current, wanted), _angle(current, wanted))


class FootIK:
    """Locks and leg IK over a run of frames (one instance per run: it keeps the locks)."""

    def __init__(self, preset: PfnnPreset, fps: float):
        self.legs = leg_chains(preset)
        self.fade = FADE * REFERENCE_FPS / fps  # weight lost per step
        self.weight = np.zeros(4)
        self.locked = np.zeros((4, 3))
        self.joint_of = [j for leg in self.legs for j in (leg.heel, leg.toe)]  # contact order
        self.eps = 1e-3 / preset.metres_per_unit  # a leg never straightens fully: 1 mm short of its length

    def apply(self, joints: np.ndarray, rotations: np.ndarray, contacts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The corrected joints (J, 3) and global rotations (J, 3, 3) of one frame, then the locks updated by
        its predicted ``contacts`` (4,)."""
        joints, rotations = joints.copy(), rotations.copy()
        keys = joints[self.joint_of] + self.weight[:, None] * (self.locked - joints[self.joint_of])
        for leg in self.legs:
            self._place(leg, joints, rotations, keys)
        for k, joint in enumerate(self.joint_of):
            if contacts[k] > CONTACT:
                if self.weight[k] < 1.0:
                    self.locked[k], self.weight[k] = joints[joint], 1.0
            else:
                self.weight[k] = max(0.0, self.weight[k] - self.fade)
        return joints, rotations

    def _place(self, leg: LegChain, joints: np.ndarray, rotations: np.ndarray, keys: np.ndarray) -> None:
        heel_k, toe_k = leg.contacts
        heel_key, toe_key = keys[heel_k], keys[toe_k]
        if self.weight[heel_k] == 0.0 and self.weight[toe_k] == 0.0:
            return
        hip, knee, heel = joints[leg.hip], joints[leg.knee], joints[leg.heel]
        foot_length = np.linalg.norm(joints[leg.toe] - heel)
        target = heel_key
        if self.weight[toe_k] > self.weight[heel_k]:  # toe-off: the heel turns about the planted toe
            away = heel_key - toe_key
            target = toe_key + foot_length * away / max(np.linalg.norm(away), _EPS)
        thigh_turn, shin_turn = two_joint(hip, knee, heel, target, self.eps)
        new_knee = hip + thigh_turn @ (knee - hip)
        new_heel = new_knee + shin_turn @ (heel - knee)
        aim = _aim(shin_turn @ (joints[leg.toe] - heel), toe_key - new_heel)
        foot_turn = aim @ shin_turn
        below = list(leg.foot)
        joints[below] = new_heel + (joints[below] - heel) @ foot_turn.T
        rotations[below] = foot_turn @ rotations[below]
        joints[leg.knee] = new_knee
        rotations[leg.knee] = shin_turn @ rotations[leg.knee]
        rotations[leg.hip] = thigh_turn @ rotations[leg.hip]
