"""``mtk pfnn train|eval|export|import|play``: PFNN networks on mtk's PFNN matrices."""

from __future__ import annotations

from typing import Any

import click

from mtk.cli import numbers
from mtk.cli.common import console, emit_json, is_quiet, json_option, progress_bar

@click.group("pfnn")
def pfnn_command() -> None:
    """Train, evaluate, exchange and drive phase-functioned networks (Holden et al. 2017).

    \b
    Examples:
      mtk convert sample/ db/ --to pfnn
      mtk pfnn train db/ --out runs/pfnn --epochs 20
      mtk pfnn eval runs/pfnn db/
      mtk pfnn export runs/pfnn --out demo/network/pfnn     # PFNN's C++ demo loads this folder
      mtk pfnn import demo/network/pfnn --out pfnn.pth
      mtk pfnn play runs/pfnn --path 'walk:3,turn-left:90,jog:4,stand:2' --out walk.gif
    """


@pfnn_command.command("train")
@click.argument("database")
@click.option("--out", required=True, metavar="RUN", help="Run folder (net_latest.pth, net_best.pth, log.jsonl, "
              "training_curve.png).")
@click.option("--epochs", type=numbers.EPOCHS, default=20.0, show_default=True,
              help="Passes over the training rows (PFNN: 20 macro-epochs = 20 passes).")
@click.option("--batch-size", type=numbers.BATCH, default=32, show_default=True, help="Rows per step and process.")
@click.option("--lr", type=numbers.LEARNING_RATE, default=1e-4, show_default=True, help="Adam learning rate (betas 0.9, 0.999).")
@click.option("--hidden", type=numbers.HIDDEN, default=512, show_default=True, help="Hidden width (PFNN: 512).")
@click.option("--val-fraction", type=numbers.FRACTION, default=0.1, show_default=True,
              help="Rows held out for validation, as whole clips.")
@click.option("--evals", type=numbers.EVALS, default=20, show_default=True, help="Validations (and saves) over the run.")
@click.option("--log-every", type=numbers.STEPS, default=100, show_default=True, metavar="N", help="Log losses every N steps.")
@click.option("--seed", type=numbers.SEED, default=0, show_default=True)
@click.option("--threads", type=numbers.THREADS, default=1, show_default=True,
              help="CPU threads when training on a CPU (more threads help only on an idle machine).")
@click.option("--mixed-precision", type=click.Choice(["no", "fp16", "bf16"]), default="no", show_default=True)
@click.option("--resume", is_flag=True, help="Continue RUN from net_latest.pth with its own settings.")
@click.option("--overwrite", is_flag=True, help="Start over in a RUN folder that holds a run.")
@json_option
def train_command(database: str, out: str, as_json: bool, **options: Any) -> None:
    """Train a PFNN on DATABASE (an `mtk convert --to pfnn` folder; any skeleton).

    Validation holds out whole clips. Runs on a CPU or one GPU as is, and on several processes under a
    launcher: `torchrun --standalone --nproc_per_node 4 -m mtk pfnn train DATABASE --out RUN` (the batch size
    is per process; see docs/scaling.md).
    """
    from mtk.pfnn.train import TrainConfig, planned_steps, train

    cfg = TrainConfig(database=database, out=out, **options)
    start, stop = planned_steps(cfg)
    err = console(stderr=True)
    quiet = as_json or is_quiet()

    def on_event(record: dict[str, Any]) -> None:
        if record["event"] == "eval" and not quiet:
            err.print(f"step {record['iter']}: validation normalised RMSE {record['normalized_rmse']:.4f} (mean "
                      f"predictor {record['mean_predictor_normalized_rmse']:.4f}), joints "
                      f"{record['joint_position_rmse']:.4g} {record['unit']}", soft_wrap=True)

    with progress_bar(f"training {out}", stop - start) as advance:
        result = train(cfg, on_progress=advance, on_event=on_event)
    if not result["main_process"]:
        return
    if as_json:
        emit_json(result)
        return
    console().print(f"{result['out']}: {result['steps']} steps in {result['seconds']:.0f} s on "
                    f"{result['processes']} process(es), {result['train_rows']} training rows, "
                    f"{result['val_clips']} validation clips; best validation normalised RMSE "
                    f"{result['best_val_normalized_rmse']:.4f}", soft_wrap=True)


