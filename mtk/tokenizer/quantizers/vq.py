"""A VQ-VAE codebook baseline (T2M-GPT style): nearest-code lookup, EMA updates, dead-code reset.

The codebook is learnt by exponential moving averages of the encoder outputs assigned to each code, not
by gradients. Codes whose running assignment count falls below ``dead_fraction`` of the average count
are re-seeded with random encoder outputs of the current batch (T2M-GPT resets below a count of 1 at
about 16 tokens per code per step, i.e. 1/16 of the average; an absolute threshold of 1 would re-seed
nearly every code at every step when a batch holds fewer tokens than the codebook has codes). The encoder is pulled towards its codes by a commitment
loss ``||z - sg(c)||^2``. Like :class:`mtk.tokenizer.quantizers.fsq.FSQ` it runs in float32 under autocast. Under
``torch.distributed`` the EMA statistics are summed over processes, the dead codes are rank 0's and re-seeded
rows are drawn from every process's encoder outputs with a shared generator
(:mod:`mtk.tokenizer.collective`): all replicas keep the same codebook, the one a single process
would learn on the global batch. ``codes_reseeded`` counts the resets since the module was built.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from mtk.tokenizer.collective import all_reduce_sum, broadcast_from_main, gather_rows, shared_generator, world_size
from mtk.tokenizer.quantizers.base import Quantizer, QuantizerOption, register_quantizer
from mtk.tokenizer.quantizers.fsq import levels_for

DEFAULT_COMMITMENT = 0.02
COMMITMENT_HELP = "weight of the commitment loss that pulls the encoder to its code"


def nearest_code(flat: Tensor, codebook: Tensor, chunk: int = 256) -> Tensor:
    """Index of the nearest row of ``codebook (K, dim)`` (squared Euclidean) for each row of ``flat (M, dim)``.

    ``argmin_k |c_k|^2 - 2 x.c_k`` (the ``|x|^2`` term does not change the argmin), ``chunk`` rows at a time:
    an ``M x K`` distance matrix in pieces, the cost that grows with the codebook.
    """
    squared = codebook.pow(2).sum(1)[None]
    return torch.cat([torch.addmm(squared, part, codebook.t(), alpha=-2).argmin(dim=1) for part in flat.split(chunk)])


def sample_rows(flat: Tensor, count: int, generator: torch.Generator | None = None) -> Tensor:
    """``count`` rows drawn from ``flat (M, dim)``: without repetition when ``M >= count``, else with
    repetition plus Gaussian jitter of 1 % of the rows' per-channel spread, so repeats are distinct codes."""
    if flat.shape[0] >= count:
        return flat[torch.randperm(flat.shape[0], device=flat.device, generator=generator)[:count]]
    picks = torch.randint(flat.shape[0], (count,), device=flat.device, generator=generator)
    spread = flat.std(dim=0, keepdim=True) if flat.shape[0] > 1 else flat.new_ones(1, flat.shape[1])
    return flat[picks] + 0.01 * spread * torch.randn(count, flat.shape[1], device=flat.device, generator=generator)


def draw_rows(flat: Tensor, count: int) -> Tensor:
    """:func:`sample_rows` from the encoder outputs ``flat`` of every process, with a generator seeded from
    process 0: the same rows on every process, and the rows one process would draw from the global batch."""
    return sample_rows(gather_rows(flat), count, shared_generator(flat.device))


def equal_footing_size(codebook_size: int | None, nominal_size: int) -> int:
    """A learnt codebook's size: as asked, else as many codes as FSQ has for the preset's nominal size."""
    size = int(codebook_size or math.prod(levels_for(nominal_size)))
    if size < 2:
        raise ValueError(f"a codebook needs at least 2 codes, got {size}")
    return size


class VQ(Quantizer):
    """A ``codebook_size`` x ``dim`` codebook with EMA updates, dead-code reset and a commitment loss."""

    name = "vq"
    summary = "VQ-VAE codebook with EMA updates and dead-code reset (T2M-GPT)"
    options = (QuantizerOption("commitment", float, DEFAULT_COMMITMENT, COMMITMENT_HELP),)

    def __init__(self, codebook_size: int, dim: int, decay: float = 0.99, commitment: float = DEFAULT_COMMITMENT,
                 dead_fraction: float = 1 / 16, eps: float = 1e-5):
        super().__init__()
        self.codebook_size = codebook_size
        self.dim = dim
        self.decay = decay
        self.commitment = commitment
        self.dead_fraction = dead_fraction
        self.eps = eps
        self.register_buffer("codebook", torch.zeros(codebook_size, dim))
        self.register_buffer("ema_count", torch.zeros(codebook_size))
        self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self.codes_reseeded = 0

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """Any size (default: FSQ's real size for the nominal one, 1,000 for 2^10), and the commitment weight."""
        return {"codebook_size": equal_footing_size(codebook_size, nominal_size), **cls.option_values(options)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> VQ:
        return cls(config["codebook_size"], config["code_dim"],
                   commitment=config.get("commitment", DEFAULT_COMMITMENT))

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """Recognised by its EMA buffers; the size is the codebook's row count."""
        if "codebook" not in state or "ema_count" not in state:
            return None
        return cls.make_config(int(state["codebook"].shape[0]), int(state["codebook"].shape[0]))

    def train_stats(self) -> dict[str, float]:
        """Codes re-seeded by dead-code resets since this module was built."""
        return {"codes_reseeded": self.codes_reseeded}

    def nearest(self, flat: Tensor) -> Tensor:
        """Index of the nearest code for each row of ``flat (M, dim)``."""
        return nearest_code(flat, self.codebook)

    @torch.no_grad()
    def _initialise(self, flat: Tensor) -> None:
        self.codebook.copy_(draw_rows(flat, self.codebook_size))
        self.ema_count.fill_(flat.shape[0] * world_size() / self.codebook_size)
        self.ema_sum.copy_(self.codebook * self.ema_count[:, None])
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, flat: Tensor, indices: Tensor) -> None:
        counts = all_reduce_sum(torch.bincount(indices, minlength=self.codebook_size).float())
        sums = all_reduce_sum(torch.zeros_like(self.ema_sum).index_add_(0, indices, flat))
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + self.eps) / (total + self.codebook_size * self.eps) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        threshold = self.dead_fraction * counts.sum() / self.codebook_size
        dead = broadcast_from_main((self.ema_count < threshold).to(torch.uint8)).bool()
        reseeded = int(dead.sum())
        if reseeded:
            self.codes_reseeded += reseeded
            fresh = draw_rows(flat, reseeded)
            self.codebook[dead] = fresh
            self.ema_count[dead] = counts.sum() / self.codebook_size
            self.ema_sum[dead] = fresh * self.ema_count[dead, None]

    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> codes ``(B, dim, N)``."""
        return F.embedding(indices.long(), self.codebook).transpose(1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> quantized (straight-through), indices ``(B, N)`` int32, commitment loss."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            flat = z.transpose(1, 2).reshape(-1, self.dim)
            if self.training and not bool(self.initialised):
                self._initialise(flat.detach())
            indices = self.nearest(flat.detach())
            codes = self.dequantize(indices.view(z.shape[0], -1))
            if self.training:
                self._update(flat.detach(), indices)
            loss = self.commitment * F.mse_loss(z, codes.detach())
            quantized = z + (codes - z).detach()
        return quantized, indices.view(z.shape[0], -1).to(torch.int32), loss


register_quantizer(VQ)
