"""The table of feature families, and through it of the layouts, skeletons and dataset folders mtk knows.

Families are found by importing every module under :mod:`mtk.features` the first time the table is asked
(family modules import numpy only, so this is cheap); each ends with one :func:`register_family` call. A
module elsewhere (a plugin, a test) registers by calling it when imported. Layout lookups go through here,
not through :mod:`mtk.schemas`, so that a family's layouts are known wherever layouts are.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from mtk.features.base import DatasetFolder, Family, LocalRotations
from mtk.maths.rotations import Array
from mtk.schemas import SKELETONS, Layout, Skeleton, one_of

_FAMILIES: dict[str, Family] = {}
_LAYOUTS: dict[str, Layout] = {}
_discovered = False


def register_family(family: Family) -> Family:
    """Add ``family`` and its layouts to the table; a name, layout name, layout width or dataset folder that
    is taken already is refused (ValueError)."""
    if family.name in _FAMILIES:
        raise ValueError(f"a feature family named {family.name!r} is registered already")
    taken_dims = {layout.dim: layout.name for layout in _LAYOUTS.values()}
    taken_folders = {folder.name for other in _FAMILIES.values() for folder in other.folders}
    for layout in family.layouts:
        if layout.family != family.name:
            raise ValueError(f"layout {layout.name} names family {layout.family!r}, not {family.name!r}")
        if layout.name in _LAYOUTS:
            raise ValueError(f"a layout named {layout.name!r} is registered already")
        if layout.dim in taken_dims:
            raise ValueError(f"layout {layout.name} has {layout.dim} columns, as {taken_dims[layout.dim]} has")
        taken_dims[layout.dim] = layout.name
    for folder in family.folders:
        if folder.name in taken_folders:
            raise ValueError(f"a dataset folder convention named {folder.name!r} is registered already")
        taken_folders.add(folder.name)
    _FAMILIES[family.name] = family
    _LAYOUTS.update((layout.name, layout) for layout in family.layouts)
    return family


def _discover() -> None:
    """Import every module under mtk.features once (each family module registers itself)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module("mtk.features")
    for module in pkgutil.walk_packages(package.__path__, "mtk.features."):
        importlib.import_module(module.name)


def families() -> list[Family]:
    """The registered families, in registration order."""
    _discover()
    return list(_FAMILIES.values())


def family_of(layout: Layout) -> Family:
    """The family that makes ``layout``."""
    _discover()
    try:
        return _FAMILIES[layout.family]
    except KeyError:
        raise KeyError(f"layout {layout.name} names feature family {layout.family!r}, which is not registered; "
                       f"known: {', '.join(_FAMILIES)}") from None


# ---------------------------------------------------------------------------------------------------
# layouts

def layouts() -> dict[str, Layout]:
    """Every registered family's layouts, by name."""
    _discover()
    return dict(_LAYOUTS)


def get_layout(name: str) -> Layout:
    """A layout by name (``hml263``, ``kit251``, ``smpl272``; the widths ``263``, ``251``, ``272`` work too);
    KeyError naming the known ones otherwise."""
    known = layouts()
    if name.isdigit() and (found := layout_for_dim(int(name))) is not None:
        return found
    try:
        return known[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(known)}") from None


def layout_for_dim(dim: int) -> Layout | None:
    """The layout whose feature width is ``dim``, or None."""
    return next((layout for layout in layouts().values() if layout.dim == dim), None)


def layout_names(chosen: Sequence[Layout] | None = None) -> str:
    """``hml263, kit251 or smpl272``: the layouts' names for messages and help texts."""
    return one_of([layout.name for layout in (chosen or list(layouts().values()))])


def layout_dims() -> str:
    """``263, 251 or 272``: the layouts' widths for messages."""
    return one_of([str(layout.dim) for layout in layouts().values()])


def layouts_on(skeleton: Skeleton) -> list[Layout]:
    """The layouts whose features are made on ``skeleton``."""
    return [layout for layout in layouts().values() if layout.skeleton is skeleton]


# ---------------------------------------------------------------------------------------------------
# skeletons

def skeletons() -> list[Skeleton]:
    """The skeletons mtk knows: those of :mod:`mtk.schemas` and those of every registered layout."""
    found = dict(SKELETONS)
    for layout in layouts().values():
        found.setdefault(layout.skeleton.name, layout.skeleton)
    return list(found.values())


def skeleton_for_joints(joints: int | Sequence[str]) -> Skeleton | None:
    """The known skeleton with ``joints`` joints (a count), or whose joint names are all among ``joints``
    (names, compared loosely: ``Left_hip``, ``left_hip`` and ``LHip`` match); None when none does."""
    if isinstance(joints, int):
        return next((s for s in skeletons() if s.num_joints == joints), None)
    return next((s for s in skeletons() if s.indices_in(joints) is not None), None)


# ---------------------------------------------------------------------------------------------------
# dataset folders

def dataset_folders() -> list[DatasetFolder]:
    """Every family's dataset folder conventions, in registration order."""
    return [folder for family in families() for folder in family.folders]


def folder_named(name: str | None) -> DatasetFolder | None:
    """The dataset folder convention called ``name`` (a dataset family such as ``humanml3d``), or None."""
    return next((folder for folder in dataset_folders() if folder.name == name), None)


def folder_for_layout(layout: Layout | None) -> DatasetFolder:
    """The folder convention a dataset of ``layout`` is written in: its family's, else the first family's."""
    own = family_of(layout).folder_for(layout) if layout is not None else None
    return own or dataset_folders()[0]


# ---------------------------------------------------------------------------------------------------
# what every caller asks of a layout's family

def recover_joints(features: Array, layout: Layout) -> Array:
    """Joint positions (..., T, J, 3) from features (..., T, D) of any layout, in the layout's units."""
    if features.shape[-1] != layout.dim:
        raise ValueError(f"features have {features.shape[-1]} columns, layout {layout.name} has {layout.dim}")
    return family_of(layout).recover_joints(features, layout)


def recover_local_rotations(features: Array, layout: Layout) -> LocalRotations:
    """Parent-relative rotation matrices (..., T, J, 3, 3) and the root trajectory, for layouts that store
    exact rotations (the others raise ValueError naming those that do)."""
    family = family_of(layout)
    if not family.stores_rotations:
        exact = [spec for spec in layouts().values() if family_of(spec).stores_rotations]
        raise ValueError(f"layout {layout.name} stores no parent-relative rotations (its rotations are IK swings "
                         f"or absent); only {layout_names(exact)} has a direct rotation recovery")
    return family.local_rotations(features, layout)
