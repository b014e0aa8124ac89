"""``mtk pfnn play``: drive the controller by a path script or along a clip's root path, and write the
motion as world joints (``.npy``), a picture (``.gif`` / ``.mp4`` through ``mtk render``) or a ``.bvh``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.pfnn.controller import Controller, Frame
from mtk.pfnn.meta import CONTROLLER_GAITS
from mtk.pfnn.path import Command, follow_command, parse_path, path_commands
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
    per_frame = 1.0 / 60.0 / float(weights.meta.get("metres_per_unit", 1.0))
    stored = weights.meta.get("gait_speeds") or {}
    out = {}
    for gait in CONTROLLER_GAITS:
        value = stored.get(gait)
        out[gait] = float(value) if value is not None and np.isfinite(value) and value > 0 else \
            DEFAULT_SPEEDS_M_S[gait] * per_frame
    return out


def load_clip(path: str, weights: PfnnWeights, fps: float) -> Clip:
    """A joints ``.npy`` (T, J, 3) in the network's units at its rate, or a BVH of the network's skeleton."""
    from mtk.schemas.pfnn import FACING_SIGMA_S, get_preset
    from mtk.toolkit.pfnn import facing_directions

    preset = get_preset(weights.meta["skeleton"])
    if path.lower().endswith(".bvh"):
        from mtk.jobs.pfnn_sources import ExportOptions, source_from_bvh

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


def run(weights: PfnnWeights, commands: list[Command], responsive: bool = False) -> list[Frame]:
    """Step a fresh controller through ``commands``."""
    controller = Controller(weights, responsive=responsive)
    return [controller.step(c.velocity, c.direction, c.gait) for c in commands]


def follow_clip(weights: PfnnWeights, clip: Clip, frames: int, responsive: bool = False) -> list[Frame]:
    """Frames of the controller following ``clip``'s root path for ``frames`` steps, starting at its first root
    and facing."""
    controller = Controller(weights, responsive=responsive)
    controller.reset(tuple(clip.root[0]), tuple(clip.facing[0]))
    speeds = gait_speeds(weights)
    out = []
    for t in range(frames):
        command = follow_command(clip.root, clip.facing, t, controller.root, controller.fps, speeds)
        out.append(controller.step(command.velocity, command.direction, command.gait))
    return out


def play(weights: PfnnWeights, path: str | None = None, follow: str | None = None,
         seconds: float | None = None, responsive: bool = False) -> tuple[list[Frame], Clip | None, float]:
    """Frames of a scripted walk or of following a clip; returns (frames, clip or None, fps)."""
    controller_fps = float(weights.meta.get("fps") or 60.0)
    if (path is None) == (follow is None):
        raise MtkError(None, "give exactly one of --path and --follow")
    if seconds is not None and (not np.isfinite(seconds) or seconds <= 0):
        raise MtkError(None, f"--seconds must be positive, got {seconds:g}")
    if follow is not None:
        clip = load_clip(follow, weights, controller_fps)
        frames = len(clip.joints) if seconds is None else min(len(clip.joints), int(round(seconds * controller_fps)))
        return follow_clip(weights, clip, frames, responsive), clip, controller_fps
    commands = path_commands(parse_path(path), controller_fps, gait_speeds(weights), seconds)
    if not commands:
        raise MtkError(None, "--path gives no frames", "use durations above 0")
    return run(weights, commands, responsive=responsive), None, controller_fps


def summary_figures(frames: list[Frame], weights: PfnnWeights, fps: float) -> dict[str, Any]:
    """Frames, frame rate, seconds, distance (m) and mean speed (m/s) of the root."""
    metres = float(weights.meta.get("metres_per_unit", 1.0))
    roots = np.stack([f.root for f in frames])
    distance = float(np.linalg.norm(np.diff(roots, axis=0), axis=-1).sum()) * metres
    seconds = len(frames) / fps
    return {"frames": len(frames), "fps": fps, "seconds": seconds, "distance_m": distance,
            "mean_speed_m_s": distance / seconds if seconds else 0.0}


def write_bvh_frames(frames: list[Frame], weights: PfnnWeights, out: str, fps: float) -> None:
    """A BVH from the predicted global rotations; bone offsets are the mean joint offsets in the parent's
    rotated frame (constant when rotations and positions agree, as in the training data)."""
    from mtk.features import skeleton_for_joints
    from mtk.formats.bvh import bvh_joint_name, write_bvh
    from mtk.schemas import PFNN31, SMPL22

    names = list(weights.meta["joint_names"])
    skeleton = skeleton_for_joints(names)
    if skeleton not in (PFNN31, SMPL22):
        raise MtkError(out, f"BVH output is for {PFNN31.name} and {SMPL22.name} networks, not "
                       f"{weights.meta['skeleton']}", "write .npy or .gif instead")
    parents = list(weights.meta["parents"])
    if skeleton is SMPL22:
        names = [bvh_joint_name(n) for n in names]
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
            metres = float(weights.meta.get("metres_per_unit", 1.0))
            np.save(source, joints[::every] * np.float32(metres), allow_pickle=False)
            with atomic_file(out, suffix) as target:
                render_file(str(source), str(target), fps=fps / every, overwrite=True)
