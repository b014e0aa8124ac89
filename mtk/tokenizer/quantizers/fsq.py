"""Finite scalar quantization (Mentzer et al., ICLR 2024), bit-compatible with MotionMillion's FSQ.

A linear projection takes each code vector down to ``d = len(levels)`` channels; each channel is squashed
by a shifted tanh into ``L_i`` bins, rounded (straight-through gradient) and normalised to ``[-1, 1]``.
The codebook is implicit: the grid of all level combinations, ``prod(levels)`` codes. Index ``k`` has
level ``(k // basis_i) % L_i`` on channel ``i`` with ``basis = cumprod([1] + levels[:-1])``, so the first
channel is the least significant digit. Everything runs in float32, also under autocast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mtk.errors import BadInputError
from mtk.tokenizer.quantizers.base import Quantizer, register_quantizer

#: nominal codebook size -> levels (FSQ paper Table 1, plus MotionMillion's 2^9 and 2^11 entries)
FSQ_LEVELS: dict[int, tuple[int, ...]] = {
    2**8: (8, 6, 5),
    2**9: (8, 8, 8),
    2**10: (8, 5, 5, 5),
    2**11: (8, 8, 6, 5),
    2**12: (7, 5, 5, 5, 5),
    2**14: (8, 8, 8, 6, 5),
    2**16: (8, 8, 8, 5, 5, 5),
}

BOUND_EPS = 1e-3
#: |tanh| above which a channel counts as saturated (its gradient 1 - tanh^2 is below 0.1)
SATURATED = 0.95


def levels_for(codebook_size: int) -> tuple[int, ...]:
    """FSQ levels for a nominal size (65536) or the real size of a table entry (64000)."""
    if codebook_size in FSQ_LEVELS:
        return FSQ_LEVELS[codebook_size]
    for levels in FSQ_LEVELS.values():
        if math.prod(levels) == codebook_size:
            return levels
    known = ", ".join(f"{k} ({math.prod(v)} codes)" for k, v in FSQ_LEVELS.items())
    raise ValueError(f"no FSQ levels for codebook size {codebook_size}; choose one of {known}")


def round_ste(x: Tensor) -> Tensor:
    """Round half-to-even in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


