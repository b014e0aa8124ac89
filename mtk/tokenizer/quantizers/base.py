"""The quantizer base class and the registry every quantizer module adds itself to.

A quantizer is one module in this package that defines a :class:`Quantizer` subclass and ends with
``register_quantizer(TheClass)``; the package imports every module in its folder, so a new file is found
without being listed anywhere. The class owns everything the rest of mtk needs to know about it: its name
and one-line summary (the CLI's ``--quantizer`` choices), the options it takes (``options``: each becomes a
``mtk tokenizer train`` flag and a model-config entry), its entries in the model config
(:meth:`Quantizer.make_config` / :meth:`Quantizer.from_config`), which of them shape its state dict
(``arch_keys``), and how to recognise its state dict in a checkpoint saved without a config
(:meth:`Quantizer.config_from_state`). Code counting uses ``bincount`` on the model's device (never a dense
one-hot); usage and perplexity arithmetic is :mod:`mtk.analysis.codebook`'s.
"""

from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
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


@dataclass(frozen=True)
class QuantizerOption:
    """A setting a quantizer takes: a model-config entry ``key`` and the flag ``--<key with dashes>``.

    ``kind`` is ``float``, ``int`` or a tuple of the allowed strings; ``default`` is what ``None`` means.
    """

    key: str
    kind: type | tuple[str, ...]
    default: Any
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    def parse(self, value: Any) -> Any:
        """``value`` checked and converted (None: the default); ValueError naming the flag otherwise."""
        if value is None:
            return self.default
        if isinstance(self.kind, tuple):
            if value not in self.kind:
                raise ValueError(f"{self.flag} takes one of {', '.join(self.kind)}, not {value!r}")
            return value
        try:
            number = self.kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.flag} takes a number, not {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{self.flag} takes a finite number >= 0, not {value!r}")
        return number


class Quantizer(nn.Module, metaclass=ABCMeta):
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
    #: the settings this quantizer takes (flags of ``mtk tokenizer train``, entries of the model config)
    options: ClassVar[tuple[QuantizerOption, ...]] = ()
    codebook_size: int

    @classmethod
    def option_values(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Every declared option's value from ``given`` (None or absent: its default); ValueError naming
        any option set to a value that this quantizer does not take."""
        declared = {option.key: option for option in cls.options}
        unknown = [key for key, value in given.items() if value is not None and key not in declared]
        if unknown:
            takes = f" (it takes {', '.join(o.flag for o in cls.options)})" if cls.options else ""
            raise ValueError(f"the {cls.name} quantizer takes no {', '.join(unknown)}{takes}")
        return {key: option.parse(given.get(key)) for key, option in declared.items()}

    @classmethod
    @abstractmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        """This quantizer's entries of the model config.

        ``codebook_size`` is the requested size (None: follow the preset), ``nominal_size`` the preset's
        nominal size (a power of two); ``options`` are values of its declared :attr:`options` (None: the
        default; see :meth:`option_values`). Raise ValueError for a size or option this quantizer cannot take.
        """

    @classmethod
    @abstractmethod
    def from_config(cls, config: dict[str, Any]) -> Quantizer:
        """The quantizer of a model config (entries from :meth:`make_config`; ``code_dim`` is the input width)."""

    @classmethod
    @abstractmethod
    def config_from_state(cls, state: dict[str, Tensor], code_dim: int, codebook_size: int | None,
                          path: Path) -> dict[str, Any] | None:
        """This quantizer's config entries implied by its state dict (keys relative to the quantizer, e.g.
        ``codebook``), or None when ``state`` is not this quantizer's."""

    @classmethod
    def resume_problem(cls, stored: dict[str, Any]) -> str | None:
        """Why a run saved with model config ``stored`` cannot be resumed by this code (None: it can)."""
        return None

    @abstractmethod
    def dequantize(self, indices: Tensor) -> Tensor:
        """Indices ``(B, N)`` -> the decoder's input ``(B, dim, N)``."""

    @abstractmethod
    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z (B, dim, N)`` -> (quantized ``(B, dim, N)``, indices ``(B, N)`` int32, aux loss scalar)."""

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


#: the quantizer trained when none is named
DEFAULT_QUANTIZER = "fsq"
#: name -> quantizer class
QUANTIZERS: dict[str, type[Quantizer]] = {}


def register_quantizer(cls: type[Quantizer]) -> type[Quantizer]:
    """Add a quantizer class under ``cls.name``; returns it, so it also works as a class decorator.

    A different class under a taken name is refused; the same class again (a reloaded module) replaces
    the entry."""
    if not (isinstance(cls, type) and issubclass(cls, Quantizer)):
        raise TypeError(f"{cls!r} is not a Quantizer subclass")
    known = QUANTIZERS.get(cls.name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"a quantizer named {cls.name!r} is already registered ({known.__module__}.{known.__qualname__})")
    QUANTIZERS[cls.name] = cls
    return cls


def quantizer_names() -> tuple[str, ...]:
    """The registered quantizer names: the default (fsq) first, then the others in alphabetical order."""
    return tuple(sorted(QUANTIZERS, key=lambda name: (name != DEFAULT_QUANTIZER, name)))


def quantizer_options() -> dict[str, tuple[QuantizerOption, tuple[str, ...]]]:
    """Every option any registered quantizer declares: key -> (its declaration, the quantizers taking it).

    Quantizers sharing a key share its flag; the help of the first declaration is kept and its default
    may differ per quantizer (each applies its own)."""
    table: dict[str, tuple[QuantizerOption, tuple[str, ...]]] = {}
    for name in quantizer_names():
        for option in QUANTIZERS[name].options:
            first, takers = table.get(option.key, (option, ()))
            table[option.key] = (first, takers + (name,))
    return table


def get_quantizer(name: str) -> type[Quantizer]:
    """The quantizer class registered under ``name``; ValueError listing the known ones otherwise."""
    try:
        return QUANTIZERS[name]
    except KeyError:
        raise ValueError(f"unknown quantizer {name!r}; choose one of {', '.join(quantizer_names())}") from None
