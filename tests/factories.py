"""Generated datasets for tests: npy folders in the HumanML3D/KIT and MotionMillion layouts.

The features are random (not physically meaningful); use ``mtk sample`` data where motion must be real.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from mtk.features import get_layout
from mtk.schemas import Layout


def random_features(rng: np.random.Generator, frames: int, layout: Layout, dtype=np.float32) -> np.ndarray:
    """Random features of the right width, with binary contacts where the layout has them."""
    features = rng.normal(size=(frames, layout.dim)).astype(dtype)
    if layout.has_contacts:
        features[:, layout.block("foot_contacts").slice] = rng.integers(0, 2, size=(frames, 4))
    return features


def make_npy_dataset(root: Path, layout_name: str = "hml263", count: int = 12, seed: int = 0,
                     min_frames: int = 40, max_frames: int = 200, names: list[str] | None = None) -> Path:
    """Write a dataset folder in its family's layout (HumanML3D/KIT for 263/251, MotionMillion for 272).

    Splits take every motion in order: 70 % train, 15 % val, the rest test. Mean/Std are computed from the
    train split with the family's dtype.
    """
    layout = get_layout(layout_name)
    rng = np.random.default_rng(seed)
    names = names or [f"{i:06d}" for i in range(count)]
    mm = layout.dataset_family == "motionmillion"
    motion_dir = root / ("motion_data/vector_272" if mm else "new_joint_vecs")
    dtype = np.float64 if mm else np.float32
    train_rows = []
    n_train, n_val = int(len(names) * 0.7), int(len(names) * 0.15)
    for i, name in enumerate(names):
        features = random_features(rng, int(rng.integers(min_frames, max_frames + 1)), layout, dtype)
        path = motion_dir / f"{name}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, features)
        text = root / "texts" / f"{name}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(f"a person does thing {i}#a/DET person/NOUN#0.0#0.0\nsecond caption {i}#x/X#0.0#0.0\n")
        if i < n_train:
            train_rows.append(features)
    splits = {"train": names[:n_train], "val": names[n_train:n_train + n_val], "test": names[n_train + n_val:]}
    split_dir = root / "split/version1" if mm else root
    split_dir.mkdir(parents=True, exist_ok=True)
    for split, members in splits.items():
        (split_dir / f"{split}.txt").write_text("".join(f"{n}\n" for n in members))
    train = np.concatenate(train_rows).astype(np.float64)
    mean, std = train.mean(0).astype(dtype), train.std(0).astype(dtype)
    if mm:
        (root / "mean_std/vector_272").mkdir(parents=True, exist_ok=True)
        np.save(root / "mean_std/vector_272/mean.npy", mean)
        np.save(root / "mean_std/vector_272/std.npy", std)
    else:
        np.save(root / "Mean.npy", mean)
        np.save(root / "Std.npy", std)
    return root


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> hex digest); folders are implied."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class _RunsACommand:
    """Unpickling this runs ``command`` through ``os.system`` (what a hostile ``all_data.pkl`` would do)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def write_malicious_pickle(path: Path, marker: Path, name: str = "m") -> Path:
    """An ``all_data.pkl`` whose one code entry, once unpickled, creates ``marker``; returns ``path``."""
    payload = {"text_data": {}, "code_data": {name: _RunsACommand(f"touch {marker}")}, "file_names": [name]}
    path.write_bytes(pickle.dumps(payload))
    return path


def bent_legs_pose(hip_deg: float, knee_deg: float, frames: int = 60, speed: float = 0.0,
                   fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-22 joints (T, 22, 3) and global rotations (T, 22, 3, 3) of its rest pose (standing, legs straight)
    with both hips flexed and knees bent by the given angles, the feet flat, lowest joint on the floor, the root
    gliding forward (+z) at ``speed`` m/s: a rigid body that does not step."""
    from mtk.schemas import SMPL22
    from mtk.maths.kinematics import forward_kinematics
    from mtk.maths.rotations import euler_to_matrix

    angles = np.zeros((frames, 22, 3))
    angles[:, [1, 2], 0] = -np.radians(hip_deg)
    angles[:, [4, 5], 0] = np.radians(knee_deg)
    angles[:, [7, 8], 0] = -np.radians(knee_deg - hip_deg)
    rotations = euler_to_matrix(angles[..., ::-1], "ZYX")
    root = np.zeros((frames, 3))
    root[:, 2] = np.arange(frames) * speed / fps
    joints, glob = forward_kinematics(rotations, root, SMPL22.offsets(), SMPL22.parents)
    return joints - [0.0, joints[..., 1].min(), 0.0], glob
