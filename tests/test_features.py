"""Feature families: the registry refuses what would make lookups ambiguous, skeletons are found by one
function, and a family written as one module is found and used by every command (the recipe holds)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mtk.features import (family_of, folder_for_layout, folder_named, get_layout, layouts, register_family,
                          skeleton_for_joints)
from mtk.features.hml import HmlFamily
from mtk.features.registry import _FAMILIES
from mtk.schemas import HML263, KIT21, KIT251, PFNN31, SMPL22, SMPL272

ROOT = Path(__file__).resolve().parent.parent


def test_every_layout_has_its_family_and_folder():
    assert set(layouts()) >= {"hml263", "kit251", "smpl272"}
    for layout in layouts().values():
        assert family_of(layout).name == layout.family and layout in family_of(layout).layouts
    assert folder_for_layout(HML263) is folder_for_layout(KIT251) is folder_named("humanml3d")
    assert folder_for_layout(SMPL272).motions == "motion_data/vector_272"
    assert folder_named("humanml3d").stats_files(5.0) == ("mean.npy", "std.npy")
    assert folder_named("motionmillion").stats_files(5.0) == folder_named("motionmillion").stats_files()


class _Again(HmlFamily):
    name = "hml-again"


def test_a_second_registration_is_refused():
    with pytest.raises(ValueError, match="registered already"):
        register_family(HmlFamily())
    with pytest.raises(ValueError, match="names family 'hml'"):
        register_family(_Again())
    renamed = replace(HML263, name="hml263b", family="hml-again")
    _Again.layouts = (renamed,)
    try:
        with pytest.raises(ValueError, match="263 columns, as hml263 has"):
            register_family(_Again())
        _Again.layouts = (replace(renamed, dim=999),)
        with pytest.raises(ValueError, match="folder convention named 'humanml3d'"):
            register_family(_Again())
    finally:
        del _Again.layouts
    assert "hml-again" not in _FAMILIES and "hml263b" not in layouts()


def test_skeleton_for_joints_by_count_and_by_names():
    assert skeleton_for_joints(22) is SMPL22 and skeleton_for_joints(21) is KIT21
    assert skeleton_for_joints(31) is PFNN31 and skeleton_for_joints(55) is None
    bvh_names = ["Pelvis", *(n[:1].upper() + n[1:] for n in SMPL22.joint_names[1:]), "Left_hand", "Jaw"]
    assert skeleton_for_joints(bvh_names) is SMPL22
    assert SMPL22.indices_in(bvh_names) == list(range(22))
    assert skeleton_for_joints(list(PFNN31.joint_names[::-1])) is PFNN31
    assert skeleton_for_joints(["root", "spine", "head"]) is None


def test_layout_lookup_by_name_and_width():
    assert get_layout("hml263") is HML263 and get_layout("272") is SMPL272
    with pytest.raises(KeyError, match="known: hml263, kit251, smpl272"):
        get_layout("hml264")


def test_families_answer_for_their_layouts():
    hml, smpl272 = family_of(HML263), family_of(SMPL272)
    assert hml.has_quirks and not hml.needs_rotations and not hml.stores_rotations
    assert smpl272.needs_rotations and smpl272.stores_rotations and smpl272.exact_pose
    assert "KIT-ML" in hml.published_stats(KIT251) and "7 groups" in hml.published_stats(HML263)
    with pytest.raises(ValueError, match="does not store"):
        hml.local_rotations(np.zeros((3, 263)), HML263)


_SCRIPT = r"""
import contextlib, io, json, sys
from mtk.cli import main

def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
    return [code, out.getvalue(), err.getvalue()]

work = sys.argv[1]
print(json.dumps({
    "features": run("convert", f"{work}/joints.npy", f"{work}/toy.npy", "--to", "toy18"),
    "inspect": run("inspect", f"{work}/toy.npy", "--json"),
    "joints": run("convert", f"{work}/toy.npy", f"{work}/back.npy", "--to", "joints"),
    "dataset": run("inspect", f"{work}/ds", "--json"),
    "stats": run("stats", f"{work}/ds", "--out", f"{work}/out", "--workers", "1", "--json"),
    "check": run("stats", "--check", f"{work}/out/stats/mean.npy", f"{work}/out/stats/std.npy", "--json"),
    "help": run("convert", "--help"),
}))
"""


def _walk(frames: int, seed: int) -> np.ndarray:
    """A leg (hip, knee, foot) moving smoothly: (frames, 3, 3) float32 positions."""
    rng = np.random.default_rng(seed)
    hip = np.cumsum(rng.normal(0, 0.01, (frames, 3)), axis=0) + [0, 0.9, 0]
    return np.stack([hip, hip - [0, 0.4, 0], hip - [0, 0.8, 0]], axis=1).astype(np.float32)


def test_a_family_is_one_module(tmp_path):
    """tests/toy_family.py dropped into mtk/features/ of a copy of the package (not imported by the test):
    inspect, convert --to toy18, recovery (--to joints) and stats all use it."""
    package = tmp_path / "pkg"
    shutil.copytree(ROOT / "mtk", package / "mtk", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests" / "toy_family.py", package / "mtk" / "features" / "toy.py")
    work = tmp_path / "work"
    (work / "ds" / "toy_vecs").mkdir(parents=True)
    (work / "ds" / "lists").mkdir()
    joints = _walk(40, 0)
    np.save(work / "joints.npy", joints)
    motions = {name: _walk(30 + 5 * k, k + 1).reshape(-1, 9) for k, name in enumerate("abc")}
    for name, positions in motions.items():
        features = np.concatenate([positions, np.diff(positions, axis=0, prepend=positions[:1])], 1)
        np.save(work / "ds" / "toy_vecs" / f"{name}.npy", features.astype(np.float32))
    (work / "ds" / "lists" / "train.txt").write_text("a\nb\n")
    (work / "ds" / "lists" / "test.txt").write_text("c\n")

    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(work)], capture_output=True, text=True,
                          cwd=tmp_path, env={"PYTHONPATH": str(package), "PATH": ""}, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    for step, (code, _, err) in runs.items():
        assert code == 0, f"{step}: {err}"

    features = np.load(work / "toy.npy")
    assert features.shape == (40, 18)
    report = json.loads(runs["inspect"][1])
    assert report["layout"] == "toy18" and report["fps"] == 25.0
    assert report["details"]["velocity_median_error"] < 1e-6
    assert not [f for f in report["findings"] if f["level"] != "info" and f["code"] != "too_short"]
    np.testing.assert_allclose(np.load(work / "back.npy"), joints, atol=1e-6)

    dataset = json.loads(runs["dataset"][1])
    assert (dataset["layout"], dataset["details"]["family"]) == ("toy18", "toyset")
    sidecar = json.loads(runs["stats"][1])
    assert sidecar["family"] == "toyset" and sidecar["motions"] == 2
    train = np.concatenate([np.load(work / "ds" / "toy_vecs" / f"{n}.npy") for n in "ab"]).astype(np.float64)
    np.testing.assert_allclose(np.load(work / "out" / "stats" / "mean.npy"), train.mean(0), rtol=1e-5, atol=1e-7)
    check = json.loads(runs["check"][1])
    assert check["check"]["description"].startswith("Toy stats/mean.npy")
    assert "toy18" in runs["help"][1]
