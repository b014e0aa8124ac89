"""PFNN's database generator as pure array functions, for any skeleton and frame rate.

Input: global joint positions (T, J, 3) and rotations (T, J, 3, 3) of one motion, plus optional phase,
gait, contacts and footstep cycles. Output: PFNN's X, Y, P rows (docs/pfnn.md, "The algorithm", "Columns"). Windows are in
seconds (trajectory samples between frames are interpolated); every rate is per 1/60 s (PFNN's frame).
The grouped normalisation of PFNN's trainer (docs/pfnn.md, "Normalisation") is :func:`grouped_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtk.features.hml import foot_contacts
from mtk.maths import rotations as rot
from mtk.maths.resample import resample_linear
from mtk.maths.smoothing import gaussian_smooth
from mtk.pfnn.gait import gait_from_speed
from mtk.pfnn.phase import phase_increment
from mtk.pfnn.schema import (
    FACING_SIGMA_S,
    GAIT_CLASSES,
    INPUT_SAMPLES,
    JOINT_INPUT_FACTOR,
    OUTPUT_SAMPLES,
    REFERENCE_FPS,
    STEP_S,
    WINDOW_S,
    PfnnColumns,
    PfnnPreset,
    RotationEncoding,
    TerrainMode,
    pfnn_columns,
)
from mtk.schemas.skeletons import Skeleton

_UP = np.array([0.0, 1.0, 0.0])


@dataclass
class PfnnMotion:
    """One motion ready for export, in the preset's units at ``fps``."""

    positions: np.ndarray  # (T, J, 3) global joint positions
    rotations: np.ndarray | None  # (T, J, 3, 3) global joint rotations; None: swing from the positions
    fps: float
    phase: np.ndarray | None = None  # (T,) in [0, 1); None: all zeros
    gait: np.ndarray | None = None  # (T, 6) weights of GAIT_CLASSES; None: from speed
    contacts: np.ndarray | None = None  # (T-1, 4) heel L, toe L, heel R, toe R, frame t -> t+1; None: from speed
    cycles: list[tuple[int, int]] | None = None  # inclusive frame ranges; None: every frame with a window

    @property
    def frames(self) -> int:
        return int(self.positions.shape[0])


@dataclass
class PfnnRows:
    """X, Y, P rows (float32) of one motion and the frame each row stands for."""

    X: np.ndarray
    Y: np.ndarray
    P: np.ndarray
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def take(self, rows: np.ndarray) -> PfnnRows:
        """The rows at the indices ``rows``."""
        return PfnnRows(self.X[rows], self.Y[rows], self.P[rows], self.frames[rows])


