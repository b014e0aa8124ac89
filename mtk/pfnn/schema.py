"""PFNN's data as data: skeleton presets (roles, weights, units, rates) and the X / Y column maps.

docs/pfnn.md describes what these encode: the trajectory window and gait classes ("The algorithm"), the
342 / 311 columns ("Columns"), the normalisation groups and joint weights ("Normalisation") and the presets.
Times are in seconds so one preset works at any frame rate; rates are per *reference frame* (1/60 s, PFNN's
own frame), so mixed-fps corpora share one normalisation and PFNN's demo can use the rows unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from mtk.schemas.skeletons import KIT21, PFNN31, SMPL22, Skeleton

RotationEncoding = Literal["logquat", "6d"]
TerrainMode = Literal["zero", "none"]

#: PFNN's frame rate: every per-frame rate in X and Y is per 1/60 s
REFERENCE_FPS = 60.0
#: the trajectory covers [-WINDOW_S, +WINDOW_S) around the current frame, sampled every STEP_S
WINDOW_S = 1.0
STEP_S = 1.0 / 6.0
#: input trajectory samples at k * STEP_S, k = -6 .. 5 (index 6 is the current frame)
INPUT_SAMPLES = tuple(range(-6, 6))
#: output (future) trajectory samples at k * STEP_S after the next frame, k = 0 .. 5
OUTPUT_SAMPLES = tuple(range(0, 6))
#: PFNN's root frame smoothing: a Gaussian over the facing direction, sigma in seconds (20 frames @60)
FACING_SIGMA_S = 1.0 / 3.0
#: PFNN's input down-weighting of joint positions and velocities (std / (weight * 0.1))
JOINT_INPUT_FACTOR = 0.1
#: the weight of a masked joint
MASKED_WEIGHT = 1e-10

#: the six gait classes of X, in order
GAIT_CLASSES = ("stand", "walk", "jog", "crouch", "jump", "bump")
#: the eight columns of a ``.gait`` file, and how they merge into :data:`GAIT_CLASSES`
GAIT_FILE_COLUMNS = ("stand", "walk", "jog", "run", "crouch", "jump", "crawl", "unknown")
GAIT_MERGE = (("stand",), ("walk",), ("jog", "run"), ("crouch", "crawl"), ("jump",), ("unknown",))
#: speed bands (m/s) for gait from speed: stand fades into walk over the first, walk into jog over the second
GAIT_SPEED_BANDS = ((0.2, 0.5), (1.6, 2.0))
#: PFNN's contact rule: squared displacement per reference frame below 0.02 cm^2 (8.5 cm/s)
CONTACT_SQ_M = 0.02e-4
#: a heel strike (phase from contacts) is the heel's speed falling below this (m/s); looser than the contact
#: rule, it matches PFNN's hand-labelled strikes best (median phase error 0.046 cycle on LocomotionFlat04)
STRIKE_SPEED_M_S = 0.2
#: terrain is sampled at the root and +-25 cm along the character's local x
TERRAIN_SIDE_M = 0.25


@dataclass(frozen=True)
class PfnnPreset:
    """How one skeleton feeds PFNN's generator."""

    skeleton: Skeleton
    #: metres per unit of the exported positions (PFNN: centimetres)
    metres_per_unit: float
    #: the unit's name, for layout.json and docs
    unit: str
    #: multiplier applied to source lengths (BVH units -> exported units)
    source_scale: float = 1.0
    #: per-joint input weight; joints not listed weigh 1
    masked: tuple[int, ...] = ()
    #: heel and toe heights above the ground in contact (units), for the floor estimate
    heel_height: float = 0.0
    toe_height: float = 0.0
    #: ``contacts``: floor = mean height of contacting heels/toes (PFNN); ``zero``: the source's y = 0
    floor: Literal["contacts", "zero"] = "zero"
    #: head heights (units) for PFNN's flat-clip crouch override, or None
    crouch_heights: tuple[float, float] | None = None
    #: rows only inside annotated footstep cycles (PFNN) or for every frame
    cycles_only: bool = False
    #: frame rate the motion is resampled to by taking every n-th frame (PFNN: 120 -> 60), or None
    target_fps: float | None = None
    #: ``drop``: rows need the full +-1 s window (PFNN); ``clamp``: windows are clamped at the clip's ends
    edges: Literal["drop", "clamp"] = "clamp"
    #: BVH files on this skeleton are read (joints matched by name) and written
    bvh: bool = False

    @property
    def name(self) -> str:
        return self.skeleton.name

    def role(self, name: str) -> int:
        return int(self.skeleton.roles[name])  # type: ignore[arg-type]

    @property
    def contact_joints(self) -> tuple[int, int, int, int]:
        """Heel L, toe L, heel R, toe R (PFNN's contact order, = HumanML3D's 7, 10, 8, 11)."""
        return tuple(self.role(r) for r in ("heel_left", "toe_left", "heel_right", "toe_right"))  # type: ignore

    @property
    def facing_joints(self) -> tuple[int, int, int, int]:
        """Shoulder L, shoulder R, hip L, hip R."""
        return tuple(self.role(r) for r in ("shoulder_left", "shoulder_right", "hip_left", "hip_right"))  # type: ignore

    def joint_weights(self) -> list[float]:
        return [MASKED_WEIGHT if j in self.masked else 1.0 for j in range(self.skeleton.num_joints)]

    def contact_threshold(self) -> float:
        """PFNN's squared-displacement contact threshold per reference frame, in units^2."""
        return CONTACT_SQ_M / self.metres_per_unit**2


