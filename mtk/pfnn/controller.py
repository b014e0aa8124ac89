"""PFNN's runtime loop (``demo/pfnn.cpp``, ``pre_render`` / ``post_render``) on flat ground, numpy only.

Each :meth:`Controller.step` is one frame at the network's data rate ``fps``:

1. the target velocity, facing and gait move towards the command with PFNN's smoothing (0.9, 0.9, 0.1 per
   1/60 s frame; at other rates the per-step factor is ``1 - (1 - a) ** (60 / fps)``);
2. the future trajectory is bent towards the target with PFNN's ``bias_pos`` = 0.5 and ``bias_dir`` = 2
   (its default, non-strafing constants; ``responsive=True``: PFNN's responsive mode, 2 and 5): sample j
   of the future half gets ``scale = 1 - (1 - j / H) ** bias`` per 1/60 s;
3. X is assembled (12 trajectory samples at k/6 s, gait, the previous joints in the previous root frame,
   zero terrain) and the network runs once at the current phase;
4. joints = mix(previous + velocity, predicted, ``extra_joint_smooth`` = 0.5);
5. past samples shift by one, the root moves by ``(1 - stand) ** 0.25`` x the predicted velocity and turns
   by minus the predicted angular velocity, the future samples are rebuilt from Y, and the phase advances
   by ``(0.9 s + 0.1)`` x dphase.

Rates: mtk's Y stores root velocity, angular velocity, joint velocities and dphase **per 1/60 s at any
frame rate** (PFNN's own frame). One step lasts ``60 / fps`` such units, so every per-frame quantity is
multiplied by ``60 / fps`` (1 at PFNN's 60 fps, 2 at 30 fps); a dphase of 0.0167 is one cycle per second
at any rate. The trajectory keeps one sample per frame over +-1 s and reads the 12 samples at k/6 s by
linear interpolation (exact at 60 and 30 fps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.pfnn.schema import GAIT_CLASSES, INPUT_SAMPLES, OUTPUT_SAMPLES, REFERENCE_FPS, STEP_S, WINDOW_S
from mtk.pfnn.weights import PfnnWeights

#: PFNN's demo constants (``Options`` and ``pre_render``)
VELOCITY_SMOOTH = 0.9
DIRECTION_SMOOTH = 0.9
GAIT_SMOOTH = 0.1
JOINT_SMOOTH = 0.5
#: PFNN's future-trajectory bias exponents (position, direction): default and ``responsive`` mode
BIAS = {False: (0.5, 2.0), True: (2.0, 5.0)}
#: below this target speed (units per 1/60 s, PFNN: 0.1 cm) the character stands
STAND_SPEED_CM = 0.1


def yaw_of(direction: np.ndarray) -> np.ndarray:
    return np.arctan2(direction[..., 0], direction[..., 1])


def direction_of(yaw: np.ndarray | float) -> np.ndarray:
    return np.stack([np.sin(yaw), np.cos(yaw)], -1)


def mix_directions(a: np.ndarray, b: np.ndarray, amount: float | np.ndarray) -> np.ndarray:
    """PFNN's ``mix_directions``: slerp of the two headings (shortest way round)."""
    ya, yb = yaw_of(a), yaw_of(b)
    delta = np.angle(np.exp(1j * (yb - ya)))
    return direction_of(ya + np.asarray(amount) * delta)


def to_local(direction: np.ndarray, v: np.ndarray) -> np.ndarray:
    """World xz (..., 2) into the frame facing ``direction`` (+z forward, +x left)."""
    fx, fz = direction[..., 0], direction[..., 1]
    return np.stack([fz * v[..., 0] - fx * v[..., 1], fx * v[..., 0] + fz * v[..., 1]], -1)


