"""Lookup-free quantization (LFQ, Yu et al., MAGVIT-v2, ICLR 2024): FSQ's binary cousin.

A linear projection takes each latent to ``bits`` channels; each channel is quantized to its sign, ``-1``
or ``+1`` (straight-through gradient), so the implicit codebook is ``{-1, 1}^bits``, ``2^bits`` codes, with
no lookup and no distance matrix. Index ``= sum_i [code_i > 0] * 2^i`` (channel 0 least significant), in
integer arithmetic. A linear layer projects the code back for the decoder.

The aux loss is MAGVIT-v2's, with vector-quantize-pytorch's ``LFQ`` weights:
``0.1 * (H_token - H_batch) + commitment * ||h - sg(q)||^2`` (commitment 0.25). Each token's soft
assignment is the softmax over codes of ``-||h - c||^2 / tau`` with inverse temperature ``1/tau = 100``;
``H_token`` is the mean entropy of those assignments (low: each token decided) and ``H_batch`` the entropy
of their batch mean (high: every code used), natural logarithms.

The distribution is over whole codes, so its cost is ``tokens x codes``. Up to 2^12 codes it is taken over
the whole codebook. Above, the bits are cut into ``ceil(bits / 12)`` groups of equal size (2^14: two of 7
bits, 2^16: two of 8) and the entropies are taken per group's sub-code and averaged over groups — the
loss of vector-quantize-pytorch's ``LFQ`` with that many codebooks. At 2^16 that is 2 x 256 softmax
entries per token instead of 65,536 (256x less): within a group the code distribution is exact; across
groups the batch entropy treats groups as independent, so it can be high while pairs of sub-codes are
correlated. Under ``torch.distributed`` the batch distribution is averaged over processes first
(:func:`mtk.tokenizer.collective.global_mean`), so several processes optimise the entropy of the
global batch, as one process would.

Runs in float32 under autocast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.tokenizer.collective import global_mean
from mtk.tokenizer.quantizers.base import Quantizer, QuantizerOption, register_quantizer
from mtk.tokenizer.quantizers.vq import COMMITMENT_HELP

COMMITMENT = 0.25
ENTROPY = 0.1
INVERSE_TEMPERATURE = 100.0
#: the most bits whose whole code distribution the entropy term takes; larger codebooks use groups
MAX_GROUP_BITS = 12
#: the config entry naming this loss; checkpoints without it used the factorised per-bit entropy of mtk < 0.2
LOSS_VERSION = "codebook-entropy"


def bits_for(codebook_size: int) -> int:
    """Bits of a ``2^bits`` codebook; ValueError unless the size is a power of two (2..2^30)."""
    bits = int(codebook_size).bit_length() - 1
    if codebook_size < 2 or 1 << bits != codebook_size or bits > 30:
        raise ValueError(f"an LFQ codebook has 2^bits codes; {codebook_size} is not a power of two in 2..2^30")
    return bits


def entropy_groups(bits: int) -> tuple[int, ...]:
    """Group sizes (in bits) the entropy term is taken over: one group up to ``MAX_GROUP_BITS``, else
    ``ceil(bits / MAX_GROUP_BITS)`` groups as equal as possible (larger first)."""
    count = math.ceil(bits / MAX_GROUP_BITS)
    base, extra = divmod(bits, count)
    return tuple(base + (i < extra) for i in range(count))


def _entropy(prob: Tensor) -> Tensor:
    """Entropy (nats) over the last axis, with log clamped at 1e-5 as vector-quantize-pytorch does."""
    return -(prob * prob.clamp(min=1e-5).log()).sum(-1)


def _all_codes(bits: int, device: torch.device) -> Tensor:
    """``(2^bits, bits)`` codes in ``{-1, 1}``, row ``k`` the code of index ``k`` (channel 0 least significant)."""
    index = torch.arange(2**bits, device=device)[:, None]
    return ((index >> torch.arange(bits, device=device)) & 1).float() * 2 - 1


class LFQ(Quantizer):
    """Sign quantization of ``bits`` projected channels: ``2^bits`` implicit codes."""

    name = "lfq"
    summary = "lookup-free quantization: 2^bits sign codes, code-entropy loss (MAGVIT-v2)"
    options = (QuantizerOption("commitment", float, COMMITMENT, COMMITMENT_HELP),)

    def __init__(self, bits: int, dim: int, commitment: float = COMMITMENT, entropy: float = ENTROPY):
        super().__init__()
        self.bits = bits
        self.dim = dim
        self.codebook_size = 2**bits
        self.commitment = commitment
        self.entropy = entropy
        self.groups = entropy_groups(bits)
        self.register_buffer("basis", 2 ** torch.arange(bits, dtype=torch.int64))
        self.project_in = nn.Linear(dim, bits)
        self.project_out = nn.Linear(bits, dim)

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """A power-of-two size (default: the preset's nominal size, 1,024 for 2^10) and the commitment weight."""
        size = int(codebook_size or nominal_size)
        bits_for(size)
        return {"codebook_size": size, **cls.option_values(options), "lfq_loss": LOSS_VERSION}

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

    @classmethod
    def resume_problem(cls, stored: dict[str, Any]) -> str | None:
        """Runs saved before the code-entropy loss (no ``lfq_loss`` entry) trained with a per-bit entropy."""
        if stored.get("lfq_loss") != LOSS_VERSION:
            return ("it was trained with mtk's earlier per-bit entropy loss, and resuming would switch it to the "
                    "code-entropy loss mid-run (tokenize and eval still work with it)")
        return None

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

    def entropy_terms(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(mean per-token entropy, batch-code entropy) of the soft assignments of ``h (..., bits)``, each
        averaged over the entropy groups."""
        flat = h.reshape(-1, self.bits)
        token, batch = [], []
        for part in flat.split(list(self.groups), dim=-1):
            logits = 2 * INVERSE_TEMPERATURE * part @ _all_codes(part.shape[-1], part.device).t()
            prob = logits.softmax(dim=-1)
            token.append(_entropy(prob).mean())
            batch.append(_entropy(global_mean(prob.mean(0))))
        return torch.stack(token).mean(), torch.stack(batch).mean()

    def _aux_loss(self, h: Tensor, signs: Tensor) -> Tensor:
        commit = F.mse_loss(h, signs)
        if not self.training:
            return self.commitment * commit
        token_entropy, batch_entropy = self.entropy_terms(h)
        return self.entropy * (token_entropy - batch_entropy) + self.commitment * commit

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized ``(B, dim, N)``, indices ``(B, N)`` int32, entropy + commitment loss
        (the entropy term in training only)."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            h = self.project_in(z.transpose(1, 2).float())
            signs = torch.where(h > 0, 1.0, -1.0)
            codes = h + (signs - h).detach()
            indices = ((signs > 0).long() * self.basis).sum(-1).to(torch.int32)
            out = self.project_out(codes).transpose(1, 2)
        return out, indices, self._aux_loss(h, signs)


register_quantizer(LFQ)
