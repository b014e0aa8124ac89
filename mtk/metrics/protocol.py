"""T2M-GPT's evaluation protocol (``eval_trans``), for a tokenizer's reconstructions and for generated motion.

One **replication** goes once through the reference motions in a random order, in batches of 32 (the last,
incomplete batch is dropped). Each motion gets one of its captions at random and a random crop: its length cut
to a multiple of the unit (4 frames), one unit shorter with probability 1/3, at a random offset. Per batch the
texts are ranked against the batch's motions (R-precision top 1/2/3, MM-Dist); over the replication the
embeddings give FID (reference vs evaluated) and diversity (300 random pairs, 100 below 301 motions). The
papers report the mean over 20 replications and ``1.96 · std / sqrt(20)``.

Reference motions come from a split as the original loaders build it: motions shorter than the evaluator's
minimum or too long are left out, and a caption timed to part of a motion (``#start#end`` in seconds) makes a
clip of its own. Every draw comes from ``numpy.random.RandomState(seed + replication)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mtk.errors import MtkError
from mtk.metrics import statistics as stats
from mtk.metrics.evaluator import Evaluator
from mtk.metrics.words import parse_caption

#: the metric names ``--metrics`` takes, and what each reports
METRICS: dict[str, str] = {
    "fid": "Fréchet distance between the evaluated and the reference motion embeddings (lower is better)",
    "rprecision": "top-1/2/3 retrieval of each motion's own text among its batch of 32 (higher is better)",
    "mmdist": "mean distance between a motion's embedding and its text's (lower is better)",
    "diversity": "mean distance between random pairs of motion embeddings (closer to the reference is better)",
    "multimodality": "mean distance between motions generated from the same text (generated motion only)",
}
#: the papers' replication count
REPLICATIONS = 20
#: pairs drawn per text for multimodality, as text-to-motion and T2M-GPT draw them
MULTIMODALITY_PAIRS = 10

#: (raw padded batch (B, T, D), lengths (B,)) -> (raw prediction, its lengths)
Predict = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Item:
    """One reference motion (or a text-timed clip of one) with the captions that describe it."""

    name: str
    motion: np.ndarray
    texts: list[str]


def reference_items(motions: Iterator, evaluator: Evaluator, fps: float) -> list[Item]:
    """The evaluation set of a split, as the original loaders build it (``motions``: mtk ``Motion`` objects)."""
    from mtk.analysis.finite import require_finite

    protocol = evaluator.protocol
    low, end = protocol.min_source_frames, protocol.end_source_frames

    def kept(frames: int) -> bool:
        return low <= frames < end

    items: list[Item] = []
    for motion in motions:
        features = require_finite(np.asarray(motion.features, dtype=np.float32), motion.name)
        if not kept(len(features)):
            continue
        whole: list[str] = []
        for i, line in enumerate(motion.texts):
            if not line.strip():
                continue
            caption = parse_caption(line)
            if caption.whole_motion:
                whole.append(line)
                continue
            clip = features[int(caption.start * fps): int(caption.end * fps)]
            if kept(len(clip)):
                items.append(Item(f"{motion.name}#{i}", clip, [line]))
        if whole:
            items.append(Item(motion.name, features, whole))
    return items


def crop(length: int, unit: int, rng: np.random.RandomState) -> tuple[int, int]:
    """(offset, frames) of the random crop: a multiple of ``unit``, one unit shorter one time in three."""
    units = length // unit
    if unit < 10 and rng.choice(["single", "single", "double"]) == "double":
        units -= 1
    frames = max(units, 1) * unit
    return rng.randint(0, length - frames + 1), frames


def padded(motions: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """A zero-padded ``(B, T, D)`` float32 batch and its lengths."""
    lengths = torch.tensor([len(m) for m in motions])
    batch = torch.zeros(len(motions), int(lengths.max()), motions[0].shape[1])
    for i, motion in enumerate(motions):
        batch[i, : len(motion)] = torch.from_numpy(np.ascontiguousarray(motion))
    return batch, lengths


def reference_batches(items: list[Item], evaluator: Evaluator, rng: np.random.RandomState
                      ) -> Iterator[tuple[list[str], torch.Tensor, torch.Tensor]]:
    """Batches of (captions, raw padded crops, lengths) in a random order; the last incomplete batch is dropped."""
    size, unit = evaluator.protocol.batch_size, evaluator.protocol.unit_length
    order = rng.permutation(len(items))
    for start in range(0, len(order) - size + 1, size):
        texts, crops = [], []
        for index in order[start: start + size]:
            item = items[index]
            texts.append(item.texts[rng.randint(len(item.texts))])
            offset, frames = crop(len(item.motion), unit, rng)
            crops.append(item.motion[offset: offset + frames])
        yield (texts, *padded(crops))


@dataclass
class Accumulator:
    """R-precision counts, matching distances and motion embeddings of one side (reference or evaluated)."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(stats.TOP_K))
    matching: float = 0.0
    embeddings: list[np.ndarray] = field(default_factory=list)

    def add(self, motion: np.ndarray, text: np.ndarray | None) -> None:
        self.embeddings.append(motion)
        if text is not None:
            counts, matching = stats.r_precision_counts(text, motion)
            self.counts += counts
            self.matching += matching

    def figures(self, rng: np.random.RandomState) -> dict[str, Any]:
        embeddings = self.all()
        n = len(embeddings)
        result: dict[str, Any] = {f"top{k + 1}": float(self.counts[k] / n) for k in range(stats.TOP_K)}
        result["mmdist"] = self.matching / n
        result["diversity"] = (stats.diversity(embeddings, stats.diversity_pairs(n), rng)
                               if n > stats.diversity_pairs(n) else float("nan"))
        return result

    def all(self) -> np.ndarray:
        return np.concatenate(self.embeddings)


