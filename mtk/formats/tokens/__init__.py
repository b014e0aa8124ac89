"""Reading and writing motion tokens (:class:`~mtk.formats.model.TokenSet`) in any registered tokens format.

Each tokens format is one module of this package holding the same :class:`TokenSet`: MotionMillion's layout
(a folder of per-motion code files, a ``<folder>_prob.npy`` frequency vector and ``all_data.pkl``;
:mod:`mtk.formats.tokens.motionmillion`) and a Zarr tokens store (:mod:`mtk.formats.tokens.zarr`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, damaged_input
from mtk.formats.model import TokenSet
from mtk.io.location import local_path

__all__ = ["MAX_CODEBOOK", "TokenSet", "as_codes", "read_tokens", "write_tokens"]


#: the largest codebook any tokens format may declare, and the bound on every code: a code sizes the counts
#: kept of it (MotionMillion's is 65,536; mtk trains up to 2^18)
MAX_CODEBOOK = 2**20


def as_codes(array: np.ndarray, where: str | Path) -> np.ndarray:
    """A stored code array, (1, L) or (L,), as 1-D int64; non-integer, negative codes and codes of no codebook
    (>= :data:`MAX_CODEBOOK`) are refused."""
    with damaged_input(where, "expected integer codes (1, L)"):
        array = np.asarray(array)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise BadInputError(where, f"holds {array.dtype} codes of shape {array.shape}; expected integers (1, L)")
    codes = array.astype(np.int64)
    if codes.size and codes.min() < 0:
        raise BadInputError(where, f"holds a negative code ({int(codes.min())})")
    if codes.size and codes.max() >= MAX_CODEBOOK:
        raise BadInputError(where, f"holds code {int(codes.max())}, beyond any codebook (at most {MAX_CODEBOOK:,} "
                            "codes)", "the tokens are damaged or were not written by a tokenizer")
    return codes


def read_tokens(path: str | Path) -> TokenSet:
    """Read tokens in any registered tokens format (a MotionMillion code folder, its ``all_data.pkl`` or prob
    file, a Zarr tokens store)."""
    from mtk.formats import registry

    path = local_path(path)
    return registry.detect(path, "tokens").reader.read(path)


def write_tokens(path: str | Path, tokens: TokenSet, format: str = "motionmillion", overwrite: bool = False) -> str:
    """Write ``tokens`` in the registered tokens format ``format``; returns a one-line summary."""
    from mtk.formats import registry

    return registry.get("tokens", format).writer.write(local_path(path), tokens, overwrite=overwrite)
