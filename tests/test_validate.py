"""mtk validate and the dataset checks behind it."""

from __future__ import annotations

import json
import shutil

import numpy as np
from factories import make_npy_dataset

from mtk.analysis.validation import (
    check_lengths,
    check_names,
    check_splits,
    check_stats,
    length_histogram,
    summarize_motion,
)
from mtk.formats.datasets import create_writer, open_dataset
from mtk.formats.model import Motion, Stats


def codes(report_json: str) -> dict[str, str]:
    return {f["code"]: f["level"] for f in json.loads(report_json)["findings"]}


def test_clean_dataset_passes(tmp_path, mtk_cli):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=8, min_frames=64)
    result = mtk_cli("validate", src, "--json")
    assert result.code == 0, result.stderr
    assert codes(result.stdout) == {}
    assert json.loads(result.stdout)["details"]["motions"] == 8


def test_every_problem_is_reported_and_exit_is_1(tmp_path, mtk_cli):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=10, min_frames=30, max_frames=80, seed=3)
    motions = src / "new_joint_vecs"
    x = np.load(motions / "000003.npy")
    x[4, 7] = np.inf
    np.save(motions / "000003.npy", x)
    np.save(motions / "000006.npy", np.zeros((70, 251), np.float32))
    (src / "texts" / "000004.txt").unlink()
    (src / "train.txt").write_text("000000\n000000\nghost\n")
    np.save(src / "Mean.npy", np.zeros(251, np.float32))
    result = mtk_cli("validate", src, "--json")
    assert result.code == 1
    found = codes(result.stdout)
    assert found == {"nan_inf": "error", "wrong_dim": "error", "no_text": "warning", "too_short": "warning",
                     "split_without_motion": "error", "duplicate_in_split": "warning",
                     "motion_in_no_split": "info", "stats_wrong_size": "error"}
    messages = " ".join(f["message"] for f in json.loads(result.stdout)["findings"])
    for name in ("000003", "000006 (251)", "000004", "ghost"):
        assert name in messages


def test_validate_store_with_duplicate_names(tmp_path, mtk_cli):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=3, min_frames=64)
    reader = open_dataset(src)
    with create_writer(tmp_path / "dup.zarr", "zarr", reader.info) as writer:
        for name in ("000000", "000001", "000000"):
            writer.add(reader.read(name))
        writer.set_stats(reader.info.stats)
    result = mtk_cli("validate", tmp_path / "dup.zarr", "--json")
    assert result.code == 1 and codes(result.stdout)["duplicate_name"] == "error"


def test_real_sample_reports_split_names_without_data(tmp_path, data_dir, mtk_cli):
    shutil.copytree(data_dir / "humanml3d", tmp_path / "hml")
    result = mtk_cli("validate", tmp_path / "hml", "--json")
    assert result.code == 1
    report = json.loads(result.stdout)
    missing = [f["message"] for f in report["findings"] if f["code"] == "split_without_motion"]
    assert any("23383 of 23384" in m for m in missing)
    assert report["details"]["split_names_without_motion"] == {"test": 4384, "train": 23383, "val": 1460}
    assert "no_text" in codes(result.stdout)


def test_pure_checks():
    assert length_histogram([10, 63, 64, 700]) == {"0-40": 1, "40-64": 1, "64-96": 1, "96-120": 0, "120-200": 0,
                                                   "200-300": 0, "300-400": 0, "400-600": 0, ">=600": 1}
    assert [f.code for f in check_names(["a", "b", "a"])] == ["duplicate_name"]
    assert check_names(["a", "b"]) == []
    assert [f.code for f in check_splits(["a"], {"train": ["a", "b"]})] == ["split_without_motion"]
    assert [f.code for f in check_stats((263, 263), 263, np.r_[np.ones(262), 0.0])] == ["zero_std"]
    assert [f.code for f in check_stats(None, 263)] == ["no_stats"]
    assert check_lengths({"a": 63, "b": 64}, 64)[0].message.startswith("1 motions")
    summary = summarize_motion("m", np.array([[0.0, np.nan], [1.0, 2.0]]), ["", "  "])
    assert (summary.frames, summary.dim, summary.nonfinite_rows, summary.has_text) == (2, 2, 1, False)


def test_writer_rejects_a_motion_of_another_width(tmp_path):
    import pytest

    from mtk.errors import BadInputError
    from mtk.formats.model import DatasetInfo

    with pytest.raises(BadInputError, match="has 251 columns"):
        with create_writer(tmp_path / "w.zarr", "zarr", DatasetInfo(None, 20.0, [])) as writer:
            writer.add(Motion("a", np.zeros((5, 263), np.float32)))
            writer.add(Motion("b", np.zeros((5, 251), np.float32)))
            writer.set_stats(Stats(np.zeros(263), np.ones(263)))
    assert not (tmp_path / "w.zarr").exists()