def reconstruction_replication(items: list[Item], evaluator: Evaluator, predict: Predict, seed: int,
                               with_text: bool = True) -> dict[str, dict[str, Any]]:
    """One replication for a tokenizer: reference crops vs their reconstructions."""
    rng = np.random.RandomState(seed)
    real, evaluated = Accumulator(), Accumulator()
    for texts, batch, lengths in reference_batches(items, evaluator, rng):
        text = evaluator.embed_texts(texts) if with_text else None
        real.add(evaluator.embed_motions(batch, lengths), text)
        prediction, predicted_lengths = predict(batch, lengths)
        evaluated.add(evaluator.embed_motions(prediction, predicted_lengths), text)
    result = {"evaluated": evaluated.figures(rng), "reference": real.figures(rng)}
    result["evaluated"]["fid"] = stats.fid(real.all(), evaluated.all())
    return result


def check_texts(items: list[Item], evaluator: Evaluator, path: str) -> None:
    """Refuse (one line) the first caption of the reference set the evaluator cannot read."""
    for item in items:
        for line in item.texts:
            evaluator.check_text(line, f"{path}: {item.name}")


def require_batch(count: int, evaluator: Evaluator, path: str, what: str) -> None:
    """Refuse (one line) ``count`` motions that do not fill one batch of the protocol."""
    if count < evaluator.protocol.batch_size:
        protocol = evaluator.protocol
        raise MtkError(path, f"{what} {count} motions the {evaluator.name} protocol keeps ({protocol.min_source_frames}"
                       f" to {protocol.end_source_frames - 1} frames), fewer than one batch of {protocol.batch_size}",
                       "evaluate a larger split")


def replicate(run: Callable[[int], dict[str, dict[str, Any]]], replications: int, seed: int,
              on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``run(seed + r)`` for each replication r, summarized (:func:`summarize`), with progress per replication."""
    from mtk.io.progress import announce_total

    announce_total(on_progress, replications)
    runs = []
    for r in range(replications):
        runs.append(run(seed + r))
        if on_progress:
            on_progress(1)
    return summarize(runs)


def summarize(replications: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Mean and 95 % half-interval of every figure over the replications."""
    summary: dict[str, Any] = {}
    for side in replications[0]:
        summary[side] = {}
        for key in replications[0][side]:
            values = np.array([r[side][key] for r in replications], dtype=np.float64)
            summary[side][key] = {"mean": float(values.mean()), "conf": float(stats.confidence_interval(values)),
                                  "values": values.tolist()}
    return summary


def parse_metrics(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The names of a ``--metrics`` list (``all`` for every allowed one); unknown names are refused."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return allowed
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise MtkError(None, f"unknown metric {', '.join(unknown) or '(none given)'}",
                       f"choose from {', '.join(allowed)}, or all")
    return tuple(dict.fromkeys(names))
