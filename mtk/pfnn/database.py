"""The PFNN database format: ``database.npz`` {Xun, Yun, Pun} with its stats files and ``layout.json``.

Detect, read, write and describe it; :class:`DatabaseLayout` is ``layout.json`` as a typed, checked object,
and :class:`Database` is a folder read for training (rows, normalisation, clips). Exporting motions into a
database is :mod:`mtk.pfnn.export`; the format is registered by :mod:`mtk.pfnn.formats`.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtk.analysis.finite import finite_problem
from mtk.errors import BadInputError, first_line
from mtk.formats.arrays import load_npy, load_npz
from mtk.io.contained import Root
from mtk.io.small_text import read_small_text
from mtk.pfnn.gait import LOCOMOTION
from mtk.pfnn.schema import (
    PRESETS,
    REFERENCE_FPS,
    ExportSpec,
    PfnnColumns,
    RotationEncoding,
    TerrainMode,
    export_columns,
)

DATABASE = "database.npz"
LAYOUT = "layout.json"
KEYS = ("Xun", "Yun", "Pun")
STATS = ("Xmean", "Xstd", "Ymean", "Ystd")
FORMAT = "pfnn-1"


@dataclass(frozen=True)
class Clip:
    """One run of consecutive frames of a motion: its rows [start, stop) in the database."""

    name: str
    rows: tuple[int, int]
    fps: float
    first_frame: int | None = None
    #: where its phase, gait, contacts ... came from (``{"phase": "contacts", "gait": "motion+text"}``)
    sources: dict[str, str] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"name": self.name, "rows": list(self.rows), "fps": self.fps, "first_frame": self.first_frame,
                "sources": dict(self.sources)}


@dataclass(frozen=True)
class DatabaseLayout(ExportSpec):
    """What a database's columns mean and where its rows came from (``layout.json``).

    The column groups, units and joint tables follow from the skeleton preset and the options, so they are
    properties (:class:`~mtk.pfnn.schema.ExportSpec`), not stored fields: every reader sees the one
    definition in :mod:`mtk.pfnn.schema`.
    """

    skeleton: str
    rotations: RotationEncoding = "logquat"
    terrain: TerrainMode = "zero"
    #: the frame rates of the clips, sorted
    fps: tuple[float, ...] = ()
    clips: tuple[Clip, ...] = ()
    #: the export options as given (phase_from, gait, select ...), for the record
    options: dict[str, Any] = field(default_factory=dict)
    #: PFNN's pooled std per normalisation group
    pooled_std: dict[str, float] = field(default_factory=dict)
    #: how the gait labels were made and what the selection kept (the export summary, as data)
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def single_fps(self) -> float | None:
        """The frame rate when every clip has the same one, else None."""
        return self.fps[0] if len(self.fps) == 1 else None

    def labels_summary(self) -> str:
        """The gait sources, disagreements, rows per label and the selection, in one line ('' when the layout
        holds no readable label summary: an older export, or a damaged file)."""
        try:
            return _labels_line(self.labels)
        except (KeyError, TypeError, AttributeError, ValueError):
            return ""

    def document(self) -> dict[str, Any]:
        """``layout.json``: the stored fields plus every column's name and the groups, for readers outside mtk."""
        from mtk.pfnn.schema import FACING_SIGMA_S, INPUT_SAMPLES, OUTPUT_SAMPLES, STEP_S, WINDOW_S

        preset, columns = self.preset, self.columns

        def groups(items) -> list[dict]:
            return [{"name": g.name, "start": g.start, "stop": g.stop, "meaning": g.meaning, "unit": g.unit,
                     "norm_group": g.norm} for g in items]

        return {
            "mtk_format": FORMAT,
            "skeleton": self.skeleton, "joint_names": list(preset.skeleton.joint_names),
            "parents": list(preset.skeleton.parents), "joint_weights": preset.joint_weights(),
            "unit": preset.unit, "metres_per_unit": preset.metres_per_unit,
            "fps": list(self.fps), "rate_unit": f"per 1/{REFERENCE_FPS:g} s",
            "window": {"seconds": WINDOW_S, "step_s": STEP_S,
                       "input_samples_s": [k * STEP_S for k in INPUT_SAMPLES],
                       "output_samples_s": [k * STEP_S for k in OUTPUT_SAMPLES],
                       "facing_sigma_s": FACING_SIGMA_S,
                       "edges": "cycles" if preset.cycles_only else preset.edges},
            "options": {"rotations": self.rotations, "terrain": self.terrain, **self.options, "floor": preset.floor},
            "x_dim": columns.x_dim, "y_dim": columns.y_dim,
            "x_groups": groups(columns.x_groups), "y_groups": groups(columns.y_groups),
            "x_columns": columns.x_column_names(), "y_columns": columns.y_column_names(),
            "pooled_std": dict(self.pooled_std), "labels": self.labels,
            "clips": [clip.document() for clip in self.clips],
        }

    @classmethod
    def from_document(cls, document: Any, rows: int, x_dim: int, y_dim: int, source: str | Path) -> DatabaseLayout:
        """A ``layout.json`` document, checked: a known skeleton and options whose columns have the database's
        widths, finite positive frame rates, and clips that tile the ``rows`` rows in order."""
        try:
            layout = _parse(document)
            columns = layout.columns
            if (columns.x_dim, columns.y_dim) != (x_dim, y_dim):
                raise ValueError(f"it describes X {columns.x_dim} / Y {columns.y_dim} columns, the database has "
                                 f"X {x_dim} / Y {y_dim}")
            _check_tiling(layout.clips, rows)
        except (KeyError, ValueError, TypeError) as err:
            raise BadInputError(source, f"is not a valid PFNN layout: {first_line(err)}",
                                "re-export the database or remove layout.json") from None
        return layout