def facing_directions(positions: np.ndarray, joints: tuple[int, int, int, int], sigma_frames: float) -> np.ndarray:
    """Unit horizontal facing (T, 3): ``(sdr_l - sdr_r) + (hip_l - hip_r)`` crossed with up, smoothed."""
    sl, sr, hl, hr = joints
    across = (positions[:, sl] - positions[:, sr]) + (positions[:, hl] - positions[:, hr])
    with np.errstate(invalid="ignore", divide="ignore"):  # collapsed shoulders and hips give NaN: refused later
        across = across / np.linalg.norm(across, axis=-1, keepdims=True)
        forward = gaussian_smooth(np.cross(across, _UP), sigma_frames)
        return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def to_root_frame(forward: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by the yaw taking ``forward`` (..., 3, broadcast) onto +z."""
    fx, fz = forward[..., 0], forward[..., 2]
    vx, vz = v[..., 0], v[..., 2]
    return np.stack([fz * vx - fx * vz, v[..., 1], fx * vx + fz * vz], -1)


def heading_change(forward: np.ndarray) -> np.ndarray:
    """Signed yaw (T-1,) from each frame's facing to the next one's, in (-pi, pi]."""
    a, b = forward[:-1], forward[1:]
    return np.arctan2(a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2], a[:, 0] * b[:, 0] + a[:, 2] * b[:, 2])


def yaw_matrices(forward: np.ndarray) -> np.ndarray:
    """(T, 3, 3) world -> root frame rotations for the facing directions."""
    fx, fz = forward[:, 0], forward[:, 2]
    zero, one = np.zeros_like(fx), np.ones_like(fx)
    return np.stack([np.stack([fz, zero, -fx], -1), np.stack([zero, one, zero], -1),
                     np.stack([fx, zero, fz], -1)], -2)


def encode_rotations(matrices: np.ndarray, encoding: RotationEncoding) -> np.ndarray:
    """(..., J, 3, 3) -> (..., J*3) log-quaternions with w >= 0, or (..., J*6) 6D (first two columns)."""
    if encoding == "logquat":
        values = rot.quat_log(rot.matrix_to_quat(matrices))
    elif encoding == "6d":
        values = rot.matrix_to_6d(matrices, "columns")
    else:
        raise ValueError(f"unknown rotation encoding {encoding!r}")
    return values.reshape(*values.shape[:-2], -1)


def preset_contacts(positions: np.ndarray, preset: PfnnPreset, fps: float) -> np.ndarray:
    """(T-1, 4) heel/toe contacts with PFNN's speed rule (8.5 cm/s) at any frame rate."""
    rate = fps / REFERENCE_FPS
    return foot_contacts(positions, preset.contact_joints, preset.contact_threshold() / rate**2) > 0.5


def rotations_from_positions(positions: np.ndarray, skeleton: Skeleton, forward: np.ndarray) -> np.ndarray:
    """Global rotations (T, J, 3, 3) implied by joint positions alone (HumanML3D's IK convention).

    Joint j > 0 gets the shortest-arc rotation taking its rest direction (``raw_offsets[j]``) onto the bone
    parent(j) -> j, so twist is lost; the root gets the facing yaw. For inputs with no rotations (263/251).
    """
    rest = np.asarray(skeleton.raw_offsets, dtype=np.float64)
    parents = np.asarray(skeleton.parents)
    bones = positions[:, 1:] - positions[:, parents[1:]]
    swing = rot.quat_to_matrix(rot.quat_between(np.broadcast_to(rest[1:], bones.shape), bones))
    root = np.swapaxes(yaw_matrices(forward), -1, -2)[:, None]
    return np.concatenate([root, swing], 1)


def _sample(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``values`` (T, ...) linearly interpolated at fractional frames ``times`` (clamped to the clip)."""
    return resample_linear(values, np.clip(times, 0, len(values) - 1))


def _trajectory(root: np.ndarray, forward: np.ndarray, gait: np.ndarray | None, centre: np.ndarray,
                samples: tuple[int, ...], fps: float):
    """Positions (R, S, 3) and directions (R, S, 3) of the trajectory samples around frames ``centre``,
    in each centre frame's root frame, and the gait (R, S, 6) at those samples."""
    times = centre[:, None] + np.asarray(samples, dtype=np.float64)[None] * (STEP_S * fps)
    frame_forward = forward[centre][:, None]
    positions = to_root_frame(frame_forward, _sample(root, times) - root[centre][:, None])
    directions = _sample(forward, times)
    directions = to_root_frame(frame_forward, directions / np.linalg.norm(directions, axis=-1, keepdims=True))
    return positions, directions, None if gait is None else _sample(gait, times)


def window_frames(fps: float) -> int:
    return int(round(WINDOW_S * fps))


def row_frames(frames: int, fps: float, preset: PfnnPreset,
               cycles: list[tuple[int, int]] | None) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The frame of every row, and the (start, stop) row span of each kept cycle.

    Without cycles: every frame whose window fits (``drop``) or every frame with a previous and a next frame
    (``clamp``). With cycles: each cycle's frames, inclusive, kept only when they lie in the ``drop`` range.
    """
    w = window_frames(fps)
    lo, hi = (w, frames - w - 1) if preset.edges == "drop" or cycles is not None else (1, frames - 1)
    if cycles is None:
        return np.arange(lo, max(lo, hi), dtype=np.int64), []
    parts, spans, start = [], [], 0
    for a, b in cycles:
        if a < lo or b >= hi or b < a:
            continue
        parts.append(np.arange(a, b + 1, dtype=np.int64))
        spans.append((start, start + b + 1 - a))
        start += b + 1 - a
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)), spans


def contact_floor(positions: np.ndarray, contacts: np.ndarray, preset: PfnnPreset, lo: int, hi: int) -> float:
    """PFNN's flat-terrain height over frames [lo, hi]: the mean of (heel y - heel height) and (toe y - toe
    height) over the frames where each is in contact (the last frame repeats the previous contact)."""
    c = contacts[lo:hi]
    c = np.concatenate([c, c[-1:]], 0)
    heights = positions[lo:hi + 1, list(preset.contact_joints), 1]
    heights = heights - np.array([preset.heel_height, preset.toe_height] * 2)
    down = np.concatenate([heights[c[:, k], k] for k in range(4)])
    return float(down.mean()) if down.size else 0.0


def _floors(motion: PfnnMotion, contacts: np.ndarray, preset: PfnnPreset, frames: np.ndarray,
            spans: list[tuple[int, int]]) -> np.ndarray:
    """The floor height subtracted from joint y, per row (PFNN: per cycle and its +-1 s margin)."""
    floors = np.zeros(len(frames))
    if preset.floor != "contacts":
        return floors
    w = window_frames(motion.fps)
    if not spans:
        floors[:] = contact_floor(motion.positions, contacts, preset, 0, motion.frames - 1)
        return floors
    for start, stop in spans:
        lo, hi = int(frames[start]) - w, int(frames[stop - 1]) + w
        floors[start:stop] = contact_floor(motion.positions, contacts, preset, max(lo, 0),
                                           min(hi, motion.frames - 1))
    return floors


def crouch_from_head(gait: np.ndarray, head_y: np.ndarray, heights: tuple[float, float]) -> np.ndarray:
    """PFNN's flat-clip override: crouch = 1 - clip((head y - low) / (high - low), 0, 1)."""
    low, high = heights
    gait = gait.copy()
    gait[:-1, GAIT_CLASSES.index("crouch")] = 1 - np.clip((head_y[:-1] - low) / (high - low), 0, 1)
    gait[-1, GAIT_CLASSES.index("crouch")] = gait[-2, GAIT_CLASSES.index("crouch")] if len(gait) > 1 else 0
    return gait


def _subtract_floor(joint_positions: np.ndarray, floors: np.ndarray) -> np.ndarray:
    out = joint_positions.copy()
    out[..., 1] -= floors[:, None]
    return out


def export_rows(motion: PfnnMotion, preset: PfnnPreset, rotations: RotationEncoding = "logquat",
                terrain: TerrainMode = "zero") -> PfnnRows:
    """PFNN X, Y, P rows for one motion (columns from :func:`pfnn_columns`)."""
    p = np.asarray(motion.positions, dtype=np.float64)
    if p.shape[0] < 3:
        return empty_rows(preset, rotations, terrain)
    fps, rate = motion.fps, motion.fps / REFERENCE_FPS
    hips = p[:, 0]
    forward = facing_directions(p, preset.facing_joints, FACING_SIGMA_S * fps)
    frames, spans = row_frames(len(p), fps, preset, motion.cycles)
    if len(frames) == 0:
        return empty_rows(preset, rotations, terrain)

    contacts = motion.contacts if motion.contacts is not None else preset_contacts(p, preset, fps)
    contacts = np.asarray(contacts, dtype=bool)
    gait = motion.gait if motion.gait is not None else gait_from_speed(hips, fps, preset.metres_per_unit)
    if preset.crouch_heights is not None:
        gait = crouch_from_head(gait, p[:, preset.role("head"), 1], preset.crouch_heights)
    phase = np.zeros(len(p)) if motion.phase is None else np.asarray(motion.phase, dtype=np.float64)
    floors = _floors(motion, contacts, preset, frames, spans)

    prev, nxt = frames - 1, frames + 1
    root_xz = hips * np.array([1.0, 0.0, 1.0])
    local_pos = to_root_frame(forward[:, None], p - root_xz[:, None])
    velocity = to_root_frame(forward[:-1, None], p[1:] - p[:-1]) * rate
    t_pos, t_dir, t_gait = _trajectory(hips, forward, gait, frames, INPUT_SAMPLES, fps)
    f_pos, f_dir, _ = _trajectory(hips, forward, None, nxt, OUTPUT_SAMPLES, fps)
    n = len(frames)

    x_parts = [t_pos[..., 0], t_pos[..., 2], t_dir[..., 0], t_dir[..., 2],
               *np.moveaxis(t_gait, -1, 0),
               _subtract_floor(local_pos[prev], floors).reshape(n, -1), velocity[prev].reshape(n, -1)]
    if terrain == "zero":
        x_parts.append(np.zeros((n, 3 * len(INPUT_SAMPLES))))
    root_velocity = to_root_frame(forward[frames], hips[nxt] - hips[frames]) * rate
    global_rotations = motion.rotations
    if global_rotations is None:
        global_rotations = rotations_from_positions(p[frames], preset.skeleton, forward[frames])
    else:
        global_rotations = np.asarray(global_rotations)[frames]
    char_rotations = yaw_matrices(forward[frames])[:, None] @ global_rotations
    y_parts = [root_velocity[:, [0, 2]], -heading_change(forward)[frames, None] * rate,
               phase_increment(phase)[frames, None] * rate, contacts[frames].astype(np.float64),
               f_pos[..., 0], f_pos[..., 2], f_dir[..., 0], f_dir[..., 2],
               _subtract_floor(local_pos[frames], floors).reshape(n, -1), velocity[frames].reshape(n, -1),
               encode_rotations(char_rotations, rotations)]
    P = phase[frames].copy()
    for start, stop in spans:
        P[start], P[stop - 1] = 0.0, 1.0
    return PfnnRows(np.concatenate(x_parts, 1).astype(np.float32), np.concatenate(y_parts, 1).astype(np.float32),
                    P.astype(np.float32), frames)


def empty_rows(preset: PfnnPreset, rotations: RotationEncoding, terrain: TerrainMode) -> PfnnRows:
    columns = pfnn_columns(preset.skeleton.joint_names, rotations, terrain)
    return PfnnRows(np.zeros((0, columns.x_dim), np.float32), np.zeros((0, columns.y_dim), np.float32),
                    np.zeros(0, np.float32))


@dataclass
class PfnnStats:
    """PFNN's normalisation vectors (float32) and the pooled std of each group."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    pooled: dict[str, float]


def grouped_stats(X: np.ndarray, Y: np.ndarray, columns: PfnnColumns, joint_weights: list[float]) -> PfnnStats:
    """PFNN's trainer normalisation: per-column means; per-column stds pooled (averaged) within each
    group, X joint groups divided by ``weight * 0.1``; a group with zero spread gets std 1 (never NaN)."""
    pooled: dict[str, float] = {}
    weights = np.repeat(np.asarray(joint_weights, dtype=np.float64), 3)

    def pool(data: np.ndarray, groups, prefix: str, weighted: bool) -> tuple[np.ndarray, np.ndarray]:
        data64 = data.astype(np.float64)
        mean = data64.mean(0) if len(data64) else np.zeros(data.shape[1])
        std = data64.std(0) if len(data64) else np.zeros(data.shape[1])
        out = np.empty_like(std)
        for norm in dict.fromkeys(g.norm for g in groups):
            cols = np.concatenate([np.arange(g.start, g.stop) for g in groups if g.norm == norm])
            value = float(std[cols].mean())
            value = value if np.isfinite(value) and value > 0 else 1.0
            pooled[f"{prefix}.{norm}"] = value
            out[cols] = value
            if weighted and norm in ("joint_pos", "joint_vel"):
                out[cols] = value / (weights * JOINT_INPUT_FACTOR)
        return mean.astype(np.float32), out.astype(np.float32)

    x_mean, x_std = pool(X, columns.x_groups, "X", True)
    y_mean, y_std = pool(Y, columns.y_groups, "Y", False)
    return PfnnStats(x_mean, x_std, y_mean, y_std, pooled)


def world_joints_from_rows(Y: np.ndarray, columns: PfnnColumns, fps: float, root_xz: tuple[float, float],
                           heading: float, floor: float = 0.0) -> np.ndarray:
    """Rebuild world joint positions (R, J, 3) from consecutive Y rows by integrating their root motion in
    float32 (as PFNN's runtime does), starting from the first row's root ``root_xz`` and ``heading``
    (radians, facing = (sin, 0, cos))."""
    Y = np.asarray(Y, dtype=np.float32)
    pos, vel, turn = columns.y_group("joint_pos"), columns.y_group("root_velocity"), columns.y_group(
        "root_angular_velocity")
    rate = np.float32(fps / REFERENCE_FPS)
    x, z, theta = np.float32(root_xz[0]), np.float32(root_xz[1]), np.float32(heading)
    out = np.empty((len(Y), (pos.stop - pos.start) // 3, 3), dtype=np.float32)
    for r, row in enumerate(Y):
        local = row[pos.slice].reshape(-1, 3)
        c, s = np.cos(theta), np.sin(theta)
        out[r, :, 0] = c * local[:, 0] + s * local[:, 2] + x
        out[r, :, 1] = local[:, 1] + np.float32(floor)
        out[r, :, 2] = -s * local[:, 0] + c * local[:, 2] + z
        vx, vz = row[vel.start] / rate, row[vel.start + 1] / rate
        x, z = x + c * vx + s * vz, z - s * vx + c * vz
        theta = theta - row[turn.start] / rate
    return out
