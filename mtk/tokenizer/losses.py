"""Reconstruction loss of MotionMillion's tokenizer: SmoothL1 on all dims plus weighted block terms.

Every term is a mean-reduced SmoothL1 (beta 1) on normalized features. The position term covers the
layout's joint-position block (272: local positions 8:74; 263/251: ric positions); MotionMillion weights it
0.5 (its code calls it ``forward_vel``, but it reads positions). The optional root term covers the columns
before the positions (272: root velocity and heading change 0:8, MotionMillion's ``forward_root``; 263/251:
yaw velocity, root velocity and height 0:4). Heading errors accumulate over a motion and rotate the whole
body, so a root weight cuts the pelvis-aligned MPJPE of short runs a lot.
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
    root: Tensor


def position_slice(layout: Layout | None) -> slice | None:
    """The layout's joint-position columns (the first ``positions`` block), or None without a layout."""
    if layout is None:
        return None
    return next((block.slice for block in layout.blocks if block.kind == "positions"), None)


def root_slice(layout: Layout | None) -> slice | None:
    """The root columns: everything before the joint positions (root motion, heading, height)."""
    positions = position_slice(layout)
    return slice(0, positions.start) if positions and positions.start else None


def _term(prediction: Tensor, target: Tensor, columns: slice | None) -> Tensor:
    if columns is None:
        return prediction.new_zeros(())
    return F.smooth_l1_loss(prediction[..., columns], target[..., columns])


def reconstruction_loss(prediction: Tensor, target: Tensor, layout: Layout | None,
                        position_weight: float = 0.5, root_weight: float = 0.0) -> LossParts:
    """``SmoothL1(all) + position_weight * SmoothL1(positions) + root_weight * SmoothL1(root)``, (B, T, D)."""
    prediction, target = prediction.float(), target.float()
    rec = F.smooth_l1_loss(prediction, target)
    pos = _term(prediction, target, position_slice(layout))
    root = _term(prediction, target, root_slice(layout))
    return LossParts(rec + position_weight * pos + root_weight * root, rec, pos, root)