def to_world(direction: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_local`."""
    fx, fz = direction[..., 0], direction[..., 1]
    return np.stack([fz * v[..., 0] + fx * v[..., 1], -fx * v[..., 0] + fz * v[..., 1]], -1)


def local_to_world_3d(direction: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 3) local vectors (y up) into world space for a root facing ``direction``."""
    xz = to_world(direction, v[..., [0, 2]])
    return np.stack([xz[..., 0], v[..., 1], xz[..., 1]], -1)


def world_to_local_3d(direction: np.ndarray, v: np.ndarray) -> np.ndarray:
    xz = to_local(direction, v[..., [0, 2]])
    return np.stack([xz[..., 0], v[..., 1], xz[..., 1]], -1)


def normalised(directions: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit directions (..., 2); a (near) zero one becomes ``fallback``."""
    length = np.linalg.norm(directions, axis=-1, keepdims=True)
    return np.where(length > 1e-9, directions / np.maximum(length, 1e-9), fallback)


def per_step(amount: float, rate: float) -> float:
    """A per-1/60 s blend factor for a step of ``rate`` reference frames."""
    return 1.0 - (1.0 - amount) ** rate


@dataclass
class Frame:
    """What one step produced (world space, data units)."""

    joints: np.ndarray  # (J, 3) the output pose: the network's, corrected by foot IK where that runs
    rotations: np.ndarray  # (J, 3, 3) global joint rotations of the output pose
    root: np.ndarray  # (2,) root x, z
    direction: np.ndarray  # (2,) facing
    phase: float  # phase used for this step, cycles in [0, 1)
    contacts: np.ndarray  # (4,) predicted contacts heel L, toe L, heel R, toe R
    y: np.ndarray  # the raw prediction
    raw_joints: np.ndarray  # (J, 3) the network's smoothed joint positions (what PFNN feeds back)


class Controller:
    """PFNN's character controller for a network (any skeleton the export supports)."""

    def __init__(self, weights: PfnnWeights, responsive: bool = False):
        self.weights = weights
        self.bias_pos, self.bias_dir = BIAS[responsive]
        meta = weights.meta
        self.fps = meta.fps  # the rate of the data the network learnt
        self.rate = REFERENCE_FPS / self.fps  # reference frames per step
        self.half = int(np.ceil(self.fps * WINDOW_S))  # trajectory samples on each side of the current one
        self.unit_scale = 0.01 / meta.metres_per_unit  # cm -> data units
        self.x = {g.name: g.slice for g in meta.columns.x_groups}
        self.y = {g.name: g.slice for g in meta.columns.y_groups}
        self.reset()

    # --- state --------------------------------------------------------------------------------------

    def reset(self, position: tuple[float, float] = (0.0, 0.0), direction: tuple[float, float] = (0.0, 1.0)) -> None:
        """PFNN's ``reset``: the whole trajectory at ``position`` facing ``direction``, joints from Ymean."""
        length = 2 * self.half
        d = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
        self.positions = np.tile(np.asarray(position, dtype=np.float64), (length, 1))
        self.directions = np.tile(d, (length, 1))
        self.gait = np.zeros((length, len(GAIT_CLASSES)))
        self.target_velocity = np.zeros(2)
        self.target_direction = d.copy()
        self.phase = 0.0
        ymean = self.weights.norm["Ymean"]
        local = ymean[self.y["joint_pos"]].reshape(-1, 3)
        self.joints = local_to_world_3d(d, local) + np.array([position[0], 0.0, position[1]])
        self.velocities = local_to_world_3d(d, ymean[self.y["joint_vel"]].reshape(-1, 3))

    @property
    def root(self) -> np.ndarray:
        """The current root position (x, z)."""
        return self.positions[self.half].copy()

    # --- one frame ----------------------------------------------------------------------------------

    def step(self, velocity: np.ndarray, direction: np.ndarray | None, gait: str) -> Frame:
        """One frame towards a world velocity (units per 1/60 s, xz) and facing (None: along the velocity)."""
        self._steer(np.asarray(velocity, dtype=np.float64), direction, gait)
        self._bend_future()
        x = self._input()
        phase = self.phase
        y = self.weights.predict(x[None], np.array([phase]))[0]
        frame = self._pose(y, phase)
        self._advance(y)
        return frame

    def _steer(self, velocity: np.ndarray, direction: np.ndarray | None, gait: str) -> None:
        self.target_velocity += per_step(VELOCITY_SMOOTH, self.rate) * (velocity - self.target_velocity)
        speed = np.linalg.norm(self.target_velocity)
        wanted = direction if direction is not None else (
            self.target_velocity / speed if speed > 1e-5 else self.target_direction)
        self.target_direction = mix_directions(self.target_direction, np.asarray(wanted, dtype=np.float64),
                                               per_step(DIRECTION_SMOOTH, self.rate))
        goal = np.zeros(len(GAIT_CLASSES))
        if speed < STAND_SPEED_CM * self.unit_scale:
            goal[GAIT_CLASSES.index("stand")] = 1.0 - speed / (STAND_SPEED_CM * self.unit_scale)
        else:
            goal[GAIT_CLASSES.index(gait if gait in ("walk", "jog") else "walk")] = 1.0
        h = self.half
        self.gait[h] += per_step(GAIT_SMOOTH, self.rate) * (goal - self.gait[h])

    def _bend_future(self) -> None:
        h = self.half
        j = np.arange(1, h)
        # PFNN's per-frame blend; at other rates applied as often per second as at 60 fps
        scale_pos = per_step(1.0 - (1.0 - j / h) ** self.bias_pos, self.rate)
        scale_dir = per_step(1.0 - (1.0 - j / h) ** self.bias_dir, self.rate)
        steps = np.diff(self.positions[h:], axis=0)  # (h - 1, 2)
        wanted = self.target_velocity * self.rate
        blended = steps + scale_pos[:, None] * (wanted - steps)
        self.positions[h + 1:] = self.positions[h] + np.cumsum(blended, axis=0)
        self.directions[h + 1:] = mix_directions(self.directions[h + 1:], self.target_direction, scale_dir)
        self.gait[h + 1:] = self.gait[h]

    def _sample(self, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Linear interpolation of per-frame trajectory ``values`` at fractional frame offsets."""
        where = np.clip(self.half + offsets, 0, len(values) - 1)
        lo = np.floor(where).astype(int)
        hi = np.minimum(lo + 1, len(values) - 1)
        t = (where - lo)[:, None]
        return values[lo] * (1 - t) + values[hi] * t

    def _input(self) -> np.ndarray:
        h = self.half
        x = np.zeros(self.weights.x_dim)
        offsets = np.array(INPUT_SAMPLES, dtype=np.float64) * STEP_S * self.fps
        root, facing = self.positions[h], self.directions[h]
        pos = to_local(facing, self._sample(self.positions, offsets) - root)
        dirs = to_local(facing, normalised(self._sample(self.directions, offsets), facing))
        for name, values in (("traj_pos_x", pos[:, 0]), ("traj_pos_z", pos[:, 1]), ("traj_dir_x", dirs[:, 0]),
                             ("traj_dir_z", dirs[:, 1])):
            x[self.x[name]] = values
        gait = self._sample(self.gait, offsets)
        for index, name in enumerate(GAIT_CLASSES[:-1]):  # PFNN's demo feeds 0 for "bump"
            x[self.x[f"gait_{name}"]] = gait[:, index]
        prev_root, prev_facing = self.positions[h - 1], self.directions[h - 1]
        offset = np.array([prev_root[0], 0.0, prev_root[1]])
        x[self.x["joint_pos"]] = world_to_local_3d(prev_facing, self.joints - offset).ravel()
        x[self.x["joint_vel"]] = world_to_local_3d(prev_facing, self.velocities).ravel()
        return x

    def _pose(self, y: np.ndarray, phase: float) -> Frame:
        h = self.half
        root, facing = self.positions[h], self.directions[h]
        offset = np.array([root[0], 0.0, root[1]])
        predicted = local_to_world_3d(facing, y[self.y["joint_pos"]].reshape(-1, 3)) + offset
        velocity = local_to_world_3d(facing, y[self.y["joint_vel"]].reshape(-1, 3))
        self.joints = (self.joints + velocity * self.rate) * (1 - JOINT_SMOOTH) + predicted * JOINT_SMOOTH
        self.velocities = velocity
        rotations = self._rotations(y[self.y["joint_rot"]], facing)
        joints = self.joints.copy()
        return Frame(joints, rotations, root.copy(), facing.copy(), phase, y[self.y["contacts"]].copy(), y, joints)

    def _rotations(self, values: np.ndarray, facing: np.ndarray) -> np.ndarray:
        from mtk.maths import rotations as rot

        if self.weights.meta.rotations == "logquat":
            local = rot.quat_to_matrix(rot.quat_exp(values.reshape(-1, 3)))
        else:
            local = rot.sixd_to_matrix(values.reshape(-1, 6), "columns")
        yaw = np.arctan2(facing[0], facing[1])
        c, s = np.cos(yaw), np.sin(yaw)
        root_to_world = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        return root_to_world @ local

    def _advance(self, y: np.ndarray) -> None:
        h = self.half
        self.positions[:h] = self.positions[1:h + 1]
        self.directions[:h] = self.directions[1:h + 1]
        self.gait[:h] = self.gait[1:h + 1]
        stand = (1.0 - np.clip(self.gait[h, GAIT_CLASSES.index("stand")], 0.0, 1.0)) ** 0.25
        facing = self.directions[h]
        root_velocity = y[self.y["root_velocity"]]
        self.positions[h] = self.positions[h] + stand * self.rate * to_world(facing, root_velocity)
        self.directions[h] = direction_of(yaw_of(facing) - stand * self.rate * y[self.y["root_angular_velocity"]][0])
        facing, root = self.directions[h], self.positions[h]
        samples = np.arange(1, h) / self.fps / STEP_S  # future frames in output-sample units
        last = len(OUTPUT_SAMPLES) - 1
        lo = np.minimum(np.floor(samples).astype(int), last)
        hi = np.minimum(lo + 1, last)
        t = (samples - lo).clip(0, 1)[:, None]

        def future(name_x: str, name_z: str) -> np.ndarray:
            values = np.stack([y[self.y[name_x]], y[self.y[name_z]]], -1)
            return values[lo] * (1 - t) + values[hi] * t

        self.positions[h + 1:] = root + to_world(facing, future("future_pos_x", "future_pos_z"))
        self.directions[h + 1:] = normalised(to_world(facing, future("future_dir_x", "future_dir_z")), facing)
        dphase = float(y[self.y["dphase"]][0])
        self.phase = float((self.phase + (stand * 0.9 + 0.1) * dphase * self.rate) % 1.0)
