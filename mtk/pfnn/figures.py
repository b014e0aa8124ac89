"""Figures on controller output and on training data: speed, phase rate, foot sliding, pose error."""

from __future__ import annotations

import numpy as np

from mtk.pfnn.controller import Frame
from mtk.pfnn.meta import group_slice
from mtk.schemas.pfnn import REFERENCE_FPS, get_preset


def contact_joints(meta: dict) -> tuple[int, int, int, int]:
    return get_preset(meta["skeleton"]).contact_joints


def foot_slide(frames: list[Frame], meta: dict, fps: float) -> float:
    """Mean horizontal speed (units per second) of heels and toes on frames where the network predicts
    their contact (> 0.5)."""
    joints = np.stack([f.joints for f in frames])[:, list(contact_joints(meta))]
    contacts = np.stack([f.contacts for f in frames])[1:] > 0.5
    speed = np.linalg.norm(np.diff(joints[..., [0, 2]], axis=0), axis=-1) * fps
    return float(speed[contacts].mean()) if contacts.any() else float("nan")


def data_foot_slide(Y: np.ndarray, meta: dict) -> float:
    """The same figure on training rows: horizontal joint speed of contacting heels and toes in Y."""
    groups = meta["y_groups"]
    vel = Y[:, group_slice(groups, "joint_vel")].reshape(len(Y), -1, 3)[:, list(contact_joints(meta))]
    contacts = Y[:, group_slice(groups, "contacts")] > 0.5
    speed = np.linalg.norm(vel[..., [0, 2]], axis=-1) * REFERENCE_FPS
    return float(speed[contacts].mean()) if contacts.any() else float("nan")


def root_speeds(frames: list[Frame], fps: float) -> np.ndarray:
    """Root speed (units per second) of each step."""
    roots = np.stack([f.root for f in frames])
    return np.linalg.norm(np.diff(roots, axis=0), axis=-1) * fps


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