def _labels_line(labels: dict) -> str:
    gait, selection = labels["gait"], labels["selection"]
    text = "gait: " + ", ".join(f"{source} ({count})" if len(gait["sources"]) > 1 else str(source)
                                for source, count in gait["sources"].items())
    if gait["motions_with_texts"]:
        found = gait["disagreements"]
        text += (f"; text vs motion disagreements in {gait['motions_with_texts']} motions with texts: "
                 + (", ".join(f"{kind} {count}" for kind, count in found.items()) if found else "none"))
    rows_per_label = gait["rows_per_label"]
    total = sum(rows_per_label.values()) or 1
    text += "; rows: " + ", ".join(f"{label} {100 * count / total:.0f} %" for label, count in rows_per_label.items())
    if selection["mode"] == "all":
        return text + "; selection: all frames"
    motions, rows = selection["motions"], selection["rows"]
    kept = "every locomotion gait" if set(selection["keep"]) == set(LOCOMOTION) else ", ".join(selection["keep"])
    text += (f"; selection: locomotion ({kept}), kept {motions['kept']} of {motions['in']} motions and "
             f"{rows['kept']} of {rows['kept'] + rows['dropped']} rows")
    if selection["dropped"]:
        text += " (dropped: " + ", ".join(f"{reason} {count}" for reason, count in selection["dropped"].items()) + ")"
    return text


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse(document: Any) -> DatabaseLayout:
    if not isinstance(document, dict):
        raise ValueError("it is not a JSON object")
    skeleton = document["skeleton"]
    if skeleton not in PRESETS:
        raise ValueError(f"unknown skeleton {skeleton!r}")
    options = document.get("options") or {}
    if not isinstance(options, dict):
        raise ValueError("'options' is not an object")
    rotations, terrain = options.get("rotations", "logquat"), options.get("terrain", "zero")
    if rotations not in ("logquat", "6d") or terrain not in ("zero", "none"):
        raise ValueError(f"unknown rotations {rotations!r} or terrain {terrain!r}")
    fps = document.get("fps") or []
    if not isinstance(fps, list) or not all(_finite(f) and 0 < f <= 1000 for f in fps):
        raise ValueError(f"unusable frame rates {fps!r}")
    clips = tuple(_clip(c) for c in document.get("clips") or [])
    pooled = document.get("pooled_std") or {}
    labels = document.get("labels") or {}
    if not isinstance(pooled, dict) or not isinstance(labels, dict):
        raise ValueError("'pooled_std' or 'labels' is not an object")
    kept = {k: v for k, v in options.items() if k not in ("rotations", "terrain", "floor")}
    return DatabaseLayout(skeleton, rotations, terrain, tuple(float(f) for f in fps), clips, kept,
                          {str(k): float(v) for k, v in pooled.items() if _finite(v)}, labels)


