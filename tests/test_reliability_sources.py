"""Inputs are never modified: every command runs on a tree of every format, whose files keep their sha256."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from factories import checksums
from reliability import build_formats


def mtk(*args) -> tuple[int, str]:
    """Run the CLI in-process (no subprocess start-up); returns the exit code and stderr."""
    from mtk.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(["-q", *map(str, args)])
        except SystemExit as done:
            return int(done.code or 0), err.getvalue()
    return 0, err.getvalue()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    import torch

    from mtk.tokenizer.checkpoint import save_checkpoint
    from mtk.tokenizer.model import TokenizerModel, model_config

    root = tmp_path_factory.mktemp("sources")
    paths = build_formats(root)
    torch.manual_seed(0)
    paths["ckpt"] = root / "tiny.pth"
    save_checkpoint(paths["ckpt"], TokenizerModel(model_config("tiny", 263, "fsq", None)),
                    mean=np.zeros(263, np.float32), std=np.ones(263, np.float32), layout="hml263")
    return root, paths


def commands(p: dict[str, Path], out: Path) -> list[list]:
    sample = p["npy"].parent / "sample"
    inspect = [["inspect", p[k]] for k in ("npy", "npy-folder", "zarr", "hdf5", "bvh", "pfnn", "tokens",
                                           "pickle", "tokens-zarr")]
    return inspect + [
        ["inspect", p["npy-folder"], "--json"],
        ["validate", p["npy-folder"]], ["validate", p["zarr"]], ["validate", p["hdf5"]],
        ["stats", p["npy-folder"], "--out", out / "stats"], ["stats", p["zarr"], "--split", "all", "--json"],
        ["stats", p["npy-folder"], "--check", p["npy-folder"] / "Mean.npy", p["npy-folder"] / "Std.npy"],
        ["convert", p["npy-folder"], out / "a.zarr"], ["convert", p["npy-folder"], out / "a.h5"],
        ["convert", p["zarr"], out / "npy", "--to", "npy"], ["convert", p["hdf5"], out / "b.zarr"],
        ["convert", p["npy"], out / "joints.npy", "--to", "joints"], ["convert", p["npy"], out / "m.bvh"],
        ["convert", p["bvh"], out / "m272.npy", "--to", "smpl272"],
        ["convert", p["bvh"], out / "pfnn_bvh", "--to", "pfnn"],
        ["convert", sample, out / "pfnn_ds", "--to", "pfnn"],
        ["render", p["npy"], "--out", out / "strip.png"], ["render", p["bvh"], "--out", out / "bvh.png"],
        ["tokenize", sample, "--ckpt", p["ckpt"], "--out", out / "tok" / "codes"],
        ["tokenize", sample, "--ckpt", p["ckpt"], "--out", out / "t.zarr", "--format", "zarr"],
        ["detokenize", out / "t.zarr", "--ckpt", p["ckpt"], "--out", out / "decoded"],
        ["tokenizer", "eval", sample, "--ckpt", p["ckpt"], "--split", "all"],
    ]


def test_no_command_modifies_its_inputs(tree, tmp_path):
    root, paths = tree
    before = checksums(root)
    failures = []
    for args in commands(paths, tmp_path):
        code, err = mtk(*args)
        if code not in (0, 1):
            failures.append((args[0], err))
        assert checksums(root) == before, f"mtk {' '.join(map(str, args))} modified its input"
    assert failures == [], failures
