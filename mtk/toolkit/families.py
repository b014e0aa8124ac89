"""The one table of feature families: how each family's features are made, recovered, posed and checked.

A :class:`~mtk.schemas.Layout` names its family (``layout.family``); every behaviour that differs between
the HumanML3D generator's layouts (263, 251) and the 272 generator's goes through :func:`family_of`, never
through tests on a layout's name or 6D convention. Adding a layout of an existing family is a schemas-only
change; a new family adds one entry here (see docs/architecture.md, "Add a layout").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mtk.schemas import LAYOUTS, Layout, layout_names
from mtk.toolkit.consistency import velocity_error_263, velocity_error_272
from mtk.toolkit.extract import extract_263, extract_272
from mtk.toolkit.pose import Pose, pose_from_263, pose_from_272
from mtk.toolkit.recover import (Array, LocalRotations, recover_joints_263, recover_joints_272,
                                 recover_local_rotations_272)


def _extract_hml(joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                 reproduce_quirks: bool = True) -> np.ndarray:
    return extract_263(joints, layout, reproduce_quirks=reproduce_quirks)


def _extract_smpl272(joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                     reproduce_quirks: bool = True) -> np.ndarray:
    return extract_272(rotations, joints, layout)


@dataclass(frozen=True)
class Family:
    """What one feature family does differently."""

    name: str
    #: features (..., T, D) -> joint positions (..., T, J, 3)
    recover_joints: Callable[[Array, Layout], Array]
    #: features -> parent-relative rotations and pelvis trajectory, for families that store them exactly
    local_rotations: Callable[[Array, Layout], LocalRotations] | None
    #: features -> a BVH pose; ``exact_pose``: the stored rotations themselves (else swing approximations)
    pose: Callable[[np.ndarray, Layout], Pose]
    exact_pose: bool
    #: (joints (T, J, 3), local rotations (T, J, 3, 3) or None, layout, reproduce_quirks) -> features
    extract: Callable[..., np.ndarray]
    #: extraction needs rotations (only a BVH's carry them); else joint positions suffice
    needs_rotations: bool
    #: the released generator's quirks can be reproduced or fixed (``--fix-quirks``)
    has_quirks: bool
    #: median disagreement of the stored velocities with the positions (``mtk inspect``)
    velocity_error: Callable[[np.ndarray, Layout], float]


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("hml", recover_joints_263, None, pose_from_263, False, _extract_hml, False, True, velocity_error_263),
    Family("smpl272", recover_joints_272, recover_local_rotations_272, pose_from_272, True, _extract_smpl272, True,
           False, velocity_error_272),
)}


def family_of(layout: Layout) -> Family:
    """The family entry of ``layout``."""
    return FAMILIES[layout.family]


def recover_joints(features: Array, layout: Layout) -> Array:
    """Joint positions (..., T, J, 3) from features (..., T, D) of any layout, in the layout's units."""
    if features.shape[-1] != layout.dim:
        raise ValueError(f"features have {features.shape[-1]} columns, layout {layout.name} has {layout.dim}")
    return family_of(layout).recover_joints(features, layout)


def recover_local_rotations(features: Array, layout: Layout) -> LocalRotations:
    """Parent-relative rotation matrices (..., T, J, 3, 3) and the pelvis trajectory, for layouts that store
    exact rotations (the others store IK swing rotations, which raise ValueError)."""
    recover = family_of(layout).local_rotations
    if recover is None:
        exact = [spec for spec in LAYOUTS.values() if family_of(spec).local_rotations is not None]
        raise ValueError(f"layout {layout.name} stores IK swing rotations, not SMPL local rotations; "
                         f"only {layout_names(exact)} has a direct rotation recovery")
    return recover(features, layout)