class FSQ(Quantizer):
    """FSQ over ``levels`` with ``dim``-channel inputs (Linear projections when ``dim != len(levels)``)."""

    name = "fsq"
    summary = "finite scalar quantization, MotionMillion's (default)"
    arch_keys = ("levels", "codebook_size")

    def __init__(self, levels: tuple[int, ...] | list[int], dim: int):
        super().__init__()
        if any(level < 3 for level in levels):
            raise ValueError(f"FSQ levels must be at least 3, got {list(levels)}")
        self.levels = tuple(int(level) for level in levels)
        self.dim = dim
        self.codebook_dim = len(self.levels)
        self.codebook_size = math.prod(self.levels)
        basis = [1]
        for level in self.levels[:-1]:
            basis.append(basis[-1] * level)
        self.register_buffer("_levels", torch.tensor(self.levels, dtype=torch.int32), persistent=False)
        self.register_buffer("_basis", torch.tensor(basis, dtype=torch.int32), persistent=False)
        projected = dim != self.codebook_dim
        self.project_in = nn.Linear(dim, self.codebook_dim) if projected else nn.Identity()
        self.project_out = nn.Linear(self.codebook_dim, dim) if projected else nn.Identity()

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """Levels from the size table (65536 -> [8,8,8,5,5,5], 64,000 codes); FSQ takes no options."""
        cls.option_values(options)
        levels = levels_for(codebook_size or nominal_size)
        return {"levels": list(levels), "codebook_size": math.prod(levels)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FSQ:
        return cls(config["levels"], config["code_dim"])

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """FSQ's only weights are its two projections (none when the latent is already ``len(levels)`` wide)."""
        if any(not key.startswith(("project_in.", "project_out.")) for key in state):
            return None
        projection = state.get("project_in.weight")
        dim = int(projection.shape[0]) if projection is not None else code_dim
        candidates = [levels for size, levels in FSQ_LEVELS.items()
                      if len(levels) == dim and codebook_size in (None, size, math.prod(levels))]
        if len(candidates) != 1:
            raise BadInputError(path, f"cannot tell the FSQ levels from a {dim}-channel projection "
                                      f"({len(candidates)} table entries fit)", "pass codebook_size")
        return cls.make_config(math.prod(candidates[0]), math.prod(candidates[0]))

    def _half_width(self) -> Tensor:
        return (self._levels // 2).float()

    def _half_and_offset(self) -> tuple[Tensor, Tensor]:
        half = (self._levels.float() - 1) * (1 + BOUND_EPS) / 2
        offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
        return half, offset

    def squash(self, z: Tensor) -> Tensor:
        """The tanh of each channel before scaling, in ``(-1, 1)``: values near ±1 are saturated (their
        gradient is ``1 - tanh^2``, near 0)."""
        half, offset = self._half_and_offset()
        return torch.tanh(z + torch.atanh(offset / half))

    def bound(self, z: Tensor) -> Tensor:
        """Squash each channel into ``(-L/2, L/2)``, shifted by half a level for even L so 0 stays 0."""
        return self._scaled(self.squash(z))

    def _scaled(self, squashed: Tensor) -> Tensor:
        """:meth:`bound` from the channels' tanh (:meth:`squash`), so a caller that needs both computes it once."""
        half, offset = self._half_and_offset()
        return squashed * half - offset

    @torch.no_grad()
    def channel_report(self, z: Tensor, saturated_above: float = SATURATED) -> tuple[Tensor, Tensor]:
        """For latents ``z (B, dim, N)``: per channel, how many tokens have ``|tanh| > saturated_above``
        (``(d,)`` int64), and how often each level occurs (``(d, max L)`` int64; levels past a channel's
        ``L`` stay 0)."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            h = self.project_in(z.transpose(1, 2).float()).reshape(-1, self.codebook_dim)
            squashed = self.squash(h)
            saturated = (squashed.abs() > saturated_above).sum(0)
            digits = (self._codes(squashed) * self._half_width() + self._half_width()).round().long()
        levels = torch.zeros(self.codebook_dim, int(self._levels.max()), dtype=torch.int64, device=z.device)
        for channel in range(self.codebook_dim):
            levels[channel] = torch.bincount(digits[:, channel], minlength=levels.shape[1])
        return saturated, levels

    def quantize(self, z: Tensor) -> Tensor:
        """Channel-last ``(..., d)`` -> normalised codes in ``[-1, 1]`` (straight-through rounding)."""
        return self._codes(self.squash(z))

    def _codes(self, squashed: Tensor) -> Tensor:
        """:meth:`quantize` from the channels' tanh (:meth:`squash`)."""
        return round_ste(self._scaled(squashed)) / self._half_width()

    def codes_to_indices(self, codes: Tensor) -> Tensor:
        """Normalised codes ``(..., d)`` -> int32 indices ``(...)``; channel 0 is the least significant."""
        half = self._half_width()
        digits = codes * half + half
        return (digits * self._basis).sum(dim=-1).round().to(torch.int32)

    def indices_to_codes(self, indices: Tensor) -> Tensor:
        """Indices ``(...)`` -> normalised float32 codes ``(..., d)``."""
        digits = (indices[..., None].long() // self._basis) % self._levels
        half = self._half_width()
        return (digits.float() - half) / half

    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> projected codes ``(B, dim, N)``, as the decoder expects them."""
        with torch.autocast(device_type=indices.device.type, enabled=False):
            return self.project_out(self.indices_to_codes(indices)).transpose(1, 2)

    def near_boundary(self, z: Tensor, margin: float) -> Tensor:
        """Tokens with a bounded channel within ``margin`` of a rounding boundary (a half-integer)."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            bounded = self.bound(self.project_in(z.transpose(1, 2).float()))
        return ((bounded - torch.floor(bounded) - 0.5).abs() < margin).any(dim=-1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized ``(B, dim, N)`` float32, indices ``(B, N)`` int32, aux loss 0."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            squashed = self.squash(self.project_in(z.transpose(1, 2).float()))
            codes = self._codes(squashed)
            indices = self.codes_to_indices(codes)
            out = self.project_out(codes).transpose(1, 2)
            if self.training:
                self._saturated = (squashed.detach().abs() > SATURATED).float().mean(dim=(0, 1))
        return out, indices, z.new_zeros((), dtype=torch.float32)

    def train_stats(self) -> dict[str, list[float]]:
        """Per channel, the share of the last training batch's tokens (this process's) whose tanh is past
        ``SATURATED``: near 1 the channel's gradient vanishes and its codes pile onto the grid's edge (a
        learning rate too high for FSQ shows here first)."""
        saturated = getattr(self, "_saturated", None)
        return {} if saturated is None else {"saturated_share": [round(v, 4) for v in saturated.tolist()]}


register_quantizer(FSQ)
