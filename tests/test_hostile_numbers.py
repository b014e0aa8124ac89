"""Issue #24, class 5: every number read from a file is checked where it sizes, scales or divides; long motions
are read in windows (inspect) or refused with the limit named.

Contract asserted here:
- BVH: a Frame Time of NaN, Inf, 0 or 1e-300 and an OFFSET or channel value of 1e308 (or NaN) are refused,
  one line naming the file; nothing is written (never a joints file full of Inf).
- mean/std: a std of 1e-30 or a mean of 1e30 is refused naming the file (normalising would overflow).
- Codes: a code of 2^31-1 in a small pickle is refused (never a 16 GiB count vector).
- Weights and databases: NaN weights in a tokenizer checkpoint or a PFNN network, NaN rows or phases outside
  [0, 1] in a PFNN database are refused naming the file (never "RMSE nan" with exit 0).
- Long motions: ``inspect`` of a 300,000-frame motion stays under 1 GB (it reads windows); render, convert,
  PFNN export, tokenize and tokenizer eval refuse a motion beyond their limit, naming it and the limit.
- A 272-wide motion in a 263 folder is a one-line error naming it (tokenize, tokenizer eval); ``inspect`` of an
  all-NaN 272 file reports it (exit 1), never crashes.
"""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import torch
from hostile import (assert_bounded, assert_one_line_error, motion_files, mtk, mtk_here, sample_here,
                     tiny_checkpoint, tree_state)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("numbers")
    data = sample_here(root / "data", count=4)
    bvh = root / "m.bvh"
    assert mtk_here("-q", "convert", motion_files(data)[0], bvh).code == 0
    assert mtk_here("-q", "convert", data, root / "db", "--to", "pfnn").code == 0
    return {"data": data, "bvh": bvh, "db": root / "db", "ckpt": tiny_checkpoint(root / "ckpt")}


def refused(tmp_path, args, *facts) -> str:
    before = tree_state(tmp_path)
    line = assert_one_line_error(mtk_here(*args), *facts)
    assert tree_state(tmp_path) == before
    return line


# -- BVH -----------------------------------------------------------------------------------------------------

def _bvh_with(made, tmp_path, frame_time: str | None = None, offset: str | None = None, value: str | None = None):
    text = made["bvh"].read_text()
    head, _, motion = text.partition("MOTION\n")
    frames_line, time_line, body = motion.split("\n", 2)
    if frame_time is not None:
        time_line = f"Frame Time: {frame_time}"
    if offset is not None:
        head = head.replace("OFFSET 0.000000 0.000000 0.000000", f"OFFSET {offset} 0.0 0.0", 1)
        lines = head.split("\n")
        joint = next(i for i, line in enumerate(lines) if line.strip().startswith("JOINT"))
        lines[joint + 2] = lines[joint + 2].split("OFFSET")[0] + f"OFFSET {offset} 0.0 0.0"
        head = "\n".join(lines)
    if value is not None:
        rows = body.split("\n")
        cells = rows[3].split()
        cells[5] = value
        rows[3] = " ".join(cells)
        body = "\n".join(rows)
    path = tmp_path / "hostile.bvh"
    path.write_text(f"{head}MOTION\n{frames_line}\n{time_line}\n{body}")
    return path


@pytest.mark.parametrize("frame_time", ["nan", "inf", "0", "-0.03", "1e-300", "1e9"])
def test_bvh_frame_time_is_checked(tmp_path, made, frame_time):
    bvh = _bvh_with(made, tmp_path, frame_time=frame_time)
    refused(tmp_path, ["convert", bvh, tmp_path / "j.npy", "--to", "joints"], "hostile.bvh", "Frame Time")
    assert_one_line_error(mtk_here("inspect", bvh), "hostile.bvh")


@pytest.mark.parametrize("where", ["offset", "value"])
@pytest.mark.parametrize("number", ["1e308", "nan", "-inf"])
def test_bvh_offsets_and_values_are_bounded(tmp_path, made, where, number):
    bvh = _bvh_with(made, tmp_path, **{where: number})
    for target in ("joints", "smpl272"):
        refused(tmp_path, ["convert", bvh, tmp_path / f"{target}.npy", "--to", target], "hostile.bvh")


