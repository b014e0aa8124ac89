"""What every text–motion evaluator offers the metrics.

An evaluator maps motions and texts into one embedding space. FID and diversity use the motion embeddings
alone; R-precision and MM-Dist compare each motion with the text it was made from. Each evaluator also fixes
the protocol constants it was trained for: the frames it reads, the unit motion lengths are cut to, and which
reference motions count. :func:`mtk.metrics.load.load_evaluator` finds the one a layout needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np



@dataclass(frozen=True)
class Protocol:
    """The evaluation constants that come with an evaluator (T2M-GPT's ``eval_trans`` for Guo's)."""

    #: motion lengths are cut to a multiple of this many frames
    unit_length: int = 4
    #: longest motion the evaluator reads (generated motions are cut to it; reference motions are padded to it)
    max_frames: int = 196
    #: reference motions (and their text-timed clips) shorter than this are left out
    min_source_frames: int = 40
    #: ... and those of this many frames or more
    end_source_frames: int = 200
    #: motions per batch: R-precision ranks each text against the motions of its batch
    batch_size: int = 32


class Evaluator(ABC):
    """A loaded evaluator: embeddings of raw (denormalized) feature batches and of text lines."""

    #: a short name for reports ("t2m", "kit", "motionmillion-272", ...)
    name: str
    #: the width of the features it reads
    dim: int
    protocol: Protocol

    @abstractmethod
    def embed_motions(self, raw, lengths) -> np.ndarray:
        """``(B, E)`` embeddings of raw features ``(B, T, D)`` (torch, padded), valid up to ``lengths``."""

    @abstractmethod
    def embed_texts(self, lines: list[str]) -> np.ndarray:
        """``(B, E)`` embeddings of text lines (dataset text lines; see each evaluator for what it reads)."""

    def check_text(self, line: str, where: str) -> None:
        """Refuse (one line) a text line this evaluator cannot read; ``where`` names its source."""


#: the spellings of an evaluator's normalization files
STATS_NAMES = (("mean.npy", "std.npy"), ("Mean.npy", "Std.npy"))


def find_stats(folders: list[Path], dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The first mean/std pair found in ``folders`` (checked: ``(dim,)``, finite, std > 0), or None."""
    from mtk.formats.arrays import load_npy
    from mtk.analysis.finite import check_normalisation

    for folder in folders:
        for mean_name, std_name in STATS_NAMES:
            mean_path, std_path = folder / mean_name, folder / std_name
            if mean_path.is_file() and std_path.is_file():
                mean, std = load_npy(mean_path), load_npy(std_path)
                check_normalisation(mean, std, dim, mean_path.parent)
                return mean.astype(np.float32), std.astype(np.float32)
    return None
