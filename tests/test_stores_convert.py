"""mtk convert between dataset stores: lossless, atomic, resumable after SIGKILL, bad sources."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from factories import checksums, make_npy_dataset
from test_stores import tree_identical

from mtk.formats.datasets import open_dataset
from mtk.jobs.convert_dataset import convert_dataset


def test_cli_round_trip_npy_zarr_hdf5_npy(tmp_path, mtk_cli):
    src = make_npy_dataset(tmp_path / "src", "smpl272", count=30, names=[f"s{i % 2}/{i:04d}" for i in range(30)])
    before = checksums(src)
    steps = (("src", "d.zarr", ()), ("d.zarr", "d.h5", ("--workers", "1")), ("d.h5", "back", ("--to", "npy")))
    for a, b, extra in steps:
        result = mtk_cli("convert", tmp_path / a, tmp_path / b, *extra)
        assert result.code == 0, result.stderr
        assert "wrote 30 motions" in result.stdout
    assert tree_identical(src, tmp_path / "back")
    assert checksums(src) == before
    again = mtk_cli("convert", src, tmp_path / "d.zarr")
    assert again.code == 2 and "already exists" in again.stderr


def corrupt(src: Path, name: str) -> Path:
    path = src / "new_joint_vecs" / f"{name}.npy"
    path.write_bytes(path.read_bytes()[:100])
    return path


def test_corrupt_source_stops_with_its_name_and_writes_nothing(tmp_path, mtk_cli):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=12)
    bad = corrupt(src, "000007")
    result = mtk_cli("convert", src, tmp_path / "out.zarr")
    assert result.code == 2
    assert result.stderr.startswith("mtk: error: ") and str(bad) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.zarr").exists()


@pytest.mark.parametrize("to", ["zarr", "hdf5", "npy"])
def test_skip_bad_lists_the_skipped_motion(tmp_path, mtk_cli, to):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=12)
    corrupt(src, "000007")
    result = mtk_cli("convert", src, tmp_path / "out", "--to", to, "--skip-bad")
    assert result.code == 0, result.stderr
    assert "skipped 1 unreadable: 000007" in result.stdout
    out = open_dataset(tmp_path / "out")
    assert len(out) == 11 and "000007" not in out.names
    assert "000007" in out.info.splits["train"]  # the split still names it; validate reports it


KILLABLE = """
import sys, time
from mtk.jobs.convert_dataset import convert_dataset
store = {} if sys.argv[3] == "npy" else {"chunk_frames": 32, "shard_frames": 128}
convert_dataset(sys.argv[1], sys.argv[2], sys.argv[3], workers=2, resume=len(sys.argv) > 4,
                on_progress=lambda n: time.sleep(0.3), **store)
"""


def journal_lines(journal: Path) -> int:
    return journal.read_text().count("\n") if journal.exists() else 0


@pytest.mark.parametrize("to", ["zarr", "hdf5", "npy"])
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path, to):
    src = make_npy_dataset(tmp_path / "src", "smpl272", count=200, max_frames=120)
    before = checksums(src)
    dst = tmp_path / "killed"
    journal = tmp_path / ".killed.mtk-partial.journal"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(src), str(dst), to])
    deadline = time.time() + 60
    while journal_lines(journal) < 64 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the conversion finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not dst.exists() and (tmp_path / ".killed.mtk-partial").exists()
    done = subprocess.run([sys.executable, "-c", KILLABLE.replace("time.sleep(0.3)", "None"),
                           str(src), str(dst), to, "resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    store = {} if to == "npy" else {"chunk_frames": 32, "shard_frames": 128}
    convert_dataset(str(src), str(tmp_path / "whole"), to, **store)
    resumed, whole = open_dataset(dst), open_dataset(tmp_path / "whole")
    assert resumed.names == whole.names and resumed.info.splits == whole.info.splits
    for name in whole.names:
        a, b = resumed.read(name), whole.read(name)
        np.testing.assert_array_equal(a.features, b.features)
        assert a.texts == b.texts
    if to == "npy":
        assert tree_identical(dst, tmp_path / "whole")
    else:
        np.testing.assert_array_equal(resumed.handle.offsets[:], whole.handle.offsets[:])
    assert not journal.exists() and not (tmp_path / ".killed.mtk-partial").exists()
    assert checksums(src) == before


def test_convert_to_fsspec_memory_url_and_back(tmp_path):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=12)
    url = f"memory://{tmp_path.name}/convert.zarr"
    result = convert_dataset(str(src), url, chunk_frames=64, shard_frames=256)
    assert result.motions == 12
    convert_dataset(url, str(tmp_path / "back"), "npy")
    assert tree_identical(src, tmp_path / "back")
    import fsspec

    fs = fsspec.filesystem("memory")
    assert not any(".mtk-partial" in p for p in fs.find(f"/{tmp_path.name}"))


def test_inspect_describes_every_container_alike(tmp_path, mtk_cli):
    import json

    src = make_npy_dataset(tmp_path / "src", "smpl272", count=20, min_frames=40, max_frames=100)
    convert_dataset(str(src), str(tmp_path / "d.zarr"))
    convert_dataset(str(src), str(tmp_path / "d.h5"))
    reports = []
    for path in (src, tmp_path / "d.zarr", tmp_path / "d.h5"):
        result = mtk_cli("inspect", path, "--json")
        assert result.code == 0, result.stderr
        reports.append(json.loads(result.stdout))
    frames = sum(open_dataset(src).length(n) for n in open_dataset(src).names)
    for report in reports:
        assert (report["kind"], report["layout"], report["dtype"], report["frames"]) == (
            "dataset", "smpl272", "float64", frames)
        details = report["details"]
        assert details["motions"] == 20 and details["stats"] is True
        assert details["hours"] == round(frames / 30 / 3600, 4)
        assert sum(details["length_histogram"].values()) == 20
        assert details["splits"] == {"version1/test": 3, "version1/train": 14, "version1/val": 3}
    assert {r["details"]["format"] for r in reports} == {"npy", "zarr", "hdf5"}


def test_resume_starts_over_when_the_partial_output_is_unreadable(tmp_path):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=30)
    dst = tmp_path / "out.h5"
    partial = tmp_path / ".out.h5.mtk-partial"
    partial.write_bytes(b"not an hdf5 file")
    Path(f"{partial}.journal").write_text('{"dim": 263, "dtype": "<f4"}\n{"m": "000000", "n": 50, "t": ""}\n'
                                          '{"flushed": 50}\n')
    result = convert_dataset(str(src), str(dst), resume=True, chunk_frames=32, shard_frames=64)
    assert result.resumed_from == 0 and result.motions == 30
    assert tree_identical(src, Path(convert_dataset(str(dst), str(tmp_path / "back"), "npy").dst))