def _clip(entry: Any) -> Clip:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValueError(f"a clip entry is not {{name, rows, ...}}: {str(entry)[:80]}")
    start, stop = entry["rows"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop)):
        raise ValueError(f"clip {entry['name']!r} has non-integer rows")
    fps = entry.get("fps", REFERENCE_FPS)
    first = entry.get("first_frame")
    sources = entry.get("sources") or {}
    if not _finite(fps) or not (first is None or isinstance(first, int)) or not isinstance(sources, dict):
        raise ValueError(f"clip {entry['name']!r} has an unusable fps, first_frame or sources")
    return Clip(entry["name"], (start, stop), float(fps), first, {str(k): str(v) for k, v in sources.items()})


def _check_tiling(clips: tuple[Clip, ...], rows: int) -> None:
    expected = 0
    for clip in clips:
        start, stop = clip.rows
        if start != expected or stop < start:
            raise ValueError(f"clip {clip.name!r} rows {start}:{stop} do not follow the previous clip")
        expected = stop
    if clips and expected != rows:
        raise ValueError(f"the clips cover {expected} rows, the database has {rows}")


# --- the files -----------------------------------------------------------------------------------------


def write_database(dest, X: np.ndarray, Y: np.ndarray, P: np.ndarray, stats, layout: DatabaseLayout) -> None:
    """X, Y, P, the stats and ``layout.json`` into ``dest``'s temporary sibling folder, then one rename (the
destination's context: an error leaves nothing written)."""
    with dest:
        partial = Path(dest.partial)
        partial.mkdir(parents=True)
        np.savez(partial / DATABASE, Xun=X, Yun=Y, Pun=P)  # deflate would save ~25 % at ~15x the time
        for name, vector in zip(STATS, (stats.x_mean, stats.x_std, stats.y_mean, stats.y_std), strict=True):
            np.save(partial / f"{name}.npy", vector, allow_pickle=False)
            vector.astype("<f4").tofile(partial / f"{name}.bin")
        (partial / LAYOUT).write_text(json.dumps(layout.document(), indent=1))


def detect(path: str) -> bool:
    """A .npz archive holding Xun, Yun and Pun (or a folder holding such a database.npz)."""
    p = Path(path)
    if p.is_dir():
        p = p / DATABASE
    if p.suffix != ".npz" or not p.is_file():
        return False
    try:
        with zipfile.ZipFile(p) as archive:
            names = set(archive.namelist())
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
    return all(f"{k}.npy" in names for k in KEYS)


def database_root(path: Path) -> Root:
    """The folder a PFNN database (a folder, or its ``database.npz``) is read from."""
    return Root(path if path.is_dir() else path.parent, "the database folder")


