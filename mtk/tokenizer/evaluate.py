"""Tokenizer evaluation: MPJPE, root trajectory error and codebook usage over a whole split.

Protocol (fixed in code so numbers are comparable): each motion is cropped deterministically to its first
``floor(T / unit) * unit`` frames and reconstructed through the codes; prediction and ground truth are
denormalized, joints are recovered from the features (:func:`mtk.toolkit.recover.recover_joints`), the
pelvis is subtracted per frame, and the joint error is averaged over joints, then frames, then motions
(a per-motion mean, as MotionMillion and MoMask do). The root trajectory error is the mean distance between
the recovered pelvis trajectories, reported separately. Codebook usage and perplexity count every valid
token of the split. Under accelerate each process evaluates its own shard and the sums are reduced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mtk.io.progress import announce_total
from mtk.schemas import Layout
from mtk.tokenizer.quantizers import code_counts, usage_from_counts
from mtk.tokenizer.model import TokenizerModel
from mtk.toolkit.families import recover_joints

#: layout units -> millimetres (KIT positions are on a millimetre-like scale, the others in metres)
MM_PER_UNIT: dict[str, float] = {"kit": 1.0}


def mm_per_unit(layout: Layout) -> float:
    return MM_PER_UNIT.get(layout.dataset_family, 1000.0)


@dataclass
class EvalTotals:
    """Per-process sums, reduced across processes before the means are taken."""

    mpjpe: Tensor
    root: Tensor
    motions: Tensor
    frames: Tensor
    counts: Tensor

    @classmethod
    def zeros(cls, codebook_size: int, device: torch.device) -> EvalTotals:
        zero = torch.zeros((), dtype=torch.float64, device=device)
        return cls(zero.clone(), zero.clone(), zero.clone(), zero.clone(),
                   torch.zeros(codebook_size, dtype=torch.int64, device=device))

    def reduced(self, reduce: Callable[[Tensor], Tensor]) -> EvalTotals:
        return EvalTotals(*(reduce(t) for t in (self.mpjpe, self.root, self.motions, self.frames, self.counts)))

    def summary(self, scale: float) -> dict[str, Any]:
        n = max(float(self.motions), 1.0)
        usage = usage_from_counts(self.counts.cpu())
        return {"motions": int(self.motions), "frames": int(self.frames), "mpjpe_mm": float(self.mpjpe) / n * scale,
                "root_error_mm": float(self.root) / n * scale, **usage.to_dict()}


def batch_errors(prediction: Tensor, target: Tensor, lengths: Tensor, layout: Layout) -> tuple[Tensor, Tensor]:
    """Per-motion MPJPE (pelvis-aligned) and root error, in layout units, for raw (B, T, D) features."""
    pred = recover_joints(prediction.double(), layout)
    true = recover_joints(target.double(), layout)
    aligned = (pred - pred[..., :1, :]) - (true - true[..., :1, :])
    joint_error = aligned.norm(dim=-1).mean(dim=-1)
    root_error = (pred[..., 0, :] - true[..., 0, :]).norm(dim=-1)
    valid = (torch.arange(pred.shape[1], device=pred.device)[None] < lengths[:, None]).double()
    frames = lengths.clamp(min=1).double()
    return (joint_error * valid).sum(1) / frames, (root_error * valid).sum(1) / frames


@torch.no_grad()
def evaluate_batch(model: TokenizerModel, raw: Tensor, lengths: Tensor, mean: Tensor, std: Tensor,
                   layout: Layout, totals: EvalTotals) -> None:
    """Add one batch of raw (denormalized) padded motions (B, L, D) to ``totals``; the model sees
    them normalized with its own ``mean``/``std``."""
    unit = model.unit_length
    lengths = lengths // unit * unit
    keep = lengths >= unit
    raw, lengths = raw[keep], lengths[keep]
    if not len(lengths):
        return
    target = raw[:, : int(lengths.max())]
    out = model((target - mean) / std, lengths)
    prediction = out.reconstruction * std + mean
    mpjpe, root = batch_errors(prediction, target, lengths, layout)
    tokens = torch.arange(out.indices.shape[1], device=lengths.device)[None] < (lengths // unit)[:, None]
    totals.mpjpe += mpjpe.sum()
    totals.root += root.sum()
    totals.motions += len(lengths)
    totals.frames += lengths.sum()
    totals.counts += code_counts(out.indices[tokens], model.codebook_size)


def evaluate(model: TokenizerModel, dataset, layout: Layout, mean: Tensor, std: Tensor, *,
             model_stats: tuple[Tensor, Tensor] | None = None, batch_size: int = 32, rank: int = 0, world: int = 1,
             reduce: Callable[[Tensor], Tensor] | None = None,
             on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset`` (items ``{features (L, D) normalized with mean/std, length}``).

    The model gets the motions normalized with ``model_stats`` (its training mean/std; default: the
    dataset's). Process ``rank`` of ``world`` takes every ``world``-th motion; ``reduce`` sums a tensor over processes.
    Returns motions, frames, mpjpe_mm, root_error_mm, codes_used, codebook_size, usage, perplexity.
    """
    from torch.utils.data import DataLoader, Subset

    device = next(model.parameters()).device
    mean, std = mean.to(device, torch.float32), std.to(device, torch.float32)
    model_mean, model_std = (t.to(device, torch.float32) for t in model_stats) if model_stats else (mean, std)
    shard = Subset(dataset, range(rank, len(dataset), world))
    totals = EvalTotals.zeros(model.codebook_size, device)
    was_training = model.training
    model.eval()
    try:
        for batch in DataLoader(shard, batch_size=batch_size, shuffle=False):
            raw = batch["features"].to(device, torch.float32) * std + mean
            evaluate_batch(model, raw, batch["length"].to(device), model_mean, model_std, layout, totals)
            if on_progress:
                on_progress(len(batch["length"]))
    finally:
        model.train(was_training)
    if reduce is not None:
        totals = totals.reduced(reduce)
    return totals.summary(mm_per_unit(layout))


