"""What a network's columns mean (:class:`NetworkMeta`): skeleton, frame rate, rotation and terrain options
and what it knows of its training data. Units, joint tables and column groups follow from the skeleton
preset, so there is one definition of each (:mod:`mtk.pfnn.schema`), never a default in a caller."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtk.errors import BadInputError
from mtk.pfnn.schema import (
    GAIT_CLASSES,
    PRESETS,
    REFERENCE_FPS,
    ExportSpec,
    PfnnColumns,
    RotationEncoding,
    TerrainMode,
    get_preset,
)

#: gaits the controller drives
CONTROLLER_GAITS = ("stand", "walk", "jog")
#: the frame rate of a network known only by its widths, unless its preset has its own (pfnn31: 60)
DEFAULT_FPS = 30.0


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class NetworkMeta(ExportSpec):
    """Everything a network file says besides its weights. Stored as a plain dict (:meth:`document`) and
    read back checked (:meth:`from_document`): network files and demo sidecars are untrusted."""

    skeleton: str
    #: the rate of the data the network learnt (one controller step)
    fps: float
    rotations: RotationEncoding = "logquat"
    terrain: TerrainMode = "zero"
    #: the training data's median root speed per controller gait, units per 1/60 s
    gait_speeds: dict[str, float] = field(default_factory=dict)
    #: lowest and highest root height of the training data, units
    root_height: tuple[float, float] | None = None
    #: the training data's walk figures per gait (:func:`mtk.pfnn.figures.data_figures`)
    data_figures: dict[str, dict[str, float]] = field(default_factory=dict)
    #: where the network came from (a database, a demo folder)
    source: str = ""
    val_clips: list[str] = field(default_factory=list)
    train_rows: int | None = None
    #: the demo phase samples an imported network was solved from
    imported_samples: list[int] = field(default_factory=list)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(self.preset.skeleton.joint_names)

    @property
    def parents(self) -> tuple[int, ...]:
        return tuple(self.preset.skeleton.parents)

    def x(self, group: str) -> slice:
        """The X columns of ``group``."""
        return self.columns.x_group(group).slice

    def y(self, group: str) -> slice:
        """The Y columns of ``group``."""
        return self.columns.y_group(group).slice

    def document(self) -> dict[str, Any]:
        """Plain values only (a network file is read with ``torch.load(weights_only=True)``)."""
        return {"skeleton": self.skeleton, "fps": self.fps, "rotations": self.rotations, "terrain": self.terrain,
                "unit": self.unit, "metres_per_unit": self.metres_per_unit,
                "gait_speeds": dict(self.gait_speeds),
                "root_height": list(self.root_height) if self.root_height else None,
                "data_figures": {g: dict(f) for g, f in self.data_figures.items()}, "source": self.source,
                "val_clips": list(self.val_clips), "train_rows": self.train_rows,
                "imported_samples": list(self.imported_samples)}

    @classmethod
    def from_document(cls, meta: Any, x_dim: int, y_dim: int, source: str) -> NetworkMeta:
        """A stored meta dict, checked: a known skeleton and options whose columns have the network's widths,
        a usable frame rate; the optional figures are taken only when well formed."""
        if not isinstance(meta, dict):
            raise BadInputError(source, "has no 'meta' object")
        skeleton, rotations, terrain = meta.get("skeleton"), meta.get("rotations"), meta.get("terrain")
        if skeleton not in PRESETS:
            raise BadInputError(source, f"names no known export: skeleton {str(skeleton)[:40]!r}",
                                f"known: {', '.join(PRESETS)}")
        if rotations not in ("logquat", "6d") or terrain not in ("zero", "none"):
            raise BadInputError(source, "has unknown rotations or terrain options")
        fps = meta.get("fps")
        if not _finite(fps) or not 0 < fps <= 1000:
            raise BadInputError(source, f"has an unusable fps {fps!r}")
        stored = meta.get("source")
        found = cls(skeleton, float(fps), rotations, terrain, source=stored if isinstance(stored, str) else source)
        if (found.columns.x_dim, found.columns.y_dim) != (x_dim, y_dim):
            raise BadInputError(source, f"describes X {found.columns.x_dim} / Y {found.columns.y_dim}, the network has "
                                f"X {x_dim} / Y {y_dim}")
        speeds = meta.get("gait_speeds")
        if isinstance(speeds, dict):
            found.gait_speeds = {g: float(speeds[g]) for g in CONTROLLER_GAITS if _finite(speeds.get(g))}
        height = meta.get("root_height")
        if isinstance(height, list | tuple) and len(height) == 2 and all(_finite(h) for h in height):
            found.root_height = (float(height[0]), float(height[1]))
        figures = meta.get("data_figures")
        if isinstance(figures, dict):
            found.data_figures = {str(g)[:20]: {str(k)[:40]: float(v) for k, v in f.items() if _finite(v)}
                                  for g, f in list(figures.items())[:10] if isinstance(f, dict) and len(f) <= 20}
        clips = meta.get("val_clips")
        if isinstance(clips, list) and all(isinstance(c, str) for c in clips):
            found.val_clips = list(clips)
        if isinstance(meta.get("train_rows"), int):
            found.train_rows = int(meta["train_rows"])
        samples = meta.get("imported_samples")
        if isinstance(samples, list) and all(isinstance(i, int) for i in samples):
            found.imported_samples = list(samples)
        return found

    @classmethod
    def for_widths(cls, x_dim: int, y_dim: int, source: str) -> NetworkMeta:
        """A network known only by its widths: the one preset / rotations / terrain combination that fits."""
        from mtk.pfnn.database import columns_for_widths

        found = columns_for_widths(x_dim, y_dim)
        if found is None:
            raise BadInputError(source, f"X {x_dim} / Y {y_dim} columns match no PFNN export "
                                f"({', '.join(PRESETS)})", "export a database with `mtk convert --to pfnn` and train on it")
        skeleton, columns = found
        return cls(skeleton, get_preset(skeleton).target_fps or DEFAULT_FPS, columns.rotations, columns.terrain,
                   source=source)

    @classmethod
    def for_database(cls, db, source: str) -> NetworkMeta:
        """The meta of a network trained on ``db`` (:class:`mtk.pfnn.database.Database`): its layout plus the
        data's gait speeds and root heights. A database of several frame rates is read at PFNN's 60 fps."""
        layout = db.layout
        meta = cls(layout.skeleton, layout.single_fps or REFERENCE_FPS, layout.rotations, layout.terrain,
                   source=source)
        meta.gait_speeds = gait_speeds(db.X, db.Y, meta.columns)
        meta.root_height = root_height_range(db.Y, meta.columns)
        return meta


#: a row moves forward when its root velocity is within this many degrees of the facing
FORWARD_DEG = 45.0


def gait_speeds(X: np.ndarray, Y: np.ndarray, columns: PfnnColumns) -> dict[str, float]:
    """The speed (units per 1/60 s) a path script commands for each gait: the median root speed of the rows
    whose current gait is mostly that one -- for walk and jog, of those moving forward (within
    :data:`FORWARD_DEG` of the facing), since ``walk:S`` and ``jog:S`` go forward."""
    sample = 6  # the current frame among the 12 trajectory samples
    gaits = np.stack([X[:, columns.x_group(f"gait_{g}").start + sample] for g in GAIT_CLASSES], -1)
    velocity = Y[:, columns.y_group("root_velocity").slice]
    speed = np.linalg.norm(velocity, axis=-1)
    forward = np.degrees(np.arctan2(np.abs(velocity[:, 0]), velocity[:, 1])) < FORWARD_DEG
    dominant = gaits.argmax(-1)
    out = {}
    for name in CONTROLLER_GAITS:
        picked = speed[(dominant == GAIT_CLASSES.index(name)) & (forward | (name == "stand"))]
        if len(picked):
            out[name] = float(np.median(picked))
    return out


def root_height_range(Y: np.ndarray, columns: PfnnColumns) -> tuple[float, float]:
    """Lowest and highest root (joint 0) height in the data's Y."""
    y = Y[:, columns.y_group("joint_pos").start + 1]
    return float(y.min()), float(y.max())
