"""Reading and writing motion tokens (:class:`~mtk.formats.model.TokenSet`) in any registered tokens format.

Each tokens format is one module of this package holding the same :class:`TokenSet`: MotionMillion's layout
(a folder of per-motion code files, a ``<folder>_prob.npy`` frequency vector and ``all_data.pkl``;
:mod:`mtk.formats.tokens.motionmillion`) and a Zarr tokens store (:mod:`mtk.formats.tokens.zarr`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError, damaged_input
from mtk.formats.model import TokenSet
from mtk.io.location import local_path

__all__ = ["MAX_CODEBOOK", "TokenSet", "as_codes", "check_codes_per_step", "read_tokens", "write_tokens"]


#: the largest codebook any tokens format may declare, and the bound on every code: a code sizes the counts
#: kept of it (MotionMillion's is 65,536; mtk trains up to 2^18)
MAX_CODEBOOK = 2**20


def as_codes(array: np.ndarray, where: str | Path, per_step: int = 1) -> np.ndarray:
    """A stored code array as int64: ``(1, L)`` or ``(L,)`` -> ``(L,)``; with ``per_step`` Q > 1, ``(1, L, Q)``
    or ``(L, Q)`` -> ``(L, Q)``. Other shapes, non-integer or negative codes and codes of no codebook
    (>= :data:`MAX_CODEBOOK`) are refused."""
    expected = "(1, L)" if per_step == 1 else f"(L, {per_step})"
    with damaged_input(where, f"expected integer codes {expected}"):
        array = np.asarray(array)
    if array.ndim == (2 if per_step == 1 else 3) and array.shape[0] == 1:
        array = array[0]
    shape_ok = array.ndim == 1 if per_step == 1 else array.ndim == 2 and array.shape[1] == per_step
    if not shape_ok or not np.issubdtype(array.dtype, np.integer):
        raise BadInputError(where, f"holds {array.dtype} codes of shape {array.shape}; expected integers {expected}")
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


def check_codes_per_step(path: str | Path, format: str, codes_per_step: int) -> None:
    """Refuse (one line) to write tokens of ``codes_per_step`` codes per step in a format that holds one."""
    from mtk.formats import registry

    if codes_per_step == 1 or registry.get("tokens", format).writer.writes_several_codes:
        return
    takers = [f.name for f in registry.formats("tokens", writable=True) if f.writer.writes_several_codes]
    raise MtkError(path, f"{format} tokens hold one code per step; this tokenizer makes {codes_per_step}",
                   f"use --format {' or '.join(takers)}")


def write_tokens(path: str | Path, tokens: TokenSet, format: str = "motionmillion", overwrite: bool = False) -> str:
    """Write ``tokens`` in the registered tokens format ``format``; returns a one-line summary."""
    from mtk.formats import registry

    check_codes_per_step(path, format, tokens.codes_per_step)
    return registry.get("tokens", format).writer.write(local_path(path), tokens, overwrite=overwrite)