# -- mean/std ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which, value", [("std", 1e-30), ("mean", 1e30), ("std", 1e30)])
def test_normalisation_magnitudes_are_bounded(tmp_path, made, which, value):
    data = made["data"]
    files = {"mean": data / "Mean.npy", "std": data / "Std.npy"}
    vector = np.load(files[which]).copy()
    vector[7] = value
    files[which] = tmp_path / f"bad_{which}.npy"
    np.save(files[which], vector)
    refused(tmp_path, ["tokenize", data, "--ckpt", made["ckpt"], "--out", tmp_path / "codes", "--mean",
                       files["mean"], "--std", files["std"]], f"bad_{which}.npy")


# -- codes ---------------------------------------------------------------------------------------------------

def test_huge_code_in_a_small_pickle(tmp_path, made):
    pkl = tmp_path / "all_data.pkl"
    pkl.write_bytes(pickle.dumps({"text_data": {}, "code_data": {"m": np.array([[2**31 - 1]], np.int32)},
                                  "file_names": ["m"]}))
    assert pkl.stat().st_size < 300
    run = mtk("inspect", pkl)
    assert_bounded(run)
    assert_one_line_error(run, "all_data.pkl", str(2**31 - 1))
    run = mtk_here("detokenize", pkl, "--ckpt", made["ckpt"], "--out", tmp_path / "decoded")
    assert_one_line_error(run, "all_data.pkl")
    assert not (tmp_path / "decoded").exists()


# -- weights and databases -----------------------------------------------------------------------------------

def test_nan_weights_in_a_tokenizer_checkpoint(tmp_path, made):
    ckpt = torch.load(made["ckpt"], weights_only=True)
    key = next(k for k, v in ckpt["net"].items() if v.is_floating_point() and v.numel() > 4)
    ckpt["net"][key] = ckpt["net"][key].clone()
    ckpt["net"][key].view(-1)[3] = float("nan")
    bad = tmp_path / "nan.pth"
    torch.save(ckpt, bad)
    refused(tmp_path, ["tokenize", made["data"], "--ckpt", bad, "--out", tmp_path / "codes"], "nan.pth", "NaN")
    refused(tmp_path, ["tokenizer", "eval", made["data"], "--ckpt", bad], "nan.pth")


@pytest.fixture
def db(tmp_path, made):
    return shutil.copytree(made["db"], tmp_path / "db")


def _rewrite_database(db, change) -> None:
    with np.load(db / "database.npz") as archive:
        arrays = {k: archive[k].copy() for k in archive.files}
    change(arrays)
    np.savez(db / "database.npz", **arrays)


@pytest.mark.parametrize("damage", ["nan-x", "inf-y", "phase-above-one", "negative-phase"])
def test_bad_rows_or_phases_in_a_pfnn_database(tmp_path, db, damage):
    def change(arrays):
        if damage == "nan-x":
            arrays["Xun"][5, 3] = np.nan
        elif damage == "inf-y":
            arrays["Yun"][2, 1] = np.inf
        else:
            arrays["Pun"][4] = 1.5 if damage == "phase-above-one" else -0.25

    _rewrite_database(db, change)
    refused(tmp_path, ["pfnn", "train", db, "--out", tmp_path / "run", "--epochs", "0.01"], "database.npz")
    run_inspect = mtk_here("inspect", db)
    assert run_inspect.code == 1 and "error" in run_inspect.output, run_inspect.output


@pytest.fixture(scope="module")
def network(tmp_path_factory, made):
    run = tmp_path_factory.mktemp("pfnn") / "run"
    assert mtk_here("-q", "pfnn", "train", made["db"], "--out", run, "--epochs", "0.005", "--hidden", "4",
                    "--evals", "1").code == 0
    return run / "net_latest.pth"


def test_nan_weights_in_a_pfnn_network(tmp_path, db, network):
    document = torch.load(network, weights_only=False)
    first = next(iter(document["controls"]))
    document["controls"][first] = document["controls"][first].clone()
    document["controls"][first].view(-1)[0] = float("nan")
    bad = tmp_path / "nan-net.pth"
    torch.save(document, bad)
    line = assert_one_line_error(mtk_here("pfnn", "eval", bad, db), "nan-net.pth")
    assert "nan" not in line.split("nan-net.pth")[-1].lower().replace("nan or inf", "")


