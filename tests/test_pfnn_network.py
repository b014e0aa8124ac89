"""The PFNN network against train_pfnn.py's definition: phase function, dropout, init, regulariser, forward."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mtk.pfnn.network import KEEP_PROBABILITY, PhaseFunctionedNetwork, phase_blend_weights
from mtk.pfnn.phase_function import control_weights, cubic
from mtk.pfnn.weights import PfnnWeights, param_shapes


def _pfnn_blend(controls: np.ndarray, p: float) -> np.ndarray:
    """PFNN's own indexing, written out: s = 4p, k1 = int(s) % 4, neighbours mod 4, cubic in mu."""
    s = 4 * p
    k1 = int(s) % 4
    mu = s % 1.0
    y0, y1, y2, y3 = (controls[(k1 + o) % 4] for o in (-1, 0, 1, 2))
    return ((-0.5 * y0 + 1.5 * y1 - 1.5 * y2 + 0.5 * y3) * mu ** 3 + (y0 - 2.5 * y1 + 2 * y2 - 0.5 * y3) * mu ** 2
            + (-0.5 * y0 + 0.5 * y2) * mu + y1)


def test_blend_at_control_phases_is_that_control():
    controls = np.random.default_rng(0).normal(size=(4, 5, 3))
    for k in range(4):
        weights = control_weights(k / 4)
        np.testing.assert_array_equal(weights, np.eye(4)[k])
        np.testing.assert_array_equal(np.tensordot(weights, controls, 1), controls[k])


@pytest.mark.parametrize("p", [0.0, 0.03, 0.24, 0.26, 0.5, 0.61, 0.74, 0.9999, 0.999999])
def test_blend_between_controls_is_pfnns_cubic(p: float):
    controls = np.random.default_rng(1).normal(size=(4, 6))
    expected = _pfnn_blend(controls, p)
    np.testing.assert_allclose(np.tensordot(control_weights(p), controls, 1), expected, rtol=1e-12, atol=1e-12)
    torch_weights = phase_blend_weights(torch.tensor([p], dtype=torch.float64))[0].numpy()
    np.testing.assert_allclose(torch_weights @ controls, expected, rtol=1e-12, atol=1e-12)


def test_blend_is_cyclic_and_smooth():
    controls = np.random.default_rng(2).normal(size=(4, 4))
    ps = np.linspace(0, 1, 4001)[:-1]
    curve = control_weights(ps) @ controls
    # continuous across the wrap and across each control boundary (Catmull-Rom is C1)
    np.testing.assert_allclose(control_weights(1 - 1e-9) @ controls, controls[0], atol=1e-7)
    assert np.abs(np.diff(curve, axis=0)).max() < 0.02
    assert cubic(1.0, 2.0, 3.0, 4.0, 0.5) == 2.5  # a straight line stays straight


def test_dropout_keeps_units_with_probability_0_7():
    net = PhaseFunctionedNetwork(8, 4, hidden=16)
    assert KEEP_PROBABILITY == 0.7
    assert [d.p for d in net.dropout] == pytest.approx([0.3, 0.3, 0.3])
    torch.manual_seed(0)
    out = net.dropout[0](torch.ones(200_000))
    kept = (out != 0).float().mean().item()
    assert kept == pytest.approx(0.7, abs=0.005)
    assert out[out != 0].unique().tolist() == pytest.approx([1 / 0.7])  # inverted dropout, as PFNN divides
    net.eval()
    assert torch.equal(net.dropout[0](torch.ones(10)), torch.ones(10))


def test_dropout_sits_before_each_of_the_three_layers():
    torch.manual_seed(0)
    net = PhaseFunctionedNetwork(6, 3, hidden=8)
    calls = []
    for index, dropout in enumerate(net.dropout):
        dropout.register_forward_hook(lambda m, i, o, index=index: calls.append((index, i[0].shape[-1])))
    net(torch.randn(2, 6), torch.rand(2))
    assert calls == [(0, 6), (1, 8), (2, 8)]


def test_init_bounds_are_pfnns_product_rule():
    net = PhaseFunctionedNetwork(342, 311, generator=torch.Generator().manual_seed(0))
    for name, (fan_out, fan_in) in (("W0", (512, 342)), ("W1", (512, 512)), ("W2", (311, 512))):
        weight = getattr(net, name).detach()
        bound = math.sqrt(6.0 / (fan_in * fan_out))
        assert weight.shape == (4, fan_out, fan_in)
        assert weight.abs().max().item() <= bound
        assert weight.abs().max().item() > 0.99 * bound  # uniform over the whole range, not Glorot's wider one
        assert weight.mean().abs().item() < 0.01 * bound
    for name in ("b0", "b1", "b2"):
        assert torch.count_nonzero(getattr(net, name)).item() == 0


def test_regulariser_is_pfnns_cost():
    net = PhaseFunctionedNetwork(5, 3, hidden=4)
    with torch.no_grad():
        net.W0.fill_(2.0)
        net.W1.fill_(-1.0)
        net.W2.fill_(0.5)
        net.b0.fill_(100.0)  # biases cost nothing
    # (0.01 * 2 + 0.01 * 1 + 0.01 * 0.5 + 0 + 0 + 0) / 6
    assert net.regularizer().item() == pytest.approx(0.035 / 6)
    x, p, y = torch.randn(7, 5), torch.rand(7), torch.randn(7, 3)
    net.eval()
    total, mse, reg = net.loss(x, p, y)
    assert mse.item() == pytest.approx(torch.mean((net(x, p) - y) ** 2).item())
    assert total.item() == pytest.approx(mse.item() + 0.035 / 6)


def test_torch_forward_matches_numpy_and_a_per_row_blend():
    from mtk.pfnn.meta import NetworkMeta

    meta = NetworkMeta("smpl22", 30.0, "6d", "none")
    xd, yd = meta.columns.x_dim, meta.columns.y_dim
    torch.manual_seed(3)
    net = PhaseFunctionedNetwork(xd, yd, hidden=6).eval()
    with torch.no_grad():
        for b in (net.b0, net.b1, net.b2):
            b.normal_()
    x, p = np.random.default_rng(4).normal(size=(9, xd)), np.random.default_rng(5).random(9)
    ours = net(torch.tensor(x, dtype=torch.float32), torch.tensor(p, dtype=torch.float32)).detach().numpy()
    weights = PfnnWeights(net.control_arrays(), {"Xmean": np.zeros(xd), "Xstd": np.ones(xd), "Ymean": np.zeros(yd),
                                                 "Ystd": np.ones(yd)}, meta)
    weights.check()
    np.testing.assert_allclose(weights.forward_normalised(x, p), ours, atol=1e-5)
    for row in range(len(x)):  # the demo's way: blend every parameter at the row's phase, then a plain MLP
        blended = weights.at_phase(float(p[row]))
        h = x[row]
        for layer in range(3):
            h = blended[f"W{layer}"] @ h + blended[f"b{layer}"]
            h = np.where(h > 0, h, np.expm1(np.minimum(h, 0))) if layer < 2 else h
        np.testing.assert_allclose(h, ours[row], atol=1e-5)
    assert param_shapes(7, 5, 6)["W2"] == (5, 6)
