"""``mtk sample``: write the procedural sample dataset as an npy folder of its layout's family.

HumanML3D layout for ``hml263`` (``new_joint_vecs/``, ``texts/``, ``train.txt``..., ``Mean.npy``/``Std.npy``),
MotionMillion layout for ``smpl272`` (``motion_data/vector_272/``, ``split/version1/``, ``mean_std/vector_272/``).
Mean/std come from the train split in the layout's grouped convention.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mtk.errors import MtkError
from mtk.features import get_layout
from mtk.formats.datasets import create_writer
from mtk.formats.model import DatasetInfo, Motion, Stats
from mtk.io.lock import exclusive
from mtk.sample.procedural import SAMPLE_LAYOUTS, motion_features, procedural_motion, split_names
from mtk.stats.moments import convention_name, dataset_stats_from_arrays

def write_sample_dataset(path: str, *, layout: str = SAMPLE_LAYOUTS[0], count: int = 200, seed: int = 0,
                         overwrite: bool = False, on_progress: Callable[[int], None] | None = None) -> str:
    """Generate ``count`` procedural motions and write them to ``path``; returns a one-line summary."""
    if layout not in SAMPLE_LAYOUTS:
        raise MtkError(None, f"mtk sample makes {' or '.join(SAMPLE_LAYOUTS)} data, not {layout!r}",
                       "the procedural skeleton is SMPL-22")
    if count < 1:
        raise MtkError(None, f"--count must be at least 1, got {count}")
    spec = get_layout(layout)
    dtype = np.dtype(spec.dtype_on_disk)
    names = [f"{i:06d}" for i in range(count)]
    splits = split_names(names, seed)
    info = DatasetInfo(layout=spec, fps=spec.fps, names=names, splits=splits, family=spec.dataset_family)
    train = set(splits["train"])
    train_features = []
    frames = 0
    with exclusive(path), create_writer(path, "npy", info, overwrite=overwrite) as writer:
        for index, name in enumerate(names):
            motion = procedural_motion(seed, index, spec.fps)
            features = motion_features(motion, spec).astype(dtype)
            writer.add(Motion(name, features, motion.texts))
            frames += features.shape[0]
            if name in train:
                train_features.append(features)
            if on_progress:
                on_progress(1)
        mean, std = dataset_stats_from_arrays(train_features, spec)
        writer.set_splits(splits)
        writer.set_stats(Stats(mean.astype(dtype), std.astype(dtype), convention_name("layout", 1.0), "train",
                               sum(f.shape[0] for f in train_features)))
    return (f"wrote {path}: {count} motions, {frames} frames ({frames / spec.fps / 60:.1f} min at {spec.fps:g} fps), "
            f"{spec.name}, splits " + "/".join(str(len(splits[s])) for s in ("train", "val", "test")))
