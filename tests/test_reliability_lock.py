"""Two conversions into one destination: the second is refused (one line, exit 2), the first completes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import checksums, make_npy_dataset
from reliability import tiny_checkpoint

from mtk.errors import MtkError
from mtk.formats.datasets import open_dataset
from mtk.io.lock import exclusive, lock_path
from mtk.jobs.convert_dataset import convert_dataset

#: a conversion slowed down to hold its lock for a few seconds
SLOW = """
import sys, time
from mtk.jobs.convert_dataset import convert_dataset
convert_dataset(sys.argv[1], sys.argv[2], "zarr", workers=1, on_progress=lambda n: time.sleep(0.5))
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_npy_dataset(tmp_path_factory.mktemp("src") / "data", "hml263", count=200, max_frames=60)


def test_second_conversion_is_refused_while_the_first_runs(source, tmp_path, mtk_cli):
    dst = tmp_path / "out.zarr"
    first = subprocess.Popen([sys.executable, "-c", SLOW, str(source), str(dst)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / ".out.zarr.mtk-partial").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first conversion ended before the second started"
    second = mtk_cli("convert", source, dst, "--overwrite")
    assert second.code == 2
    assert second.stderr == (f"mtk: error: {dst}: is being written by another mtk process (pid {first.pid}) "
                             f"(wait for it to finish; remove {lock_path(dst)} only if that process is gone)\n")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert len(open_dataset(dst)) == 200
    assert not lock_path(dst).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_a_live_lock_refuses_and_touches_nothing(source, tmp_path):
    dst = tmp_path / "out.zarr"
    with exclusive(dst):
        before = checksums(tmp_path)
        with pytest.raises(MtkError, match="being written by another mtk process"):
            convert_dataset(str(source), str(dst), "zarr", overwrite=True)
        assert checksums(tmp_path) == before
    assert not lock_path(dst).exists()


def test_a_stale_lock_from_a_dead_process_is_taken_over(source, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dst = tmp_path / "out.zarr"
    lock_path(dst).write_text(dead.stdout)
    result = convert_dataset(str(source), str(dst), "zarr")
    assert result.motions == 200 and len(open_dataset(dst)) == 200
    assert not lock_path(dst).exists()


def test_an_empty_lock_being_created_counts_as_held_until_it_is_old(tmp_path):
    import os

    dst = tmp_path / "out.zarr"
    lock_path(dst).touch()
    with pytest.raises(MtkError, match="another mtk process"), exclusive(dst):
        pass
    old = time.time() - 60
    os.utime(lock_path(dst), (old, old))
    with exclusive(dst):
        assert lock_path(dst).read_text().strip() == str(os.getpid())
    assert not lock_path(dst).exists()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory, checkpoint) -> Path:
    from mtk.jobs.sample import write_sample_dataset
    from mtk.tokenizer.tokenize import tokenize_dataset

    root = tmp_path_factory.mktemp("tokens")
    write_sample_dataset(str(root / "sample"), layout="hml263", count=4, seed=2)
    tokenize_dataset(str(root / "sample"), str(checkpoint), str(root / "tokens.zarr"), format="zarr")
    return root / "tokens.zarr"


@pytest.mark.parametrize("command", ["tokenize", "detokenize", "stats", "pfnn", "sample"])
def test_every_writer_is_refused_while_another_process_holds_its_destination(source, checkpoint, tokens, tmp_path,
                                                                             mtk_cli, command):
    dst = tmp_path / "out"
    args = {"tokenize": ["tokenize", source, "--ckpt", checkpoint, "--out", dst, "--resume"],
            "detokenize": ["detokenize", tokens, "--ckpt", checkpoint, "--out", dst],
            "stats": ["stats", source, "--out", dst, "--resume"],
            "pfnn": ["convert", source, dst, "--to", "pfnn"],
            "sample": ["sample", dst]}[command]
    with exclusive(dst):  # held by this (pytest) process; mtk runs in another
        before = checksums(tmp_path)
        refused = mtk_cli(*args)
        assert refused.code == 2, refused.stderr
        assert refused.stderr == (f"mtk: error: {dst}: is being written by another mtk process (pid {os.getpid()}) "
                                  f"(wait for it to finish; remove {lock_path(dst)} only if that process is gone)\n")
        assert checksums(tmp_path) == before and not dst.exists()
    done = mtk_cli(*args)
    assert done.code == 0, done.stderr
    assert dst.exists() and not lock_path(dst).exists()
    left = {p.name for p in tmp_path.iterdir()}
    assert left == ({"out", "out_prob.npy", "all_data.pkl"} if command == "tokenize" else {"out"})
