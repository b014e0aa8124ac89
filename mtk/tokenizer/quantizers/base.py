"""The quantizer base class and the registry every quantizer module adds itself to.

A quantizer is one module that defines a :class:`Quantizer` subclass and ends with
``register_quantizer(TheClass)``. The class owns everything the rest of mtk needs to know about it: its
name and one-line summary (the CLI's ``--quantizer`` choices), its entries in the model config
(:meth:`Quantizer.make_config` / :meth:`Quantizer.from_config`), which of them shape its state dict
(``arch_keys``), and how to recognise its state dict in a checkpoint saved without a config
(:meth:`Quantizer.config_from_state`). Code counting uses ``bincount`` on the model's device (never a dense
one-hot); usage and perplexity arithmetic is :mod:`mtk.analysis.codebook`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mtk.analysis.codebook import perplexity


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

    ``forward(z (B, C, N)) -> (quantized (B, C, N), indices (B, N) int32, aux_loss scalar)``: the aux loss
    (commitment, codebook or entropy terms; 0 when there are none) is added to the training loss as is.
    ``dequantize(indices (B, N)) -> (B, C, N)``.
    """

    #: the ``--quantizer`` name and the ``quantizer`` entry of the model config
    name: ClassVar[str]
    #: one line for ``--help`` and error messages
    summary: ClassVar[str]
    #: config entries that shape the state dict (compared when resuming and when naming a preset)
    arch_keys: ClassVar[tuple[str, ...]] = ("codebook_size",)
    codebook_size: int

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """This quantizer's entries of the model config.

        ``codebook_size`` is the requested size (None: follow the preset), ``nominal_size`` the preset's
        nominal size (a power of two); ``options`` are quantizer settings such as ``commitment`` (None:
        the default). Raise ValueError for a size or option this quantizer cannot take.
        """
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        """The quantizer of a model config (entries from :meth:`make_config`; ``code_dim`` is the input width)."""
        raise NotImplementedError

    @classmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """This quantizer's config entries implied by its state dict (keys relative to the quantizer, e.g.
        ``codebook``), or None when ``state`` is not this quantizer's."""
        raise NotImplementedError

    def dequantize(self, indices: Tensor) -> Tensor:
        raise NotImplementedError

    def near_boundary(self, z: Tensor, margin: float) -> Tensor:
        """``(B, N)`` bool: tokens of ``z (B, C, N)`` within ``margin`` of a boundary between two codes, whose
        code could flip with the float summation order of a batched encoder. None by default."""
        return torch.zeros(z.shape[0], z.shape[2], dtype=torch.bool, device=z.device)

    def train_stats(self) -> dict[str, float]:
        """Counters worth logging during training (e.g. codes re-seeded so far); none by default."""
        return {}

    def counts(self, indices: Tensor) -> Tensor:
        """Code counts of ``indices`` (see :func:`code_counts`)."""
        return code_counts(indices, self.codebook_size)

    def usage(self, indices: Tensor) -> CodebookUsage:
        """Usage and perplexity of ``indices`` over this codebook."""
        return usage_from_counts(self.counts(indices))


def refuse_options(name: str, options: dict[str, Any]) -> None:
    """ValueError naming the ``options`` that were set (not None) for a quantizer that takes none of them."""
    given = [key for key, value in options.items() if value is not None]
    if given:
        raise ValueError(f"the {name} quantizer takes no {', '.join(given)}")


#: name -> quantizer class, in registration order (the first is the default)
QUANTIZERS: dict[str, type[Quantizer]] = {}


def register_quantizer(cls: type[Quantizer]) -> type[Quantizer]:
    """Add a quantizer class under ``cls.name``; returns it, so it also works as a class decorator."""
    if cls.name in QUANTIZERS and QUANTIZERS[cls.name] is not cls:
        raise ValueError(f"a quantizer named {cls.name!r} is already registered")
    QUANTIZERS[cls.name] = cls
    return cls


def quantizer_names() -> tuple[str, ...]:
    """The registered quantizer names (the default, fsq, first)."""
    return tuple(QUANTIZERS)


def get_quantizer(name: str) -> type[Quantizer]:
    """The quantizer class registered under ``name``; ValueError listing the known ones otherwise."""
    try:
        return QUANTIZERS[name]
    except KeyError:
        raise ValueError(f"unknown quantizer {name!r}; choose one of {', '.join(QUANTIZERS)}") from None