def _print_scores(result: dict[str, Any], title: str) -> None:
    from mtk.pfnn.evaluate import GROUP_FIGURES

    out = console()
    unit = result.get("unit") or "units"
    out.print(title)
    out.print(f"  normalised RMSE        {result['normalized_rmse']:.4f} (mean predictor "
              f"{result['mean_predictor_normalized_rmse']:.4f})")
    for key, _, label in GROUP_FIGURES:
        if key in result:
            shown_unit = "" if "rotation" in key or "angular" in key or "dphase" in key else f" {unit}"
            out.print(f"  {label:<38} {result[key]:.4g}{shown_unit}")
    out.print(f"  joint rotation error (mean angle)      {result['joint_rotation_error_deg']:.2f} deg")
    out.print(f"  contact accuracy                       {100 * result['contact_accuracy']:.1f} %")


@pfnn_command.command("eval")
@click.argument("network")
@click.argument("database")
@json_option
def eval_command(network: str, database: str, as_json: bool) -> None:
    """Predict every row of DATABASE at its phase (dropout off) and report errors per group.

    \b
    normalized_rmse = sqrt(mean (((prediction - Y) / Ystd)^2)) over all rows and Y columns (the network's Ystd);
    joint_position_rmse = sqrt(mean ((prediction - Y)^2)) over the joint-position columns, in the data's unit.

    NETWORK is a run folder, an mtk network file (.pth) or a folder of PFNN demo .bin files.
    """
    from mtk.pfnn.evaluate import evaluate_database
    from mtk.pfnn.netfile import load_network

    result = evaluate_database(load_network(network), database)
    if as_json:
        emit_json(result)
    else:
        _print_scores(result, f"[bold]{network}[/bold] on {database}: {result['rows']} rows")


@pfnn_command.command("export")
@click.argument("network")
@click.option("--out", required=True, metavar="DIR", help="Folder for Xmean/Xstd/Ymean/Ystd.bin and W0_000.bin ... "
              "b2_049.bin.")
@click.option("--overwrite", is_flag=True, help="Replace DIR.")
def export_command(network: str, out: str, overwrite: bool) -> None:
    """Write NETWORK as PFNN's demo loads it: the 50 phase samples i/50 (float32, matrices (out, in) row-major)
    and the normalisation. NETWORK is a run folder, an mtk network file or a PFNN .bin folder."""
    from mtk.pfnn.exchange import export_demo_folder
    from mtk.pfnn.netfile import load_network

    weights = load_network(network)
    written = export_demo_folder(weights, out, overwrite)
    console().print(f"wrote {out}: {len(written)} files (X {weights.x_dim}, hidden {weights.hidden}, "
                    f"Y {weights.y_dim}; 50 phase samples)", soft_wrap=True)


@pfnn_command.command("import")
@click.argument("folder")
@click.option("--out", required=True, metavar="NET", help="mtk network file to write (.pth).")
@click.option("--fps", type=numbers.FPS, default=None, metavar="F",
              help="Frame rate of the network's data (default: 60 for PFNN's 342 / 311 columns, else 30).")
@click.option("--overwrite", is_flag=True, help="Replace NET.")
def import_command(folder: str, out: str, fps: float | None, overwrite: bool) -> None:
    """Turn PFNN's demo folder (W0_NNN.bin ... with any four or more phase samples) into an mtk network:
    the four control sets are solved by least squares; samples that are not one Catmull-Rom blend of four
    controls (relative residual above 1e-5) or whose sizes disagree are refused."""
    from mtk.io.atomic import refuse_existing
    from mtk.pfnn.exchange import import_demo
    from mtk.pfnn.netfile import save_network

    refuse_existing(out, overwrite)
    weights = import_demo(folder)
    if fps is not None:
        weights.meta.fps = fps
    save_network(out, weights)
    samples = ", ".join(f"{i:03d}" for i in weights.meta.imported_samples)
    console().print(f"wrote {out}: {weights.meta.skeleton} network (X {weights.x_dim}, hidden {weights.hidden}, "
                    f"Y {weights.y_dim}) from samples {samples}", soft_wrap=True)


