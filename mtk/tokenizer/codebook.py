"""What quantizers share: code counting with ``bincount`` on the model's device (never a dense one-hot),
usage and perplexity (the arithmetic is :mod:`mtk.toolkit.codebook`'s)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mtk.toolkit.codebook import perplexity


@dataclass(frozen=True)
class CodebookUsage:
    """How a codebook was used: share of codes seen at least once, and perplexity (exp of the code entropy)."""

    used: int
    size: int
    perplexity: float

    @property
    def usage(self) -> float:
        """Fraction of codes used, 0..1."""
        return self.used / self.size

    def to_dict(self) -> dict[str, float | int]:
        return {"codes_used": self.used, "codebook_size": self.size, "usage": self.usage,
                "perplexity": self.perplexity}


def code_counts(indices: Tensor, codebook_size: int) -> Tensor:
    """How often each code occurs in ``indices`` (any shape), as an int64 vector of ``codebook_size``."""
    return torch.bincount(indices.reshape(-1).long(), minlength=codebook_size)


def usage_from_counts(counts: Tensor) -> CodebookUsage:
    """Usage and perplexity from a count vector; PPL = exp(-sum p log p), 1 for one code, K for uniform."""
    array = counts.detach().cpu().numpy()
    return CodebookUsage(used=int((array > 0).sum()), size=int(array.size), perplexity=perplexity(array))


class Quantizer(nn.Module):
    """The quantizer interface of the tokenizer.

    ``forward(z (B, C, N)) -> (quantized (B, C, N), indices (B, N) int32, aux_loss scalar)`` and
    ``dequantize(indices (B, N)) -> (B, C, N)``.
    """

    codebook_size: int

    def dequantize(self, indices: Tensor) -> Tensor:
        raise NotImplementedError

    def counts(self, indices: Tensor) -> Tensor:
        """Code counts of ``indices`` (see :func:`code_counts`)."""
        return code_counts(indices, self.codebook_size)

    def usage(self, indices: Tensor) -> CodebookUsage:
        """Usage and perplexity of ``indices`` over this codebook."""
        return usage_from_counts(self.counts(indices))
