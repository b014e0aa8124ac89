"""What the data is, as data: feature layouts and skeletons. Imports nothing of mtk.

The layouts mtk knows, and lookups by name or width, are those of the registered feature families
(:mod:`mtk.features`: ``layouts``, ``get_layout``, ``layout_for_dim``, ``skeleton_for_joints``).
"""

from mtk.schemas.layouts import HEADING_CONSTANTS, HML263, KIT251, SMPL272, Block, Layout, one_of
from mtk.schemas.skeletons import KIT21, PFNN31, SKELETONS, SMPL22, Skeleton, get_skeleton, joint_key

__all__ = [
    "HEADING_CONSTANTS", "HML263", "KIT251", "SMPL272", "Block", "Layout", "one_of",
    "KIT21", "PFNN31", "SKELETONS", "SMPL22", "Skeleton", "get_skeleton", "joint_key",
]
