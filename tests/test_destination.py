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
