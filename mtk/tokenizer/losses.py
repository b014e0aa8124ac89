"""Reconstruction loss of MotionMillion's tokenizer: SmoothL1 on all dims plus a weighted position term.

Both terms are mean-reduced SmoothL1 (beta 1) on normalized features. The second term covers the layout's
joint-position block (272: local positions 8:74; 263/251: ric positions); MotionMillion weights it 0.5
(its code calls it ``forward_vel``, but it reads positions).
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

from mtk.schemas import Layout


class LossParts(NamedTuple):
    total: Tensor
    reconstruction: Tensor
    positions: Tensor


def position_slice(layout: Layout | None) -> slice | None:
    """The layout's joint-position columns (the first ``positions`` block), or None without a layout."""
    if layout is None:
        return None
    return next((block.slice for block in layout.blocks if block.kind == "positions"), None)


def reconstruction_loss(prediction: Tensor, target: Tensor, positions: slice | None,
                        position_weight: float = 0.5) -> LossParts:
    """``SmoothL1(all) + position_weight * SmoothL1(positions)`` for (B, T, D) tensors."""
    prediction, target = prediction.float(), target.float()
    rec = F.smooth_l1_loss(prediction, target)
    pos = F.smooth_l1_loss(prediction[..., positions], target[..., positions]) if positions else rec * 0
    return LossParts(rec + position_weight * pos, rec, pos)