def read_pfnn_database(path: str | Path, values: bool = True,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, DatabaseLayout | None]:
    """X, Y, P and the layout beside the archive (None when there is no layout.json), checked for shape and
    type; the layout is checked against the rows (:meth:`DatabaseLayout.from_document`). Read only from
    inside the database folder (:class:`~mtk.io.contained.Root`). With ``values`` (all but ``mtk inspect``,
    which reports them) the rows are checked too (:func:`values_problem`)."""
    p = Path(path)
    root = database_root(p)
    if p.is_dir():
        p = root.check(p / DATABASE)
    arrays = load_npz(p, KEYS)
    X, Y, P = (arrays[k] for k in KEYS)
    if X.ndim != 2 or Y.ndim != 2 or P.ndim != 1 or not len(X) == len(Y) == len(P):
        raise BadInputError(p, f"has Xun {X.shape}, Yun {Y.shape}, Pun {P.shape}",
                            "expected (N, X), (N, Y) and (N,)")
    if not all(np.issubdtype(a.dtype, np.floating) for a in (X, Y, P)):
        raise BadInputError(p, f"has dtypes {X.dtype}, {Y.dtype}, {P.dtype}; expected floats")
    if values and (problem := values_problem(X, Y, P)):
        raise BadInputError(p, problem, "re-export the database with mtk convert --to pfnn")
    layout_path = root.check(p.with_name(LAYOUT))
    layout = None
    if layout_path.is_file():
        try:
            document = json.loads(read_small_text(layout_path))
        except ValueError as err:
            raise BadInputError(layout_path, f"is not valid JSON: {first_line(err)}",
                                "re-export the database or remove layout.json") from None
        layout = DatabaseLayout.from_document(document, len(X), X.shape[1], Y.shape[1], layout_path)
    return X, Y, P, layout


def values_problem(X: np.ndarray, Y: np.ndarray, P: np.ndarray) -> str | None:
    """What makes the rows unusable, or None: NaN or Inf in X, Y or P, a phase outside [0, 1], no rows."""
    if not len(P):
        return "holds no rows"
    for name, data in (("Xun", X), ("Yun", Y), ("Pun", P)):
        if problem := finite_problem(data):
            return f"{name} {problem}"
    if P.min() < 0 or P.max() > 1:
        return f"Pun holds phases outside [0, 1] ({float(P.min()):.3g} .. {float(P.max()):.3g})"
    return None


