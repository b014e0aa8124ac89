"""Inverse kinematics: parent-relative rotations of a skeleton's rest pose from joint positions alone.

Positions fix every bone's direction but not its twist, so the solver adds what a human body implies:

* a joint with several children (SMPL's pelvis and upper spine) takes the rotation that best maps its rest
  children onto the data's (Kabsch). The children toward the feet count fully and the others a tenth, so
  where the source's pelvis is built differently from the rest pose's, the legs keep their positions (and
  the feet their contacts) and the upper body takes the difference;
* a joint whose child is a hinge (hip above a knee, shoulder above an elbow) takes the twist that lets the
  hinge bend about its rest axis alone (:attr:`~mtk.schemas.Skeleton.hinge_axes`), found from the plane of
  the limb's two bones. A nearly straight limb has no plane: there its twist comes from the plane of the
  last two bones beyond the hinge (shin and foot: the ankle bends about an axis close to the knee's), or
  for an arm from its parent, blended in between;
* any other joint with one child takes the shortest turn from a hint to its bone: the parent's rotation,
  or for the spine a share of the turn from the pelvis to the upper spine;
* a joint without children (SMPL-22's head, wrists and toes) keeps its parent's rotation: nothing in the
  positions says how it turns.

Joints are solved from the root outward, each turning toward where the data puts its children as seen from
where the solution has put the joint, so a difference in branch geometry near the root is made up along the
limbs. Positions made on the rest pose come back to float precision; :class:`IkSolution` reports the
remaining distance for any other input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.maths import rotations as rot
from mtk.maths.fitting import global_to_local, kabsch
from mtk.maths.kinematics import children
from mtk.schemas import Skeleton

#: a hinge flexed less than this beyond its straightest is read from the guide alone, more than the second
#: from the plane of its two bones alone (in between, a blend)
_NEAR_STRAIGHT = np.radians(5.0)
_CLEARLY_BENT = np.radians(20.0)
#: the weight of a branching joint's children that do not lead to the feet (:func:`_branch_weights`)
_UPPER_WEIGHT = 0.1


@dataclass
class IkSolution:
    """Solved rotations and what they reproduce."""

    #: parent-relative rotations (T, J, 3, 3), relative to the skeleton's rest pose
    rotations: np.ndarray
    #: root positions (T, 3)
    root: np.ndarray
    #: forward kinematics of the rotations on the rest offsets (T, J, 3)
    positions: np.ndarray
    #: distance (T, J) between ``positions`` and the positions solved for
    residual: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _perpendicular(v: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each v (..., 3)."""
    helper = np.where(np.abs(v[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    return _unit(np.cross(v, helper))


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation matrices (..., 3, 3) taking unit vectors a onto unit vectors b (half a turn about
    a perpendicular axis when they are opposite)."""
    q = np.concatenate([1.0 + (a * b).sum(-1, keepdims=True), np.cross(a, b)], -1)
    opposite = q[..., 0] < 1e-9
    if opposite.any():
        q[opposite] = np.concatenate([np.zeros((int(opposite.sum()), 1)), _perpendicular(a[opposite])], -1)
    return rot.quat_to_matrix(q)


def frame_rotation(u_rest: np.ndarray, n_rest: np.ndarray, u: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) taking the orthonormal pairs (u_rest, n_rest) onto (u, n) (each (..., 3))."""
    rest = np.stack(np.broadcast_arrays(u_rest, n_rest, np.cross(u_rest, n_rest)), -1)
    data = np.stack([u, n, np.cross(u, n)], -1)
    return data @ np.swapaxes(rest, -1, -2)


def partial_rotation(start: np.ndarray, end: np.ndarray, share: float | np.ndarray) -> np.ndarray:
    """The rotation ``share`` (a number or (T,)) of the way from ``start`` to ``end`` (T, 3, 3)."""
    relative = rot.matrix_to_axis_angle(np.swapaxes(start, -1, -2) @ end)
    return start @ rot.axis_angle_to_matrix(relative * np.reshape(share, np.shape(share) + (1,)))


def _across(normal: np.ndarray, along: np.ndarray) -> np.ndarray:
    """``normal`` made perpendicular to ``along`` and unit length."""
    return _unit(normal - (normal * along).sum(-1, keepdims=True) * along)


def hinge_flexion(u_rest: np.ndarray, v_rest: np.ndarray, hinge: np.ndarray,
                  cos_bend: np.ndarray) -> tuple[np.ndarray, float]:
    """The flexion angles (T,) about ``hinge`` that give the rest bones ``u_rest``, ``v_rest`` (unit) the
    observed cosines ``cos_bend`` between them, taken on the bending side, and the angle of the straightest
    limb the hinge can make (a rest pose's limbs need not be straight, nor the hinge square to them)."""
    offset = (u_rest @ hinge) * (hinge @ v_rest)
    along, across = u_rest @ v_rest - offset, u_rest @ np.cross(hinge, v_rest)
    straightest = float(np.arctan2(across, along))
    amplitude = max(float(np.hypot(along, across)), 1e-12)
    return straightest + np.arccos(np.clip((cos_bend - offset) / amplitude, -1.0, 1.0)), straightest


def _limb_rotation(guide: np.ndarray, u_rest: np.ndarray, v_rest: np.ndarray, hinge: np.ndarray, u: np.ndarray,
                   v: np.ndarray) -> np.ndarray:
    """Rotations (T, 3, 3) of a limb's upper joint: the rest upper bone ``u_rest`` onto the data's ``u`` with
    the twist that lets the joint below bend about ``hinge`` alone to give the lower bone ``v``. Where the
    limb is too straight for its plane to say, the twist comes from ``guide`` (T, 3, 3), which also takes
    ``u_rest`` onto ``u``."""
    flexion, straightest = hinge_flexion(u_rest, v_rest, hinge, (u * v).sum(-1))
    bent_rest = (rot.axis_angle_to_matrix(hinge * flexion[:, None]) @ v_rest)
    plane = frame_rotation(u_rest, _across(np.cross(u_rest, bent_rest), u_rest), u, _across(np.cross(u, v), u))
    weight = np.clip((flexion - straightest - _NEAR_STRAIGHT) / (_CLEARLY_BENT - _NEAR_STRAIGHT), 0.0, 1.0)
    return partial_rotation(guide, plane, weight)


def _limb_guide(hint: np.ndarray, u_rest: np.ndarray, u: np.ndarray,
                end_rest: tuple[np.ndarray, np.ndarray] | None,
                end: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """A straight limb's twist (T, 3, 3): from the plane of the two bones beyond its hinge where there are
    two (shin and foot: the ankle bends about an axis close to the knee's), else the shortest turn from the
    parent's rotation ``hint``."""
    if end_rest is None or end is None:
        return swing(hint @ u_rest, u) @ hint
    return frame_rotation(u_rest, _across(np.cross(*end_rest), u_rest), u, _across(np.cross(*end), u))


def _branch_weights(skeleton: Skeleton, kids: dict[int, list[int]], joint: int) -> np.ndarray:
    """How much each child of a branching joint counts in its fit: children toward the feet fully, the others
    a tenth, so that where the source's branch geometry differs from the rest pose's, the legs keep their
    positions (and the feet their contacts) and the upper body takes the difference."""
    feet = set(skeleton.roles.get("feet_left", ())) | set(skeleton.roles.get("feet_right", ()))

    def reaches_feet(j: int) -> bool:
        return j in feet or any(reaches_feet(k) for k in kids[j])

    weights = np.array([1.0 if reaches_feet(k) else _UPPER_WEIGHT for k in kids[joint]])
    return weights / weights.max()


def _spine_shares(skeleton: Skeleton, branching: list[int]) -> dict[int, tuple[int, int, float]]:
    """Single-child joints between two branching joints (pelvis ... upper spine): (lower, upper, share)."""
    parents = skeleton.parents
    shares: dict[int, tuple[int, int, float]] = {}
    for upper in branching:
        path = []
        joint = parents[upper]
        while joint >= 0 and joint not in branching:
            path.append(joint)
            joint = parents[joint]
        if joint < 0 or not path:
            continue
        for k, between in enumerate(reversed(path), start=1):
            shares[between] = (joint, upper, k / (len(path) + 1))
    return shares


def solve_rotations(positions: np.ndarray, skeleton: Skeleton) -> IkSolution:
    """Parent-relative rotations (relative to ``skeleton``'s rest pose) that pose it like ``positions``
    (T, J, 3): y up, on the skeleton's bone lengths for an exact fit (see the module notes).

    Joints are solved from the root outward, each turning its rest bones toward where the data puts its
    children as seen from where the solution so far has put the joint itself, so that a difference in
    branch geometry near the root is made up along the limbs rather than carried to their ends.
    """
    positions = np.asarray(positions, dtype=np.float64)
    parents = skeleton.parents
    rest = skeleton.rest_offsets()
    rest_unit = _unit(rest)
    kids = children(parents)
    frames, count = positions.shape[:2]
    bone_unit = _unit(positions - positions[:, np.maximum(parents, 0)])
    branching = [j for j in range(count) if len(kids[j]) > 1]
    weights = {j: _branch_weights(skeleton, kids, j)[:, None] for j in branching}
    # the branching joints' rotations from the data alone: the spine's twist is shared out between them
    core = {j: kabsch(rest[kids[j]], (positions[:, kids[j]] - positions[:, j:j + 1]) * weights[j])
            for j in branching}
    shares = _spine_shares(skeleton, branching)
    hinges = {j: _unit(np.asarray(axis, dtype=np.float64)) for j, axis in skeleton.hinge_axes.items()}
    solved = np.zeros((frames, count, 3, 3))
    posed = positions.copy()  # the solution's joint positions, filled from the root outward
    for j in range(count):
        toward = _unit(positions[:, kids[j]] - posed[:, j:j + 1]) if kids[j] else None
        parent_rotation = solved[:, parents[j]] if parents[j] >= 0 else np.broadcast_to(np.eye(3), (frames, 3, 3))
        if j in branching:
            solved[:, j] = kabsch(rest[kids[j]], (positions[:, kids[j]] - posed[:, j:j + 1]) * weights[j])
        elif not kids[j]:
            solved[:, j] = parent_rotation
        elif kids[j][0] in hinges and len(kids[kids[j][0]]) == 1:
            child = kids[j][0]
            lower = kids[child][0]
            last = kids[lower][0] if len(kids[lower]) == 1 else None
            guide = _limb_guide(parent_rotation, rest_unit[child], toward[:, 0],
                                None if last is None else (rest_unit[lower], rest_unit[last]),
                                None if last is None else (bone_unit[:, lower], bone_unit[:, last]))
            solved[:, j] = _limb_rotation(guide, rest_unit[child], rest_unit[lower], hinges[child],
                                          toward[:, 0], bone_unit[:, lower])
        else:
            hint = parent_rotation
            if j in shares:
                lower, upper, share = shares[j]
                hint = partial_rotation(core[lower], core[upper], share)
            solved[:, j] = swing(hint @ rest_unit[kids[j][0]], toward[:, 0]) @ hint
        for child in kids[j]:
            posed[:, child] = posed[:, j] + solved[:, j] @ rest[child]
    return IkSolution(global_to_local(solved, parents), positions[:, 0].copy(), posed,
                      np.linalg.norm(posed - positions, axis=-1))
