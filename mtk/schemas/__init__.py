"""What the data is, as data: feature layouts and skeletons."""

from mtk.schemas.layouts import (
    HEADING_CONSTANTS,
    HML263,
    KIT251,
    LAYOUTS,
    SMPL272,
    Block,
    Layout,
    get_layout,
    layout_for_dim,
)
from mtk.schemas.skeletons import KIT21, PFNN31, SKELETONS, SMPL22, Skeleton, get_skeleton

__all__ = [
    "HEADING_CONSTANTS", "HML263", "KIT251", "LAYOUTS", "SMPL272", "Block", "Layout", "get_layout",
    "layout_for_dim", "KIT21", "PFNN31", "SKELETONS", "SMPL22", "Skeleton", "get_skeleton",
]
