"""The PFNN generator's array functions: phase, windows in seconds, rates per 1/60 s, grouped normalisation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mtk.maths.kinematics import forward_kinematics
from mtk.maths.rotations import rotation_y
from mtk.pfnn.phase import phase_from_contacts, phase_increment
from mtk.pfnn.rows import PfnnMotion, export_rows, grouped_stats
from mtk.pfnn.schema import get_preset, pfnn_columns
from mtk.pfnn.sources import read_footstep_cycles, read_footstep_phase, read_phase
from mtk.schemas import SMPL22

PRESET = get_preset("smpl22")
COLUMNS = pfnn_columns(SMPL22.joint_names)


def circle_walk(fps: float, seconds: float = 6.0, speed: float = 1.2, turn: float = 0.5) -> PfnnMotion:
    """The rest pose carried along a circle: speed m/s forward, turning ``turn`` rad/s to the left."""
    t = np.arange(int(seconds * fps)) / fps
    heading = turn * t
    radius = speed / turn
    root = np.stack([radius * (1 - np.cos(heading)), np.full_like(t, 0.9), radius * np.sin(heading)], -1)
    yaw = rotation_y(heading)
    local = np.broadcast_to(np.eye(3), (len(t), 22, 3, 3)).copy()
    local[:, 0] = yaw
    positions, rotations = forward_kinematics(local, root, SMPL22.offsets(), SMPL22.parents)
    return PfnnMotion(positions, rotations, fps)


def test_root_motion_is_per_reference_frame_at_any_fps():
    for fps in (20.0, 30.0, 60.0):
        rows = export_rows(circle_walk(fps), PRESET)
        middle = slice(len(rows) // 3, 2 * len(rows) // 3)
        velocity = rows.Y[middle, COLUMNS.y_group("root_velocity").slice]
        # forward speed 1.2 m/s = 0.02 m per 1/60 s (the chord of a 1/fps step is a hair shorter)
        np.testing.assert_allclose(velocity[:, 1], 0.02, rtol=2e-3)
        np.testing.assert_allclose(rows.Y[middle, COLUMNS.y_group("root_angular_velocity").start], -0.5 / 60,
                                   rtol=1e-3)


def test_trajectory_samples_are_in_seconds():
    by_fps = {}
    for fps in (20.0, 60.0):
        rows = export_rows(circle_walk(fps), PRESET)
        centre = np.flatnonzero(rows.frames == int(3.0 * fps))[0]  # the row at t = 3 s
        group = [COLUMNS.x_group(g).slice for g in ("traj_pos_x", "traj_pos_z", "traj_dir_x", "traj_dir_z")]
        by_fps[fps] = np.concatenate([rows.X[centre, g] for g in group])
    # at 20 fps the 1/6 s samples fall between frames and are interpolated (chord vs arc: < 1 mm)
    np.testing.assert_allclose(by_fps[20.0], by_fps[60.0], atol=2e-3)
    traj_z = by_fps[60.0][12:24]
    assert traj_z[6] == 0 and (np.diff(traj_z) > 0).all()


def test_rows_with_drop_and_clamp_edges():
    motion = circle_walk(30.0, seconds=4.0)
    clamp = export_rows(motion, PRESET)
    assert clamp.frames[0] == 1 and clamp.frames[-1] == motion.frames - 2
    drop = export_rows(motion, replace(PRESET, edges="drop"))
    assert drop.frames[0] == 30 and drop.frames[-1] == motion.frames - 32
    short = export_rows(circle_walk(30.0, seconds=0.05), PRESET)
    assert len(short) == 0 and short.X.shape[1] == COLUMNS.x_dim


def test_phase_from_contacts_strikes_and_flicker():
    frames = 200
    left, right = np.zeros(frames, bool), np.zeros(frames, bool)
    for start in (20, 80, 140):
        right[start:start + 25] = True
    for start in (50, 110, 170):
        left[start:start + 25] = True
    right[82] = False  # a one-frame flicker inside a stance must not start a new cycle
    phase, unwrapped = phase_from_contacts(left, right, fps=30.0)
    assert phase[20] == 0 and phase[80] == 0 and phase[140] == 0
    assert phase[50] == 0.5 and phase[110] == 0.5
    assert phase[35] == pytest.approx(0.25)
    assert (np.diff(unwrapped) > 0).all()
    assert ((phase >= 0) & (phase < 1)).all()


def test_a_heel_pausing_just_after_lift_off_is_no_strike():
    """The procedural sample's heels stop for a frame right after lifting off: a strike needs 0.15 s of swing
    first, else that pause counted as a second step of the foot and the phase ran at twice the cadence."""
    frames, fps = 240, 30.0
    left, right = np.zeros(frames, bool), np.zeros(frames, bool)
    for start in range(0, frames, 30):  # one stride a second, each foot down 18 frames
        right[start:start + 18] = True
        left[(start + 15) % frames:(start + 15) % frames + 18] = True
        right[start + 20] = True  # a pause 2 frames into the swing
    _, unwrapped = phase_from_contacts(left, right, fps)
    assert (unwrapped[-1] - unwrapped[0]) / ((frames - 1) / fps) == pytest.approx(1.0, rel=0.05)
    _, fooled = phase_from_contacts(left, right, fps, min_swing_s=0.0)
    assert (fooled[-1] - fooled[0]) / ((frames - 1) / fps) > 1.3


def test_phase_increment_wraps():
    np.testing.assert_allclose(phase_increment(np.array([0.8, 0.9, 0.05, 0.2])), [0.1, 0.15, 0.15])


def test_footsteps_rebuild_the_phase_file(data_dir: Path):
    take = data_dir / "pfnn/animations/LocomotionFlat04_000"
    recorded = read_phase(f"{take}.phase")
    rebuilt = read_footstep_phase(f"{take}_footsteps.txt", len(recorded))
    assert np.abs(rebuilt - recorded).max() < 1e-4  # the file holds 5 decimals
    cycles = read_footstep_cycles(f"{take}_footsteps.txt")
    assert len(cycles) == 20 and cycles[0] == (98, 199) and cycles[-1] == (1815, 1930)


def test_grouped_stats_pool_groups_and_guard_constant_ones():
    rng = np.random.default_rng(0)
    rows = export_rows(circle_walk(30.0), PRESET)
    X, Y = rows.X.copy(), rows.Y.copy()
    X[:, COLUMNS.x_group("joint_pos").slice] += rng.normal(size=X[:, COLUMNS.x_group("joint_pos").slice].shape)
    weights = [1.0] * 22
    weights[13] = 1e-10
    stats = grouped_stats(X, Y, COLUMNS, weights)
    pos = COLUMNS.x_group("joint_pos").slice
    pooled = X[:, pos].astype(np.float64).std(0).mean()
    np.testing.assert_allclose(stats.x_std[pos][:3], pooled / 0.1, rtol=1e-5)
    np.testing.assert_allclose(stats.x_std[pos][39:42], pooled / 1e-11, rtol=1e-5)
    # terrain (all zeros) and the unused gait classes are constant: std 1, no NaN anywhere
    assert (stats.x_std[COLUMNS.x_group("terrain_left").start:] == 1).all()
    assert np.isfinite(stats.x_std).all() and np.isfinite(stats.y_std).all()
    np.testing.assert_allclose(stats.x_mean, X.astype(np.float64).mean(0), rtol=1e-6, atol=1e-7)


def test_phase_without_strikes_runs_at_one_hertz():
    still = np.ones(90, bool)
    phase, unwrapped = phase_from_contacts(still, still, fps=30.0)
    np.testing.assert_allclose(np.diff(unwrapped), 1 / 30)
    assert phase[30] == pytest.approx(0.0, abs=1e-9) and phase[15] == pytest.approx(0.5)


def test_swing_rotations_point_rest_bones_along_the_data(data_dir: Path):
    from mtk.features import get_layout, recover_joints
    from mtk.pfnn.rows import facing_directions, rotations_from_positions

    joints = recover_joints(np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy").astype(np.float64),
                            get_layout("hml263"))
    forward = facing_directions(joints, PRESET.facing_joints, 20 / 3)
    rotations = rotations_from_positions(joints, SMPL22, forward)
    rest = np.asarray(SMPL22.raw_offsets)[1:]
    bones = joints[:, 1:] - joints[:, list(SMPL22.parents[1:])]
    turned = (rotations[:, 1:] @ rest[..., None])[..., 0]
    np.testing.assert_allclose(turned, bones / np.linalg.norm(bones, axis=-1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(rotations[:, 0] @ np.array([0, 0, 1.0]), forward, atol=1e-9)
