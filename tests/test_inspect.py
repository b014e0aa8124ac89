"""`mtk inspect` on the real samples and stats vectors, and every bad input of issue 2."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from mtk.schemas import HML263, SMPL272


def inspect_json(mtk_cli, path, *extra):
    result = mtk_cli("inspect", str(path), "--json", *extra)
    assert result.code in (0, 1), result.stderr
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("relative,kind,layout,frames,dtype", [
    ("humanml3d/new_joint_vecs/012314.npy", "features", "hml263", 170, "float32"),
    ("smpl272/features/000000.npy", "features", "smpl272", 1287, "float64"),
    ("humanml3d/new_joints/012314.npy", "joints", None, 170, "float32"),
    ("smpl272/joints/000000.npy", "joints", None, 1287, "float32"),
])
def test_real_arrays_identified(data_dir, mtk_cli, relative, kind, layout, frames, dtype):
    result, report = inspect_json(mtk_cli, data_dir / relative)
    assert result.code == 0
    assert (report["kind"], report["layout"], report["frames"], report["dtype"]) == (kind, layout, frames, dtype)
    assert not [f for f in report["findings"] if f["level"] == "error"]
    assert {"path", "kind", "layout", "frames", "dim", "fps", "dtype", "blocks", "findings"} <= set(report)


def test_smpl85_parameters_recognised(data_dir, mtk_cli):
    result, report = inspect_json(mtk_cli, data_dir / "smpl272/smpl85/000000.npy")
    assert result.code == 0 and report["layout"] is None and report["dim"] == 85
    assert "smpl_85" in report["details"]["content"]
    assert [f["code"] for f in report["findings"]] == ["not_features"]


def test_real_feature_blocks_match_spec_statistics(data_dir, mtk_cli):
    _, report = inspect_json(mtk_cli, data_dir / "humanml3d/new_joint_vecs/012314.npy")
    blocks = {b["name"]: b for b in report["blocks"]}
    assert [(b["start"], b["stop"]) for b in report["blocks"]] == [(b.start, b.stop) for b in HML263.blocks]
    assert blocks["root_height"]["min"] == pytest.approx(0.7031, abs=1e-4)
    assert blocks["foot_contacts"]["mean"] == pytest.approx(0.7750, abs=1e-4)
    assert report["fps"] == 20.0 and report["duration_s"] == pytest.approx(8.5)
    assert report["details"]["normalized"] is False


@pytest.mark.parametrize("relative,layout,role,grouped", [
    ("humanml3d/Mean.npy", "hml263", "mean", None),
    ("humanml3d/Std.npy", "hml263", "std", True),
    ("smpl272/Mean.npy", "smpl272", "mean", None),
    ("smpl272/Std.npy", "smpl272", "std", True),
    ("motionmillion/mean_std/vector_272/mean.npy", "smpl272", "mean", None),
    ("motionmillion/mean_std/vector_272/std.npy", "smpl272", "std", True),
])
def test_real_stats_vectors_identified(data_dir, mtk_cli, relative, layout, role, grouped):
    result, report = inspect_json(mtk_cli, data_dir / relative)
    assert result.code == 0
    assert (report["kind"], report["layout"], report["details"]["role"]) == ("stats", layout, role)
    if grouped:
        assert report["details"]["std_grouping"].startswith("per-group")
        assert len(report["details"]["std_groups"]) == (7 if layout == "hml263" else 5)


def test_mm_std_groups_values(data_dir, mtk_cli):
    _, report = inspect_json(mtk_cli, data_dir / "motionmillion/mean_std/vector_272/std.npy")
    values = list(report["details"]["std_groups"].values())
    assert values == pytest.approx([0.008289, 0.006502, 0.159708, 0.008348, 0.159571], abs=2e-6)


def test_normalized_file_is_flagged_as_unsure(data_dir, mtk_cli, tmp_path):
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy")
    mean, std = np.load(data_dir / "humanml3d/Mean.npy"), np.load(data_dir / "humanml3d/Std.npy")
    path = tmp_path / "normalized.npy"
    np.save(path, (features - mean) / std)
    _, report = inspect_json(mtk_cli, path)
    assert report["layout"] == "hml263"
    assert report["details"]["normalized"] is True
    assert report["details"]["layout_confidence"] == "low"
    assert "looks_normalized" in [f["code"] for f in report["findings"]]


def test_findings_on_damaged_features(data_dir, mtk_cli, tmp_path):
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy")[:40].copy()
    features[3, HML263.block("foot_contacts").start] = 0.5
    features[5, 10] = np.nan
    path = tmp_path / "damaged.npy"
    np.save(path, features)
    result, report = inspect_json(mtk_cli, path)
    codes = {f["code"] for f in report["findings"]}
    assert {"nan_inf", "contacts_not_binary", "too_short"} <= codes
    assert result.code == 1


def test_272_heading_constant_and_velocity_findings(data_dir, mtk_cli, tmp_path):
    features = np.load(data_dir / "smpl272/features/000000.npy")[:100].copy()
    features[10, SMPL272.block("heading_velocity").start + 4] = 0.3  # dim 6 must be 1
    features[:, SMPL272.block("local_velocities").slice] *= 3.0
    path = tmp_path / "bad272.npy"
    np.save(path, features)
    result, report = inspect_json(mtk_cli, path)
    codes = {f["code"] for f in report["findings"]}
    assert {"heading_not_yaw", "velocity_mismatch"} <= codes
    assert result.code == 1


def test_sixd_finding(data_dir, mtk_cli, tmp_path):
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy").copy()
    features[:, HML263.block("rotations_6d").start] *= 2.0
    path = tmp_path / "bad6d.npy"
    np.save(path, features)
    _, report = inspect_json(mtk_cli, path)
    assert "sixd_not_orthonormal" in {f["code"] for f in report["findings"]}


def bad_inputs(tmp_path, data_dir):
    real = data_dir / "humanml3d/new_joint_vecs/012314.npy"
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(real.read_bytes()[:5000])
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x93NUMPY\x01\x00garbage that is not a header" * 3)
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    zero = tmp_path / "zero.npy"
    np.save(zero, np.zeros((0, 263), np.float32))
    one_d = tmp_path / "one_d.npy"
    np.save(one_d, np.zeros(17, np.float32))
    raw_pickle = tmp_path / "raw.npy"
    raw_pickle.write_bytes(pickle.dumps({"x": 1}))
    return {
        "missing": (tmp_path / "nope.npy", "no such file"),
        "truncated": (truncated, "truncated or corrupted"),
        "garbage": (garbage, "not a readable .npy"),
        "pickled": (pickled, "pickled data"),
        "raw_pickle": (raw_pickle, "pickled data"),
        "zero_frames": (zero, "0 frames"),
        "one_d": (one_d, "1-D array"),
    }


@pytest.mark.parametrize("case", ["missing", "truncated", "garbage", "pickled", "raw_pickle", "zero_frames",
                                  "one_d"])
def test_bad_inputs_exit_2_with_one_line(data_dir, mtk_cli, tmp_path, case):
    path, expected = bad_inputs(tmp_path, data_dir)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = mtk_cli("inspect", str(path))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"mtk: error: {path}: ") and expected in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("case", ["truncated", "pickled", "zero_frames", "one_d"])
def test_convert_bad_inputs_write_nothing(data_dir, mtk_cli, tmp_path, case):
    path, _ = bad_inputs(tmp_path, data_dir)[case]
    out = tmp_path / "out" / "joints.npy"
    result = mtk_cli("convert", str(path), str(out), "--to", "joints")
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not out.parent.exists()


def test_wrong_layout_for_dimension(data_dir, mtk_cli, tmp_path):
    real = data_dir / "humanml3d/new_joint_vecs/012314.npy"
    result = mtk_cli("inspect", str(real), "--layout", "smpl272")
    assert result.code == 2
    assert "has 263 columns but layout smpl272 has 272" in result.stderr
    out = tmp_path / "j.npy"
    result = mtk_cli("convert", str(real), str(out), "--to", "joints", "--layout", "kit251")
    assert result.code == 2 and not out.exists()


def test_convert_to_joints_matches_shipped_joints(data_dir, mtk_cli, tmp_path):
    out = tmp_path / "joints.npy"
    result = mtk_cli("convert", str(data_dir / "humanml3d/new_joint_vecs/012314.npy"), str(out), "--to", "joints")
    assert result.code == 0, result.stderr
    joints = np.load(out)
    assert joints.dtype == np.float32
    assert np.abs(joints - np.load(data_dir / "humanml3d/new_joints/012314.npy")).max() < 1e-5
    assert mtk_cli("convert", str(data_dir / "humanml3d/new_joint_vecs/012314.npy"), str(out),
                   "--to", "joints").code == 2  # exists, no --overwrite
