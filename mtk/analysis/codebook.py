"""Codebook statistics from token counts: usage, perplexity, most frequent codes, and a tokens report.

Pure functions on arrays (bincount, never a dense one-hot), shared by ``mtk tokenize``, ``mtk inspect`` on
tokens and the tokenizer's evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtk.analysis.inspection import Report


def code_counts(codes: np.ndarray | Sequence[np.ndarray], size: int) -> np.ndarray:
    """How often each code occurs in ``codes`` (one array or several), as int64 of length ``size``, or
    ``size + 1`` when some code is >= ``size``: the last entry then counts all of those (memory follows
    ``size``, never the largest code). Codes must be non-negative integers."""
    arrays = [codes] if isinstance(codes, np.ndarray) else list(codes)
    flat = [np.asarray(a).reshape(-1).astype(np.int64, copy=False) for a in arrays]
    joined = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    beyond = joined >= size
    if beyond.any():
        joined = np.where(beyond, size, joined)
    return np.bincount(joined, minlength=size).astype(np.int64, copy=False)


def perplexity(counts: np.ndarray) -> float:
    """exp(entropy) of the code distribution: the effective number of codes in use (0 when empty)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def usage(counts: np.ndarray) -> float:
    """Fraction of the codebook used at least once."""
    counts = np.asarray(counts)
    return float((counts > 0).sum() / counts.size) if counts.size else 0.0


def most_frequent(counts: np.ndarray, top: int = 10) -> list[tuple[int, int]]:
    """The ``top`` most frequent codes as (code, count), most frequent first; ties by code."""
    counts = np.asarray(counts)
    order = np.lexsort((np.arange(counts.size), -counts))[:top]
    return [(int(code), int(counts[code])) for code in order if counts[code] > 0]


def describe_tokens(path: str, lengths: np.ndarray, counts: np.ndarray, codebook_size: int | None,
                    unit_length: int | None = None, top: int = 10) -> Report:
    """Report on a set of token sequences: ``lengths`` per motion, ``counts`` per code (no end token)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    report = Report(path=path, kind="tokens", dtype="int")
    details = report.details
    details["motions"] = int(lengths.size)
    details["tokens"] = int(lengths.sum())
    if lengths.size:
        details["tokens_per_motion"] = {"min": int(lengths.min()), "mean": float(lengths.mean()),
                                        "median": float(np.median(lengths)), "max": int(lengths.max())}
    details["codebook_size"] = codebook_size
    details["unit_length"] = unit_length
    details["codes_used"] = int((counts > 0).sum())
    details["codebook_usage"] = usage(counts) if codebook_size else None
    details["perplexity"] = perplexity(counts)
    frequent = most_frequent(counts, top)
    details["most_frequent"] = [{"code": c, "count": n} for c, n in frequent]
    details["top_codes"] = ", ".join(f"{c} ({n})" for c, n in frequent[:5])
    if lengths.size == 0:
        report.add("warning", "empty", "holds no motions")
    elif (lengths == 0).any():
        report.add("warning", "empty_motion", f"{int((lengths == 0).sum())} motion(s) have no tokens")
    if codebook_size and counts.size > codebook_size and counts[codebook_size:].any():
        report.add("error", "code_out_of_range",
                   f"{int(counts[codebook_size:].sum())} tokens are >= the codebook size {codebook_size}")
    return report
