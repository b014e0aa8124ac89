"""SIGKILL at random points of ``mtk convert``, ``mtk stats`` and ``mtk tokenize``, then recover.

``convert`` continues with ``--resume``. ``stats`` and ``tokenize`` have no resume (one streaming pass each;
their outputs are written only at the end, each file atomically): they recover by running again with
``--overwrite``. Either way the result equals an uninterrupted run, a killed run never leaves a torn
output file, and the source is never modified.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from factories import make_npy_dataset
from reliability import checksums

from mtk.formats.datasets import open_dataset

RANDOM = random.Random(20261124)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtk", "-q", *map(str, args)], capture_output=True, text=True)


def timed_run(*args: str) -> float:
    """Run to completion (the reference); its wall time sets where the kills land."""
    started = time.perf_counter()
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def run_and_kill(after: float, *args: str, started: Path | None = None) -> bool:
    """Start ``mtk ARGS`` and SIGKILL it ``after`` seconds in (counted from when ``started`` appears, if
    given); False when it finished first."""
    proc = subprocess.Popen([sys.executable, "-m", "mtk", "-q", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while started is not None and not started.exists() and proc.poll() is None:
        time.sleep(0.005)
    try:
        proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    assert proc.returncode == 0, proc.stderr.read().decode()
    return False


def kill_points(wall: float, count: int) -> list[float]:
    """Random moments over the run (a run of this size spends its first ~40 % importing)."""
    return sorted(RANDOM.uniform(0.3, 1.0) * wall for _ in range(count))


def assert_same_dataset(a: Path, b: Path) -> None:
    left, right = open_dataset(a), open_dataset(b)
    assert left.names == right.names and left.info.splits == right.info.splits
    for name in right.names:
        x, y = left.read(name), right.read(name)
        np.testing.assert_array_equal(x.features, y.features)
        assert x.texts == y.texts
    np.testing.assert_array_equal(left.info.stats.mean, right.info.stats.mean)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_npy_dataset(tmp_path_factory.mktemp("src") / "data", "smpl272", count=240, max_frames=120)


@pytest.mark.parametrize("to", ["zarr", "hdf5"])
def test_convert_killed_anywhere_resumes_to_the_same_store(source, tmp_path, to):
    before = checksums(source)
    started = time.perf_counter()
    assert not run_and_kill(600, "convert", source, tmp_path / "whole", "--to", to, "--workers", "2",
                            started=tmp_path / ".whole.mtk-partial")
    work = time.perf_counter() - started  # an upper bound of the time spent writing
    interrupted = 0
    for k in range(3):
        dst = tmp_path / f"killed{k}"
        partial = tmp_path / f".{dst.name}.mtk-partial"
        killed = run_and_kill(RANDOM.uniform(0.0, 0.8) * work, "convert", source, dst, "--to", to,
                              "--workers", "2", started=partial)
        if killed and not dst.exists():  # (a kill just after the final rename leaves a finished store)
            interrupted += partial.exists()
            done = run("convert", source, dst, "--to", to, "--resume")
            assert done.returncode == 0, done.stderr
        assert_same_dataset(dst, tmp_path / "whole")
        assert not any(p.name.startswith(f".{dst.name}.") for p in tmp_path.iterdir()), list(tmp_path.iterdir())
    assert interrupted, "no kill landed while the conversion was writing"
    assert checksums(source) == before


def assert_complete_or_absent(out: Path, reference: dict[str, str]) -> None:
    """Every output file a killed run left is whole (equal to the reference run's)."""
    left = {name: digest for name, digest in checksums(out).items() if not Path(name).name.startswith(".")}
    assert {name: reference[name] for name in left} == left


def test_stats_killed_anywhere_reruns_to_the_same_files(source, tmp_path):
    before = checksums(source)
    wall = timed_run("stats", source, "--out", tmp_path / "whole", "--workers", "2")
    reference = checksums(tmp_path / "whole")
    assert {"mean_std/vector_272/mean.npy", "mean_std/vector_272/std.npy"} <= set(reference)
    for k, after in enumerate(kill_points(wall, 2)):
        out = tmp_path / f"killed{k}"
        run_and_kill(after, "stats", source, "--out", out, "--workers", "2")
        if out.exists():
            assert_complete_or_absent(out, reference)
        done = run("stats", source, "--out", out, "--workers", "2", "--overwrite")
        assert done.returncode == 0, done.stderr
        assert {n: d for n, d in checksums(out).items() if not Path(n).name.startswith(".")} == reference
    assert checksums(source) == before


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny tokenizer (weights are random but fixed: enough to compare codes)."""
    import torch

    from mtk.tokenizer.checkpoint import save_checkpoint
    from mtk.tokenizer.model import TokenizerModel, model_config

    torch.manual_seed(0)
    model = TokenizerModel(model_config("tiny", 263, "fsq", None))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pth"
    save_checkpoint(path, model, mean=np.zeros(263, np.float32), std=np.ones(263, np.float32), layout="hml263")
    return path


def test_tokenize_killed_anywhere_reruns_to_the_same_tokens(tmp_path, checkpoint):
    from mtk.formats.sample_dataset import write_sample_dataset
    from mtk.formats.tokens import read_tokens

    src = tmp_path / "sample"
    write_sample_dataset(str(src), "hml263", count=80, seed=3)
    before = checksums(src)
    whole = tmp_path / "whole" / "codes"
    wall = timed_run("tokenize", src, "--ckpt", checkpoint, "--out", whole)
    reference = checksums(whole.parent)
    expected = read_tokens(whole)
    for k, after in enumerate(kill_points(wall, 2)):
        out = tmp_path / f"killed{k}" / "codes"
        run_and_kill(after, "tokenize", src, "--ckpt", checkpoint, "--out", out)
        if out.parent.exists():
            assert_complete_or_absent(out.parent, reference)
        done = run("tokenize", src, "--ckpt", checkpoint, "--out", out, "--overwrite")
        assert done.returncode == 0, done.stderr
        tokens = read_tokens(out)
        assert tokens.names == expected.names
        for a, b in zip(tokens.codes, expected.codes, strict=True):
            np.testing.assert_array_equal(a, b)
        visible = {n: d for n, d in checksums(out.parent).items() if not Path(n).name.startswith(".")}
        assert visible.keys() == reference.keys()
        assert all(visible[n] == reference[n] for n in visible if not n.endswith("_prob.npy"))
    assert checksums(src) == before
