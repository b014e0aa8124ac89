"""A PFNN network as numpy arrays: four control sets per layer, the normalisation and what the columns mean.

This is what every command works on, whatever the network came from (a training run, an mtk network file,
PFNN's demo ``.bin`` folder). The forward pass here is numpy (float64 by default) and phase-blends each
layer's four outputs, which equals blending the weights first because the blend is linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtk.pfnn.meta import NetworkMeta
from mtk.pfnn.phase_function import CONTROLS, control_weights

#: layer parameter names in PFNN's order: weights then biases (PFNN's L000_W ... L005_b)
WEIGHT_NAMES = ("W0", "W1", "W2")
BIAS_NAMES = ("b0", "b1", "b2")
PARAM_NAMES = WEIGHT_NAMES + BIAS_NAMES
NORM_NAMES = ("Xmean", "Xstd", "Ymean", "Ystd")
#: PFNN's hidden width
HIDDEN = 512


def param_shapes(x_dim: int, y_dim: int, hidden: int = HIDDEN) -> dict[str, tuple[int, ...]]:
    """Shape of one phase sample of each parameter: matrices are (out, in), as PFNN's demo reads them."""
    return {"W0": (hidden, x_dim), "W1": (hidden, hidden), "W2": (y_dim, hidden),
            "b0": (hidden,), "b1": (hidden,), "b2": (y_dim,)}


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


@dataclass
class PfnnWeights:
    """Control sets ``controls[name]`` of shape (4, *param_shapes[name]), the normalisation vectors and
    what the columns mean (:class:`~mtk.pfnn.meta.NetworkMeta`)."""

    controls: dict[str, np.ndarray]
    norm: dict[str, np.ndarray]
    meta: NetworkMeta
    _cache: list | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def x_dim(self) -> int:
        return int(self.controls["W0"].shape[2])

    @property
    def y_dim(self) -> int:
        return int(self.controls["W2"].shape[1])

    @property
    def hidden(self) -> int:
        return int(self.controls["W0"].shape[1])

    def check(self) -> None:
        """Raise ValueError unless every array has the shape the widths imply, all values are finite and the
        meta describes the widths."""
        shapes = param_shapes(self.x_dim, self.y_dim, self.hidden)
        for name in PARAM_NAMES:
            got = self.controls[name].shape
            if got != (CONTROLS, *shapes[name]):
                raise ValueError(f"{name} has shape {got}, expected {(CONTROLS, *shapes[name])}")
        for name, dim in zip(NORM_NAMES, (self.x_dim, self.x_dim, self.y_dim, self.y_dim), strict=True):
            if self.norm[name].shape != (dim,):
                raise ValueError(f"{name} has shape {self.norm[name].shape}, expected ({dim},)")
        for name, values in (*self.controls.items(), *self.norm.items()):
            if not np.isfinite(values).all():
                raise ValueError(f"{name} holds NaN or Inf values")
        if (self.norm["Xstd"] <= 0).any() or (self.norm["Ystd"] <= 0).any():
            raise ValueError("Xstd or Ystd holds values <= 0")
        columns = self.meta.columns
        if (columns.x_dim, columns.y_dim) != (self.x_dim, self.y_dim):
            raise ValueError(f"its meta describes X {columns.x_dim} / Y {columns.y_dim} columns, the weights have "
                             f"X {self.x_dim} / Y {self.y_dim}")

    def at_phase(self, phase: float) -> dict[str, np.ndarray]:
        """Every parameter blended at one ``phase`` (what PFNN's demo precomputes per sample)."""
        w = control_weights(np.asarray(phase, dtype=np.float64))
        return {name: np.tensordot(w, self.controls[name].astype(np.float64), axes=(0, 0)) for name in PARAM_NAMES}

    def forward_normalised(self, x: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """Normalised Y (N, Y) for normalised X (N, X) and phases (N,): each layer's four control outputs
        blended per row."""
        w = control_weights(np.asarray(phase, dtype=np.float64))  # (N, 4)
        h = np.asarray(x, dtype=np.float64)
        for layer, (matrix, bias) in enumerate(self._stacked()):
            # one row (the controller): einsum's single-threaded loop; BLAS wakes its threads for a
            # matrix-vector product, which costs ~10x more on a busy machine
            flat = np.einsum("oi,i->o", matrix, h[0])[None] if len(h) == 1 else h @ matrix.T
            outs = flat.reshape(len(h), CONTROLS, -1) + bias
            h = np.einsum("nk,nko->no", w, outs)
            if layer < 2:
                h = elu(h)
        return h

    def _stacked(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer: the four control matrices as one float64 (4 * out, in) matrix and the biases (4, out);
        built once (the controls are not meant to change after construction)."""
        if self._cache is None:
            self._cache = [(self.controls[w].astype(np.float64).reshape(-1, self.controls[w].shape[2]),
                            self.controls[b].astype(np.float64))
                           for w, b in zip(WEIGHT_NAMES, BIAS_NAMES, strict=True)]
        return self._cache

    def predict(self, X: np.ndarray, phase: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Y (N, Y) in data units for X (N, X) in data units (dropout off), in batches."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        phase = np.atleast_1d(np.asarray(phase, dtype=np.float64))
        xm, xs, ym, ys = (self.norm[n].astype(np.float64) for n in NORM_NAMES)
        out = np.empty((len(X), self.y_dim))
        for start in range(0, len(X), batch):
            stop = start + batch
            out[start:stop] = self.forward_normalised((X[start:stop] - xm) / xs, phase[start:stop]) * ys + ym
        return out