def columns_for_widths(x_dim: int, y_dim: int) -> tuple[str, PfnnColumns] | None:
    """The one (skeleton, columns) of a PFNN export with these widths (PFNN's own 342 / 311 is pfnn31), or
    None."""
    for skeleton in PRESETS:
        for rotations in ("logquat", "6d"):
            for terrain in ("zero", "none"):
                columns = export_columns(skeleton, rotations, terrain)  # type: ignore[arg-type]
                if (columns.x_dim, columns.y_dim) == (x_dim, y_dim):
                    return skeleton, columns
    return None


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Rows, dims, column groups, phase histogram and per-group statistics of a PFNN database."""
    from mtk.analysis.inspection import Report, block_stats

    X, Y, P, found = read_pfnn_database(path, values=False)
    report = Report(path=str(path), kind="pfnn", frames=int(len(X)), dim=int(X.shape[1]), dtype=str(X.dtype))
    if found is not None:
        columns = found.columns
        report.layout = f"pfnn/{found.skeleton}"
        report.fps = found.single_fps
        report.details.update({
            "skeleton": found.skeleton, "options": {"rotations": found.rotations, "terrain": found.terrain,
                                                    **found.options},
            "clips": len(found.clips), "pooled_std": {k: float(f"{v:.4g}") for k, v in found.pooled_std.items()}})
        if found.labels_summary():
            report.details["labels"] = found.labels_summary()
        x_groups, y_groups = columns.x_groups, columns.y_groups
    else:
        guessed = columns_for_widths(X.shape[1], Y.shape[1])
        x_groups, y_groups = (guessed[1].x_groups, guessed[1].y_groups) if guessed else ((), ())
        report.add("info", "no_layout", "no layout.json beside the archive; column groups guessed from the widths")
    report.details.update({"rows": int(len(X)), "x_dim": int(X.shape[1]), "y_dim": int(Y.shape[1])})
    for prefix, data, groups in (("X", X, x_groups), ("Y", Y, y_groups)):
        spans = [(g.name, g.start, g.stop) for g in groups] or [(prefix, 0, data.shape[1])]
        for name, start, stop in spans:
            values = data[:, start:stop]
            report.blocks.append(block_stats(f"{prefix}.{name}", start, stop, values))
            if len(values) and not np.isfinite(values).all():
                report.add("error", "non_finite", f"{prefix}.{name} has NaN or Inf values")
    report.blocks.append(block_stats("P", 0, 1, P))
    histogram = np.histogram(P[np.isfinite(P)], bins=10, range=(0.0, 1.0))[0]
    report.details["phase_histogram (10 bins over [0, 1])"] = [int(n) for n in histogram]
    if len(P) and (not np.isfinite(P).all() or P.min() < 0 or P.max() > 1):
        report.add("error", "phase_range", "P has values outside [0, 1]")
    stats_dir = Path(path) if Path(path).is_dir() else Path(path).parent
    missing = [n for n in STATS if not (stats_dir / f"{n}.bin").is_file()]
    if missing:
        report.add("info", "no_stats", f"no {', '.join(m + '.bin' for m in missing)} beside the database")
    return report


# --- a database for training -------------------------------------------------------------------------


@dataclass
class Database:
    """An export folder read for training: rows, layout and normalisation (float64)."""

    X: np.ndarray
    Y: np.ndarray
    P: np.ndarray
    layout: DatabaseLayout
    norm: dict[str, np.ndarray]
    path: str

    def clips(self) -> list[tuple[str, int, int]]:
        """(name, start, stop) of every motion, in row order; a motion exported as several runs of frames
        (a selection dropped frames in between) is one entry per run, under the same name."""
        if not self.layout.clips:
            return [("all", 0, len(self.X))]
        return [(clip.name, *clip.rows) for clip in self.layout.clips]


def read_database(path: str | Path) -> Database:
    """An ``mtk convert --to pfnn`` folder with its layout.json and normalisation (``.npy``), all finite."""
    folder = Path(path)
    X, Y, P, layout = read_pfnn_database(folder)
    root = database_root(folder)
    if layout is None:
        raise BadInputError(folder, "has no layout.json", "train on a folder written by `mtk convert --to pfnn`")
    if folder.suffix == ".npz":
        folder = folder.parent
    norm = {}
    for name, dim in zip(STATS, (X.shape[1], X.shape[1], Y.shape[1], Y.shape[1]), strict=True):
        file = root.check(folder / f"{name}.npy")
        vector = load_npy(file)
        if vector.shape != (dim,) or not np.isfinite(vector).all():
            raise BadInputError(file, f"has shape {vector.shape} or non-finite values, expected ({dim},)")
        if name.endswith("std") and (vector <= 0).any():
            raise BadInputError(file, "holds a std that is zero or negative", "re-export the database")
        norm[name] = vector.astype(np.float64)
    return Database(X, Y, P, layout, norm, str(path))


def clip_split(clips: list[tuple[str, int, int]], fraction: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training rows, validation rows and the validation motions' names: whole motions (every run of rows
    under one name goes to the same side), picked in a seeded random order until they hold ``fraction`` of
    the rows (at least one motion; none when there is only one)."""
    runs: dict[str, list[tuple[int, int]]] = {}
    for name, start, stop in clips:
        runs.setdefault(name, []).append((start, stop))
    names = list(runs)
    size = {name: sum(stop - start for start, stop in spans) for name, spans in runs.items()}
    total = sum(size.values())
    order = np.random.default_rng(seed).permutation(len(names))
    held: set[str] = set()
    rows = 0
    if len(names) > 1 and fraction > 0:
        for index in order[:-1]:
            held.add(names[index])
            rows += size[names[index]]
            if rows >= fraction * total:
                break

    def rows_of(chosen) -> np.ndarray:
        parts = [np.arange(start, stop) for name in names if name in chosen for start, stop in runs[name]]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    return rows_of(set(names) - held), rows_of(held), [name for name in names if name in held]
