"""The PFNN step of ``mtk demo``: train briefly on the demo's PFNN export, play a walk, report the errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

#: (label, key, scale, unit) rows of the demo report's error table; scale turns metres into the unit shown
REPORT_ROWS = (
    ("normalised RMSE", "normalized_rmse", 1.0, ""),
    ("normalised RMSE of the mean predictor", "mean_predictor_normalized_rmse", 1.0, ""),
    ("joint position RMSE", "joint_position_rmse", 100.0, "cm"),
    ("joint velocity RMSE (per 1/60 s)", "joint_velocity_rmse", 100.0, "cm"),
    ("root velocity RMSE (per 1/60 s)", "root_velocity_rmse", 100.0, "cm"),
    ("joint rotation error", "joint_rotation_error_deg", 1.0, "deg"),
    ("contact accuracy", "contact_accuracy", 100.0, "%"),
)


def pfnn_demo(database: Path, run: Path, gif: Path, epochs: float, overwrite: bool,
              on_progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], str]:
    """Train ``epochs`` passes on ``database`` into ``run``, play 'walk:2,turn-left:90,walk:1' (foot IK on) to
    ``gif``; returns key figures and a markdown section (validation error table, the walk's figures, the
    GIF)."""
    from mtk.pfnn.netfile import load_network
    from mtk.pfnn.play import play, report, write_frames
    from mtk.pfnn.train import TrainConfig, train

    result = train(TrainConfig(str(database), str(run), epochs=epochs, evals=4, overwrite=overwrite),
                   on_progress=on_progress)
    weights = load_network(run)
    played = play(weights, path="walk:2,turn-left:90,walk:1")
    write_frames(played.frames, weights, str(gif), played.fps, overwrite=True)
    walk = report(played, weights)
    val = result["final_val"] or {}
    rows = "\n".join(f"| {label} | {val[key] * scale:.3g}{' ' + unit if unit else ''} |"
                     for label, key, scale, unit in REPORT_ROWS if key in val)
    section = (f"## PFNN\n\n`mtk pfnn train` for {result['steps']} steps ({epochs:g} epochs, "
               f"{result['seconds']:.0f} s) on the PFNN export, {result['val_clips']} whole clips held out "
               f"({result['val_rows']} rows):\n\n"
               f"| validation | value |\n|---|---:|\n{rows}\n\n"
               f"`mtk pfnn play {run} --path 'walk:2,turn-left:90,walk:1'`: {walk['frames']} frames at "
               f"{played.fps:g} fps, {walk['distance_m']:.2f} m at {walk['mean_speed_m_s']:.2f} m/s "
               f"({_percent(walk['speed_ratio'])} of the command); feet sliding {_cm(walk['foot_sliding_cm_s'])} "
               f"while in contact with foot IK ({_cm(walk['network_foot_sliding_cm_s'])} without), "
               f"{_cm(walk['data_foot_sliding_cm_s'])} in the training data.\n\n"
               f"![PFNN walk]({gif.name})\n")
    figures = {"PFNN steps": result["steps"],
               "val nRMSE": round(val.get("normalized_rmse", float("nan")), 3),
               "mean predictor": round(val.get("mean_predictor_normalized_rmse", float("nan")), 3),
               "walk m": round(walk["distance_m"], 2), "sliding cm/s": _rounded(walk["foot_sliding_cm_s"]),
               "data sliding cm/s": _rounded(walk["data_foot_sliding_cm_s"])}
    return figures, section


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _cm(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} cm/s"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"
