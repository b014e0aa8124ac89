"""What a network's columns mean: skeleton, unit, frame rate and X / Y column groups, from a database's
``layout.json`` (training) or from the widths alone (a PFNN demo folder: PFNN's own 342 / 311 is pfnn31)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mtk.errors import BadInputError
from mtk.schemas.pfnn import GAIT_CLASSES, PRESETS, PfnnColumns, get_preset, pfnn_columns

#: gaits the controller drives
CONTROLLER_GAITS = ("stand", "walk", "jog")


def _groups(groups) -> list[dict[str, Any]]:
    return [{"name": g.name, "start": g.start, "stop": g.stop} for g in groups]


def columns_meta(columns: PfnnColumns, skeleton: str, fps: float) -> dict[str, Any]:
    preset = get_preset(skeleton)
    return {"skeleton": skeleton, "unit": preset.unit, "metres_per_unit": preset.metres_per_unit, "fps": fps,
            "rotations": columns.rotations, "terrain": columns.terrain,
            "joint_names": list(preset.skeleton.joint_names), "parents": list(preset.skeleton.parents),
            "x_groups": _groups(columns.x_groups), "y_groups": _groups(columns.y_groups)}


def meta_from_widths(x_dim: int, y_dim: int, source: str) -> dict[str, Any]:
    """Meta for a network known only by its widths: the one preset/rotations/terrain combination that fits."""
    for skeleton, preset in PRESETS.items():
        for rotations in ("logquat", "6d"):
            for terrain in ("zero", "none"):
                columns = pfnn_columns(preset.skeleton.joint_names, rotations, terrain, preset.unit)  # type: ignore
                if (columns.x_dim, columns.y_dim) == (x_dim, y_dim):
                    fps = preset.target_fps or 30.0
                    return {**columns_meta(columns, skeleton, fps), "source": source}
    raise BadInputError(source, f"X {x_dim} / Y {y_dim} columns match no PFNN export ({', '.join(PRESETS)})",
                        "export a database with `mtk convert --to pfnn` and train on it")


def meta_from_database(layout: dict[str, Any], Y: np.ndarray, X: np.ndarray, source: str) -> dict[str, Any]:
    """Meta of a network trained on a database: its layout plus the data's gait speeds and root heights."""
    skeleton = layout.get("skeleton", "")
    preset = get_preset(skeleton)
    columns = pfnn_columns(preset.skeleton.joint_names, layout["options"]["rotations"],
                           layout["options"]["terrain"], preset.unit)
    if (columns.x_dim, columns.y_dim) != (X.shape[1], Y.shape[1]):
        raise BadInputError(source, "layout.json does not describe the database's columns")
    fps = layout["fps"][0] if len(layout.get("fps", [])) == 1 else 60.0
    return {**columns_meta(columns, skeleton, fps), "gait_speeds": gait_speeds(X, Y, columns),
            "root_height": root_height_range(Y, columns), "source": source}


def gait_speeds(X: np.ndarray, Y: np.ndarray, columns: PfnnColumns) -> dict[str, float]:
    """Median root speed (units per 1/60 s) of the rows whose current gait is mostly stand / walk / jog."""
    sample = 6  # the current frame among the 12 trajectory samples
    gaits = np.stack([X[:, columns.x_group(f"gait_{g}").start + sample] for g in GAIT_CLASSES], -1)
    speed = np.linalg.norm(Y[:, columns.y_group("root_velocity").slice], axis=-1)
    dominant = gaits.argmax(-1)
    out = {}
    for name in CONTROLLER_GAITS:
        picked = speed[dominant == GAIT_CLASSES.index(name)]
        out[name] = float(np.median(picked)) if len(picked) else float("nan")
    return out


def root_height_range(Y: np.ndarray, columns: PfnnColumns) -> list[float]:
    """Lowest and highest root (joint 0) height in the data's Y."""
    y = Y[:, columns.y_group("joint_pos").start + 1]
    return [float(y.min()), float(y.max())]


def group_slice(groups: list[dict[str, Any]], name: str) -> slice:
    for group in groups:
        if group["name"] == name:
            return slice(int(group["start"]), int(group["stop"]))
    raise KeyError(name)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def meta_from_sidecar(document: Any, x_dim: int, y_dim: int, source: str) -> dict[str, Any]:
    """Meta from the ``mtk_network.json`` that ``mtk pfnn export`` writes beside the .bin files. The file is
    untrusted: only the skeleton, rotations, terrain, frame rate, gait speeds and root height range are
    taken, each checked; the column groups are rebuilt from the preset and must match the widths."""
    meta = document.get("meta") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        raise BadInputError(source, "has no 'meta' object")
    try:
        preset = get_preset(str(meta.get("skeleton")))
        columns = pfnn_columns(preset.skeleton.joint_names, meta.get("rotations"), meta.get("terrain"), preset.unit)
    except (KeyError, ValueError) as err:
        raise BadInputError(source, f"names no known export: {err}") from None
    if meta.get("rotations") not in ("logquat", "6d") or meta.get("terrain") not in ("zero", "none"):
        raise BadInputError(source, "has unknown rotations or terrain options")
    if (columns.x_dim, columns.y_dim) != (x_dim, y_dim):
        raise BadInputError(source, f"describes X {columns.x_dim} / Y {columns.y_dim}, the network has X {x_dim} / "
                            f"Y {y_dim}")
    fps = meta.get("fps")
    if not _finite(fps) or not 0 < fps <= 1000:
        raise BadInputError(source, f"has an unusable fps {fps!r}")
    out = {**columns_meta(columns, preset.name, float(fps)), "source": source}
    speeds = meta.get("gait_speeds")
    if isinstance(speeds, dict):
        out["gait_speeds"] = {g: float(speeds[g]) for g in CONTROLLER_GAITS if _finite(speeds.get(g))}
    height = meta.get("root_height")
    if isinstance(height, list) and len(height) == 2 and all(_finite(h) for h in height):
        out["root_height"] = [float(h) for h in height]
    return out
