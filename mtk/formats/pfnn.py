"""The PFNN database format: ``database.npz`` {Xun, Yun, Pun} with its stats files and ``layout.json``;
detect, read, write and describe it. Exporting motions into one is :mod:`mtk.jobs.pfnn_export`.
See docs/architecture.md.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, first_line
from mtk.formats.arrays import load_npz
from mtk.formats.registry import register_format
from mtk.io.contained import Root
from mtk.io.small_text import read_small_text
from mtk.analysis.finite import finite_problem
from mtk.schemas.pfnn import PRESETS, pfnn_columns

DATABASE = "database.npz"
KEYS = ("Xun", "Yun", "Pun")
STATS = ("Xmean", "Xstd", "Ymean", "Ystd")


def write_database(dest, X: np.ndarray, Y: np.ndarray, P: np.ndarray, stats, document: dict) -> None:
    """X, Y, P, the stats and ``layout.json`` into ``dest``'s temporary sibling folder, then one rename."""
    partial = Path(dest.partial)
    partial.mkdir(parents=True)
    try:
        np.savez(partial / DATABASE, Xun=X, Yun=Y, Pun=P)  # deflate would save ~25 % at ~15x the time
        for name, vector in zip(STATS, (stats.x_mean, stats.x_std, stats.y_mean, stats.y_std), strict=True):
            np.save(partial / f"{name}.npy", vector, allow_pickle=False)
            vector.astype("<f4").tofile(partial / f"{name}.bin")
        (partial / "layout.json").write_text(json.dumps(document, indent=1))
        dest.commit()
    except BaseException:
        dest.discard()
        raise


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


def read_pfnn_database(path: str | Path, values: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """X, Y, P and the layout.json beside the archive (None when absent), checked for shape and type; read
    only from inside the database folder (:class:`~mtk.io.contained.Root`). With ``values`` (all but ``mtk
    inspect``, which reports them) the rows are checked too (:func:`values_problem`)."""
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
    layout_path = root.check(p.with_name("layout.json"))
    document = _read_layout(layout_path, X.shape[1], Y.shape[1]) if layout_path.is_file() else None
    return X, Y, P, document


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


def _read_layout(path: Path, x_dim: int, y_dim: int) -> dict:
    """layout.json, with its column groups checked against the database's widths."""
    try:
        document = json.loads(read_small_text(path))
        for key, dim in (("x_groups", x_dim), ("y_groups", y_dim)):
            groups = document[key]
            if not all(isinstance(g["name"], str) and 0 <= int(g["start"]) < int(g["stop"]) <= dim for g in groups):
                raise ValueError(f"{key} do not fit {dim} columns")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BadInputError(path, f"is not a valid PFNN layout: {first_line(err)}",
                            "re-export the database or remove layout.json") from None
    return document


def _default_groups(x_dim: int, y_dim: int) -> tuple[list[dict], list[dict]]:
    """Column groups when no layout.json is beside the archive: PFNN's own 342 / 311, else whole blocks."""
    for preset in PRESETS.values():
        for rotations in ("logquat", "6d"):
            for terrain in ("zero", "none"):
                c = pfnn_columns(preset.skeleton.joint_names, rotations, terrain)  # type: ignore
                if (c.x_dim, c.y_dim) == (x_dim, y_dim):
                    return ([{"name": g.name, "start": g.start, "stop": g.stop} for g in c.x_groups],
                            [{"name": g.name, "start": g.start, "stop": g.stop} for g in c.y_groups])
    return [{"name": "X", "start": 0, "stop": x_dim}], [{"name": "Y", "start": 0, "stop": y_dim}]


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Rows, dims, column groups, phase histogram and per-group statistics of a PFNN database."""
    from mtk.analysis.inspection import Report, block_stats

    X, Y, P, document = read_pfnn_database(path, values=False)
    report = Report(path=str(path), kind="pfnn", frames=int(len(X)), dim=int(X.shape[1]), dtype=str(X.dtype))
    if document:
        x_groups, y_groups = document["x_groups"], document["y_groups"]
        report.layout = f"pfnn/{document.get('skeleton')}"
        rates, clips, pooled = document.get("fps"), document.get("clips"), document.get("pooled_std")
        report.fps = rates[0] if isinstance(rates, list) and len(rates) == 1 else None
        report.details.update({
            "skeleton": document.get("skeleton"), "options": document.get("options"),
            "clips": len(clips) if isinstance(clips, list) else None,
            "pooled_std": {k: float(f"{v:.4g}") for k, v in pooled.items() if isinstance(v, int | float)}
            if isinstance(pooled, dict) else None})
    else:
        x_groups, y_groups = _default_groups(X.shape[1], Y.shape[1])
        report.add("info", "no_layout", "no layout.json beside the archive; column groups guessed from the widths")
    report.details.update({"rows": int(len(X)), "x_dim": int(X.shape[1]), "y_dim": int(Y.shape[1])})
    for prefix, data, groups in (("X", X, x_groups), ("Y", Y, y_groups)):
        for g in groups:
            start, stop = int(g["start"]), int(g["stop"])
            values = data[:, start:stop]
            report.blocks.append(block_stats(f"{prefix}.{g['name']}", start, stop, values))
            if len(values) and not np.isfinite(values).all():
                report.add("error", "non_finite", f"{prefix}.{g['name']} has NaN or Inf values")
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


register_format("pfnn", "pfnn", "a PFNN database: database.npz {Xun, Yun, Pun} or its export folder",
                "a PFNN database.npz", detect, reader=read_pfnn_database, writer=write_database,
                inspect=inspect, order=30)
