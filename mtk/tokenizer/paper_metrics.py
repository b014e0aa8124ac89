"""``mtk tokenizer eval --metrics fid,rprecision,...``: a tokenizer's reconstructions measured with a
text–motion evaluator, by T2M-GPT's protocol (:mod:`mtk.metrics.protocol`).

Each crop of the reference protocol is normalized with the tokenizer's own mean/std, reconstructed through the
codes (padded batches, masked: equal to one crop at a time), denormalized, and given to the evaluator, which
normalizes with its own statistics. FID compares the reconstructions' embeddings with the crops'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from mtk.errors import MtkError
from mtk.metrics.protocol import (Predict, check_texts, reconstruction_replication, reference_items, replicate,
                                  require_batch)
from mtk.tokenizer.model import TokenizerModel


def reconstructor(model: TokenizerModel, mean: torch.Tensor, std: torch.Tensor) -> Predict:
    """A :data:`~mtk.metrics.protocol.Predict` that reconstructs raw crops through ``model``'s codes
    (lengths cut to the model's unit)."""
    device = next(model.parameters()).device
    mean, std = mean.to(device, torch.float32), std.to(device, torch.float32)

    @torch.no_grad()
    def predict(raw: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = (lengths // model.unit_length * model.unit_length).to(device)
        target = raw[:, : int(lengths.max())].to(device, torch.float32)
        out = model((target - mean) / std, lengths)
        return out.reconstruction * std + mean, lengths

    return predict


def evaluate_with_evaluator(dataset_path: str, ckpt_path: str, evaluator_path: str, *, split: str | None = None,
                            glove: str | None = None, text_model: str | None = None, replications: int = 20,
                            seed: int = 0, with_text: bool = True, layout: str | None = None,
                            splits: str | None = None, batch_size: int | None = None,
                            on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Reconstruction FID, R-precision, MM-Dist and diversity of the tokenizer ``ckpt_path`` on ``split`` of
    ``dataset_path`` (default: test when it has one), with the reference figures of the same crops.

    ``batch_size`` replaces the protocol's 32 (R-precision is easier in smaller batches: only for data too
    small for one batch, such as the quick demo's)."""
    from mtk.formats.datasets import open_dataset
    from mtk.metrics.load import load_evaluator
    from mtk.tokenizer.checkpoint import load_checkpoint
    from mtk.tokenizer.evaluate import ALL, _checked_layout, default_split
    from mtk.tokenizer.tokenize import checkpoint_stats, load_stats

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, info = load_checkpoint(ckpt_path, map_location="cpu")
    model = model.to(device).eval()
    reader = open_dataset(dataset_path, layout=layout, splits=splits)
    data_layout = _checked_layout(dataset_path, reader.info.layout, model, info)
    stats, _ = load_stats(None, None, [(f"{ckpt_path} stats", checkpoint_stats(info)),
                                       (f"{dataset_path} stats", reader.info.stats)], model.input_dim)
    evaluator = load_evaluator(evaluator_path, data_layout.name, glove=glove, text_model=text_model, device=device)
    if batch_size is not None:
        evaluator.protocol = replace(evaluator.protocol, batch_size=batch_size)
    split = split or default_split(reader.info)
    try:
        key = None if split == ALL else reader.info.resolve_split(split)
    except KeyError as err:
        raise MtkError(dataset_path, str(err).strip("'\""), "pass --split with one of its splits") from None
    items = reference_items(reader.iter(key), evaluator, reader.info.fps or data_layout.fps)
    require_batch(len(items), evaluator, dataset_path, f"split {split} has")
    if with_text:
        check_texts(items, evaluator, dataset_path)
    predict = reconstructor(model, torch.as_tensor(stats.mean), torch.as_tensor(stats.std))
    summary = replicate(lambda s: reconstruction_replication(items, evaluator, predict, s, with_text), replications,
                        seed, on_progress)
    return {"evaluator": evaluator.name, "replications": replications, "seed": seed, "split": split,
            "evaluated_motions": len(items), **summary}
