"""Rotation conversions: round trips on random rotations (hypothesis), numpy and torch agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mtk.maths import rotations as rot

unit_floats = st.floats(-1.0, 1.0, allow_nan=False, width=64)
quaternions = arrays(np.float64, (16, 4), elements=unit_floats).filter(
    lambda q: (np.linalg.norm(q, axis=-1) > 0.1).all()).map(lambda q: q / np.linalg.norm(q, axis=-1, keepdims=True))


def same_rotation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max())


@settings(max_examples=60, deadline=None)
@given(quaternions)
def test_quat_matrix_axis_angle_round_trip(q):
    m = rot.quat_to_matrix(q)
    assert np.allclose(m @ np.swapaxes(m, -1, -2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(m), 1.0)
    q2 = rot.matrix_to_quat(m)
    assert (q2[:, 0] >= 0).all()
    # q and -q are the same rotation (w = 0 leaves the sign free)
    assert np.minimum(np.abs(q - q2).max(-1), np.abs(q + q2).max(-1)).max() < 1e-6
    aa = rot.quat_to_axis_angle(q)
    assert same_rotation(rot.axis_angle_to_matrix(aa), m) < 1e-6
    assert same_rotation(rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(m)), m) < 1e-6
    away_from_pi = np.linalg.norm(aa, axis=-1) < np.pi - 1e-3  # at pi, axis and -axis are the same rotation
    assert same_rotation(rot.matrix_to_axis_angle(m)[away_from_pi], aa[away_from_pi]) < 1e-6


@settings(max_examples=60, deadline=None)
@given(quaternions, st.sampled_from(["columns", "rows"]))
def test_matrix_6d_round_trip_both_conventions(q, convention):
    m = rot.quat_to_matrix(q)
    sixd = rot.matrix_to_6d(m, convention)
    assert same_rotation(rot.sixd_to_matrix(sixd, convention), m) < 1e-6


@settings(max_examples=30, deadline=None)
@given(quaternions)
def test_6d_conventions_differ_by_transpose(q):
    m = rot.quat_to_matrix(q)
    decoded_wrong = rot.sixd_to_matrix(rot.matrix_to_6d(m, "columns"), "rows")
    assert same_rotation(decoded_wrong, np.swapaxes(m, -1, -2)) < 1e-6


@settings(max_examples=30, deadline=None)
@given(quaternions)
def test_log_exp_round_trip_and_canonical_bound(q):
    log = rot.quat_log(q)
    assert (np.linalg.norm(log, axis=-1) <= np.pi / 2 + 1e-9).all()
    assert same_rotation(rot.quat_exp(log), rot.quat_canonical(q)) < 1e-6


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (8, 3), elements=st.floats(-1.4, 1.4, allow_nan=False)),
       st.sampled_from(["XYZ", "ZYX", "ZXY", "YXZ", "XZY", "YZX"]))
def test_euler_round_trip(angles, order):
    m = rot.euler_to_matrix(angles, order)
    assert same_rotation(rot.euler_to_matrix(rot.matrix_to_euler(m, order), order), m) < 1e-6


def test_quat_rotate_matches_matrix_and_multiply_composes():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(5, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    p = rng.normal(size=(5, 4))
    p /= np.linalg.norm(p, axis=-1, keepdims=True)
    v = rng.normal(size=(5, 3))
    assert np.allclose(rot.quat_rotate(q, v), (rot.quat_to_matrix(q) @ v[..., None])[..., 0])
    assert np.allclose(rot.quat_to_matrix(rot.quat_multiply(q, p)), rot.quat_to_matrix(q) @ rot.quat_to_matrix(p))
    assert np.allclose(rot.quat_rotate(rot.quat_between(v, v[::-1]), v / np.linalg.norm(v, axis=-1, keepdims=True)),
                       v[::-1] / np.linalg.norm(v[::-1], axis=-1, keepdims=True))


def test_rotation_y_maps_z_to_heading():
    angle = np.array([0.3, -2.0])
    forward = (rot.rotation_y(angle) @ np.array([0.0, 0.0, 1.0]))
    assert np.allclose(forward, np.stack([np.sin(angle), np.zeros(2), np.cos(angle)], -1))
    assert np.allclose(rot.quat_to_matrix(rot.yaw_quat(angle)), rot.rotation_y(angle))


@pytest.mark.parametrize("function,shape", [
    (rot.quat_to_matrix, (3, 2, 4)), (rot.matrix_to_quat, None), (rot.quat_to_axis_angle, (3, 2, 4)),
    (lambda m: rot.matrix_to_6d(m, "rows"), None), (lambda x: rot.sixd_to_matrix(x, "columns"), (3, 2, 6)),
])
def test_torch_and_numpy_agree_on_any_leading_shape(function, shape):
    rng = np.random.default_rng(1)
    if shape is None:
        q = rng.normal(size=(3, 2, 4))
        x = rot.quat_to_matrix(q / np.linalg.norm(q, axis=-1, keepdims=True))
    else:
        x = rng.normal(size=shape)
    expected = function(x)
    got = function(torch.from_numpy(x))
    assert isinstance(got, torch.Tensor)
    assert got.shape == expected.shape
    assert np.allclose(got.numpy(), expected, atol=1e-10)


def test_geodesic_angle():
    a = rot.axis_angle_to_matrix(np.array([0.0, 0.0, 0.0]))
    b = rot.axis_angle_to_matrix(np.array([0.0, 0.7, 0.0]))
    assert np.isclose(rot.geodesic_angle(a, b), 0.7)
