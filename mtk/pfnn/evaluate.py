"""How well a network predicts a database's Y, overall and per column group, in the data's own units.

``normalized_rmse`` = sqrt(mean over rows and all Y columns of ((prediction - Y) / Ystd)^2), with the
network's own Ystd; ``joint_position_rmse`` = sqrt(mean over rows and joint-position columns of
(prediction - Y)^2) in the data's unit. Each row is predicted at its own phase P, dropout off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mtk.pfnn.weights import PfnnWeights

#: per-group figures: (key, Y group, what it measures)
GROUP_FIGURES = (
    ("joint_position_rmse", "joint_pos", "joint position RMSE"),
    ("joint_velocity_rmse", "joint_vel", "joint velocity RMSE (per 1/60 s)"),
    ("joint_rotation_rmse", "joint_rot", "joint rotation RMSE (encoding units)"),
    ("root_velocity_rmse", "root_velocity", "root velocity RMSE (per 1/60 s)"),
    ("angular_velocity_rmse", "root_angular_velocity", "angular velocity RMSE (rad per 1/60 s)"),
    ("dphase_rmse", "dphase", "dphase RMSE (cycles per 1/60 s)"),
    ("future_position_rmse", "future_pos_x", "future trajectory position RMSE"),
)


def rmse(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a)))) if a.size else float("nan")


def joint_rotation_error_deg(pred: np.ndarray, true: np.ndarray, rotations: str) -> float:
    """Mean geodesic angle (degrees) between predicted and true joint rotations."""
    from mtk.maths import rotations as rot

    if rotations == "logquat":
        qp = rot.quat_exp(pred.reshape(len(pred), -1, 3))
        qt = rot.quat_exp(true.reshape(len(true), -1, 3))
        qp = qp / np.linalg.norm(qp, axis=-1, keepdims=True)
        dot = np.abs(np.sum(qp * qt, axis=-1)).clip(0, 1)
        return float(np.degrees(2 * np.arccos(dot)).mean())
    mp = rot.sixd_to_matrix(pred.reshape(len(pred), -1, 6), "columns")
    mt = rot.sixd_to_matrix(true.reshape(len(true), -1, 6), "columns")
    trace = np.einsum("...ij,...ij->...", mp, mt)
    return float(np.degrees(np.arccos(((trace - 1) / 2).clip(-1, 1))).mean())


def scores(weights: PfnnWeights, X: np.ndarray, Y: np.ndarray, P: np.ndarray,
           prediction: np.ndarray | None = None) -> dict[str, Any]:
    """The evaluation document of ``weights`` on rows (X, Y, P): overall and per-group figures, and the
    same for the mean predictor (predicting Ymean) as the baseline."""
    pred = weights.predict(X, P) if prediction is None else prediction
    Y = np.asarray(Y, dtype=np.float64)
    meta = weights.meta
    ystd, ymean = weights.norm["Ystd"], weights.norm["Ymean"]
    out: dict[str, Any] = {"rows": int(len(Y)), "unit": meta.unit,
                           "normalized_rmse": rmse((pred - Y) / ystd),
                           "mean_predictor_normalized_rmse": rmse((ymean - Y) / ystd)}
    for key, group, _ in GROUP_FIGURES:
        columns = meta.y(group)
        if key == "future_position_rmse":
            columns = slice(columns.start, meta.y("future_pos_z").stop)
        out[key] = rmse(pred[:, columns] - Y[:, columns])
    rot_cols = meta.y("joint_rot")
    out["joint_rotation_error_deg"] = joint_rotation_error_deg(pred[:, rot_cols], Y[:, rot_cols], meta.rotations)
    contact_cols = meta.y("contacts")
    out["contact_accuracy"] = float(np.mean((pred[:, contact_cols] > 0.5) == (Y[:, contact_cols] > 0.5))) \
        if len(Y) else float("nan")
    out["group_normalized_rmse"] = {g.name: rmse((pred - Y)[:, g.slice] / ystd[g.slice])
                                    for g in meta.columns.y_groups}
    return out


def check_widths(weights: PfnnWeights, X: np.ndarray, Y: np.ndarray, source: str) -> None:
    from mtk.errors import BadInputError

    if (X.shape[1], Y.shape[1]) != (weights.x_dim, weights.y_dim):
        raise BadInputError(source, f"has X {X.shape[1]} / Y {Y.shape[1]} columns, the network "
                            f"X {weights.x_dim} / Y {weights.y_dim}", "evaluate on a database of the same export")


def evaluate_database(weights: PfnnWeights, database: str, rows: slice | np.ndarray | None = None) -> dict[str, Any]:
    """:func:`scores` on a database folder (all rows, or ``rows``)."""
    from mtk.pfnn.database import read_pfnn_database

    X, Y, P, _ = read_pfnn_database(database)
    check_widths(weights, X, Y, database)
    if rows is not None:
        X, Y, P = X[rows], Y[rows], P[rows]
    return scores(weights, X, Y, P)
