"""Figures on controller output and on training data: speed, phase rate, foot sliding, pose error."""

from __future__ import annotations

import numpy as np

from mtk.pfnn.controller import Frame
from mtk.pfnn.meta import NetworkMeta
from mtk.pfnn.schema import REFERENCE_FPS


def foot_slide(frames: list[Frame], meta: NetworkMeta, fps: float) -> float:
    """Mean horizontal speed (units per second) of heels and toes on frames where the network predicts
    their contact (> 0.5)."""
    joints = np.stack([f.joints for f in frames])[:, list(meta.preset.contact_joints)]
    contacts = np.stack([f.contacts for f in frames])[1:] > 0.5
    speed = np.linalg.norm(np.diff(joints[..., [0, 2]], axis=0), axis=-1) * fps
    return float(speed[contacts].mean()) if contacts.any() else float("nan")


def data_foot_slide(Y: np.ndarray, meta: NetworkMeta) -> float:
    """The same figure on training rows: horizontal joint speed of contacting heels and toes in Y."""
    vel = Y[:, meta.y("joint_vel")].reshape(len(Y), -1, 3)[:, list(meta.preset.contact_joints)]
    contacts = Y[:, meta.y("contacts")] > 0.5
    speed = np.linalg.norm(vel[..., [0, 2]], axis=-1) * REFERENCE_FPS
    return float(speed[contacts].mean()) if contacts.any() else float("nan")


def root_speeds(frames: list[Frame], fps: float) -> np.ndarray:
    """Root speed (units per second) of each step."""
    roots = np.stack([f.root for f in frames])
    return np.linalg.norm(np.diff(roots, axis=0), axis=-1) * fps


def sideways_angle(frames: list[Frame]) -> float:
    """Mean absolute angle (degrees) between the root's motion and its facing: 0 walking straight ahead,
    90 side-stepping."""
    roots = np.stack([f.root for f in frames])
    facing = np.stack([f.direction for f in frames])[:-1]
    motion = np.diff(roots, axis=0)
    angle = np.arctan2(facing[:, 0] * motion[:, 1] - facing[:, 1] * motion[:, 0], (facing * motion).sum(-1))
    return float(np.degrees(np.abs(angle)).mean())


def phase_rate(frames: list[Frame], fps: float) -> float:
    """Cycles per second, from the unwrapped phase."""
    phase = np.unwrap(np.array([f.phase for f in frames]) * 2 * np.pi) / (2 * np.pi)
    return float((phase[-1] - phase[0]) / ((len(phase) - 1) / fps)) if len(phase) > 1 else float("nan")


def root_relative(joints: np.ndarray, root: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """Joints (T, J, 3) relative to the root xz, in the frame facing ``facing`` (T, 2)."""
    from mtk.pfnn.controller import world_to_local_3d

    offset = np.stack([root[:, 0], np.zeros(len(root)), root[:, 1]], -1)[:, None]
    return world_to_local_3d(facing[:, None], joints - offset)


def pose_error(frames: list[Frame], joints: np.ndarray, root: np.ndarray, facing: np.ndarray) -> float:
    """Mean root-relative joint distance between controller frames and a clip (same length)."""
    ours = root_relative(np.stack([f.joints for f in frames]), np.stack([f.root for f in frames]),
                         np.stack([f.direction for f in frames]))
    theirs = root_relative(joints, root, facing)
    return float(np.linalg.norm(ours - theirs, axis=-1).mean())


def walk_then_turn(weights, training_Y: np.ndarray | None = None, walk_s: float = 10.0,
                   turn_deg: float = 90.0, responsive: bool = False) -> dict:
    """The controller check: ``walk_s`` seconds straight at the walking speed, then a ``turn_deg`` left turn
    and one more second of walking. Returns finiteness, root height range (after the first second, and in
    it), mean speed after 1 s against
    the target, the phase rate while walking, and foot sliding next to the same figure on ``training_Y``."""
    from mtk.pfnn.path import Segment, path_commands
    from mtk.pfnn.play import gait_speeds, run

    fps = weights.meta.fps
    speeds = gait_speeds(weights)
    segments = [Segment("walk", walk_s), Segment("turn-left", turn_deg), Segment("walk", 1.0)]
    frames = run(weights, path_commands(segments, fps, speeds), responsive=responsive)
    walking = frames[int(fps):int(walk_s * fps)]
    joints = np.stack([f.joints for f in frames])
    settled = joints[int(fps):, 0, 1]  # after the first second: from PFNN's reset pose (Ymean) into the walk
    roots = np.stack([f.root for f in frames])
    turned = np.degrees(np.arctan2(frames[-1].direction[0], frames[-1].direction[1]))
    per_second = REFERENCE_FPS * weights.meta.metres_per_unit
    return {
        "fps": fps, "frames": len(frames), "responsive": responsive,
        "finite": bool(np.isfinite(joints).all() and np.isfinite(roots).all()),
        "root_height": [float(settled.min()), float(settled.max())],
        "first_second_root_height": [float(joints[:int(fps), 0, 1].min()), float(joints[:int(fps), 0, 1].max())],
        "training_root_height": weights.meta.root_height,
        "target_speed_m_s": speeds["walk"] * per_second,
        "speed_m_s": float(root_speeds(walking, fps).mean()) * weights.meta.metres_per_unit,
        "phase_cycles_per_s": phase_rate(walking, fps),
        "sideways_deg": sideways_angle(walking),
        "heading_after_turn_deg": float(turned),
        "foot_slide": foot_slide(walking, weights.meta, fps),
        "training_foot_slide": data_foot_slide(training_Y, weights.meta) if training_Y is not None else None,
        "unit": weights.meta.unit,
    }


def mean_pose_error(joints: np.ndarray, root: np.ndarray, facing: np.ndarray) -> float:
    """The baseline for :func:`pose_error`: a clip against its own mean root-relative pose."""
    local = root_relative(joints, root, facing)
    return float(np.linalg.norm(local - local.mean(0), axis=-1).mean())
