"""``mtk pfnn play``: drive the controller by a path script or along a clip's root path, and write the
motion as world joints (``.npy``), a picture (``.gif`` / ``.mp4`` through ``mtk render``) or a ``.bvh``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.pfnn.controller import Controller, Frame
from mtk.pfnn.meta import CONTROLLER_GAITS
from mtk.pfnn.path import Command, follow_command, parse_path, path_commands
from mtk.pfnn.schema import REFERENCE_FPS
from mtk.pfnn.weights import PfnnWeights

OUTPUTS = (".npy", ".gif", ".mp4", ".bvh")
#: walking and jogging speeds (m/s) the controller is driven at when the network carries none
DEFAULT_SPEEDS_M_S = {"stand": 0.0, "walk": 1.2, "jog": 2.1}


@dataclass
class Clip:
    """A clip to follow: world joints (T, J, 3) in the network's units at its rate, root xz and facing."""

    joints: np.ndarray
    root: np.ndarray
    facing: np.ndarray


def gait_speeds(weights: PfnnWeights) -> dict[str, float]:
    """Target speed per gait in units per 1/60 s: the training data's medians where the network carries
    them, else :data:`DEFAULT_SPEEDS_M_S`."""
    per_frame = 1.0 / REFERENCE_FPS / weights.meta.metres_per_unit
    stored = weights.meta.gait_speeds
    out = {}
    for gait in CONTROLLER_GAITS:
        value = stored.get(gait)
        out[gait] = value if value is not None and value > 0 else DEFAULT_SPEEDS_M_S[gait] * per_frame
    return out


def load_clip(path: str, weights: PfnnWeights, fps: float) -> Clip:
    """A joints ``.npy`` (T, J, 3) in the network's units at its rate, or a BVH of the network's skeleton."""
    from mtk.pfnn.rows import facing_directions
    from mtk.pfnn.schema import FACING_SIGMA_S

    preset = weights.meta.preset
    if path.lower().endswith(".bvh"):
        from mtk.pfnn.sources import ExportOptions, source_from_bvh

        source = source_from_bvh(path, ExportOptions(skeleton=preset.name))
        joints, clip_fps = source.motion.positions, source.motion.fps
        if abs(clip_fps - fps) > 1e-6:
            from mtk.maths.resample import resample_linear

            joints = resample_linear(joints, clip_fps, fps)
    else:
        from mtk.formats.arrays import load_npy

        joints = load_npy(path).astype(np.float64)
        if joints.ndim != 3 or joints.shape[1:] != (preset.skeleton.num_joints, 3):
            raise BadInputError(path, f"has shape {joints.shape}, expected (T, {preset.skeleton.num_joints}, 3) "
                                f"{preset.name} joints", "give world joint positions in the network's units")
    if len(joints) < 2 or not np.isfinite(joints).all():
        raise BadInputError(path, "needs at least 2 finite frames")
    forward = facing_directions(joints, preset.facing_joints, FACING_SIGMA_S * fps)
    return Clip(joints, joints[:, 0, [0, 2]], forward[:, [0, 2]])


class Driver:
    """A fresh controller and, unless ``ik`` is off, the foot IK that corrects each frame it outputs."""

    def __init__(self, weights: PfnnWeights, responsive: bool = True, ik: bool = True):
        from mtk.pfnn.ik import FootIK

        self.controller = Controller(weights, responsive=responsive)
        self.feet = FootIK(weights.meta.preset, self.controller.fps) if ik else None

    def step(self, command: Command) -> Frame:
        frame = self.controller.step(command.velocity, command.direction, command.gait)
        if self.feet is None:
            return frame
        joints, rotations = self.feet.apply(frame.joints, frame.rotations, frame.contacts)
        return replace(frame, joints=joints, rotations=rotations)


@dataclass
class Played:
    """A played run: the frames, what each was commanded, the clip followed (or None) and the frame rate."""

    frames: list[Frame]
    commands: list[Command]
    clip: Clip | None
    fps: float


