"""A complete feature family in one module: the recipe of docs/architecture.md, "Add a feature family".

``toy18`` features are a three-joint leg's positions (9 columns) and their frame-to-frame velocities
(9 columns). Dropped into ``mtk/features/`` as a module, this file is found without any list: ``mtk inspect``
describes toy features and toy dataset folders, ``mtk convert --to toy18`` makes them from joints, ``--to
joints`` recovers the joints, and ``mtk stats`` writes the family's stats files.
"""

from __future__ import annotations

import numpy as np

from mtk.features import Check, DatasetFolder, Family, register_family
from mtk.features.base import velocity_check
from mtk.maths.rotations import Array
from mtk.schemas import Block, Layout, Skeleton

LEG3 = Skeleton("leg3", ("hip", "knee", "foot"), (-1, 0, 1), raw_offsets=((0, 0, 0), (0, -1, 0), (0, -1, 0)),
                bone_lengths=(0.0, 0.4, 0.4))
TOY18 = Layout(
    name="toy18", title="Toy 18", dim=18, fps=25.0, skeleton=LEG3,
    blocks=(Block("positions", 0, 9, "positions", "joint positions", "m", "world", (0, 1, 2)),
            Block("velocities", 9, 18, "velocities", "P[t] - P[t-1] (0 at frame 0)", "m/frame", "world",
                  (0, 1, 2))),
    sixd="rows", rows_offset=0, std_groups=(("positions",), ("velocities",)), feat_bias_groups=(),
    contact_threshold=0.0, dataset_family="toyset", dtype_on_disk="float32", family="toy")
#: toy datasets: ``toy_vecs/<name>.npy``, ``lists/<split>.txt``, ``stats/{mean,std}.npy``
TOYSET = DatasetFolder("toyset", "Toy", motions="toy_vecs", mean="stats/mean.npy", std="stats/std.npy",
                       splits="lists")


class ToyFamily(Family):
    name = "toy"
    layouts = (TOY18,)
    folders = (TOYSET,)

    def extract(self, joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                reproduce_quirks: bool = True) -> np.ndarray:
        positions = np.asarray(joints, dtype=np.float64).reshape(len(joints), -1)
        velocities = np.diff(positions, axis=0, prepend=positions[:1])
        return np.concatenate([positions, velocities], axis=1)

    def recover_joints(self, features: Array, layout: Layout) -> Array:
        positions = features[..., layout.block("positions").slice]
        return positions.reshape(*positions.shape[:-1], layout.num_joints, 3)

    def checks(self, features: np.ndarray, layout: Layout) -> list[Check]:
        positions = features[:, layout.block("positions").slice].astype(np.float64)
        stored = features[1:, layout.block("velocities").slice]
        error = float(np.median(np.abs(stored - np.diff(positions, axis=0)))) if len(features) > 1 else 0.0
        return [velocity_check(error)]

    def published_stats(self, layout: Layout) -> str:
        return "Toy stats/mean.npy, stats/std.npy (2 groups, no feat_bias)"


register_family(ToyFamily())
