"""Issue #12, class 5: faults while writing give the usual one-line error, never a crash.

Contract asserted here:
- A full disk (a 1 MiB tmpfs, mounted when running as root; skipped otherwise), a read-only destination
  (the tmpfs remounted read-only) and a parent that is a file: exit 2, one ``mtk: error:`` line naming the
  destination; never "internal error", never a traceback or a segfault. Nothing partial is left, except a
  resumable work folder/partial that the message names. Nothing outside the destination changes.
- The destination may not be a non-regular file (a device node or FIFO), even with ``--overwrite``: it is
  refused and left as it was.
- Temporary files are created exclusively: a symlink planted at the predictable partial/journal/work names
  is never written through (the planted target stays unchanged), with or without ``--resume``.
"""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from hostile import (assert_one_line_error, mtk, motion_files, sample, setup_mtk, strays, tiny_checkpoint, tmpfs,
                     tree_state)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    data = sample(root / "data", count=20)
    ckpt = tiny_checkpoint(root / "ckpt")
    setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", root / "tok" / "codes")
    return {"data": data, "ckpt": ckpt, "codes": root / "tok" / "codes", "motion": motion_files(data)[0]}


#: writer -> (args with {out} for the destination, destination name)
WRITERS = {
    "convert-zarr": (["convert", "{data}", "{out}"], "out.zarr"),
    "convert-hdf5": (["convert", "{data}", "{out}"], "out.h5"),
    "convert-npy": (["convert", "{data}", "{out}", "--to", "npy"], "out"),
    "convert-joints": (["convert", "{motion}", "{out}", "--to", "joints"], "j.npy"),
    "convert-bvh": (["convert", "{motion}", "{out}"], "m.bvh"),
    "convert-pfnn": (["convert", "{data}", "{out}", "--to", "pfnn"], "db"),
    "stats": (["stats", "{data}", "--split", "all", "--out", "{out}"], "stats"),
    "tokenize": (["tokenize", "{data}", "--ckpt", "{ckpt}", "--out", "{out}"], "codes"),
    "tokenize-zarr": (["tokenize", "{data}", "--ckpt", "{ckpt}", "--out", "{out}", "--format", "zarr"],
                      "tokens.zarr"),
    "detokenize": (["detokenize", "{codes}", "--ckpt", "{ckpt}", "--out", "{out}"], "decoded"),
    "render": (["render", "{motion}", "--out", "{out}"], "m.png"),
    "sample": (["sample", "{out}", "--count", "20"], "sample"),
}


def command(writer: str, inputs: dict, out) -> list[str]:
    args, _ = WRITERS[writer]
    return [a.format(out=out, **inputs) for a in args]


def fill(folder, leave: int = 0) -> None:
    """Fill the tmpfs at ``folder`` leaving about ``leave`` bytes."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(os.path.join(folder, "filler"), "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def assert_clean_refusal(run, destination, mount) -> None:
    line = assert_one_line_error(run, destination.name)
    left = [s for s in strays(mount) if os.path.basename(s) not in line and s not in line]
    assert not left, (left, line)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_disk_full(tmp_path, inputs, writer):
    mount = tmp_path / "small"
    with tmpfs(mount, "1m"):
        fill(mount)
        out = mount / WRITERS[writer][1]
        before = tree_state(tmp_path, skip=(mount,))
        run = mtk(*command(writer, inputs, out), timeout=60)
        assert_clean_refusal(run, out, mount)
        assert tree_state(tmp_path, skip=(mount,)) == before
        assert sorted(p.name for p in mount.iterdir()) == ["filler"] or strays(mount)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_read_only_destination(tmp_path, inputs, writer):
    mount = tmp_path / "ro"
    with tmpfs(mount, "1m", read_only=True):
        out = mount / WRITERS[writer][1]
        run = mtk(*command(writer, inputs, out), timeout=60)
        assert_one_line_error(run, out.name)
        assert not any(mount.iterdir())


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_parent_is_a_file(tmp_path, inputs, writer):
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / WRITERS[writer][1]
    before = tree_state(tmp_path)
    run = mtk(*command(writer, inputs, out), timeout=60)
    assert_one_line_error(run, str(tmp_path / "file"))
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("kind", ["device", "fifo"])
@pytest.mark.parametrize("writer", ["convert-joints", "convert-bvh", "convert-hdf5", "render"])
def test_destination_that_is_not_a_regular_file(tmp_path, inputs, writer, kind):
    out = tmp_path / WRITERS[writer][1]
    if kind == "device":
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(out, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    else:
        os.mkfifo(out)
    run = mtk(*command(writer, inputs, out), "--overwrite", timeout=60)
    assert_one_line_error(run, out.name)
    mode = out.lstat().st_mode
    assert (stat.S_ISCHR(mode) if kind == "device" else stat.S_ISFIFO(mode))


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("writer", ["convert-zarr", "convert-hdf5", "convert-npy"])
def test_symlink_planted_at_the_partial_name(tmp_path, inputs, writer, resume):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    (tmp_path / "victim-file").write_text("precious\n")
    name = WRITERS[writer][1]
    (tmp_path / f".{name}.mtk-partial").symlink_to(victim if writer != "convert-hdf5" else tmp_path / "victim-file")
    (tmp_path / f".{name}.mtk-partial.journal").symlink_to(tmp_path / "victim-file")
    watched = tree_state(victim), (tmp_path / "victim-file").read_text()
    run = mtk(*command(writer, inputs, tmp_path / name), *(["--resume"] if resume else []), timeout=60)
    assert (tree_state(victim), (tmp_path / "victim-file").read_text()) == watched
    if run.code:
        assert_one_line_error(run, name)


@pytest.mark.parametrize("writer", ["stats", "tokenize"])
def test_symlink_planted_at_the_work_folder(tmp_path, inputs, writer):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "key").write_text("precious")
    name = WRITERS[writer][1]
    (tmp_path / f".{name}.mtk-work").symlink_to(victim)
    watched = tree_state(victim)
    for resume in ([], ["--resume"]):
        run = mtk(*command(writer, inputs, tmp_path / name), *resume, timeout=60)
        assert tree_state(victim) == watched, run.output
        if run.code:
            assert_one_line_error(run, name)


def test_full_disk_hdf5_never_segfaults(tmp_path, inputs):
    """The issue's example: h5py's cleanup segfaulted on a full disk (multi-line traceback, partial left)."""
    mount = tmp_path / "small"
    with tmpfs(mount, "1m"):
        out = mount / "out.h5"
        run = mtk("convert", inputs["data"], out, timeout=60)
        assert run.code == 2, run.output
        assert_clean_refusal(run, out, mount)
        assert not out.exists()
        np.testing.assert_equal(sorted(p.name for p in mount.iterdir()), [])
