"""A residual vector quantizer in one module: the quantizer recipe of docs/architecture.md with several codes
per step.

Each of ``stages`` codebooks quantizes what the previous stages left (nearest code, straight-through
gradient, a codebook and a commitment loss), so a step is ``stages`` codes, ``(B, N, stages)``. Dropped
into ``mtk/tokenizer/quantizers/`` as a module, it is found without any list: ``mtk tokenizer train
--quantizer rvq --stages 3`` trains it, ``mtk tokenize --format zarr`` writes ``(L, 3)`` codes and ``mtk
detokenize`` decodes them (tests/test_tokenizer_plugins.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.tokenizer.quantizers.base import Quantizer, QuantizerOption, register_quantizer


class ResidualVQ(Quantizer):
    name = "rvq"
    summary = "residual VQ: several codes per step (a test plugin)"
    arch_keys = ("codebook_size", "stages")
    options = (QuantizerOption("stages", int, 2, "codebooks applied one after the other to the residual"),)

    def __init__(self, codebook_size: int, stages: int, dim: int):
        super().__init__()
        self.codebook_size = codebook_size
        self.codes_per_step = stages
        self.codebooks = nn.Parameter(torch.randn(stages, codebook_size, dim) * 0.1)

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        stages = cls.option_values(options)["stages"]
        if stages < 1:
            raise ValueError(f"--stages takes at least 1, not {stages}")
        return {"codebook_size": int(codebook_size or nominal_size), "stages": stages}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ResidualVQ:
        return cls(config["codebook_size"], config["stages"], config["code_dim"])

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        if set(state) != {"codebooks"}:
            return None
        stages, size, _ = state["codebooks"].shape
        return {"codebook_size": int(size), "stages": int(stages)}

    def dequantize(self, indices: Tensor) -> Tensor:
        picked = [self.codebooks[stage][indices[..., stage].long()] for stage in range(self.codes_per_step)]
        return torch.stack(picked).sum(0).transpose(1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = z.transpose(1, 2).float()
        residual, total, codes = x, torch.zeros_like(x), []
        for codebook in self.codebooks:
            index = torch.cdist(residual.detach(), codebook[None].expand(len(x), -1, -1)).argmin(-1)
            chosen = codebook[index]
            total = total + chosen
            residual = residual - chosen.detach()
            codes.append(index)
        loss = F.mse_loss(total, x.detach()) + 0.25 * F.mse_loss(x, total.detach())
        out = x + (total - x).detach()
        return out.transpose(1, 2), torch.stack(codes, -1).to(torch.int32), loss


register_quantizer(ResidualVQ)