def run(weights: PfnnWeights, commands: list[Command], responsive: bool = True, ik: bool = True) -> list[Frame]:
    """Step a fresh controller (with foot IK unless ``ik`` is off) through ``commands``."""
    driver = Driver(weights, responsive, ik)
    return [driver.step(c) for c in commands]


def follow_clip(weights: PfnnWeights, clip: Clip, frames: int, responsive: bool = True,
                ik: bool = True) -> tuple[list[Frame], list[Command]]:
    """Frames of the controller following ``clip``'s root path for ``frames`` steps, starting at its first root
    and facing, and the command of each."""
    driver = Driver(weights, responsive, ik)
    driver.controller.reset(tuple(clip.root[0]), tuple(clip.facing[0]))
    speeds = gait_speeds(weights)
    out, commands = [], []
    for t in range(frames):
        commands.append(follow_command(clip.root, clip.facing, t, driver.controller.root, driver.controller.fps,
                                       speeds))
        out.append(driver.step(commands[-1]))
    return out, commands


def play(weights: PfnnWeights, path: str | None = None, follow: str | None = None,
         seconds: float | None = None, responsive: bool = True, ik: bool = True) -> Played:
    """A scripted walk (``path``) or the following of a clip (``follow``). ``responsive``: PFNN's responsive
    trajectory (the default: a script wants its speeds held); off, PFNN's default joystick smoothing."""
    controller_fps = weights.meta.fps
    if (path is None) == (follow is None):
        raise MtkError(None, "give exactly one of --path and --follow")
    if seconds is not None and (not np.isfinite(seconds) or seconds <= 0):
        raise MtkError(None, f"--seconds must be positive, got {seconds:g}")
    if follow is not None:
        clip = load_clip(follow, weights, controller_fps)
        frames = len(clip.joints) if seconds is None else min(len(clip.joints), int(round(seconds * controller_fps)))
        return Played(*follow_clip(weights, clip, frames, responsive, ik), clip, controller_fps)
    commands = path_commands(parse_path(path), controller_fps, gait_speeds(weights), seconds)
    if not commands:
        raise MtkError(None, "--path gives no frames", "use durations above 0")
    return Played(run(weights, commands, responsive, ik), commands, None, controller_fps)


def summary_figures(frames: list[Frame], weights: PfnnWeights, fps: float) -> dict[str, Any]:
    """Frames, frame rate, seconds, distance (m) and mean speed (m/s) of the root."""
    metres = weights.meta.metres_per_unit
    roots = np.stack([f.root for f in frames])
    distance = float(np.linalg.norm(np.diff(roots, axis=0), axis=-1).sum()) * metres
    seconds = len(frames) / fps
    return {"frames": len(frames), "fps": fps, "seconds": seconds, "distance_m": distance,
            "mean_speed_m_s": distance / seconds if seconds else 0.0}


def report(played: Played, weights: PfnnWeights, data: str | None = None, ik: bool = True) -> dict[str, Any]:
    """``mtk pfnn play --json``: the run's summary, its figures (:mod:`mtk.pfnn.figures`) and the same figures
    on the training data -- a database ``data``, else those the network carries from its training.

    The top-level figures are those over every measured walking and jogging frame; beside them the training
    data's foot sliding over all its rows, and its phase rate and pelvis bob over its rows of the gaits played.
    ``gaits`` has the figures per gait, the data's beside them."""
    from mtk.pfnn.figures import controller_figures, pose_error

    out = summary_figures(played.frames, weights, played.fps)
    out["ik"] = ik
    ours = controller_figures(played.frames, played.commands, weights.meta, played.fps)
    theirs, source = training_figures(weights, data)
    played_gaits = [g for g in ours if g != "moving"]
    for key in ("foot_sliding_cm_s", "network_foot_sliding_cm_s", "speed_ratio", "phase_hz", "pelvis_bob_cm"):
        out[key] = ours["moving"][key] if "moving" in ours else None
    pooled = _pooled(theirs, played_gaits)
    out["data_foot_sliding_cm_s"] = theirs["every"]["foot_sliding_cm_s"] if "every" in theirs else None
    out["data_phase_hz"], out["data_pelvis_bob_cm"] = pooled.get("phase_hz"), pooled.get("pelvis_bob_cm")
    out["gaits"] = {g: {**ours[g], "data": theirs.get(g)} for g in played_gaits}
    out["data"] = source
    if played.clip is not None:
        n = len(played.frames)
        out["root_relative_joint_error"] = pose_error(played.frames, played.clip.joints[:n], played.clip.root[:n],
                                                      played.clip.facing[:n])
    return out


