"""Joint recovery against the real shipped files (docs/motion.md, "What the families compute")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtk.features import recover_joints, recover_local_rotations
from mtk.maths import rotations as rot
from mtk.schemas import HML263, KIT251, SMPL272


def test_hml263_recovery_matches_new_joints_numpy_and_torch(data_dir):
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy")
    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy")
    recovered = recover_joints(features, HML263)
    assert recovered.shape == joints.shape == (170, 22, 3)
    assert np.abs(recovered - joints).max() < 1e-5
    recovered_torch = recover_joints(torch.from_numpy(features), HML263)
    assert isinstance(recovered_torch, torch.Tensor)
    assert np.abs(recovered_torch.numpy() - joints).max() < 1e-5


def _smpl272_sample(data_dir):
    features = np.load(data_dir / "smpl272/features/000000.npy")
    joints = np.load(data_dir / "smpl272/joints/000000.npy")[:, :22].astype(np.float64)
    # the 272 pipeline shifts by ori = (root x of frame 0, lowest y, root z of frame 0)
    ori = np.array([joints[0, 0, 0], joints[..., 1].min(), joints[0, 0, 2]])
    return features, joints - ori


def test_smpl272_recovery_matches_source_joints(data_dir):
    features, joints = _smpl272_sample(data_dir)
    assert features.dtype == np.float64
    assert np.abs(recover_joints(features, SMPL272) - joints).max() < 1e-4
    torch_joints = recover_joints(torch.from_numpy(features), SMPL272).numpy()
    assert np.abs(torch_joints - joints).max() < 1e-4


def test_smpl272_local_rotations_match_smpl_parameters(data_dir):
    features, joints = _smpl272_sample(data_dir)
    smpl85 = np.load(data_dir / "smpl272/smpl85/000000.npy").astype(np.float64)
    source = rot.axis_angle_to_matrix(smpl85[:, :66].reshape(-1, 22, 3))
    recovered = recover_local_rotations(features, SMPL272)
    assert recovered.rotations.shape == (1287, 22, 3, 3)
    assert rot.geodesic_angle(source, recovered.rotations).max() < 1e-4
    # translation is the pelvis joint (not SMPL transl, pitfall P11)
    assert np.abs(recovered.translation - joints[:, 0]).max() < 1e-4


def test_263_rotations_refused_for_smpl_recovery():
    with pytest.raises(ValueError, match="swing"):
        recover_local_rotations(np.zeros((3, 263)), HML263)


def test_recovery_rejects_wrong_width_and_handles_batches():
    with pytest.raises(ValueError, match="263"):
        recover_joints(np.zeros((4, 272)), HML263)
    batch = np.random.default_rng(0).normal(size=(2, 5, KIT251.dim))
    out = recover_joints(batch, KIT251)
    assert out.shape == (2, 5, 21, 3)
    assert np.allclose(out[1], recover_joints(batch[1], KIT251))


def test_272_root_velocity_uses_earlier_heading():
    """A body walking +z in its own frame while turning: velocity at t is rotated by the heading of t-1."""
    frames = 4
    features = np.zeros((frames, 272))
    features[:, 2], features[:, 6] = 1.0, 1.0  # identity heading change
    delta = 0.5
    features[1:, 2], features[1:, 4] = np.cos(delta), -np.sin(delta)  # turn by delta each frame
    features[1:, 1] = 1.0  # 1 unit forward per frame
    root = recover_joints(features, SMPL272)[:, 0]
    # step t uses heading (t-1)*delta
    expected_x = np.cumsum([0.0] + [np.sin((t - 1) * delta) for t in range(1, frames)])
    expected_z = np.cumsum([0.0] + [np.cos((t - 1) * delta) for t in range(1, frames)])
    assert np.allclose(root[:, 0], expected_x) and np.allclose(root[:, 2], expected_z)
