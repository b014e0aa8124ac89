"""Tokenizer evaluation: joint, pose, acceleration and feature errors and codebook usage over a whole split.

Protocol (fixed in code so numbers are comparable): each motion is cropped deterministically to its first
``floor(T / unit) * unit`` frames and reconstructed through the codes; prediction and ground truth are
denormalized and joints are recovered from the features (:func:`mtk.features.recover_joints`).
Per motion, errors are averaged over joints, then frames; the figures are means over motions (as
MotionMillion and MoMask do):

- ``mpjpe_mm``: the pelvis subtracted per frame, so the accumulated heading still counts;
- ``pose_mpjpe_mm``: the pose alone — joints recovered with the root motion blocks neutralised (no root
  velocity, no heading change), so each frame is pelvis-aligned in its own facing frame;
- ``root_error_mm``: the distance between the recovered pelvis trajectories;
- ``accel_error_mm``: ``|a_pred - a_true|`` with ``a_t = x_{t+1} - 2 x_t + x_{t-1}`` on pelvis-aligned joints
  (mm per frame², at the layout's rate); ``accel_mean_mm``/``accel_max_mm`` (and ``gt_accel_*`` for the
  ground truth) are MotionMillion's smoothness figures: per frame the mean and the max of ``|a|`` over
  joints, averaged over frames;
- ``feature_rmse``: the root mean square difference of the normalised features (what the loss sees), over
  every valid frame and column.

Codebook usage and perplexity count every valid token of the split. Under accelerate each process
evaluates its own shard and the sums are reduced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import Tensor

from mtk.features import recover_joints
from mtk.io.progress import announce_total
from mtk.schemas import Layout
from mtk.tokenizer.model import TokenizerModel
from mtk.tokenizer.quantizers import code_counts, usage_from_counts

#: the 6D encoding of "no rotation" (first two columns, or rows, of the identity)
IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
#: per-motion sums in layout units, averaged over motions at the end
MOTION_MEANS = ("mpjpe", "pose_mpjpe", "root", "accel_error", "accel_mean", "accel_max", "gt_accel_mean",
                "gt_accel_max")


def mm_per_unit(layout: Layout) -> float:
    """Millimetres per unit of the layout's positions."""
    return 1000.0 * layout.metres_per_unit


def _zero() -> Tensor:
    return torch.zeros((), dtype=torch.float64)


@dataclass
class EvalTotals:
    """Per-process sums, reduced across processes before the means are taken."""

    counts: Tensor
    mpjpe: Tensor = field(default_factory=_zero)
    pose_mpjpe: Tensor = field(default_factory=_zero)
    root: Tensor = field(default_factory=_zero)
    accel_error: Tensor = field(default_factory=_zero)
    accel_mean: Tensor = field(default_factory=_zero)
    accel_max: Tensor = field(default_factory=_zero)
    gt_accel_mean: Tensor = field(default_factory=_zero)
    gt_accel_max: Tensor = field(default_factory=_zero)
    feature_squares: Tensor = field(default_factory=_zero)
    feature_values: Tensor = field(default_factory=_zero)
    motions: Tensor = field(default_factory=_zero)
    frames: Tensor = field(default_factory=_zero)

    @classmethod
    def zeros(cls, codebook_size: int, device: torch.device) -> EvalTotals:
        totals = cls(torch.zeros(codebook_size, dtype=torch.int64))
        return totals.reduced(lambda t: t.to(device))

    def reduced(self, reduce: Callable[[Tensor], Tensor]) -> EvalTotals:
        return EvalTotals(**{f.name: reduce(getattr(self, f.name)) for f in fields(self)})

    def add(self, **sums: Tensor) -> None:
        for name, value in sums.items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self, scale: float) -> dict[str, Any]:
        n = max(float(self.motions), 1.0)
        usage = usage_from_counts(self.counts.cpu())
        rmse = (float(self.feature_squares) / max(float(self.feature_values), 1.0)) ** 0.5
        means = {f"{name if name != 'root' else 'root_error'}_mm": float(getattr(self, name)) / n * scale
                 for name in MOTION_MEANS}
        return {"motions": int(self.motions), "frames": int(self.frames), **means, "feature_rmse": rmse,
                **usage.to_dict()}


def root_free(features: Tensor, layout: Layout) -> Tensor:
    """``features`` with the root motion neutralised: root (yaw) velocities 0 and heading changes the
    identity, so recovered joints stay at the origin facing +z and keep only the pose and the height."""
    neutral = features.clone()
    for block in layout.blocks:
        if block.kind in ("root_velocity", "root_yaw_velocity"):
            neutral[..., block.slice] = 0
        elif block.kind == "heading_6d":
            neutral[..., block.slice] = torch.tensor(IDENTITY_6D, dtype=features.dtype, device=features.device)
    return neutral


