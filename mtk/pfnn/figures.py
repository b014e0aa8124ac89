"""How a character walks, measured the same way on controller output and on training data.

Definitions (docs/pfnn.md, "Measuring a walk"):

* **contact**: a heel or toe (the preset's four contact joints) whose contact value in Y is above 0.5 -- the
  label in the data (PFNN's rule: the joint moves less than 8.5 cm/s), the network's prediction in the
  controller; the value of frame t is about the step t -> t+1.
* **foot sliding** (cm/s): the mean horizontal speed of the contact joints over the (frame, joint) pairs in
  contact, the speed of the step t -> t+1;
* **speed ratio**: the mean horizontal root speed over the measured frames, over the mean commanded speed;
* **phase rate** (cycles/s): the phase's advance per second (the data: the mean dphase);
* **pelvis bob** (cm): the mean, over 1 s windows moved by 0.5 s through runs of consecutive frames of one
  gait, of the root joint's highest minus lowest height.

A controller frame counts for the gait it was commanded, from :data:`SETTLE_S` after the start of each
stretch of one gait (the character needs that long to reach a new gait); a data row counts for the gait that
weighs most in its current trajectory sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mtk.pfnn.controller import Frame
from mtk.pfnn.gait import true_runs
from mtk.pfnn.meta import CONTROLLER_GAITS, NetworkMeta
from mtk.pfnn.path import Command
from mtk.pfnn.schema import GAIT_CLASSES, REFERENCE_FPS

#: seconds after each change of gait (and after the start) that are not measured
SETTLE_S = 1.0
#: the pelvis bob's window and its step (s)
BOB_WINDOW_S, BOB_STEP_S = 1.0, 0.5
#: the gaits that move
MOVING = ("walk", "jog")


def sliding_cm_s(speeds: np.ndarray, contacts: np.ndarray) -> float:
    """Mean of ``speeds`` (N, 4) cm/s over the pairs where ``contacts`` (N, 4) is above 0.5 (NaN: none)."""
    planted = contacts > 0.5
    return float(speeds[planted].mean()) if planted.any() else float("nan")


def pelvis_bob(heights: np.ndarray, runs: Sequence[tuple[int, int]], fps: float) -> float:
    """Mean highest-minus-lowest of ``heights`` over 1 s windows (moved by 0.5 s) inside ``runs``; NaN when
    no run is a window long."""
    window, step = int(round(BOB_WINDOW_S * fps)), max(1, int(round(BOB_STEP_S * fps)))
    spans = [heights[s:s + window] for a, b in runs for s in range(a, b - window + 1, step)]
    return float(np.mean([span.max() - span.min() for span in spans])) if spans else float("nan")


def measured_frames(commands: Sequence[Command], fps: float) -> np.ndarray:
    """Which frames count: all but the first :data:`SETTLE_S` of each stretch of one commanded gait."""
    gaits = [c.gait for c in commands]
    counted = np.ones(len(gaits), bool)
    settle = int(round(SETTLE_S * fps))
    start = 0
    for t in range(1, len(gaits) + 1):
        if t == len(gaits) or gaits[t] != gaits[start]:
            counted[start:start + settle] = False
            start = t
    return counted


def controller_figures(frames: Sequence[Frame], commands: Sequence[Command], meta: NetworkMeta,
                       fps: float) -> dict[str, Any]:
    """The figures of a played run, per commanded moving gait and over all of them (``moving``)."""
    cm = 100.0 * meta.metres_per_unit
    feet = list(meta.preset.contact_joints)
    joints = np.stack([f.joints for f in frames])
    raw = np.stack([f.raw_joints for f in frames])
    contacts = np.stack([f.contacts for f in frames])[:-1]
    speeds, raw_speeds = (np.linalg.norm(np.diff(j[:, feet][..., [0, 2]], axis=0), axis=-1) * fps * cm
                          for j in (joints, raw))
    roots = np.stack([f.root for f in frames])
    root_speed = np.linalg.norm(np.diff(roots, axis=0), axis=-1) * fps * meta.metres_per_unit
    command = np.array([np.linalg.norm(c.velocity) for c in commands]) * REFERENCE_FPS * meta.metres_per_unit
    phase = np.unwrap(np.array([f.phase for f in frames]) * 2 * np.pi) / (2 * np.pi)
    pelvis = joints[:, 0, 1] * cm
    counted = measured_frames(commands, fps)[:-1]  # frame t measures the step t -> t+1
    gaits = np.array([c.gait for c in commands])[:-1]
    out: dict[str, Any] = {}
    for name in (*MOVING, "moving"):
        mask = counted & (np.isin(gaits, MOVING) if name == "moving" else gaits == name)
        if not mask.any():
            continue
        runs = true_runs(mask)
        advance = sum(phase[b] - phase[a] for a, b in runs)
        out[name] = {
            "seconds": float(mask.sum() / fps),
            "speed_m_s": float(root_speed[mask].mean()), "command_m_s": float(command[:-1][mask].mean()),
            "speed_ratio": float(root_speed[mask].mean() / max(command[:-1][mask].mean(), 1e-12)),
            "foot_sliding_cm_s": sliding_cm_s(speeds[mask], contacts[mask]),
            "network_foot_sliding_cm_s": sliding_cm_s(raw_speeds[mask], contacts[mask]),
            "phase_hz": float(advance / (mask.sum() / fps)),
            "pelvis_bob_cm": pelvis_bob(pelvis, runs, fps),
        }
    return out


def data_figures(X: np.ndarray, Y: np.ndarray, meta: NetworkMeta,
                 clips: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """The same figures on training rows (X, Y) whose ``clips`` are runs [start, stop) of consecutive frames:
    per gait, over the walking and jogging rows (``moving``) and over every row (``every``)."""
    columns, cm = meta.columns, 100.0 * meta.metres_per_unit
    feet = list(meta.preset.contact_joints)
    sample = 6  # the current frame among the 12 trajectory samples
    weights = np.stack([X[:, columns.x_group(f"gait_{g}").start + sample] for g in GAIT_CLASSES], -1)
    dominant = np.array(GAIT_CLASSES)[weights.argmax(-1)]
    velocity = Y[:, columns.y_group("joint_vel").slice].reshape(len(Y), -1, 3)[:, feet]
    speeds = np.linalg.norm(velocity[..., [0, 2]], axis=-1) * REFERENCE_FPS * cm
    contacts = Y[:, columns.y_group("contacts").slice]
    root = np.linalg.norm(Y[:, columns.y_group("root_velocity").slice], axis=-1) * REFERENCE_FPS * meta.metres_per_unit
    dphase = Y[:, columns.y_group("dphase").start] * REFERENCE_FPS
    pelvis = Y[:, columns.y_group("joint_pos").start + 1] * cm
    fps = meta.fps
    out: dict[str, Any] = {}
    for name in (*CONTROLLER_GAITS, "moving", "every"):
        mask = {"moving": np.isin(dominant, MOVING), "every": np.ones(len(Y), bool)}.get(name, dominant == name)
        if not mask.any():
            continue
        runs = [(start + a, start + b) for start, stop in clips for a, b in true_runs(mask[start:stop])]
        out[name] = {"rows": int(mask.sum()), "speed_m_s": float(root[mask].mean()),
                     "foot_sliding_cm_s": sliding_cm_s(speeds[mask], contacts[mask]),
                     "phase_hz": float(dphase[mask].mean()), "pelvis_bob_cm": pelvis_bob(pelvis, runs, fps)}
    return out


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


def mean_pose_error(joints: np.ndarray, root: np.ndarray, facing: np.ndarray) -> float:
    """The baseline for :func:`pose_error`: a clip against its own mean root-relative pose."""
    local = root_relative(joints, root, facing)
    return float(np.linalg.norm(local - local.mean(0), axis=-1).mean())
