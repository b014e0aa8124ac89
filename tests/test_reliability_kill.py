"""SIGKILL at random points of ``mtk convert``, ``mtk stats`` and ``mtk tokenize``, then recover.

Each continues with ``--resume``: ``convert`` from its journal, ``stats`` from the runs of motions it saved,
``tokenize`` from the batches it journaled. The result equals an uninterrupted run's byte for byte, nothing is
left beside the output (no work folder, partial or lock), and the source is never modified.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from factories import checksums, make_npy_dataset
from reliability import tiny_checkpoint

from mtk.formats.datasets import open_dataset
from mtk.io.workdir import work_path

RANDOM = random.Random(20261124)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtk", "-q", *map(str, args)], capture_output=True, text=True)


def run_and_kill(after: float, *args: str, started: Path | Callable[[], bool] | None = None) -> bool:
    """Start ``mtk ARGS`` and SIGKILL it ``after`` seconds in (counted from when ``started`` appears, or
    becomes true, if given); False when it finished first."""
    proc = subprocess.Popen([sys.executable, "-m", "mtk", "-q", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready = started if callable(started) or started is None else started.exists
    while ready is not None and not ready() and proc.poll() is None:
        time.sleep(0.005)
    try:
        proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    assert proc.returncode == 0, proc.stderr.read().decode()
    return False


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


def assert_resumed_cleanly(out: Path) -> None:
    """Nothing of the run is left beside ``out``: no work folder, no lock, no partial."""
    assert not any(p.name.startswith(f".{out.name}") for p in out.parent.iterdir()), list(out.parent.iterdir())


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """Enough motions for four runs of ``mtk stats`` (a run is 256 motions)."""
    return make_npy_dataset(tmp_path_factory.mktemp("many") / "data", "smpl272", count=900, min_frames=20,
                            max_frames=40)


def kill_then_resume(out: Path, work: float, *args: str, after_piece: bool = False) -> bool:
    """Kill ``mtk ARGS`` at a random moment of its work (timed from its work folder's creation, or from its
    first saved piece), then rerun it with ``--resume`` unless it had finished; True when the kill left
    finished pieces to resume from."""
    folder = work_path(out)
    started = (lambda: any(folder.glob("*.npz"))) if after_piece else folder
    killed = run_and_kill(RANDOM.uniform(0.0, 0.05 if after_piece else 0.9) * work, *args, started=started)
    pieces = len(list(folder.glob("*.npz"))) if folder.exists() else 0
    if killed and folder.exists():  # (a kill after the work folder's removal leaves finished outputs)
        done = run(*args, "--resume")
        assert done.returncode == 0, done.stderr
    return pieces > 0


def test_stats_killed_anywhere_resumes_to_the_same_files(many, tmp_path):
    before = checksums(many)
    whole = tmp_path / "whole"
    started = time.perf_counter()
    assert not run_and_kill(600, "stats", many, "--split", "all", "--out", whole, "--workers", "2",
                            started=work_path(whole))
    work = time.perf_counter() - started
    reference = checksums(whole)
    assert {"mean_std/vector_272/mean.npy", "mean_std/vector_272/std.npy"} <= set(reference)
    resumed = 0
    for k in range(4):
        out = tmp_path / f"killed{k}"
        # one worker: the runs finish one after another, so kills land between them (the result does not
        # depend on the worker count)
        resumed += kill_then_resume(out, work, "stats", many, "--split", "all", "--out", out, "--workers", "1",
                                    after_piece=k % 2 == 1)
        assert checksums(out) == reference
        assert_resumed_cleanly(out)
    assert resumed, "no kill landed after a run of motions was saved"
    assert checksums(many) == before


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def test_tokenize_killed_anywhere_resumes_to_the_same_tokens(tmp_path, checkpoint):
    from mtk.jobs.sample import write_sample_dataset

    src = tmp_path / "sample"
    write_sample_dataset(str(src), layout="hml263", count=80, seed=3)
    before = checksums(src)
    whole = tmp_path / "whole" / "codes"
    started = time.perf_counter()
    assert not run_and_kill(600, "tokenize", src, "--ckpt", checkpoint, "--out", whole, "--batch-size", "8",
                            started=work_path(whole))
    work = time.perf_counter() - started
    reference = checksums(whole.parent)
    resumed = 0
    for k in range(3):
        out = tmp_path / f"killed{k}" / "codes"
        resumed += kill_then_resume(out, work, "tokenize", src, "--ckpt", checkpoint, "--out", out,
                                    "--batch-size", "8", after_piece=k >= 1)
        assert checksums(out.parent) == reference
        assert_resumed_cleanly(out)
    assert resumed, "no kill landed after a batch was journaled"
    assert checksums(src) == before
