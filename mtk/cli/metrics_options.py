"""Options and output shared by ``mtk metrics`` and ``mtk tokenizer eval --metrics``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from mtk.cli import numbers
from mtk.cli.common import console

EVALUATOR_METRICS = ("fid", "rprecision", "mmdist", "diversity")


def evaluator_options(command: Callable) -> Callable:
    """``--evaluator``, ``--glove``, ``--text-model``, ``--replications``, ``--seed``."""
    options = [
        click.option("--evaluator", "evaluator", metavar="DIR", default=None,
                     help="The text-motion evaluator. HumanML3D/KIT-ML: the released dataset folder (checkpoints/"
                          "t2m, or KIT-ML's) with text_mot_match/model/finest.tar and the meta/ mean and std. 272: the folder "
                          "of MotionMillion's epoch=199.ckpt (or MotionStreamer's epoch=99.ckpt) with the "
                          "evaluator's mean.npy and std.npy."),
        click.option("--glove", metavar="DIR", default=None,
                     help="HumanML3D/KIT: the GloVe folder (our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl)."),
        click.option("--text-model", "text_model", metavar="DIR", default=None,
                     help="272: the distilbert-base-uncased folder (config.json, vocab.txt, tokenizer files); "
                          "needs pip install 'mtk[eval]'."),
        click.option("--replications", type=numbers.REPLICATIONS, default=20, show_default=True,
                     help="Passes over the split with new random captions, crops and batches; the papers use 20."),
        click.option("--seed", type=numbers.REPLICATION_SEED, default=0, show_default=True,
                     help="Replication r draws from numpy's RandomState(seed + r)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def require_evaluator(evaluator: str | None, metrics: tuple[str, ...]) -> None:
    if evaluator is None:
        raise click.UsageError(f"--metrics {','.join(metrics)} needs --evaluator DIR (see docs/metrics.md for "
                               "what to download)")


def _cell(figure: dict[str, float] | None) -> str:
    """``mean ± half-interval``; ``-`` where there is none (diversity of at most 100 motions)."""
    if figure is None or figure["mean"] is None or not math.isfinite(figure["mean"]):
        return "-"
    return f"{figure['mean']:.3f} ± {figure['conf']:.3f}"


ROWS = (("fid", "FID", ("fid",)), ("rprecision", "R-precision top-1", ("top1",)),
        ("rprecision", "R-precision top-2", ("top2",)), ("rprecision", "R-precision top-3", ("top3",)),
        ("mmdist", "MM-Dist", ("mmdist",)), ("diversity", "diversity", ("diversity",)),
        ("multimodality", "multimodality", ("multimodality",)))


def selected(result: dict[str, Any], metrics: tuple[str, ...]) -> dict[str, Any]:
    """``result`` with only the requested metrics' figures (for --json)."""
    keys = {key for metric, _, names in ROWS if metric in metrics for key in names}
    out = dict(result)
    for side in ("evaluated", "reference"):
        out[side] = {k: v for k, v in result[side].items() if k in keys}
    return out


def print_table(result: dict[str, Any], metrics: tuple[str, ...], evaluated_label: str) -> None:
    """The figures as the papers print them: mean ± 95 % half-interval over the replications."""
    from rich.table import Table

    table = Table(title=f"{result['evaluator']} evaluator, {result['replications']} replication(s), "
                        "mean ± 95 % interval", title_justify="left")
    table.add_column("metric")
    table.add_column(evaluated_label, justify="right")
    table.add_column("reference (real)", justify="right")
    for metric, label, (key,) in ROWS:
        if metric in metrics and key in result["evaluated"]:
            table.add_row(label, _cell(result["evaluated"][key]), _cell(result["reference"].get(key)))
    console().print(table)
