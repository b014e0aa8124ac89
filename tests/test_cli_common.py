"""The CLI's shared behaviour: ``-q`` anywhere, one-line usage errors (issue 16, point 9)."""

from __future__ import annotations

import pytest

from mtk.cli import hoist_quiet, main


def test_quiet_is_hoisted_from_anywhere_before_the_end_of_options():
    assert hoist_quiet(["convert", "a", "b.zarr", "-q"]) == ["-q", "convert", "a", "b.zarr"]
    assert hoist_quiet(["convert", "--quiet", "a", "b"]) == ["-q", "convert", "a", "b"]
    assert hoist_quiet(["convert", "a", "b"]) == ["convert", "a", "b"]
    assert hoist_quiet(["inspect", "--", "-q"]) == ["inspect", "--", "-q"]  # a file named -q stays a file


def test_usage_errors_are_one_mtk_line(capsys):
    with pytest.raises(SystemExit) as done:
        main(["convert", "only-one-argument"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("mtk: error: ") and err.count("\n") == 1, err
    assert "mtk convert --help" in err