#: the presets by skeleton name
PRESETS: dict[str, PfnnPreset] = {preset.name: preset for preset in (
    PfnnPreset(PFNN31, metres_per_unit=0.01, unit="cm", source_scale=5.6444, masked=PFNN31.roles["masked"],  # type: ignore
               heel_height=5.0, toe_height=4.0, floor="contacts", crouch_heights=(80.0, 130.0), cycles_only=True,
               target_fps=60.0, edges="drop", bvh=True),
    PfnnPreset(SMPL22, metres_per_unit=1.0, unit="m", bvh=True),
    # KIT-ML lengths are on a millimetre-like scale (docs/motion.md, "What the families compute"; unverified)
    PfnnPreset(KIT21, metres_per_unit=0.001, unit="mm-like"),
)}


def get_preset(name: str) -> PfnnPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown PFNN skeleton {name!r}; known: {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class Group:
    """A named run of columns; ``norm`` is the normalisation group it is pooled in."""

    name: str
    start: int
    stop: int
    meaning: str
    unit: str
    norm: str

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class PfnnColumns:
    """The column map of X and Y for one skeleton and set of options."""

    joint_names: tuple[str, ...]
    rotations: RotationEncoding
    terrain: TerrainMode
    x_groups: tuple[Group, ...]
    y_groups: tuple[Group, ...]

    @property
    def x_dim(self) -> int:
        return self.x_groups[-1].stop

    @property
    def y_dim(self) -> int:
        return self.y_groups[-1].stop

    def x_group(self, name: str) -> Group:
        return _find(self.x_groups, name)

    def y_group(self, name: str) -> Group:
        return _find(self.y_groups, name)

    def x_column_names(self) -> list[str]:
        return [name for g in self.x_groups for name in _column_names(g, self)]

    def y_column_names(self) -> list[str]:
        return [name for g in self.y_groups for name in _column_names(g, self)]


def _find(groups: tuple[Group, ...], name: str) -> Group:
    for group in groups:
        if group.name == name:
            return group
    raise KeyError(f"no PFNN column group {name!r}")


def rotation_width(rotations: RotationEncoding) -> int:
    return 3 if rotations == "logquat" else 6


def _sample_label(k: int) -> str:
    """A trajectory sample's time, e.g. ``-1.000s``."""
    return f"{k * STEP_S:+.3f}s"


def _column_names(group: Group, columns: PfnnColumns) -> list[str]:
    """One name per column of ``group``, e.g. ``traj_pos_x@-1.000s`` or ``joint_pos.LeftFoot.y``."""
    base = group.name
    if base.startswith(("traj_", "gait_", "terrain_", "future_")):
        samples = OUTPUT_SAMPLES if base.startswith("future_") else INPUT_SAMPLES
        return [f"{base}@{_sample_label(k)}" for k in samples]
    if base.startswith("joint_"):
        components = ("x", "y", "z") if base != "joint_rot" else (
            ("lx", "ly", "lz") if columns.rotations == "logquat" else ("c0x", "c0y", "c0z", "c1x", "c1y", "c1z"))
        return [f"{base}.{joint}.{c}" for joint in columns.joint_names for c in components]
    if base == "root_velocity":
        return ["root_velocity.x", "root_velocity.z"]
    if base == "contacts":
        return ["contact.heel_left", "contact.toe_left", "contact.heel_right", "contact.toe_right"]
    return [base]


def _groups(spec: list[tuple[str, int, str, str, str]]) -> tuple[Group, ...]:
    out, start = [], 0
    for name, width, meaning, unit, norm in spec:
        out.append(Group(name, start, start + width, meaning, unit, norm))
        start += width
    return tuple(out)


def pfnn_columns(joint_names: tuple[str, ...] | list[str], rotations: RotationEncoding = "logquat",
                 terrain: TerrainMode = "zero", unit: str = "m") -> PfnnColumns:
    """X and Y column groups for J joints (PFNN31 with ``logquat``/``zero`` gives 342 / 311)."""
    j, t, f = len(joint_names), len(INPUT_SAMPLES), len(OUTPUT_SAMPLES)
    rate = "per 1/60 s"
    x_spec = [
        ("traj_pos_x", t, "root x of each trajectory sample, current root frame", unit, "traj_pos_x"),
        ("traj_pos_z", t, "root z of each trajectory sample, current root frame", unit, "traj_pos_z"),
        ("traj_dir_x", t, "facing x of each trajectory sample, current root frame", "-", "traj_dir_x"),
        ("traj_dir_z", t, "facing z of each trajectory sample, current root frame", "-", "traj_dir_z"),
        *[(f"gait_{c}", t, f"gait weight '{c}' at each trajectory sample", "-", "gait") for c in GAIT_CLASSES],
        ("joint_pos", 3 * j, "joint positions of the previous frame in its root frame, y above the floor",
         unit, "joint_pos"),
        ("joint_vel", 3 * j, "joint velocities of the previous frame in its root frame", f"{unit} {rate}",
         "joint_vel"),
    ]
    if terrain == "zero":
        x_spec += [
            ("terrain_left", t, "terrain height at +25 cm local x (PFNN's 'r'), minus the window mean", unit,
             "terrain"),
            ("terrain_centre", t, "terrain height under the trajectory, minus the window mean", unit, "terrain"),
            ("terrain_right", t, "terrain height at -25 cm local x (PFNN's 'l'), minus the window mean", unit,
             "terrain"),
        ]
    y_spec = [
        ("root_velocity", 2, "root x, z velocity in the current root frame", f"{unit} {rate}", "root_velocity"),
        ("root_angular_velocity", 1, "minus the heading change to the next frame", f"rad {rate}",
         "root_angular_velocity"),
        ("dphase", 1, "phase increment to the next frame", f"cycles {rate}", "dphase"),
        ("contacts", 4, "foot contacts heel L, toe L, heel R, toe R (0/1), frame -> next frame", "-",
         "contacts"),
        ("future_pos_x", f, "root x of the future trajectory, next frame's root frame", unit, "future_pos"),
        ("future_pos_z", f, "root z of the future trajectory, next frame's root frame", unit, "future_pos"),
        ("future_dir_x", f, "facing x of the future trajectory, next frame's root frame", "-", "future_dir"),
        ("future_dir_z", f, "facing z of the future trajectory, next frame's root frame", "-", "future_dir"),
        ("joint_pos", 3 * j, "joint positions in the current root frame, y above the floor", unit, "joint_pos"),
        ("joint_vel", 3 * j, "joint velocities in the current root frame", f"{unit} {rate}", "joint_vel"),
        ("joint_rot", rotation_width(rotations) * j,
         "global joint rotations in the current root frame, " + (
             "log-quaternion (axis x half-angle, w >= 0)" if rotations == "logquat"
             else "6D (first two matrix columns)"), "-", "joint_rot"),
    ]
    return PfnnColumns(tuple(joint_names), rotations, terrain, _groups(x_spec), _groups(y_spec))


@cache
def export_columns(skeleton: str, rotations: RotationEncoding, terrain: TerrainMode) -> PfnnColumns:
    """The columns of an export of ``skeleton`` with these options (in the preset's unit)."""
    preset = get_preset(skeleton)
    return pfnn_columns(preset.skeleton.joint_names, rotations, terrain, preset.unit)


class ExportSpec:
    """What follows from an export's skeleton and options, for the classes that store those three fields
    (a database's layout, a network's meta): the preset, the columns and the unit, each defined once."""

    skeleton: str
    rotations: RotationEncoding
    terrain: TerrainMode

    @property
    def preset(self) -> PfnnPreset:
        return get_preset(self.skeleton)

    @property
    def columns(self) -> PfnnColumns:
        return export_columns(self.skeleton, self.rotations, self.terrain)

    @property
    def metres_per_unit(self) -> float:
        return self.preset.metres_per_unit

    @property
    def unit(self) -> str:
        return self.preset.unit
