"""Mirroring: features, joints and rotations mirror exactly and back; mirroring features equals making them from
the mirrored motion; texts swap sides; ``mtk augment --mirror`` over stores (the CLI in-process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mtk.formats.datasets import open_dataset
from mtk.jobs.augment import mirrored_name
from mtk.mocap.retarget import joints_on
from mtk.mocap.sides import swap_sides
from mtk.features import family_of, get_layout, recover_joints, recover_local_rotations
from mtk.features.hml import extract_263
from mtk.features.mirror import mirror_joints, mirror_rotations
from mtk.features.smpl272 import extract_272
from mtk.maths.rotations import axis_angle_to_matrix
from mtk.schemas import KIT21, SMPL22


def mirror_features(features: np.ndarray, layout) -> np.ndarray:
    return family_of(layout).mirror(features, layout)


def run(cli, *args) -> tuple[int, str, str]:
    """``mtk ARGS`` in-process: exit code, stdout, stderr."""
    result = cli(*args)
    return result.code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def hml_joints(data_dir) -> np.ndarray:
    return np.load(data_dir / "humanml3d/new_joints/012314.npy").astype(np.float64)


@pytest.fixture(scope="module")
def smpl_motion(data_dir) -> tuple[np.ndarray, np.ndarray]:
    params = np.load(data_dir / "smpl272/smpl85/000000.npy").astype(np.float64)[:300]
    joints = np.load(data_dir / "smpl272/joints/000000.npy")[:300, :22].astype(np.float64)
    return axis_angle_to_matrix(params[:, :66].reshape(-1, 22, 3)), joints


def test_mirroring_twice_gives_the_features_back_bit_for_bit(data_dir, hml_joints):
    cases = [(np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy"), "hml263"),
             (np.load(data_dir / "smpl272/features/000000.npy"), "smpl272"),
             (extract_263(joints_on(KIT21, hml_joints), get_layout("kit251")), "kit251")]
    for features, name in cases:
        layout = get_layout(name)
        once = mirror_features(features, layout)
        assert once.dtype == features.dtype and not np.array_equal(once, features)
        assert np.array_equal(mirror_features(once, layout), features)


@pytest.mark.parametrize("quirks", [True, False])
def test_mirrored_263_features_are_the_features_of_the_mirrored_joints(hml_joints, quirks):
    """Exact (the joints are on the target skeleton already, so extraction does not retarget them again;
    retargeting would give each side back its own, slightly different, bone lengths)."""
    layout = get_layout("hml263")
    features = extract_263(hml_joints, layout, reproduce_quirks=quirks, retarget=False)
    mirrored = extract_263(mirror_joints(hml_joints, SMPL22), layout, reproduce_quirks=quirks, retarget=False)
    assert np.array_equal(mirror_features(features, layout), mirrored)


def test_mirrored_251_features_are_the_features_of_the_mirrored_joints(hml_joints):
    layout = get_layout("kit251")
    kit = joints_on(KIT21, hml_joints)
    assert np.array_equal(mirror_features(extract_263(kit, layout), layout),
                          extract_263(mirror_joints(kit, KIT21), layout))


def test_mirrored_272_features_are_the_features_of_the_mirrored_rotations(smpl_motion):
    rotations, joints = smpl_motion
    layout = get_layout("smpl272")
    features = extract_272(rotations, joints, layout)
    mirrored = extract_272(mirror_rotations(rotations, SMPL22), mirror_joints(joints, SMPL22), layout)
    assert np.abs(mirror_features(features, layout) - mirrored).max() < 1e-12
    back = recover_local_rotations(mirror_features(features, layout), layout).rotations
    assert np.abs(back - recover_local_rotations(mirrored, layout).rotations).max() < 1e-9


def test_mirrored_rotations_are_the_272_pipelines_axis_angle_rule(smpl_motion, data_dir):
    """The 272 pipeline mirrors SMPL parameters by trading left and right and negating each axis-angle's y
    and z: the same rotations as M R M."""
    params = np.load(data_dir / "smpl272/smpl85/000000.npy").astype(np.float64)[:50, :66].reshape(-1, 22, 3)
    theirs = axis_angle_to_matrix((params * [1, -1, -1])[:, SMPL22.mirror_permutation()])
    assert np.abs(mirror_rotations(axis_angle_to_matrix(params), SMPL22) - theirs).max() < 1e-12


@pytest.mark.parametrize("name", ["hml263", "smpl272"])
def test_recovered_joints_of_mirrored_features_are_the_mirrored_joints(data_dir, name):
    layout = get_layout(name)
    path = "humanml3d/new_joint_vecs/012314.npy" if name == "hml263" else "smpl272/features/000000.npy"
    features = np.load(data_dir / path).astype(np.float64)
    assert np.abs(recover_joints(mirror_features(features, layout), layout)
                  - mirror_joints(recover_joints(features, layout), SMPL22)).max() < 1e-9


def test_mirrored_names_sit_beside_the_originals():
    assert mirrored_name("012314") == "M012314"
    assert mirrored_name("humanml/000001") == "humanml/M000001"


@pytest.mark.parametrize("text, swapped", [
    ("a person turns left#a/DET person/NOUN turn/VERB left/ADV#0.0#0.0",
     "a person turns right#a/DET person/NOUN turn/VERB right/ADV#0.0#0.0"),
    ("Left hand up, RIGHT foot back", "Right hand up, LEFT foot back"),
    ("walks leftwards, then turns clockwise", "walks rightwards, then turns counterclockwise"),
    ("spins counter-clockwise with his left-hand side", "spins clockwise with his right-hand side"),
    ("the leftover cup on the bright shelf", "the leftover cup on the bright shelf"),
    ("he sits right away, all right", "he sits right away, all right"),
    ("a/DET person/NOUN step/VERB right/ADV away/ADV", "a/DET person/NOUN step/VERB right/ADV away/ADV"),
])
def test_texts_swap_sides_word_by_word(text, swapped):
    assert swap_sides(text) == swapped
    if "counter-" not in text:
        assert swap_sides(swapped) == text


# --- mtk augment --------------------------------------------------------------------------------------


def _humanml3d_folder(root: Path, data_dir: Path) -> Path:
    """A HumanML3D folder holding the real motion 012314 and two copies of it (under other names)."""
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    names = ["012314", "000002", "000003"]
    for name in names:
        shutil.copy(data_dir / "humanml3d/new_joint_vecs/012314.npy", root / "new_joint_vecs" / f"{name}.npy")
        (root / "texts" / f"{name}.txt").write_text(
            "a person walks forward and turns left#a/DET person/NOUN walk/VERB forward/ADV and/CCONJ turn/VERB "
            "left/ADV#0.0#0.0\nsomeone spins clockwise#someone/PRON spin/VERB clockwise/ADV#0.0#0.0\n")
    (root / "train.txt").write_text("012314\n000002\n")
    (root / "test.txt").write_text("000003\n")
    return root


def test_augment_a_humanml3d_folder(data_dir, tmp_path, mtk_cli):
    src = _humanml3d_folder(tmp_path / "HumanML3D", data_dir)
    out = tmp_path / "mirrored"
    code, summary, err = run(mtk_cli, "augment", src, out, "--mirror")
    assert code == 0 and "wrote 6 motions (3 + 3 mirrored M copies)" in summary and "mtk stats" in err
    layout = get_layout("hml263")
    original = np.load(src / "new_joint_vecs/012314.npy")
    mirrored = np.load(out / "new_joint_vecs/M012314.npy")
    assert mirrored.dtype == np.float32 and np.array_equal(mirrored, mirror_features(original, layout))
    assert np.array_equal(mirror_features(mirrored, layout), original)
    assert (out / "texts/M012314.txt").read_text().splitlines()[0].startswith(
        "a person walks forward and turns right#a/DET person/NOUN walk/VERB forward/ADV and/CCONJ turn/VERB right/ADV")
    assert "counterclockwise/ADV" in (out / "texts/M012314.txt").read_text()
    assert (out / "train.txt").read_text().split() == ["012314", "000002", "M012314", "M000002"]
    assert (out / "test.txt").read_text().split() == ["000003", "M000003"]
    assert not (out / "Mean.npy").exists()
    again = tmp_path / "again"
    code, summary, _ = run(mtk_cli, "augment", out, again, "--mirror")
    assert code == 0 and "6 motions already had their mirror image" in summary
    assert sorted(p.name for p in (again / "new_joint_vecs").iterdir()) == sorted(
        p.name for p in (out / "new_joint_vecs").iterdir())


def test_augment_a_272_dataset_into_a_zarr_store(data_dir, tmp_path, mtk_cli):
    src = tmp_path / "mm"
    motion = src / "motion_data/vector_272/humanml/000000.npy"
    motion.parent.mkdir(parents=True)
    features = np.load(data_dir / "smpl272/features/000000.npy")[:200]
    np.save(motion, features)
    (src / "texts/humanml").mkdir(parents=True)
    (src / "texts/humanml/000000.txt").write_text("a man steps to the left\n")
    (src / "split/version1").mkdir(parents=True)
    (src / "split/version1/train.txt").write_text("humanml/000000\n")
    out = tmp_path / "mm.zarr"
    code, _, _ = run(mtk_cli, "augment", src, out, "--mirror")
    assert code == 0
    reader = open_dataset(out)
    assert reader.names == ["humanml/000000", "humanml/M000000"]
    copy = reader.read("humanml/M000000")
    assert np.array_equal(copy.features, mirror_features(features, get_layout("smpl272")))
    assert copy.texts == ["a man steps to the right"]
    assert reader.info.splits["version1/train"] == ["humanml/000000", "humanml/M000000"]
    code, out_json, _ = run(mtk_cli, "inspect", out, "--json")
    assert code == 0 and json.loads(out_json)["details"]["motions"] == 2


def test_augment_needs_an_augmentation(data_dir, tmp_path, mtk_cli):
    src = _humanml3d_folder(tmp_path / "HumanML3D", data_dir)
    code, _, err = run(mtk_cli, "augment", src, tmp_path / "out")
    assert code == 2 and "pass --mirror" in err and not (tmp_path / "out").exists()


def test_augment_a_tree_of_npy_files_into_an_npy_folder(data_dir, tmp_path, mtk_cli):
    src = tmp_path / "tree"
    src.mkdir()
    shutil.copy(data_dir / "humanml3d/new_joint_vecs/012314.npy", src / "a.npy")
    (src / "a.txt").write_text("turns LEFT\n")
    out = tmp_path / "out"
    code, _, _ = run(mtk_cli, "augment", src, out, "--mirror", "--as-dataset")
    assert code == 0
    reader = open_dataset(out)
    assert sorted(reader.names) == ["Ma", "a"] and reader.read("Ma").texts == ["turns RIGHT"]
