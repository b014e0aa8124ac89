"""Destinations and work folders as context managers: a clean block commits, an error removes the partial
output, an interruption keeps it for --resume; the old output survives anything but a clean block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.io.destination import prepare
from mtk.io.workdir import WorkFolder, work_path


def _write(dest, text: str) -> None:
    Path(dest.partial).mkdir(parents=True)
    (Path(dest.partial) / "data.txt").write_text(text)


def test_a_clean_block_commits(tmp_path):
    out = tmp_path / "out"
    with prepare(out) as dest:
        _write(dest, "new")
        assert not out.exists()
    assert (out / "data.txt").read_text() == "new" and not Path(dest.partial).exists()


@pytest.mark.parametrize("error, kept", [(ValueError, False), (KeyboardInterrupt, True)],
                         ids=["error-removes", "interruption-keeps"])
def test_a_failed_block_leaves_the_old_output(tmp_path, error, kept):
    out = tmp_path / "out"
    with prepare(out) as dest:
        _write(dest, "old")
    with pytest.raises(error), prepare(out, overwrite=True) as dest:
        _write(dest, "new")
        raise error
    assert (out / "data.txt").read_text() == "old"
    assert Path(dest.partial).exists() is kept


@pytest.mark.parametrize("error, kept", [(None, False), (ValueError, False), (KeyboardInterrupt, True)],
                         ids=["success", "error", "interruption"])
def test_a_work_folder_is_kept_only_for_resume(tmp_path, error, kept):
    out = tmp_path / "stats"
    try:
        with WorkFolder(out, {"a": 1}, resume=False) as work:
            work.save("piece", x=np.zeros(3))
            if error:
                raise error
    except (ValueError, KeyboardInterrupt):
        pass
    assert work_path(out).exists() is kept


@pytest.mark.parametrize("left", ["key and a piece", "the key", "an empty folder"])
def test_a_kill_while_the_work_folder_goes_still_resumes(tmp_path, left):
    """A run commits its outputs, then removes its work folder, key file last: a kill part way through that
    removal leaves a folder ``resume`` takes as this run's (so it may replace the outputs it committed)."""
    out = tmp_path / "stats"
    work = WorkFolder(out, {"a": 1}, resume=False)
    work.save("p1", x=np.zeros(3))
    work.save("p2", x=np.ones(3))
    folder = work_path(out)
    keep = {"key and a piece": 2, "the key": 1, "an empty folder": 0}[left]
    for entry in sorted(folder.iterdir(), key=lambda p: p.name == "key" or p.suffix != ".npz", reverse=True)[keep:]:
        entry.unlink()
    resumed = WorkFolder(out, {"a": 1}, resume=True)
    assert resumed.resumed and len(resumed.pieces()) == max(0, keep - 1)


def test_the_key_file_goes_last(tmp_path, monkeypatch):
    import mtk.io.workdir as workdir

    out = tmp_path / "stats"
    work = WorkFolder(out, {"a": 1}, resume=False)
    work.save("p1", x=np.zeros(3))
    removed = []
    real = workdir.remove_path
    monkeypatch.setattr(workdir, "remove_path", lambda p: (removed.append(Path(p).name), real(p)))
    work.remove()
    assert removed[-1] == work_path(out).name and removed[:-1] == ["p1.npz"]
