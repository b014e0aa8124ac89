"""What a feature family is: the interface every family module implements.

A *feature family* is one generator of feature layouts: ``hml`` (HumanML3D's generator: the 263 and 251
layouts) and ``smpl272`` (the 272 generator). Everything that differs between families goes through its
:class:`Family` object, found with :func:`mtk.features.family_of`, never through tests on a layout's name:
making features from a motion, recovering joints and rotations, posing a skeleton for BVH, the consistency
checks of ``mtk inspect``, the dataset folders it is published in and the mean/std convention they hold.

A family is one module under :mod:`mtk.features` that defines a :class:`Family` subclass and ends with
``register_family(TheFamily())`` (see docs/architecture.md, "Add a feature family").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from mtk.errors import MtkError
from mtk.maths.rotations import Array
from mtk.schemas import Layout


@dataclass
class LocalRotations:
    """A skeleton motion as rotations: parent-relative rotations (..., T, J, 3, 3) and root positions (..., T, 3)."""

    rotations: Array
    translation: Array


@dataclass
class Pose:
    """A skeleton motion ready for BVH: local rotations (T, J, 3, 3), root positions (T, 3), offsets (J, 3)."""

    local_rotations: np.ndarray
    root_positions: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class DatasetFolder:
    """How a family's datasets are published as a folder of per-motion ``.npy`` files (mtk's ``npy`` format).

    Paths are relative to the dataset's root. ``name`` is the dataset family a reader reports
    (:attr:`mtk.formats.model.DatasetInfo.family`) and a stats sidecar records.
    """

    name: str
    #: a few words for messages (``HumanML3D/KIT``)
    title: str
    #: the folder of ``<name>.npy`` feature files; its presence identifies the convention
    motions: str
    #: the published mean and std vectors
    mean: str
    std: str
    #: the folder of ``<split>.txt`` name lists ("" = the dataset's root)
    splits: str = ""
    #: splits are nested as ``<splits>/<version>/.../<split>.txt`` (the split key is the path under
    #: ``splits``); splits written without a version go under this one. None: flat ``<split>.txt`` files
    split_version: str | None = None
    #: motion names may contain ``/`` (motions in subfolders of ``motions``)
    nested_names: bool = False
    #: where mean/std with a feat_bias are written (text-to-motion's ``meta/`` names), or None: the usual names
    feat_bias_stats: tuple[str, str] | None = None

    def stats_files(self, feat_bias: float = 1.0) -> tuple[str, str]:
        """(mean, std) paths for stats with ``feat_bias``."""
        if feat_bias != 1 and self.feat_bias_stats is not None:
            return self.feat_bias_stats
        return self.mean, self.std


@dataclass(frozen=True)
class Check:
    """One consistency measure of a motion's features (``mtk inspect``): its value, the limit above which it
    is reported, and the finding it then makes."""

    #: the key of ``value`` in the report's details (``velocity_median_error``)
    detail: str
    value: float
    limit: float
    level: Literal["error", "warning"]
    code: str
    message: str

    @property
    def failed(self) -> bool:
        return self.value > self.limit


def velocity_check(error: float) -> Check:
    """The check of a median disagreement between stored velocities and the positions they integrate to."""
    return Check("velocity_median_error", error, 1e-3, "warning", "velocity_mismatch",
                 f"stored velocities disagree with the positions they should integrate to "
                 f"(median error {error:.3g} per frame)")


class Family(ABC):
    """One feature family. Subclasses set the class attributes and implement the abstract methods; the other
    methods have defaults a family overrides where it can do better."""

    #: the name layouts give in :attr:`~mtk.schemas.Layout.family`
    name: ClassVar[str]
    #: the layouts this family makes (each names this family); they become the layouts mtk knows
    layouts: ClassVar[tuple[Layout, ...]]
    #: the dataset folders its datasets are published in; the first is the one new datasets are written in
    folders: ClassVar[tuple[DatasetFolder, ...]] = ()
    #: making features needs parent-relative rotations (only a BVH carries them), not just joint positions
    needs_rotations: ClassVar[bool] = False
    #: the released generator's quirks can be reproduced or fixed (``--fix-quirks``)
    has_quirks: ClassVar[bool] = False
    #: the features store exact parent-relative rotations (:meth:`local_rotations` works)
    stores_rotations: ClassVar[bool] = False
    #: :meth:`pose` gives the stored rotations themselves (else an approximation)
    exact_pose: ClassVar[bool] = False

    @abstractmethod
    def extract(self, joints: np.ndarray, rotations: np.ndarray | None, layout: Layout,
                reproduce_quirks: bool = True) -> np.ndarray:
        """Features (rows, D) of ``layout`` from global joint positions (T, J, 3) and, where the family needs
        them, parent-relative rotations (T, J, 3, 3); y up, in the layout's units, at the layout's rate."""

    @abstractmethod
    def recover_joints(self, features: Array, layout: Layout) -> Array:
        """Joint positions (..., T, J, 3) from features (..., T, D), numpy or torch, in the layout's units."""

    def local_rotations(self, features: Array, layout: Layout) -> LocalRotations:
        """Parent-relative rotations and root positions stored in the features (:attr:`stores_rotations`)."""
        raise ValueError(f"layout {layout.name} does not store parent-relative rotations")

    def pose(self, features: np.ndarray, layout: Layout) -> Pose:
        """A posed skeleton for BVH export (:attr:`exact_pose`: the stored rotations themselves)."""
        raise MtkError(None, f"{layout.name} features cannot be written as BVH", "convert them --to joints")

    def mirror(self, features: np.ndarray, layout: Layout) -> np.ndarray:
        """Features of the motion's mirror image (x -> -x, left and right joints traded; ``mtk augment
        --mirror``): by default one rule per block kind (:func:`mtk.features.mirror.mirror_by_blocks`), exact
        and its own inverse. A family with a block of another kind overrides it."""
        from mtk.features.mirror import mirror_by_blocks

        return mirror_by_blocks(features, layout)

    def checks(self, features: np.ndarray, layout: Layout) -> list[Check]:
        """How well the redundant blocks of finite, unnormalised features agree (``mtk inspect``)."""
        return []

    def folder_for(self, layout: Layout) -> DatasetFolder | None:
        """The folder convention a dataset of ``layout`` is written in (None: the family publishes none)."""
        return self.folders[0] if self.folders else None

    def published_stats(self, layout: Layout) -> str:
        """What the published mean/std files of ``layout``'s datasets are (``mtk stats --check``)."""
        return f"{len(layout.std_groups)} groups, no feat_bias"
