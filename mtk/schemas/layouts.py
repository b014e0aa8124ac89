"""The feature layouts (HumanML3D-263, KIT-ML-251, 272) as data.

Every module that needs a slice, an fps, a 6D convention or a std grouping asks a :class:`Layout`;
no other module hard-codes ``4:67`` or ``140:272``. docs/formats.md tabulates each layout's columns
(``docs/layout_tables.py`` prints those tables from here). The layouts mtk knows are those of the registered
feature families (:func:`mtk.features.layouts`); each family module names the layouts it makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mtk.schemas.skeletons import KIT21, SMPL22, Skeleton

SixDConvention = Literal["columns", "rows"]

#: Block kinds, used by inspection and stats to know what a block holds.
BlockKind = Literal[
    "root_yaw_velocity", "root_velocity", "root_height", "heading_6d",
    "positions", "rotations_6d", "velocities", "contacts",
]


@dataclass(frozen=True)
class Block:
    """A named, contiguous run of feature columns."""

    name: str
    start: int
    stop: int
    kind: BlockKind
    meaning: str
    unit: str
    frame: str
    joints: tuple[int, ...] = ()

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)

    @property
    def width(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Layout:
    """One feature layout: its dimension, rate, skeleton, blocks and conventions."""

    name: str
    title: str
    dim: int
    fps: float
    skeleton: Skeleton
    blocks: tuple[Block, ...]
    sixd: SixDConvention
    #: source frames T give ``T + rows_offset`` feature rows (263/251: T-1 rows; 272: T rows)
    rows_offset: int
    #: std groups of the dataset's published std (HumanML3D: 7, 272: 5), as tuples of block names
    std_groups: tuple[tuple[str, ...], ...]
    #: groups that text-to-motion training divides again by ``feat_bias``
    feat_bias_groups: tuple[str, ...]
    #: squared-displacement (263/251) or distance (272) contact threshold per frame, in layout units
    contact_threshold: float
    #: the dataset the layout was published with (``humanml3d``, ``kit``, ``motionmillion``), as datasets
    #: record it (:attr:`mtk.formats.model.DatasetInfo.family`)
    dataset_family: str
    dtype_on_disk: str
    #: the feature family: how features are made, recovered and checked (:mod:`mtk.features`): ``hml``
    #: (HumanML3D's generator: 263, 251), ``smpl272`` (the 272 generator)
    family: str
    #: metres per unit of the positions (KIT-ML's are on a millimetre scale)
    metres_per_unit: float = 1.0

    def block(self, name: str) -> Block:
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(f"layout {self.name} has no block {name!r}")

    def has(self, name: str) -> bool:
        return any(block.name == name for block in self.blocks)

    @property
    def has_contacts(self) -> bool:
        return any(block.kind == "contacts" for block in self.blocks)

    @property
    def num_joints(self) -> int:
        return self.skeleton.num_joints

    def std_group_slices(self) -> list[tuple[str, list[slice]]]:
        """The std groups as (label, slices)."""
        return [("+".join(group), [self.block(b).slice for b in group]) for group in self.std_groups]

    def rows_for_source_frames(self, frames: int) -> int:
        return frames + self.rows_offset


def _ric_layout(name: str, title: str, fps: float, skeleton: Skeleton, threshold: float, dataset: str,
                metres_per_unit: float = 1.0) -> Layout:
    """The HumanML3D generator's layout for a J-joint skeleton (size 12J - 1)."""
    j = skeleton.num_joints
    ric = 4 + 3 * (j - 1)
    rot = ric + 6 * (j - 1)
    vel = rot + 3 * j
    blocks = (
        Block("root_rot_velocity", 0, 1, "root_yaw_velocity",
              "root yaw velocity as a half-angle, -(psi[t+1]-psi[t])/2", "rad/frame", "yaw about +y"),
        Block("root_linear_velocity", 1, 3, "root_velocity",
              "root xz velocity", "m/frame", "facing frame of the later frame t+1"),
        Block("root_height", 3, 4, "root_height", "root height above the floor", "m", "world, floor = 0"),
        Block("ric_positions", 4, ric, "positions", "joints 1..J-1 relative to the root xz",
              "m", "xz-centred facing frame of t", tuple(range(1, j))),
        Block("rotations_6d", ric, rot, "rotations_6d", "IK swing rotations of joints 1..J-1, 6D columns",
              "-", "parent chain, root-relative", tuple(range(1, j))),
        Block("local_velocities", rot, vel, "velocities", "velocity of all joints, P[t+1]-P[t]",
              "m/frame", "facing frame of the earlier frame t", tuple(range(j))),
        Block("foot_contacts", vel, vel + 4, "contacts", "foot contacts (left pair, right pair)", "bool",
              "-", skeleton.roles["feet_left"] + skeleton.roles["feet_right"]),
    )
    groups = tuple((b.name,) for b in blocks)
    return Layout(
        name=name, title=title, dim=vel + 4, fps=fps, skeleton=skeleton, blocks=blocks, sixd="columns",
        rows_offset=-1, std_groups=groups,
        feat_bias_groups=("root_rot_velocity", "root_linear_velocity", "root_height", "foot_contacts"),
        contact_threshold=threshold, dataset_family=dataset, dtype_on_disk="float32", family="hml",
        metres_per_unit=metres_per_unit,
    )


HML263 = _ric_layout("hml263", "HumanML3D 263", 20.0, SMPL22, 0.002, "humanml3d")
KIT251 = _ric_layout("kit251", "KIT-ML 251", 12.5, KIT21, 0.05, "kit", metres_per_unit=0.001)

SMPL272 = Layout(
    name="smpl272",
    title="HumanML3D-272 / MotionMillion 272",
    dim=272,
    fps=30.0,
    skeleton=SMPL22,
    blocks=(
        Block("root_velocity", 0, 2, "root_velocity", "root xz velocity", "m/frame",
              "heading frame of the earlier frame t-1"),
        Block("heading_velocity", 2, 8, "heading_6d", "heading change Ry(-(theta[t]-theta[t-1])), 6D rows",
              "-", "yaw only"),
        Block("local_positions", 8, 74, "positions", "all 22 joints, root x=z=0, y absolute", "m",
              "per-frame heading-free, xz-centred", tuple(range(22))),
        Block("local_velocities", 74, 140, "velocities", "localpos[t] - localpos[t-1]", "m/frame",
              "difference of heading-free frames", tuple(range(22))),
        Block("rotations_6d", 140, 272, "rotations_6d",
              "SMPL local rotations (root heading removed), 6D rows", "-", "SMPL parent-relative",
              tuple(range(22))),
    ),
    sixd="rows",
    rows_offset=0,
    std_groups=(("root_velocity",), ("heading_velocity",), ("local_positions",), ("local_velocities",),
                ("rotations_6d",)),
    feat_bias_groups=("root_velocity", "heading_velocity"),
    contact_threshold=0.0015,
    dataset_family="motionmillion",
    dtype_on_disk="float64",
    family="smpl272",
)

#: the constant entries of the 272 heading 6D block (column -> value)
HEADING_CONSTANTS: dict[int, float] = {3: 0.0, 5: 0.0, 6: 1.0, 7: 0.0}


def one_of(items: list[str]) -> str:
    """``a, b or c``."""
    return ", ".join(items[:-1]) + (" or " if len(items) > 1 else "") + items[-1]
