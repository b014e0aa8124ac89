"""Issue #24: a stdout that cannot be written is a clean exit: closed (``>&-``), a closed pipe (``| head``), or a
full device (``> /dev/full``). No traceback, no "Exception ignored", no internal error; a full device is one
``mtk: error:`` line (exit 2), a closed pipe or closed stdout exits 0 quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hostile import sample_here


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return sample_here(tmp_path_factory.mktemp("streams") / "data", count=3)


def _run(args, stdout, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtk", *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                          preexec_fn=preexec, timeout=60)


def _clean(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text and "internal error" not in text, text
    return text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["inspect", "{data}"], ["inspect", "{data}", "--json"],
                                  ["validate", "{data}", "--json"]])
def test_full_stdout_is_one_line(dataset, args):
    with open("/dev/full", "w") as full:
        done = _run([a.format(data=dataset) for a in args], full)
    text = _clean(done.stderr)
    assert done.returncode == 2, text
    assert [line for line in text.splitlines() if line] == [
        "mtk: error: <stdout>: cannot be written: No space left on device (send the output somewhere writable)"]


def test_closed_stdout_exits_quietly(dataset, tmp_path):
    done = _run(["convert", dataset, tmp_path / "out.zarr"], None, preexec=lambda: os.close(1))
    assert done.returncode == 0 and _clean(done.stderr) == ""
    assert (tmp_path / "out.zarr" / "zarr.json").is_file()  # the first file it opened did not become stdout


def test_closed_pipe_exits_quietly(dataset):
    """The reader is gone before mtk writes (as after ``| head`` has read its lines)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _run(["inspect", dataset, "--json"], write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and _clean(done.stderr) == ""
