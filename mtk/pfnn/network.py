"""PFNN's network in torch, as ``train_pfnn.py`` defines it.

X -> 512 -> 512 -> Y; ELU after the first two layers; dropout before each of the three layers with keep
probability 0.7 (``nn.Dropout(p=0.3)``: PFNN's DropoutLayer(0.7) keeps a unit with probability 0.7 and
divides by 0.7). Four control sets of every weight and bias, blended at the row's phase by PFNN's cubic
(:mod:`mtk.pfnn.phase_function`). Init: W ~ U(+-sqrt(6 / (fan_in * fan_out))) (PFNN's HiddenLayer: a
product, not Glorot's sum), b = 0. Regulariser: PFNN's ``network.cost``, the mean over its six layers of
0.01 * mean|W| (biases cost 0), i.e. 0.01 * (mean|W0| + mean|W1| + mean|W2|) / 6.

Speed: the blend is linear in the controls, so each layer computes the four control outputs of the whole
batch in one matrix product and blends those per row; no per-row weight matrix is ever built.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from mtk.pfnn.phase_function import CONTROLS, cubic
from mtk.pfnn.weights import BIAS_NAMES, HIDDEN, WEIGHT_NAMES

#: PFNN's DropoutLayer(0.7) keeps units with probability 0.7
KEEP_PROBABILITY = 0.7
#: PFNN's HiddenLayer gamma
L1_GAMMA = 0.01


def phase_blend_weights(phase: Tensor) -> Tensor:
    """(N, 4) weight of each control set at each phase in [0, 1) (PFNN's indices and cubic)."""
    scaled = CONTROLS * phase
    k1 = scaled.long() % CONTROLS
    mu = (scaled % 1.0).unsqueeze(-1)
    eye = torch.eye(CONTROLS, dtype=phase.dtype, device=phase.device)
    return cubic(*(eye[(k1 + offset) % CONTROLS] for offset in (-1, 0, 1, 2)), mu)


def init_bound(fan_out: int, fan_in: int) -> float:
    """PFNN's HiddenLayer bound sqrt(6 / (fan_in * fan_out))."""
    return math.sqrt(6.0 / (fan_in * fan_out))


class PhaseFunctionedNetwork(nn.Module):
    """Normalised X (N, X) and phase (N,) -> normalised Y (N, Y)."""

    def __init__(self, x_dim: int, y_dim: int, hidden: int = HIDDEN, generator: torch.Generator | None = None):
        super().__init__()
        sizes = ((hidden, x_dim), (hidden, hidden), (y_dim, hidden))
        for wname, bname, (fan_out, fan_in) in zip(WEIGHT_NAMES, BIAS_NAMES, sizes, strict=True):
            bound = init_bound(fan_out, fan_in)
            weight = (torch.rand(CONTROLS, fan_out, fan_in, generator=generator) * 2 - 1) * bound
            self.register_parameter(wname, nn.Parameter(weight))
            self.register_parameter(bname, nn.Parameter(torch.zeros(CONTROLS, fan_out)))
        self.dropout = nn.ModuleList(nn.Dropout(p=1.0 - KEEP_PROBABILITY) for _ in range(3))

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        return [(getattr(self, w), getattr(self, b)) for w, b in zip(WEIGHT_NAMES, BIAS_NAMES, strict=True)]

    def forward(self, x: Tensor, phase: Tensor) -> Tensor:
        blend = phase_blend_weights(phase)  # (N, 4)
        h = x
        for index, ((weight, bias), dropout) in enumerate(zip(self.layers(), self.dropout, strict=True)):
            h = dropout(h)
            controls = (h @ weight.reshape(-1, weight.shape[2]).T).view(len(h), CONTROLS, -1)
            h = torch.einsum("nk,nko->no", blend, controls) + blend @ bias
            if index < 2:
                h = nn.functional.elu(h)
        return h

    def regularizer(self) -> Tensor:
        """PFNN's cost: mean over its six layers (three weights, three biases at 0) of 0.01 * mean|W|."""
        return sum(L1_GAMMA * getattr(self, w).abs().mean() for w in WEIGHT_NAMES) / (2 * len(WEIGHT_NAMES))

    def loss(self, x: Tensor, phase: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(total, mse, regulariser): PFNN's AdamTrainer cost, MSE on normalised Y plus the regulariser."""
        mse = torch.mean((self(x, phase) - y) ** 2)
        reg = self.regularizer()
        return mse + reg, mse, reg

    def control_arrays(self) -> dict[str, np.ndarray]:
        return {name: param.detach().cpu().numpy().copy() for name, param in self.named_parameters()}