def _per_motion(values: Tensor, valid: Tensor) -> Tensor:
    """Mean over the valid frames of each motion: ``values (B, T)``, ``valid (B, T)`` float."""
    return (values * valid).sum(1) / valid.sum(1).clamp(min=1)


def _acceleration(joints: Tensor) -> Tensor:
    """Second differences along time of ``(B, T, J, 3)``: ``(B, T - 2, J, 3)``."""
    return joints[:, 2:] - 2 * joints[:, 1:-1] + joints[:, :-2]


def batch_errors(prediction: Tensor, target: Tensor, lengths: Tensor, layout: Layout) -> dict[str, Tensor]:
    """Per-motion errors (``MOTION_MEANS``) in layout units for raw (B, T, D) features."""
    pred = recover_joints(prediction.double(), layout)
    true = recover_joints(target.double(), layout)
    pred_aligned, true_aligned = pred - pred[..., :1, :], true - true[..., :1, :]
    pred_pose = recover_joints(root_free(prediction.double(), layout), layout)
    true_pose = recover_joints(root_free(target.double(), layout), layout)
    frame = torch.arange(pred.shape[1], device=pred.device)[None]
    valid = (frame < lengths[:, None]).double()
    inner = ((frame[:, 1:-1] + 1) < lengths[:, None]).double()  # frames with a neighbour on both sides
    pred_accel, true_accel = _acceleration(pred_aligned).norm(dim=-1), _acceleration(true_aligned).norm(dim=-1)
    return {
        "mpjpe": _per_motion((pred_aligned - true_aligned).norm(dim=-1).mean(-1), valid),
        "pose_mpjpe": _per_motion(((pred_pose - pred_pose[..., :1, :]) - (true_pose - true_pose[..., :1, :]))
                                  .norm(dim=-1).mean(-1), valid),
        "root": _per_motion((pred[..., 0, :] - true[..., 0, :]).norm(dim=-1), valid),
        "accel_error": _per_motion((_acceleration(pred_aligned) - _acceleration(true_aligned))
                                   .norm(dim=-1).mean(-1), inner),
        "accel_mean": _per_motion(pred_accel.mean(-1), inner),
        "accel_max": _per_motion(pred_accel.amax(-1), inner),
        "gt_accel_mean": _per_motion(true_accel.mean(-1), inner),
        "gt_accel_max": _per_motion(true_accel.amax(-1), inner),
    }


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
    normalised = (target - mean) / std
    out = model(normalised, lengths)
    prediction = out.reconstruction * std + mean
    errors = batch_errors(prediction, target, lengths, layout)
    valid = torch.arange(target.shape[1], device=lengths.device)[None] < lengths[:, None]
    squares = (out.reconstruction - normalised).double().square()[valid]
    tokens = torch.arange(out.indices.shape[1], device=lengths.device)[None] < (lengths // unit)[:, None]
    totals.add(**{name: value.sum() for name, value in errors.items()},
               feature_squares=squares.sum(), feature_values=squares.new_tensor(float(squares.numel())),
               motions=squares.new_tensor(float(len(lengths))), frames=lengths.sum().double(),
               counts=code_counts(out.indices[tokens], model.codebook_size))


def evaluate(model: TokenizerModel, dataset, layout: Layout, mean: Tensor, std: Tensor, *,
             model_stats: tuple[Tensor, Tensor] | None = None, batch_size: int = 32, rank: int = 0, world: int = 1,
             reduce: Callable[[Tensor], Tensor] | None = None,
             on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset`` (items ``{features (L, D) normalized with mean/std, length}``).

    The model gets the motions normalized with ``model_stats`` (its training mean/std; default: the
    dataset's). Process ``rank`` of ``world`` takes every ``world``-th motion; ``reduce`` sums a tensor over processes.
    Returns motions, frames, the ``*_mm`` errors (see the module docstring), feature_rmse, codes_used,
    codebook_size, usage, perplexity.
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
    from mtk.features import get_layout, layout_for_dim

    trained = get_layout(info["layout"]) if info.get("layout") else layout_for_dim(model.input_dim)
    if data_layout is None or data_layout.dim != model.input_dim:
        found = f"{data_layout.name} ({data_layout.dim} dims)" if data_layout else "of no known layout"
        wanted = f"{trained.name} ({trained.dim} dims)" if trained else f"{model.input_dim}-dim"
        raise BadInputError(dataset_path, f"is {found} but the checkpoint encodes {wanted}",
                            "evaluate on data of the layout the tokenizer was trained on")
    return data_layout


def evaluate_checkpoint(dataset_path: str, ckpt_path: str, *, split: str | None = None, batch_size: int = 32,
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
