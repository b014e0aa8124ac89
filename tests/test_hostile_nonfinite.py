"""Issue #12, class 4: no silent NaN/Inf.

Contract asserted here:
- Commands that compute from features (convert to joints/bvh/pfnn/263/272, stats, tokenize, tokenizer eval,
  render) refuse non-finite input: exit 2, one line naming the file and, for a dataset, the motion
  (``000002``). ``stats`` (which skips non-finite motions unless ``--strict``) must name each skipped motion.
  Nothing non-finite is ever written with exit 0.
- Mean/std vectors with zero, negative, NaN or infinite std, or of the wrong width, are refused by every
  command that takes them (``tokenize``/``detokenize`` ``--mean/--std``): exit 2 naming the std/mean file.
- ``--skip-bad`` skips every kind of bad motion (0 frames, wrong width, wrong dtype, unreadable header) and
  lists each by name; one bad motion never changes the layout detected for the others.
"""

from __future__ import annotations

import json
import numpy as np
import pytest
from hostile import assert_one_line_error, mtk, motion_files, sample, setup_mtk, tiny_checkpoint, tree_state


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture
def nan_dataset(tmp_path):
    data = sample(tmp_path / "data", count=6)
    victim = data / "new_joint_vecs" / "000002.npy"
    features = np.load(victim)
    features[5, 7] = np.nan
    np.save(victim, features)
    return data


def test_bvh_with_nan_values_to_smpl272(tmp_path):
    data = sample(tmp_path / "data", count=2)
    bvh = tmp_path / "m.bvh"
    setup_mtk("convert", motion_files(data)[0], bvh)
    head, marker, motion = bvh.read_text().partition("Frame Time:")
    time_line, _, frames = motion.partition("\n")
    rows = frames.splitlines()
    for k in (3, 10, 20):
        values = rows[k].split()
        values[4] = "nan"
        rows[k] = " ".join(values)
    bvh.write_text(head + marker + time_line + "\n" + "\n".join(rows) + "\n")
    before = tree_state(tmp_path)
    run = mtk("convert", bvh, tmp_path / "out.npy", "--to", "smpl272")
    assert_one_line_error(run, "m.bvh")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("to, out", [("joints", "j.npy"), ("bvh", "m.bvh"), ("pfnn", "db"),
                                     ("smpl272", "m272.npy")])
def test_feature_file_with_nan_converts_to_nothing(tmp_path, nan_dataset, to, out):
    src = nan_dataset / "new_joint_vecs" / "000002.npy"
    before = tree_state(tmp_path)
    assert_one_line_error(mtk("convert", src, tmp_path / out, "--to", to), "000002")
    assert tree_state(tmp_path) == before


def test_render_refuses_nan(tmp_path, nan_dataset):
    before = tree_state(tmp_path)
    run = mtk("render", nan_dataset / "new_joint_vecs" / "000002.npy", "--out", tmp_path / "m.png", timeout=60)
    assert_one_line_error(run, "000002.npy")
    assert tree_state(tmp_path) == before


def test_tokenize_names_the_nan_motion(tmp_path, nan_dataset, ckpt):
    before = tree_state(tmp_path, skip=(tmp_path / "tok",))
    run = mtk("tokenize", nan_dataset, "--ckpt", ckpt, "--out", tmp_path / "tok" / "codes", timeout=60)
    assert_one_line_error(run, "000002")
    assert tree_state(tmp_path, skip=(tmp_path / "tok",)) == before
    assert not [p for p in (tmp_path / "tok").rglob("*") if p.is_file()]


def test_tokenizer_eval_names_the_nan_motion(tmp_path, nan_dataset, ckpt):
    run = mtk("tokenizer", "eval", nan_dataset, "--ckpt", ckpt, "--split", "all", timeout=60)
    assert_one_line_error(run, "000002")


def test_stats_names_the_skipped_nan_motion(tmp_path, nan_dataset):
    run = mtk("stats", nan_dataset, "--split", "all", "--out", tmp_path / "s")
    if run.code == 0:
        assert "000002" in run.output, run.output
        for name in ("Mean.npy", "Std.npy"):
            assert np.isfinite(np.load(tmp_path / "s" / name)).all()
    else:
        assert_one_line_error(run, "000002")
    strict = mtk("stats", nan_dataset, "--split", "all", "--strict", "--out", tmp_path / "t")
    assert_one_line_error(strict, "000002")


BAD_STD = {"inf": lambda s: np.where(np.arange(s.size) == 3, np.inf, s),
           "nan": lambda s: np.where(np.arange(s.size) == 3, np.nan, s),
           "zero": lambda s: np.where(np.arange(s.size) == 3, 0.0, s),
           "negative": lambda s: -s,
           "wrong-width": lambda s: s[:-1]}


@pytest.mark.parametrize("kind", sorted(BAD_STD))
@pytest.mark.parametrize("command", ["tokenize", "detokenize"])
def test_bad_std_is_refused(tmp_path, ckpt, kind, command):
    data = sample(tmp_path / "data", count=4)
    mean = data / "Mean.npy"
    std = tmp_path / "bad_std.npy"
    np.save(std, BAD_STD[kind](np.load(data / "Std.npy")).astype(np.float32))
    if command == "tokenize":
        target, out = data, tmp_path / "tok" / "codes"
    else:
        setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", tmp_path / "good" / "codes")
        target, out = tmp_path / "good" / "codes", tmp_path / "decoded"
    outputs = (tmp_path / "tok", tmp_path / "decoded")
    before = tree_state(tmp_path, skip=outputs)
    run = mtk(command, target, "--ckpt", ckpt, "--out", out, "--mean", mean, "--std", std, timeout=60)
    assert_one_line_error(run, "bad_std.npy")
    assert tree_state(tmp_path, skip=outputs) == before
    assert not [p for o in outputs if o.exists() for p in o.rglob("*") if p.is_file()]


def test_skip_bad_skips_every_kind_and_keeps_the_layout(tmp_path):
    data = sample(tmp_path / "data", count=8)
    files = motion_files(data)
    np.save(files[0], np.zeros((50, 272), np.float32))          # wrong width, first in order
    np.save(files[1], np.zeros((0, 263), np.float32))           # 0 frames
    np.save(files[2], np.ones((50, 263), np.int64))             # wrong dtype
    files[3].write_bytes(b"\x93NUMPY garbage header")           # unreadable header
    arr = np.load(files[4])
    arr[3, 3] = np.inf
    np.save(files[4], arr)                                      # non-finite
    out = tmp_path / "out.zarr"
    run = mtk("convert", data, out, "--skip-bad")
    assert run.code == 0, run.output
    for f in files[:5]:
        assert f.stem in run.output, (f.stem, run.output)
    info = json.loads(mtk("inspect", out, "--json").stdout)
    assert (info["layout"], info["details"]["motions"]) == ("hml263", 3), info
