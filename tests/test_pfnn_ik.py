"""Foot IK: the two-joint solve, leg chains on every preset, locks that hold planted feet and fade out, and a
corrected pose whose rotations agree with its positions."""

from __future__ import annotations

import numpy as np
import pytest
from factories import bent_legs_pose

from mtk.pfnn.ik import FADE, FootIK, leg_chains, two_joint
from mtk.pfnn.schema import PRESETS, REFERENCE_FPS, get_preset


def test_two_joint_reaches_every_reachable_target_and_keeps_bone_lengths():
    rng = np.random.default_rng(0)
    for _ in range(300):
        hip = rng.normal(size=3)
        knee = hip + rng.normal(size=3) * 0.4
        heel = knee + rng.normal(size=3) * 0.4
        thigh, shin = np.linalg.norm(knee - hip), np.linalg.norm(heel - knee)
        direction = rng.normal(size=3)
        target = hip + direction / np.linalg.norm(direction) * rng.uniform(abs(thigh - shin) + 0.01, thigh + shin - 0.01)
        turn_thigh, turn_shin = two_joint(hip, knee, heel, target, 1e-6)
        new_knee = hip + turn_thigh @ (knee - hip)
        new_heel = new_knee + turn_shin @ (heel - knee)
        np.testing.assert_allclose(new_heel, target, atol=1e-9)
        for turn in (turn_thigh, turn_shin):
            np.testing.assert_allclose(turn @ turn.T, np.eye(3), atol=1e-12)
    # out of reach: the leg straightens towards the target, eps short of its length
    hip, knee, heel = np.zeros(3), np.array([0.0, -0.4, 0.1]), np.array([0.0, -0.8, 0.0])
    turn_thigh, turn_shin = two_joint(hip, knee, heel, np.array([0.0, -3.0, 0.0]), 1e-3)
    new_heel = hip + turn_thigh @ (knee - hip) + turn_shin @ (heel - knee)
    length = np.linalg.norm(knee - hip) + np.linalg.norm(heel - knee)
    np.testing.assert_allclose(new_heel, [0.0, -(length - 1e-3), 0.0], atol=1e-9)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_has_leg_chains(name: str):
    left, right = leg_chains(get_preset(name))
    skeleton = get_preset(name).skeleton
    for leg in (left, right):
        assert skeleton.parents[leg.heel] == leg.knee and skeleton.parents[leg.knee] == leg.hip
        assert leg.heel in leg.foot and leg.toe in leg.foot and leg.knee not in leg.foot
    assert (left.contacts, right.contacts) == ((0, 1), (2, 3))


def test_a_skeleton_without_leg_chains_is_refused():
    from dataclasses import replace

    preset = get_preset("smpl22")
    broken = replace(preset, skeleton=replace(preset.skeleton, roles={**preset.skeleton.roles, "hip_left": 3}))
    with pytest.raises(ValueError, match="do not form a leg chain"):
        leg_chains(broken)


def _walking_pose(frames: int, fps: float, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Knees bent 60 degrees (the legs can reach back), gliding forward: what a sliding network gives."""
    return bent_legs_pose(30, 60, frames, speed, fps)


def test_planted_feet_stay_put_then_fade_back():
    fps, frames = 30.0, 30
    joints, rotations = _walking_pose(frames, fps, speed=0.5)
    preset = get_preset("smpl22")
    heel, toe = preset.role("heel_left"), preset.role("toe_left")
    feet = FootIK(preset, fps)
    contacts = np.zeros((frames, 4))
    contacts[:10, :2] = 0.9  # the left foot is predicted down for the first ten steps
    out = [feet.apply(joints[t], rotations[t], contacts[t]) for t in range(frames)]
    fixed = np.stack([o[0] for o in out])
    # locked at frame 0 (where the network put it), held while the contact lasts and one step more (the
    # contact of frame t is about the step t -> t+1)
    np.testing.assert_allclose(fixed[1:11, heel], np.repeat(joints[:1, heel], 10, 0), atol=1e-9)
    np.testing.assert_allclose(fixed[1:11, toe], np.repeat(joints[:1, toe], 10, 0), atol=1e-6)
    # then the lock fades by FADE per 1/60 s: gone after 1 / (FADE * 60 / fps) steps, the network's pose back
    steps = int(np.ceil(1.0 / (FADE * REFERENCE_FPS / fps)))
    assert np.linalg.norm(fixed[11, heel] - joints[11, heel]) > 0.01
    np.testing.assert_allclose(fixed[11 + steps:], joints[11 + steps:], atol=1e-12)
    # the right leg never locks: untouched throughout
    right = [j for j in range(22) if j in (2, 5, 8, 11)]
    np.testing.assert_allclose(fixed[:, right], joints[:, right], atol=1e-12)
    # bone lengths are kept and the rotations agree with the positions (offsets in the parent's frame are fixed)
    glob = np.stack([o[1] for o in out])
    parents = preset.skeleton.parents
    for j in (4, 7, 10):
        offsets = np.einsum("tji,tj->ti", glob[:, parents[j]], fixed[:, j] - fixed[:, parents[j]])
        np.testing.assert_allclose(offsets, np.repeat(offsets[:1], frames, 0), atol=1e-9)


def test_the_toe_holds_while_the_heel_rises():
    """Toe-off: only the toe is down; the heel turns about it, a foot's length away."""
    fps = 30.0
    joints, rotations = _walking_pose(8, fps, speed=0.5)
    preset = get_preset("smpl22")
    heel, toe = preset.role("heel_left"), preset.role("toe_left")
    feet = FootIK(preset, fps)
    contacts = np.zeros(4)
    contacts[1] = 0.9
    out = [feet.apply(joints[t], rotations[t], contacts)[0] for t in range(8)]
    length = np.linalg.norm(joints[0, toe] - joints[0, heel])
    for pose in out[1:]:
        np.testing.assert_allclose(pose[toe], joints[0, toe], atol=1e-6)
        assert np.linalg.norm(pose[toe] - pose[heel]) == pytest.approx(length, abs=1e-9)