def _pooled(figures: dict[str, Any], gaits: list[str]) -> dict[str, float]:
    """Row-weighted means of per-gait data figures over ``gaits`` (NaN-free)."""
    found = [figures[g] for g in gaits if g in figures]
    out = {}
    for key in ("phase_hz", "pelvis_bob_cm"):
        pairs = [(f["rows"], f[key]) for f in found if f.get(key) is not None and np.isfinite(f[key])]
        if pairs:
            out[key] = float(sum(n * v for n, v in pairs) / sum(n for n, _ in pairs))
    return out


def training_figures(weights: PfnnWeights, data: str | None) -> tuple[dict[str, Any], str | None]:
    """Per-gait figures of the training data: measured on the database ``data``, else the ones the network
    carries (measured on its database when it was trained); ({}, None) when there are none."""
    if data is None:
        stored = weights.meta.data_figures
        return stored, (weights.meta.source or "the network's training data") if stored else None
    from mtk.pfnn.database import read_database
    from mtk.pfnn.evaluate import check_widths
    from mtk.pfnn.figures import data_figures

    db = read_database(data)
    check_widths(weights, db.X, db.Y, data)
    return data_figures(db.X, db.Y, weights.meta, [(start, stop) for _, start, stop in db.clips()]), data


def write_bvh_frames(frames: list[Frame], weights: PfnnWeights, out: str, fps: float) -> None:
    """A BVH from the predicted global rotations; bone offsets are the mean joint offsets in the parent's
    rotated frame (constant when rotations and positions agree, as in the training data)."""
    from mtk.formats.bvh import bvh_joint_name, write_bvh

    meta = weights.meta
    if not meta.preset.bvh:
        raise MtkError(out, f"BVH output is for networks on skeletons with BVH joint names, not {meta.skeleton}",
                       "write .npy or .gif instead")
    parents = list(meta.parents)
    names = [bvh_joint_name(n) for n in meta.joint_names]
    joints = np.stack([f.joints for f in frames])
    glob = np.stack([f.rotations for f in frames])
    local = glob.copy()
    offsets = np.zeros((len(parents), 3))
    for j, p in enumerate(parents):
        if p < 0:
            continue
        local[:, j] = np.swapaxes(glob[:, p], -1, -2) @ glob[:, j]
        offsets[j] = np.einsum("tji,tj->ti", glob[:, p], joints[:, j] - joints[:, p]).mean(0)
    write_bvh(out, names, parents, offsets, local, joints[:, 0], fps)


def write_frames(frames: list[Frame], weights: PfnnWeights, out: str, fps: float, overwrite: bool) -> None:
    """Write ``out`` by its extension (atomic; an existing file needs ``overwrite``)."""
    from mtk.formats.arrays import save_npy
    from mtk.io.atomic import atomic_file, refuse_existing

    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUTS:
        raise MtkError(out, f"cannot write {suffix or 'a file without extension'}", "use .npy, .gif, .mp4 or .bvh")
    refuse_existing(out, overwrite)
    joints = np.stack([f.joints for f in frames]).astype(np.float32)
    if suffix == ".npy":
        save_npy(out, joints)
    elif suffix == ".bvh":
        write_bvh_frames(frames, weights, out, fps)
    else:
        import tempfile

        from mtk.jobs.render import render_file

        every = int(np.ceil(fps / 30.0))  # a joints file carries no rate: hand render <= 30 fps frames
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "joints.npy"
            metres = weights.meta.metres_per_unit
            np.save(source, joints[::every] * np.float32(metres), allow_pickle=False)
            with atomic_file(out, suffix) as target:
                render_file(str(source), str(target), fps=fps / every, overwrite=True)
