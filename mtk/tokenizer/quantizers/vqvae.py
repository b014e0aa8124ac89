"""The plain VQ-VAE codebook (van den Oord et al., 2017): the ablation of VQ without its repairs.

``K`` free code vectors (an ``nn.Embedding``, initialised uniformly in ``±1/K`` as in the paper's reference
code), nearest-code assignment and a straight-through gradient, like :class:`mtk.tokenizer.quantizers.vq.VQ`,
but the codebook is learnt by gradient descent on the **codebook loss** ``||sg(z) - c||^2`` and the encoder
is pulled to its codes by the **commitment loss** ``beta * ||z - sg(c)||^2`` (beta = 0.25). There is no
EMA, no data-dependent initialisation and no dead-code reset: a code the encoder never picks gets no
gradient and stays where it is. Runs in float32 under autocast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.tokenizer.quantizers.base import Quantizer, refuse_options, register_quantizer
from mtk.tokenizer.quantizers.vq import equal_footing_size, nearest_code

DEFAULT_BETA = 0.25


class PlainVQ(Quantizer):
    """A ``codebook_size`` x ``dim`` codebook trained by the codebook and commitment losses only."""

    name = "vqvae"
    summary = "plain VQ-VAE codebook: codebook + commitment loss, no EMA, no reset"

    def __init__(self, codebook_size: int, dim: int, commitment: float = DEFAULT_BETA):
        super().__init__()
        self.codebook_size = codebook_size
        self.dim = dim
        self.commitment = commitment
        self.embedding = nn.Embedding(codebook_size, dim)
        nn.init.uniform_(self.embedding.weight, -1 / codebook_size, 1 / codebook_size)

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, commitment: float | None = None,
                    **options: Any) -> dict[str, Any]:
        """Any size (default: FSQ's real size for the nominal one), and beta, the commitment weight."""
        refuse_options(cls.name, options)
        return {"codebook_size": equal_footing_size(codebook_size, nominal_size),
                "commitment": DEFAULT_BETA if commitment is None else float(commitment)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PlainVQ:
        return cls(config["codebook_size"], config["code_dim"], commitment=config.get("commitment", DEFAULT_BETA))

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """Recognised by its one weight, ``embedding.weight`` (K, dim)."""
        if set(state) != {"embedding.weight"}:
            return None
        size = int(state["embedding.weight"].shape[0])
        return cls.make_config(size, size)

    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> codes ``(B, dim, N)``."""
        return self.embedding(indices.long()).transpose(1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized (straight-through), indices ``(B, N)`` int32, codebook + beta * commitment."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            flat = z.transpose(1, 2).reshape(-1, self.dim)
            indices = nearest_code(flat.detach(), self.embedding.weight.detach()).view(z.shape[0], -1)
            codes = self.dequantize(indices)
            loss = F.mse_loss(codes, z.detach()) + self.commitment * F.mse_loss(z, codes.detach())
            quantized = z + (codes - z).detach()
        return quantized, indices.to(torch.int32), loss


register_quantizer(PlainVQ)
