"""Helpers for the reliability tests: a tree of every format mtk reads, and byte corruption."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from factories import make_npy_dataset


def build_formats(root: Path) -> dict[str, Path]:
    """One small valid input of each format under ``root``: name -> path."""
    from mtk.formats.model import Stats
    from mtk.formats.tokens import TokenSet, write_tokens
    from mtk.jobs.convert_dataset import convert_dataset
    from mtk.jobs.convert_motion import convert_to_bvh
    from mtk.pfnn.export import convert_to_pfnn
    from mtk.jobs.sample import write_sample_dataset

    paths = {"npy-folder": make_npy_dataset(root / "folder", "hml263", count=5, min_frames=30, max_frames=50)}
    write_sample_dataset(str(root / "sample"), layout="hml263", count=3, seed=1)
    paths["npy"] = root / "feature.npy"
    shutil.copy(sorted((root / "sample" / "new_joint_vecs").glob("*.npy"))[0], paths["npy"])
    paths["zarr"] = root / "data.zarr"
    paths["hdf5"] = root / "data.h5"
    for fmt in ("zarr", "hdf5"):
        convert_dataset(str(paths["npy-folder"]), str(paths[fmt]), fmt)
    paths["bvh"] = root / "motion.bvh"
    convert_to_bvh(str(paths["npy"]), str(paths["bvh"]))
    paths["pfnn"] = root / "pfnn"
    convert_to_pfnn(str(root / "sample"), str(paths["pfnn"]))
    rng = np.random.default_rng(0)
    tokens = TokenSet([f"m{i}" for i in range(4)], [rng.integers(0, 16, size=5 + i) for i in range(4)],
                      [[f"text {i}"] for i in range(4)], codebook_size=16, unit_length=4, layout="hml263",
                      fps=20.0, stats=Stats(np.zeros(263, np.float32), np.ones(263, np.float32)))
    (root / "mm").mkdir()
    write_tokens(root / "mm" / "codes", tokens, "motionmillion")
    paths["tokens"] = root / "mm" / "codes"
    paths["pickle"] = root / "mm" / "all_data.pkl"
    paths["tokens-zarr"] = root / "tokens.zarr"
    write_tokens(paths["tokens-zarr"], tokens, "zarr")
    return paths


def tiny_checkpoint(folder: Path) -> Path:
    """An untrained tiny hml263 FSQ tokenizer in ``folder`` (random but fixed weights: enough to compare codes)."""
    import torch

    from mtk.tokenizer.checkpoint import save_checkpoint
    from mtk.tokenizer.model import TokenizerModel, model_config

    torch.manual_seed(0)
    model = TokenizerModel(model_config("tiny", 263, "fsq", None))
    path = folder / "tiny.pth"
    save_checkpoint(path, model, mean=np.zeros(263, np.float32), std=np.ones(263, np.float32), layout="hml263")
    return path


def files_of(path: Path) -> list[Path]:
    """The files that make up an input (itself, or every file under a folder)."""
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def corrupt(data: bytes, mode: str, position: float, noise: bytes) -> bytes:
    """``data`` truncated, overwritten with ``noise`` at ``position`` (0..1 of its length), or replaced."""
    at = int(position * len(data))
    if mode == "truncate":
        return data[:at]
    if mode == "overwrite":
        return data[:at] + noise + data[at + len(noise):]
    if mode == "insert":
        return data[:at] + noise + data[at:]
    return noise