@pfnn_command.command("play")
@click.argument("network")
@click.option("--path", "path_spec", metavar="SPEC", default=None,
              help="Script, e.g. 'walk:3,turn-left:90,jog:4,stand:2' (seconds; turns in degrees).")
@click.option("--follow", metavar="CLIP", default=None,
              help="Follow the root path of a clip: joints .npy (T, J, 3) in the network's units and rate, or a BVH.")
@click.option("--seconds", type=numbers.SECONDS, default=None, help="Length (default: the script's or the clip's).")
@click.option("--out", required=True, metavar="FILE", help="walk.npy (world joints), walk.gif / .mp4, or walk.bvh.")
@click.option("--responsive/--smooth", default=True, show_default=True,
              help="PFNN's responsive trajectory (bias 2 / 5), which holds a script's speeds, or its default "
                   "joystick smoothing (bias 0.5 / 2), which lags behind them.")
@click.option("--ik/--no-ik", default=True, show_default=True,
              help="Foot IK: feet planted while the network predicts their contact (PFNN's demo). The outputs "
                   "carry the corrected pose.")
@click.option("--data", metavar="DB", default=None,
              help="A PFNN database to measure the same figures on (default: the figures a network trained by "
                   "mtk carries from its training data).")
@click.option("--overwrite", is_flag=True, help="Replace FILE.")
@json_option
def play_command(network: str, path_spec: str | None, follow: str | None, seconds: float | None, out: str,
                 responsive: bool, ik: bool, data: str | None, overwrite: bool, as_json: bool) -> None:
    """Drive PFNN's controller with NETWORK on flat ground and write the motion.

    --json adds how it walks, next to the same figures on the training data: foot sliding while in contact
    (foot_sliding_cm_s, data_foot_sliding_cm_s), root speed over the commanded one (speed_ratio), phase rate
    and pelvis bob, over the walking and jogging frames and per gait (docs/pfnn.md, "Measuring a walk").

    \b
    Examples:
      mtk pfnn play runs/pfnn --path 'walk:3,turn-left:90,jog:4,stand:2' --out walk.gif
      mtk pfnn play pfnn.pth --path walk:10 --out walk.bvh --json
      mtk pfnn play runs/pfnn --follow clip.npy --out follow.npy
    """
    from mtk.pfnn.netfile import load_network
    from mtk.pfnn.play import play, report, write_frames

    weights = load_network(network)
    played = play(weights, path_spec, follow, seconds, responsive, ik)
    write_frames(played.frames, weights, out, played.fps, overwrite)
    figures = report(played, weights, data, ik)
    if as_json:
        emit_json({"out": out, **figures})
        return
    line = (f"wrote {out}: {figures['frames']} frames at {figures['fps']:g} fps ({figures['seconds']:.1f} s), "
            f"distance {figures['distance_m']:.2f} m, mean speed {figures['mean_speed_m_s']:.2f} m/s")
    if figures["foot_sliding_cm_s"] is not None:
        line += (f"; foot sliding {figures['foot_sliding_cm_s']:.1f} cm/s"
                 + (f" (data {figures['data_foot_sliding_cm_s']:.1f})" if figures["data_foot_sliding_cm_s"] else "")
                 + f", speed {100 * figures['speed_ratio']:.0f} % of the command")
    if played.clip is not None:
        line += f"; root-relative joint error vs the clip {figures['root_relative_joint_error']:.3g} {weights.meta.unit}"
    console().print(line, soft_wrap=True)
