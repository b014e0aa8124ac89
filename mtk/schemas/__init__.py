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
    layout_dims,
    layout_for_dim,
    layout_names,
    layouts_on,
    one_of,
)
from mtk.schemas.skeletons import KIT21, PFNN31, SKELETONS, SMPL22, Skeleton, get_skeleton, joint_key

__all__ = [
    "HEADING_CONSTANTS", "HML263", "KIT251", "LAYOUTS", "SMPL272", "Block", "Layout", "get_layout",
    "layout_dims", "layout_for_dim", "layout_names", "layouts_on", "one_of",
    "KIT21", "PFNN31", "SKELETONS", "SMPL22", "Skeleton", "get_skeleton", "joint_key",
]
