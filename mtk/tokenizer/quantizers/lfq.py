"""Lookup-free quantization (LFQ, Yu et al., MAGVIT-v2, ICLR 2024): FSQ's binary cousin.

A linear projection takes each latent to ``bits`` channels; each channel is quantized to its sign, ``-1``
or ``+1`` (straight-through gradient), so the implicit codebook is ``{-1, 1}^bits``, ``2^bits`` codes, with
no lookup and no distance matrix. Index ``= sum_i [code_i > 0] * 2^i`` (channel 0 least significant), in
integer arithmetic. A linear layer projects the code back for the decoder.

The aux loss keeps the bits informative: a commitment term ``||h - sg(q)||^2`` (weight 0.25) and the
entropy term of MAGVIT-v2 (weight 0.1): low per-token entropy (each bit decided), high batch entropy (each
code value used). The entropy is **factorised per bit** (``p_i = sigmoid(4 h_i / tau)``, the softmax over
``{-1, +1}`` of negative squared distances): exact when the bits are independent, and O(bits) instead of
the O(2^bits) of the full code distribution. The batch's bit probabilities are averaged over every process
(:func:`mtk.tokenizer.quantizers.collective.global_mean`), so several processes optimise the entropy of the
global batch, as one process would. Runs in float32 under autocast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.tokenizer.quantizers.base import Quantizer, refuse_options, register_quantizer
from mtk.tokenizer.quantizers.collective import global_mean

COMMITMENT = 0.25
ENTROPY = 0.1
TEMPERATURE = 1.0


def bits_for(codebook_size: int) -> int:
    """Bits of a ``2^bits`` codebook; ValueError unless the size is a power of two (2..2^30)."""
    bits = int(codebook_size).bit_length() - 1
    if codebook_size < 2 or 1 << bits != codebook_size or bits > 30:
        raise ValueError(f"an LFQ codebook has 2^bits codes; {codebook_size} is not a power of two in 2..2^30")
    return bits


def _binary_entropy(p: Tensor) -> Tensor:
    p = p.clamp(1e-6, 1 - 1e-6)
    return -(p * p.log() + (1 - p) * (1 - p).log())


class LFQ(Quantizer):
    """Sign quantization of ``bits`` projected channels: ``2^bits`` implicit codes."""

    name = "lfq"
    summary = "lookup-free quantization: 2^bits sign codes, entropy loss (MAGVIT-v2)"

    def __init__(self, bits: int, dim: int, commitment: float = COMMITMENT, entropy: float = ENTROPY):
        super().__init__()
        self.bits = bits
        self.dim = dim
        self.codebook_size = 2**bits
        self.commitment = commitment
        self.entropy = entropy
        self.register_buffer("basis", 2 ** torch.arange(bits, dtype=torch.int64))
        self.project_in = nn.Linear(dim, bits)
        self.project_out = nn.Linear(bits, dim)

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, commitment: float | None = None,
                    **options: Any) -> dict[str, Any]:
        """A power-of-two size (default: the preset's nominal size, 1,024 for 2^10) and the commitment weight."""
        refuse_options(cls.name, options)
        size = int(codebook_size or nominal_size)
        bits_for(size)
        return {"codebook_size": size, "commitment": COMMITMENT if commitment is None else float(commitment)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LFQ:
        return cls(bits_for(config["codebook_size"]), config["code_dim"],
                   commitment=config.get("commitment", COMMITMENT))

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """Recognised by its ``basis`` buffer (1, 2, 4, ...), whose length is the number of bits."""
        if "basis" not in state:
            return None
        size = 2 ** int(state["basis"].shape[0])
        return cls.make_config(size, size)

    def indices_to_codes(self, indices: Tensor) -> Tensor:
        """Indices ``(...)`` -> codes ``(..., bits)`` in ``{-1, 1}``, float32."""
        bits = (indices[..., None].long() // self.basis) % 2
        return bits.float() * 2 - 1

    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> projected codes ``(B, dim, N)``."""
        with torch.autocast(device_type=indices.device.type, enabled=False):
            return self.project_out(self.indices_to_codes(indices)).transpose(1, 2)

    def near_boundary(self, z: Tensor, margin: float) -> Tensor:
        """Tokens with a projected channel within ``margin`` of 0, where its sign could flip."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            return (self.project_in(z.transpose(1, 2).float()).abs() < margin).any(dim=-1)

    def _aux_loss(self, h: Tensor, codes: Tensor) -> Tensor:
        commit = F.mse_loss(h, codes.detach())
        p = torch.sigmoid(4 * h.reshape(-1, self.bits) / TEMPERATURE)
        token_entropy = _binary_entropy(p).sum(-1).mean()
        batch_entropy = _binary_entropy(global_mean(p.mean(0))).sum()
        return self.commitment * commit + self.entropy * (token_entropy - batch_entropy) / math.log(2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized ``(B, dim, N)``, indices ``(B, N)`` int32, commitment + entropy loss."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            h = self.project_in(z.transpose(1, 2).float())
            signs = torch.where(h > 0, 1.0, -1.0)
            codes = h + (signs - h).detach()
            indices = ((signs > 0).long() * self.basis).sum(-1).to(torch.int32)
            out = self.project_out(codes).transpose(1, 2)
        return out, indices, self._aux_loss(h, signs)


register_quantizer(LFQ)
