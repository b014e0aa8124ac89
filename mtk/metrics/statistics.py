"""The statistics every text-to-motion paper reports, computed on evaluator embeddings (numpy only).

Each function gives the value of the function of the same purpose in T2M-GPT's evaluation code
(``utils/eval_trans.py``, itself from Guo et al.'s text-to-motion) on the same embeddings and, where a sample
is drawn, the same ``numpy.random.RandomState``: the test suite keeps that code's outputs as numbers.
"""

from __future__ import annotations

import numpy as np

#: R-precision is reported at top 1, 2 and 3
TOP_K = 3


def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(N1, N2)`` between the rows of ``a (N1, D)`` and ``b (N2, D)``."""
    squared = -2.0 * a @ b.T + np.sum(a * a, axis=1, keepdims=True) + np.sum(b * b, axis=1)
    return np.sqrt(np.maximum(squared, 0.0))


def r_precision_counts(text: np.ndarray, motion: np.ndarray, top_k: int = TOP_K) -> tuple[np.ndarray, float]:
    """For one batch of matching pairs (row i of ``text`` describes row i of ``motion``): how many texts
    find their own motion among their ``1..top_k`` nearest motions (int counts, shape ``(top_k,)``), and the
    sum of the matching distances (text i to motion i), whose mean over all pairs is MM-Dist."""
    distances = distance_matrix(text, motion)
    ranking = np.argsort(distances, axis=1)
    own = ranking[:, :top_k] == np.arange(len(text))[:, None]
    return np.cumsum(own, axis=1).astype(bool).sum(axis=0), float(np.trace(distances))


def activation_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of ``(N, D)`` embeddings."""
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def _rank_clipped(values: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with those below its numerical rank tolerance set to 0 (rounding noise,
    whose square roots would otherwise add up where a covariance is singular)."""
    tolerance = max(values.max(initial=0.0), 0.0) * len(values) * np.finfo(values.dtype).eps
    return np.where(values > tolerance, values, 0.0)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(_rank_clipped(values))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2):
    ``|mu1 - mu2|² + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^½)``.

    ``tr((sigma1 sigma2)^½)`` is the sum of the square roots of the eigenvalues of ``sigma1 sigma2``, which are
    those of the symmetric ``sigma1^½ sigma2 sigma1^½``; computing them that way needs no ``sqrtm`` and stays
    real and exact where the covariances are singular (fewer samples than dimensions)."""
    root = _psd_sqrt(np.atleast_2d(sigma1))
    inner = root @ np.atleast_2d(sigma2) @ root
    trace_sqrt = np.sqrt(_rank_clipped(np.linalg.eigvalsh((inner + inner.T) / 2))).sum()
    diff = np.atleast_1d(mu1) - np.atleast_1d(mu2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def fid(real: np.ndarray, generated: np.ndarray) -> float:
    """FID between two sets of ``(N, D)`` embeddings."""
    return frechet_distance(*activation_statistics(real), *activation_statistics(generated))


def diversity_pairs(count: int) -> int:
    """How many random pairs the diversity averages over: 300 when there are more than 300 embeddings, else 100."""
    return 300 if count > 300 else 100


def diversity(embeddings: np.ndarray, times: int, rng: np.random.RandomState) -> float:
    """Mean distance between ``times`` random pairs of embeddings (two draws without replacement)."""
    if len(embeddings) <= times:
        raise ValueError(f"diversity needs more than {times} embeddings, got {len(embeddings)}")
    first = rng.choice(len(embeddings), times, replace=False)
    second = rng.choice(len(embeddings), times, replace=False)
    return float(np.linalg.norm(embeddings[first] - embeddings[second], axis=1).mean())


def multimodality(embeddings: np.ndarray, times: int, rng: np.random.RandomState) -> float:
    """Mean distance between ``times`` random pairs of motions generated from the same text; ``embeddings``
    is ``(texts, repeats, D)`` with more than ``times`` repeats per text."""
    if embeddings.ndim != 3 or embeddings.shape[1] <= times:
        raise ValueError(f"multimodality needs (texts, more than {times} repeats, D) embeddings, "
                         f"got {embeddings.shape}")
    first = rng.choice(embeddings.shape[1], times, replace=False)
    second = rng.choice(embeddings.shape[1], times, replace=False)
    return float(np.linalg.norm(embeddings[:, first] - embeddings[:, second], axis=2).mean())


def confidence_interval(values: np.ndarray) -> np.ndarray:
    """Half-width of the 95 % interval of the mean over replications, as the papers report it:
    ``1.96 · std / sqrt(replications)`` (population std)."""
    values = np.asarray(values, dtype=np.float64)
    return 1.96 * values.std(axis=0) / np.sqrt(len(values))
