"""BVH reader and writer: real files from three pipelines, round trips, error paths."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.errors import BadInputError
from mtk.formats.bvh import read_bvh, write_bvh
from mtk.schemas import PFNN31


def test_pfnn_take_matches_the_pfnn_skeleton(data_dir):
    motion = read_bvh(data_dir / "pfnn/animations/LocomotionFlat04_000.bvh")
    assert motion.num_joints == 31 and motion.fps == 120.0 and motion.frames == 2428
    assert tuple(motion.joint_names) == PFNN31.joint_names
    assert tuple(motion.parents) == PFNN31.parents
    zero = [i for i, o in enumerate(motion.offsets) if not np.any(o)]
    assert zero == [0, 1, 6, 11, 14, 17, 21, 23, 24, 28, 30]
    positions = read_bvh(data_dir / "pfnn/animations/LocomotionFlat04_000.bvh", scale=5.6444).positions()
    # PFNN's scale gives centimetres: hips around 93 cm, the head joint around 127 cm
    assert 80 < np.median(positions[:, 0, 1]) < 105
    assert 115 < np.median(positions[:, 16, 1]) < 140
    # zero-offset joints sit exactly on their parents
    assert np.allclose(positions[:, 1], positions[:, 0]) and np.allclose(positions[:, 14], positions[:, 13])


def test_smpl_bvh_files_read_at_their_rates(data_dir):
    for name, frames, fps in (("smpl272/bvh/000000.bvh", 1287, 60.0), ("motionmillion/bvh/case1_0_predict.bvh", 100, 30.0)):
        motion = read_bvh(data_dir / name)
        assert (motion.frames, motion.fps, motion.num_joints) == (frames, fps, 24)
        assert motion.joint_names[:2] == ["Pelvis", "Left_hip"]
        assert motion.local_rotations.dtype == np.float64
        rotations = motion.global_rotations()
        assert np.allclose(rotations @ np.swapaxes(rotations, -1, -2), np.eye(3), atol=1e-9)


def test_euler_channels_and_root_position(tmp_path):
    path = tmp_path / "two.bvh"
    path.write_text(
        "HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation\n"
        " JOINT b\n {\n  OFFSET 0 2 0\n  CHANNELS 3 Zrotation Yrotation Xrotation\n"
        "  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\nMOTION\nFrames: 2\nFrame Time: 0.04\n"
        "1 2 3 0 0 0 90 0 0\n1 2 3 90 0 0 0 0 0\n")
    motion = read_bvh(path, scale=0.5)
    assert motion.fps == 25.0 and motion.parents == [-1, 0]
    positions = motion.positions()
    assert np.allclose(positions[0], [[0.5, 1, 1.5], [0.5, 2, 1.5]])
    # Zrotation 90 on b does not move b itself; Yrotation 90 on the root keeps +y
    assert np.allclose(positions[1, 1], [0.5, 2, 1.5])
    child = motion.global_rotations()[0, 1] @ np.array([0, 1.0, 0])
    assert np.allclose(child, [-1, 0, 0])
    assert len(motion.end_sites) == 1 and np.allclose(motion.end_sites[0][1], [0, 0.5, 0])


@pytest.mark.parametrize("text, problem", [
    ("HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 3 Zrotation Yrotation Xrotation\n}\n", "no MOTION"),
    ("HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 3 Zrotation Yrotation Xrotation\n}\nMOTION\nFrames: 3\n"
     "Frame Time: 0.1\n1 2 3\n", "truncated"),
    ("HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 1 Wrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n1\n",
     "unknown channels"),
])
def test_bad_files_give_one_line_errors(tmp_path, text, problem):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(BadInputError) as err:
        read_bvh(path)
    assert problem in err.value.one_line() and str(path) in err.value.one_line()


def test_smpl_bvh_converts_to_272_at_the_layout_rate(data_dir, tmp_path, mtk_cli):
    for name, frames in (("smpl272/bvh/000000.bvh", 644), ("motionmillion/bvh/case1_0_predict.bvh", 100)):
        out = tmp_path / f"{frames}.npy"
        result = mtk_cli("convert", data_dir / name, out, "--to", "smpl272")
        assert result.code == 0, result.stderr
        features = np.load(out)
        assert features.shape == (frames, 272) and features.dtype == np.float64
        assert np.allclose(features[0, :8], [0, 0, 1, 0, 0, 0, 1, 0])


def test_272_bvh_272_round_trip(data_dir, tmp_path, mtk_cli):
    src = data_dir / "smpl272/features/000000.npy"
    bvh, back = tmp_path / "m.bvh", tmp_path / "back.npy"
    assert mtk_cli("convert", src, bvh, "--fps", "60").code == 0
    motion = read_bvh(bvh)
    assert motion.fps == 60.0 and motion.num_joints == 22 and motion.joint_names[1] == "Left_hip"
    assert mtk_cli("convert", bvh, back, "--to", "smpl272", "--fps", "60").code == 0
    assert np.abs(np.load(back) - np.load(src)).max() < 1e-4
    # the BVH carries the exact SMPL rotations: FK with the fitted offsets gives the features' joints
    from mtk.features import recover_joints
    from mtk.schemas import SMPL272

    assert np.abs(motion.positions() - recover_joints(np.load(src), SMPL272)[:, [
        SMPL272.skeleton.joint_names.index(n.lower()) for n in motion.joint_names]]).max() < 1e-4


def test_263_bvh_reproduces_joint_positions(data_dir, tmp_path, mtk_cli):
    bvh = tmp_path / "m.bvh"
    assert mtk_cli("convert", data_dir / "humanml3d/new_joint_vecs/012314.npy", bvh).code == 0
    from mtk.formats.bvh import smpl22_motion

    _, positions = smpl22_motion(read_bvh(bvh), bvh)
    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy")
    assert np.abs(positions - joints).max() < 1e-4


def test_resampling_is_by_time(data_dir, tmp_path, mtk_cli):
    """60 -> 25 fps is no integer stride; every output frame sits at k/25 s of the source."""
    src = data_dir / "smpl272/bvh/000000.bvh"
    out = tmp_path / "j.npy"
    assert mtk_cli("convert", src, out, "--to", "joints", "--fps", "25").code == 0
    joints = np.load(out)
    source = read_bvh(src).positions()
    assert joints.shape[0] == int((source.shape[0] - 1) / 60 * 25) + 1
    k = 7  # 7/25 s = source frame 16.8
    expected = source[16] * 0.2 + source[17] * 0.8
    assert np.allclose(joints[k], expected, atol=1e-5)
    assert np.allclose(joints[5], source[12], atol=1e-5)  # 5/25 s = frame 12 exactly


def test_bvh_no_map_fits_is_refused_naming_the_unmapped_joints(data_dir, tmp_path, mtk_cli):
    take = read_bvh(data_dir / "pfnn/animations/LocomotionFlat04_000.bvh")
    renamed = tmp_path / "renamed.bvh"
    write_bvh(renamed, [f"bone{j}" for j in range(take.num_joints)], take.parents, take.offsets,
              take.local_rotations[:10], take.root_positions[:10], take.fps)
    out = tmp_path / "x.npy"
    result = mtk_cli("convert", renamed, out, "--to", "hml263")
    assert result.code == 2 and "no built-in skeleton map fits" in result.stderr and not out.exists()
    assert "has no source for SMPL joints pelvis, left_hip" in result.stderr and "--joint-map" in result.stderr
    inspected = mtk_cli("inspect", data_dir / "pfnn/animations/LocomotionFlat04_000.bvh", "--json")
    assert inspected.code == 0 and '"kind": "bvh"' in inspected.stdout and '"pfnn31"' in inspected.stdout
