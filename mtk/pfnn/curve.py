"""The training-curve picture of a PFNN run: training loss and validation normalised RMSE over steps."""

from __future__ import annotations

import json
from pathlib import Path


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_curve(log: Path, out: Path) -> Path | None:
    """Write ``out`` (PNG) from a run's log.jsonl; None when the log holds nothing to plot."""
    records = read_log(log)
    train = [r for r in records if r["event"] == "train"]
    evals = [r for r in records if r["event"] == "eval"]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mtk.io.atomic import atomic_file

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot([r["iter"] for r in train], [r["mse"] for r in train], label="training MSE (normalised Y)")
    axes[0].set_yscale("log")
    if evals:
        axes[1].plot([r["iter"] for r in evals], [r["normalized_rmse"] for r in evals], marker="o",
                     label="validation normalised RMSE")
        axes[1].axhline(evals[-1]["mean_predictor_normalized_rmse"], color="grey", linestyle="--",
                        label="mean predictor")
    for ax in axes:
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_file(out, ".png") as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return out