# -- long motions --------------------------------------------------------------------------------------------

LONG = 300_000


@pytest.fixture(scope="module")
def long_motion(tmp_path_factory, made):
    motion = np.load(motion_files(made["data"])[0])
    path = tmp_path_factory.mktemp("long") / "long.npy"
    np.save(path, np.tile(motion, (LONG // len(motion) + 1, 1))[:LONG])
    return path


def test_inspect_of_a_long_motion_is_bounded(long_motion):
    run = mtk("inspect", long_motion, "--json", timeout=60)
    assert_bounded(run)
    assert run.code == 0, run.output
    report = json.loads(run.stdout)
    assert report["frames"] == LONG
    assert any(f["code"] == "content_in_part" for f in report["findings"])
    means = {b["name"]: b["mean"] for b in report["blocks"]}
    exact = np.load(long_motion, mmap_mode="r")[:, :1].astype(np.float64).mean()
    assert means["root_rot_velocity"] == pytest.approx(exact, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("args", [["render", "{long}", "--out", "{out}/m.png"],
                                  ["convert", "{long}", "{out}/j.npy", "--to", "joints"],
                                  ["convert", "{long}", "{out}/m.bvh"],
                                  ["convert", "{long}", "{out}/db", "--to", "pfnn"]])
def test_long_motion_is_refused_with_the_limit_named(tmp_path, long_motion, args):
    run = mtk_here(*[a.format(long=long_motion, out=tmp_path) for a in args])
    line = assert_one_line_error(run, "long.npy", "300,000 frames", "at most")
    assert "32,768" in line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def long_dataset(tmp_path, made, long_motion):
    data = shutil.copytree(made["data"], tmp_path / "data")
    shutil.copyfile(long_motion, data / "new_joint_vecs" / "000002.npy")
    return data


@pytest.mark.parametrize("command", ["tokenize", "eval"])
def test_long_motion_in_a_dataset_is_refused_by_the_tokenizer(tmp_path, made, long_dataset, command):
    args = (["tokenize", long_dataset, "--ckpt", made["ckpt"], "--out", tmp_path / "out" / "codes"]
            if command == "tokenize" else ["tokenizer", "eval", long_dataset, "--ckpt", made["ckpt"], "--split", "all"])
    assert_one_line_error(mtk_here(*args), "000002", "300,000 frames", "16,384")
    assert not (tmp_path / "out").exists()


# -- widths and NaN ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["tokenize", "eval"])
def test_a_272_wide_motion_in_a_263_folder(tmp_path, made, command):
    data = shutil.copytree(made["data"], tmp_path / "data")
    np.save(data / "new_joint_vecs" / "000001.npy", np.random.default_rng(0).normal(size=(90, 272)).astype("f4"))
    args = (["tokenize", data, "--ckpt", made["ckpt"], "--out", tmp_path / "out" / "codes"]
            if command == "tokenize" else ["tokenizer", "eval", data, "--ckpt", made["ckpt"], "--split", "all"])
    assert_one_line_error(mtk_here(*args), "000001", "272")
    assert not (tmp_path / "out").exists()


def test_inspect_of_an_all_nan_272_file(tmp_path):
    path = tmp_path / "nan272.npy"
    np.save(path, np.full((50, 272), np.nan, np.float32))
    run = mtk_here("inspect", path, "--json")
    assert run.code == 1, run.output
    report = json.loads(run.stdout)
    assert report["layout"] == "smpl272" and any(f["code"] == "nan_inf" for f in report["findings"])


@pytest.mark.parametrize("args", [["--path", "walk:1e9"], ["--path", "walk:2", "--seconds", "3000"]])
def test_a_played_path_is_bounded(tmp_path, network, args):
    """A path of 10^9 seconds (or 3,000 s at 60 fps) is refused before a command is made, naming the limit."""
    line = assert_one_line_error(mtk_here("pfnn", "play", network, *args, "--out", tmp_path / "w.npy"), "--path")
    assert "32,768" in line
    assert list(tmp_path.iterdir()) == []
