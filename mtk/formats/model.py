"""The common dataset model every format reads into and writes from (see docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.schemas import Layout


@dataclass
class Motion:
    """One motion: its name (may contain ``/``), features (T, D) float32 and raw text lines."""

    name: str
    features: np.ndarray
    texts: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return int(self.features.shape[0])


@dataclass
class Stats:
    """A dataset's normalisation vectors and how they were made."""

    mean: np.ndarray
    std: np.ndarray
    convention: str | None = None
    split: str | None = None
    frames: int | None = None


@dataclass
class DatasetInfo:
    """What a reader knows about a dataset before reading any motion."""

    layout: Layout | None
    fps: float
    names: list[str]
    splits: dict[str, list[str]] = field(default_factory=dict)
    stats: Stats | None = None
    #: ``humanml3d`` (also KIT), ``motionmillion`` or ``mtk`` (a store): decides default output names
    family: str = "mtk"
    #: where ``fps`` comes from: ``file`` (stored with the data) or ``layout default`` (npy folders carry none)
    fps_source: str = "file"

    def split_names(self, split: str | None) -> list[str]:
        """Names of ``split`` (all names when None); unknown splits raise KeyError."""
        if split is None or (split == "all" and "all" not in self.splits):
            return list(self.names)
        return list(self.splits[self.resolve_split(split)])

    def resolve_split(self, split: str) -> str:
        """The split key for ``split``: itself, or the one key ending in ``/split`` (MotionMillion's
        ``version1/train`` answers to ``train``). Unknown or ambiguous names raise KeyError."""
        if split in self.splits:
            return split
        matches = [key for key in self.splits if key.endswith(f"/{split}")]
        if len(matches) != 1:
            known = f"splits: {', '.join(self.splits)}" if self.splits else "the dataset has no splits"
            why = "is ambiguous" if matches else "is unknown"
            raise KeyError(f"split {split!r} {why}; {known}")
        return matches[0]


@dataclass
class TokenSet:
    """Token sequences of many motions, in order, with what is needed to decode them.

    ``codes[i]`` is an int array without end token: ``(L,)`` for one code per step, ``(L, Q)`` for a tokenizer
    whose quantizer makes Q codes per step (every motion of a set has the same Q). The end token is
    ``codebook_size`` and the pad token ``codebook_size + 1`` (MotionMillion's convention). ``stats`` is the
    normalisation used when encoding.
    """

    names: list[str]
    codes: list[np.ndarray]
    texts: list[list[str]] = field(default_factory=list)
    codebook_size: int | None = None
    unit_length: int | None = None
    layout: str | None = None
    fps: float | None = None
    stats: Stats | None = None

    def __post_init__(self) -> None:
        if not self.texts:
            self.texts = [[] for _ in self.names]
        shapes = {np.shape(c)[1:] for c in self.codes}
        if len(shapes) > 1 or any(len(shape) > 1 or shape == (0,) for shape in shapes):
            raise BadInputError(None, f"token sequences of different shapes {sorted(shapes)}",
                                "every motion needs (L,) codes, or (L, Q) with one Q")

    @property
    def codes_per_step(self) -> int:
        """1, or the Q of ``(L, Q)`` codes."""
        return int(np.shape(self.codes[0])[1]) if self.codes and np.ndim(self.codes[0]) == 2 else 1

    def __len__(self) -> int:
        return len(self.names)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(c) for c in self.codes], dtype=np.int64)

    def frequencies(self) -> np.ndarray:
        """Counts of size K+2: every code (all Q of a step), plus the end token K once per motion (pad K+1
        stays 0)."""
        from mtk.analysis.codebook import code_counts

        if self.codebook_size is None:
            raise MtkError(None, "the codebook size is unknown", "pass the checkpoint the tokens came from")
        counts = code_counts(self.codes, self.codebook_size + 2)
        if counts.size > self.codebook_size + 2:
            top = max(int(c.max()) for c in self.codes if len(c))
            raise BadInputError(None, f"codes reach {top}, beyond the codebook of {self.codebook_size}")
        counts[self.codebook_size] += len(self.codes)
        return counts
