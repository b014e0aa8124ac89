"""Feature extraction: 263 from joints (against HumanML3D's released files) and 272 from SMPL rotations."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.features import recover_joints
from mtk.features.hml import canonical_positions, extract_263
from mtk.features.smpl272 import extract_272
from mtk.maths.rotations import axis_angle_to_matrix
from mtk.maths.smoothing import gaussian_smooth
from mtk.schemas import HML263, KIT251, SMPL272


@pytest.fixture(scope="module")
def hml(data_dir):
    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy").astype(np.float64)
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy")
    return joints, features


def test_263_matches_the_released_features(hml):
    joints, released = hml
    features = extract_263(joints, HML263)
    assert features.shape == (169, 263) and features.dtype == np.float32
    # new_joints lack the source's last frame, so the smoothed heading differs only near the end
    head = slice(0, 80)
    for block in HML263.blocks:
        error = np.abs(features[head, block.slice] - released[head, block.slice]).max()
        assert error < 2e-5, block.name
    contacts = HML263.block("foot_contacts").slice
    assert (features[:, contacts] == released[:169, contacts]).all(axis=1).mean() >= 0.95
    for block in HML263.blocks:
        assert np.abs(features[:, block.slice] - released[:169, block.slice]).max() < 0.02, block.name


@pytest.mark.parametrize("quirks", [True, False])
def test_263_round_trip_recovers_the_preprocessed_joints(hml, quirks):
    joints, _ = hml
    features = extract_263(joints, HML263, reproduce_quirks=quirks)
    recovered = recover_joints(features.astype(np.float64), HML263)
    expected, _ = canonical_positions(joints, HML263.skeleton, reproduce_quirks=quirks)
    assert np.abs(recovered - expected[:-1]).max() < 1e-4


def test_quirk_flag_changes_heading_channels_only_where_it_should(hml):
    joints, _ = hml
    quirky, fixed = extract_263(joints, HML263), extract_263(joints, HML263, reproduce_quirks=False)
    height = HML263.block("root_height").slice
    assert np.allclose(quirky[:, height], fixed[:, height])
    assert np.abs(quirky[:, 0] - fixed[:, 0]).max() > 1e-3


def test_263_branch_fix_survives_a_turn_through_180_degrees(hml):
    """P4: spinning in place through 270 degrees; the released encoder loses heading, the fixed one does not."""
    from mtk.maths.rotations import rotation_y

    joints, _ = hml
    angle = np.linspace(0, 1.5 * np.pi, 120)
    spinning = (rotation_y(angle)[:, None] @ joints[:1].repeat(120, 0)[..., None])[..., 0]
    errors = {}
    for quirks in (True, False):
        features = extract_263(spinning, HML263, reproduce_quirks=quirks)
        recovered = recover_joints(features.astype(np.float64), HML263)
        expected, _ = canonical_positions(spinning, HML263.skeleton, reproduce_quirks=quirks)
        errors[quirks] = np.abs(recovered - expected[:-1]).max()
    assert errors[False] < 1e-4 < 1e-2 < errors[True]


def test_272_reproduces_the_released_sample(data_dir):
    smpl = np.load(data_dir / "smpl272/smpl85/000000.npy").astype(np.float64)
    joints = np.load(data_dir / "smpl272/joints/000000.npy")[:, :22].astype(np.float64)
    released = np.load(data_dir / "smpl272/features/000000.npy")
    rotations = axis_angle_to_matrix(smpl[:, :66].reshape(-1, 22, 3))
    features = extract_272(rotations, joints, SMPL272)
    assert features.shape == released.shape
    assert np.abs(features - released).max() < 1e-4


def test_gaussian_smooth_matches_the_definition():
    x = np.zeros(201)
    x[100] = 1.0
    smoothed = gaussian_smooth(x, 20.0)
    taps = np.arange(-80, 81)
    kernel = np.exp(-0.5 * (taps / 20.0) ** 2)
    assert np.allclose(smoothed[20:181], kernel / kernel.sum())
    assert np.allclose(gaussian_smooth(np.ones((50, 3)), 20.0), 1.0)


def test_kit251_round_trip_on_kit_shaped_joints():
    """KIT joints (mm-like units, no target skeleton: no retargeting) -> 251 -> joints."""
    from mtk.sample.procedural import procedural_motion

    smpl = procedural_motion(1, 4, KIT251.fps).joints
    # MMM joint k sits on the SMPL joint kit_from_smpl[k]
    kit_from_smpl = [0, 3, 6, 9, 15, 16, 18, 20, 17, 19, 21, 1, 4, 7, 10, 10, 2, 5, 8, 11, 11]
    joints = smpl[:, kit_from_smpl] * 1000.0
    joints[:, [15, 20], 2] += 40.0  # toes ahead of the metatarsals
    features = extract_263(joints, KIT251)
    assert features.shape == (joints.shape[0] - 1, 251)
    expected, _ = canonical_positions(joints, KIT251.skeleton)
    recovered = recover_joints(features.astype(np.float64), KIT251)
    assert np.abs(recovered - expected[:-1]).max() < 1e-3  # mm-scale units
    contacts = features[:, KIT251.block("foot_contacts").slice]
    assert set(np.unique(contacts)) <= {0.0, 1.0}


def test_convert_joints_file_to_hml263(data_dir, tmp_path, mtk_cli):
    src = data_dir / "humanml3d/new_joints/012314.npy"
    out, fixed = tmp_path / "f.npy", tmp_path / "fixed.npy"
    assert mtk_cli("convert", src, out, "--to", "hml263").code == 0
    assert np.array_equal(np.load(out), extract_263(np.load(src).astype(np.float64), HML263))
    result = mtk_cli("convert", src, fixed, "--to", "hml263", "--fix-quirks")
    assert result.code == 0 and "quirks fixed" in result.stdout
    assert np.abs(np.load(fixed)[:, 0] - np.load(out)[:, 0]).max() > 1e-3
    wrong = mtk_cli("convert", data_dir / "humanml3d/new_joint_vecs/012314.npy", tmp_path / "w.npy", "--to", "hml263")
    assert wrong.code == 2 and "(T, 22, 3)" in wrong.stderr and not (tmp_path / "w.npy").exists()