#: the split ``mtk tokenizer eval`` evaluates by default, when the dataset has it (else every motion)
DEFAULT_SPLIT = "test"
ALL = "all"


def default_split(info) -> str:
    """``test`` when the dataset (``DatasetInfo``) has it, else ``all`` (detokenized datasets have no splits)."""
    try:
        info.resolve_split(DEFAULT_SPLIT)
    except KeyError:
        return ALL
    return DEFAULT_SPLIT


def _checked_layout(dataset_path: str, data_layout: Layout | None, model: TokenizerModel, info: dict) -> Layout:
    """The dataset's layout, refused (naming both) when it is not the one the checkpoint was trained on."""
    from mtk.errors import BadInputError
    from mtk.schemas import get_layout, layout_for_dim

    trained = get_layout(info["layout"]) if info.get("layout") else layout_for_dim(model.input_dim)
    if data_layout is None or data_layout.dim != model.input_dim:
        found = f"{data_layout.name} ({data_layout.dim} dims)" if data_layout else "of no known layout"
        wanted = f"{trained.name} ({trained.dim} dims)" if trained else f"{model.input_dim}-dim"
        raise BadInputError(dataset_path, f"is {found} but the checkpoint encodes {wanted}",
                            "evaluate on data of the layout the tokenizer was trained on")
    return data_layout


def evaluate_checkpoint(dataset_path: str, ckpt_path: str, split: str | None = None, batch_size: int = 32,
                        on_progress: Callable[[int], None] | None = None, layout: str | None = None,
                        splits: str | None = None) -> dict[str, Any]:
    """``mtk tokenizer eval``: load a checkpoint, evaluate it on ``split`` of a dataset (sharded and reduced
    under accelerate). ``split``: a split name, ``all``, or None for ``test`` when the dataset has one, else
    all. Returns the figures (equal on every process), ``processes`` and ``main_process``. The model sees the
    data normalised as ``mtk tokenize`` does: with the checkpoint's own mean/std,
    else the dataset's. ``layout``/``splits`` open a tree of .npy files
    (:func:`mtk.formats.datasets.open_dataset`)."""
    from mtk.formats.datasets import open_dataset
    from mtk.io.processes import start_group
    from mtk.jobs.torch_data import MotionDataset
    from mtk.tokenizer.checkpoint import load_checkpoint
    from mtk.tokenizer.tokenize import checkpoint_stats, load_stats

    accelerator = start_group()
    model, info = load_checkpoint(ckpt_path, map_location="cpu")
    model = model.to(accelerator.device)
    data = open_dataset(dataset_path, layout=layout, splits=splits).info
    data_layout = _checked_layout(dataset_path, data.layout, model, info)
    split = split or default_split(data)
    stats, _ = load_stats(None, None, [(f"{ckpt_path} stats", checkpoint_stats(info)),
                                       (f"{dataset_path} stats", data.stats)], model.input_dim)
    dataset = MotionDataset(dataset_path, split=None if split == ALL else split, layout=data_layout.name,
                            normalize=False, splits=splits)
    announce_total(on_progress, len(dataset))
    zero, one = torch.zeros(model.input_dim), torch.ones(model.input_dim)
    result = evaluate(model, dataset, data_layout, zero, one,
                      model_stats=(torch.as_tensor(stats.mean), torch.as_tensor(stats.std)),
                      batch_size=batch_size, rank=accelerator.process_index, world=accelerator.num_processes,
                      reduce=lambda t: accelerator.reduce(t, "sum"), on_progress=on_progress)
    return {"dataset": str(dataset_path), "split": split, "checkpoint": str(ckpt_path),
            "iteration": info["iteration"], "layout": data_layout.name, "quantizer": model.config["quantizer"],
            "units": "mm", **result, "processes": accelerator.num_processes,
            "main_process": accelerator.is_main_process}
