"""The plain VQ-VAE codebook (van den Oord et al., 2017): the ablation of VQ without its repairs.

``K`` free code vectors (an ``nn.Embedding``), nearest-code assignment and a straight-through gradient, like
:class:`mtk.tokenizer.quantizers.vq.VQ`, but the codebook is learnt by gradient descent on the **codebook
loss** ``||sg(z) - c||^2`` and the encoder is pulled to its codes by the **commitment loss**
``beta * ||z - sg(c)||^2`` (beta = 0.25). There is no EMA and no dead-code reset: a code the encoder never
picks gets no gradient and stays where it is.

Where the codes start is the ``codebook_init`` option:

- ``uniform`` (the default, the paper's reference code): uniform in ``±1/K``, a tiny ball at the origin.
  The encoder's outputs are far from it, so the first assignments fall on the few codes nearest the data's
  direction, only those get gradients, and the rest stay dead.
- ``data``: at the first training step the codes are set to a sample of that batch's encoder outputs
  (with repetition and 1 % jitter when the codebook is larger than the batch; :func:`.vq.sample_rows`),
  so they start where the data is. The minimal repair, still without EMA or resets. Under
  ``torch.distributed`` the sample is drawn from every process's outputs with a generator seeded from
  process 0 (:func:`.vq.draw_rows`), so every process starts from the codebook one process would.

Runs in float32 under autocast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.tokenizer.quantizers.base import Quantizer, QuantizerOption, register_quantizer
from mtk.tokenizer.quantizers.vq import COMMITMENT_HELP, draw_rows, equal_footing_size, nearest_code

DEFAULT_BETA = 0.25
CODEBOOK_INITS = ("uniform", "data")


class PlainVQ(Quantizer):
    """A ``codebook_size`` x ``dim`` codebook trained by the codebook and commitment losses only."""

    name = "vqvae"
    summary = "plain VQ-VAE codebook: codebook + commitment loss, no EMA, no reset"
    options = (QuantizerOption("commitment", float, DEFAULT_BETA, COMMITMENT_HELP),
               QuantizerOption("codebook_init", CODEBOOK_INITS, "uniform",
                               "where a learnt codebook starts: uniform in ±1/K (the paper's) or data "
                               "(a sample of the first batch's encoder outputs)"))

    def __init__(self, codebook_size: int, dim: int, commitment: float = DEFAULT_BETA,
                 codebook_init: str = "uniform"):
        super().__init__()
        if codebook_init not in CODEBOOK_INITS:
            raise ValueError(f"codebook_init must be one of {', '.join(CODEBOOK_INITS)}, not {codebook_init!r}")
        self.codebook_size = codebook_size
        self.dim = dim
        self.commitment = commitment
        self.codebook_init = codebook_init
        self.embedding = nn.Embedding(codebook_size, dim)
        nn.init.uniform_(self.embedding.weight, -1 / codebook_size, 1 / codebook_size)
        if codebook_init == "data":
            self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """Any size (default: FSQ's real size for the nominal one), beta and the codebook's start."""
        return {"codebook_size": equal_footing_size(codebook_size, nominal_size), **cls.option_values(options)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PlainVQ:
        return cls(config["codebook_size"], config["code_dim"], commitment=config.get("commitment", DEFAULT_BETA),
                   codebook_init=config.get("codebook_init", "uniform"))

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """Recognised by ``embedding.weight`` (K, dim), with an ``initialised`` flag when data-initialised."""
        if set(state) not in ({"embedding.weight"}, {"embedding.weight", "initialised"}):
            return None
        size = int(state["embedding.weight"].shape[0])
        return cls.make_config(size, size, codebook_init="data" if "initialised" in state else "uniform")

    @torch.no_grad()
    def _initialise_from(self, flat: Tensor) -> None:
        self.embedding.weight.copy_(draw_rows(flat, self.codebook_size))
        self.initialised.fill_(True)

    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> codes ``(B, dim, N)``."""
        return self.embedding(indices.long()).transpose(1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized (straight-through), indices ``(B, N)`` int32, codebook + beta * commitment."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            flat = z.transpose(1, 2).reshape(-1, self.dim)
            if self.training and self.codebook_init == "data" and not bool(self.initialised):
                self._initialise_from(flat.detach())
            indices = nearest_code(flat.detach(), self.embedding.weight.detach()).view(z.shape[0], -1)
            codes = self.dequantize(indices)
            loss = F.mse_loss(codes, z.detach()) + self.commitment * F.mse_loss(z, codes.detach())
            quantized = z + (codes - z).detach()
        return quantized, indices.to(torch.int32), loss


register_quantizer(PlainVQ)
