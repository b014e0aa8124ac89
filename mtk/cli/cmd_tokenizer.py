"""``mtk tokenizer train`` and ``mtk tokenizer eval``."""

from __future__ import annotations

from typing import Any

import click

from mtk.cli import numbers
from mtk.cli.common import (console, emit_json, is_main_process, json_option, layout_option, print_note, print_summary,
                            progress_bar, tree_layout, tree_options)
from mtk.cli.metrics_options import evaluator_options, print_table, require_evaluator, selected

PRESET_NAMES = ("mm64k", "small", "tiny")


class QuantizerChoice(click.Choice):
    """The registered quantizers, read when click first needs them (the registry imports torch)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from mtk.tokenizer.quantizers import quantizer_names

        return quantizer_names()

    @choices.setter
    def choices(self, value: object) -> None:
        """Click sets the choices in ``__init__``; they come from the registry instead."""
class QuantizerOptionsCommand(click.Command):
    """A command that adds one flag per option the registered quantizers declare (``--commitment``,
    ``--codebook-init`` ...), when click first asks for its parameters (the registry imports torch, which
    ``mtk --help`` must not). The values reach the callback as ``quantizer_options``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quantizer_keys: tuple[str, ...] | None = None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self._quantizer_keys is None:
            from mtk.tokenizer.quantizers import QUANTIZERS, quantizer_options

            table = quantizer_options()
            after = next(i for i, p in enumerate(self.params) if p.name == "codebook_size") + 1
            for offset, (key, (option, takers)) in enumerate(table.items()):
                defaults = ", ".join(f"{name} {_option_default(QUANTIZERS[name], key)}" for name in takers)
                kind = click.Choice(option.kind) if isinstance(option.kind, tuple) else numbers.for_kind(option.kind)
                self.params.insert(after + offset, click.Option(
                    [option.flag, key], type=kind, default=None, metavar=None if isinstance(option.kind, tuple)
                    else "X", help=f"{option.help[0].upper()}{option.help[1:]} (default: {defaults})."))
            self._quantizer_keys = tuple(table)
        return super().get_params(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        ctx.params["quantizer_options"] = {key: ctx.params.pop(key) for key in self._quantizer_keys or ()}
        return super().invoke(ctx)


def _option_default(quantizer: Any, key: str) -> Any:
    return next(option.default for option in quantizer.options if option.key == key)


class PresetOption(click.Option):
    """``--preset``, whose help lists every preset's steps and codebook (read when help is shown: the
    tokenizer package loads torch, which ``mtk --help`` must not)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from mtk.tokenizer.presets import preset_table

        self.help = f"{preset_table()}. Default: mm64k (MotionMillion's) with a GPU, tiny (minutes) on a CPU."
        return super().get_help_record(ctx)


class QuantizerNameOption(click.Option):
    """``--quantizer``, whose help lists every registered quantizer with its one-line summary (read when
    help is shown, like :class:`PresetOption`)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from mtk.tokenizer.quantizers import QUANTIZERS, quantizer_names

        listed = "; ".join(f"{name}: {QUANTIZERS[name].summary}" for name in quantizer_names())
        self.help = (f"{listed}. The options after --codebook-size belong to the quantizers named in their "
                     "help.")
        return super().get_help_record(ctx)


def _eval_line(record: dict[str, Any]) -> str:
    return (f"iter {record['iter']}: MPJPE {record['mpjpe_mm']:.1f} mm, root {record['root_error_mm']:.1f} mm, "
            f"codes {record['codes_used']}/{record['codebook_size']} ({100 * record['usage']:.1f} %), "
            f"perplexity {record['perplexity']:.1f}")


@click.group("tokenizer")
def tokenizer_command() -> None:
    """Train and evaluate the FSQ motion tokenizer (MotionMillion's HumanVQVAE).

    \b
    Examples:
      mtk tokenizer train data/ --out runs/tiny --preset tiny
      mtk tokenizer train data/ --out runs/tiny --resume
      torchrun --standalone --nproc_per_node 4 -m mtk tokenizer train data/ --out runs/mm64k --preset mm64k
      mtk tokenizer eval data/ --ckpt runs/tiny/net_best.pth --split test
    """


@tokenizer_command.command("train", cls=QuantizerOptionsCommand)
@click.argument("dataset")
@click.option("--out", "out", required=True, metavar="RUN", help="Run folder (checkpoints, log.jsonl, config.json).")
@click.option("--preset", cls=PresetOption, type=click.Choice(PRESET_NAMES), default=None)
@click.option("--quantizer", cls=QuantizerNameOption, type=QuantizerChoice(), default=None)
@click.option("--codebook-size", type=numbers.CODEBOOK, default=None, metavar="K",
              help="FSQ: 256..65536 from the levels table (65536 = 64,000 codes); VQ, VQ-VAE: any size "
                   "(default: as many codes as FSQ's); LFQ: a power of two.")
@click.option("--iters", type=numbers.STEPS, default=None, metavar="N", help="Optimizer steps in total, warm-up included.")
@click.option("--batch-size", type=numbers.BATCH, default=None, metavar="B",
              help="Windows per process per step (on --resume: the run's global batch over the processes).")
@click.option("--window", type=numbers.WINDOW, default=None, metavar="T", help="Training window in frames (even).")
@click.option("--lr", type=numbers.LEARNING_RATE, default=None, help="Peak learning rate (AdamW).")
@click.option("--warmup", type=numbers.WARMUP, default=None, metavar="N", help="Linear warm-up steps.")
@click.option("--milestones", type=numbers.StepList(), default=None, metavar="S1,S2",
              help="Optimizer steps where the rate is multiplied by --gamma.")
@click.option("--gamma", type=numbers.DECAY, default=None, help="Decay factor at each milestone.")
@click.option("--position-weight", type=numbers.LOSS_WEIGHT, default=None,
              help="Weight of the joint-position SmoothL1 term (default 0.5, as MotionMillion).")
@click.option("--root-weight", type=numbers.LOSS_WEIGHT, default=None,
              help="Weight of the root/heading SmoothL1 term (mm64k, small: 0 as MotionMillion; tiny: 1).")
@click.option("--eval-every", type=numbers.STEPS, default=None, metavar="N", help="Evaluate every N steps.")
@click.option("--save-every", type=numbers.STEPS, default=None, metavar="N", help="Save net_latest.pth every N steps.")
@click.option("--log-every", type=numbers.STEPS, default=None, metavar="N", help="Log training losses every N steps.")
@click.option("--eval-split", default=None, help="Split evaluated during training (default val, else test).")
@click.option("--mixed-precision", type=click.Choice(["no", "fp16", "bf16"]), default=None,
              help="Autocast for the conv net; quantization always runs in float32.")
@click.option("--workers", type=numbers.LOADER_WORKERS, default=None, help="DataLoader worker processes (default 2).")
@click.option("--threads", type=numbers.THREADS, default=None,
              help="CPU threads when training on a CPU (tiny: 1, faster for its small convs; else torch's).")
@click.option("--seed", type=numbers.SEED, default=None)
@click.option("--resume", is_flag=True, help="Continue RUN from net_latest.pth with its settings.")
@click.option("--overwrite", is_flag=True, help="Start over in a RUN folder that holds a run.")
@json_option
def train_command(dataset: str, out: str, as_json: bool, **options: Any) -> None:
    """Train a tokenizer on DATASET (train split) and write checkpoints to RUN.

    Runs on one CPU/GPU as is, and on several GPUs, machines or CPU processes under a launcher:
    `torchrun --standalone --nproc_per_node 4 -m mtk tokenizer train DATASET --out RUN ...` (or `accelerate
    launch`). --batch-size is per process: 4 processes of batch 16 train the run 1 process of batch 64 would;
    the schedule counts optimizer steps, whatever the number of processes. See docs/scaling.md.
    """
    from mtk.tokenizer.presets import cpu_default_note, default_preset
    from mtk.tokenizer.train import TrainConfig, planned_steps, train

    if options["preset"] is None and not options["resume"] and default_preset() != "mm64k":
        print_note(cpu_default_note())
    cfg = TrainConfig(dataset=dataset, out=out, **options)
    start, stop = planned_steps(cfg)
    err_console = console(stderr=True)
    quiet = as_json or bool(click.get_current_context().find_root().obj.get("quiet"))

    def on_event(record: dict[str, Any]) -> None:
        if record["event"] == "eval" and not quiet:
            err_console.print(_eval_line(record), soft_wrap=True)

    try:
        with progress_bar(f"training {out}", stop - start) as advance:
            result = train(cfg, on_progress=advance, on_event=on_event)
    except KeyboardInterrupt:
        _advise_after_interrupt(out)
        raise
    if not result["main_process"]:
        return
    if as_json:
        emit_json(result)
    else:
        best = result["best_mpjpe_mm"]
        print_summary(f"{result['out']}: {result['iter']} steps on {result['processes']} process(es); "
                      f"best MPJPE {best:.1f} mm -> {result['out']}/net_best.pth")


def _advise_after_interrupt(out: str) -> None:
    """Say how to go on after Ctrl-C: resume from the last checkpoint, or start over when none was saved."""
    from pathlib import Path

    from mtk.tokenizer.train import LATEST

    if (Path(out) / LATEST).is_file():
        print_note(f"{out}/{LATEST} holds the last checkpoint: rerun with --resume to continue from it")
    else:
        print_note("no checkpoint was saved yet: rerun the same command to start over")


TOKENIZER_METRICS = ("mpjpe", "fid", "rprecision", "mmdist", "diversity")


@tokenizer_command.command("eval")
@click.argument("dataset")
@click.option("--ckpt", required=True, metavar="CKPT", help="mtk or MotionMillion checkpoint (.pth).")
@click.option("--split", default=None, metavar="S",
              help="Split to evaluate (default: test when the dataset has one, else all; 'all' = every motion).")
@click.option("--batch-size", type=numbers.BATCH, default=32, show_default=True)
@click.option("--metrics", "metrics", default="mpjpe", show_default=True, metavar="LIST",
              help="Comma-separated: mpjpe (MPJPE, pose MPJPE, root, acceleration, feature RMSE, codebook "
                   "usage), fid, rprecision, mmdist, diversity, or all. All but mpjpe need --evaluator.")
@evaluator_options
@layout_option
@tree_options
@json_option
def eval_command(dataset: str, ckpt: str, split: str | None, batch_size: int, metrics: str, evaluator: str | None,
                 glove: str | None, text_model: str | None, replications: int, seed: int, layout: str | None,
                 as_dataset: bool, splits: str | None, as_json: bool) -> None:
    """Reconstruction errors (MPJPE, pose MPJPE, root, acceleration, feature RMSE) and codebook usage on a
    split; with --metrics and --evaluator, the papers' reconstruction FID, R-precision, MM-Dist and diversity.

    Each motion is cropped to its first floor(T/unit)*unit frames (deterministic); the metrics cover the
    whole split, gathered across processes under torchrun or accelerate launch. Motions are normalised as `mtk tokenize` does:
    with the checkpoint's mean/std, else the dataset's.

    \b
    FID and the others follow T2M-GPT's protocol: per replication, random captions and crops in shuffled
    batches of 32, each crop reconstructed through the codes; figures are mean ± 1.96·std/sqrt(N) over
    --replications, next to the same crops' own (reference) figures. See docs/metrics.md.

    \b
    Examples:
      mtk tokenizer eval HumanML3D/ --ckpt run/net_best.pth
      mtk tokenizer eval HumanML3D/ --ckpt run/net_best.pth --metrics all --evaluator checkpoints/t2m --glove glove/
      mtk tokenizer eval mm.zarr --ckpt run/net_best.pth --metrics fid --evaluator ev272/ --text-model distilbert/
    """
    from mtk.metrics.protocol import parse_metrics

    chosen = parse_metrics(metrics, TOKENIZER_METRICS)
    paper = tuple(m for m in chosen if m != "mpjpe")
    if paper:
        require_evaluator(evaluator, paper)
    tree = tree_layout(dataset, layout, as_dataset, splits)
    document: dict[str, Any] = {}
    if "mpjpe" in chosen:
        document = _mpjpe(dataset, ckpt, split, batch_size, tree, splits, as_json)
    if paper:
        from mtk.tokenizer.paper_metrics import evaluate_with_evaluator

        with progress_bar("replications", replications) as advance:
            result = evaluate_with_evaluator(dataset, ckpt, evaluator, split=split, glove=glove,
                                             text_model=text_model, replications=replications, seed=seed,
                                             with_text=bool({"rprecision", "mmdist"} & set(paper)), layout=tree,
                                             splits=splits, on_progress=advance)
        if as_json:
            document["paper_metrics"] = selected(result, paper)
        elif is_main_process():
            if not document:
                console().print(f"[bold]{ckpt}[/bold] on {dataset} ({result['split']}, "
                                f"{result['evaluated_motions']} motions)")
            print_table(result, paper, "reconstructed")
    if as_json and is_main_process():
        emit_json(document)


def _mpjpe(dataset: str, ckpt: str, split: str | None, batch_size: int, tree: str | None, splits: str | None,
           as_json: bool) -> dict[str, Any]:
    """The MPJPE / root / usage evaluation; printed unless ``as_json`` (then returned for the document)."""
    from mtk.tokenizer.evaluate import evaluate_checkpoint

    with progress_bar(f"evaluating {split or 'the default split'}", None) as advance:
        result = evaluate_checkpoint(dataset, ckpt, split=split, batch_size=batch_size, on_progress=advance,
                                     layout=tree, splits=splits)
    main = result.pop("main_process")
    if split is None and result["split"] != "test":
        print_note(f"{dataset} has no test split: evaluating all {result['motions']} motions")
    if as_json or not main:  # under a launcher the main process reports for the group
        return result
    out = console()
    out.print(f"[bold]{ckpt}[/bold] on {dataset} ({result['split']}, {result['motions']} motions, "
              f"{result['frames']} frames, {result['processes']} process(es))")
    out.print(f"  MPJPE            {result['mpjpe_mm']:.2f} mm (pelvis-aligned)")
    out.print(f"  pose MPJPE       {result['pose_mpjpe_mm']:.2f} mm (pelvis-aligned, heading removed)")
    out.print(f"  root trajectory  {result['root_error_mm']:.2f} mm")
    out.print(f"  acceleration     error {result['accel_error_mm']:.2f} mm/frame², mean {result['accel_mean_mm']:.2f} "
              f"(data {result['gt_accel_mean_mm']:.2f}), max {result['accel_max_mm']:.2f} "
              f"(data {result['gt_accel_max_mm']:.2f})")
    out.print(f"  feature RMSE     {result['feature_rmse']:.4f} (normalised features)")
    out.print(f"  codebook usage   {result['codes_used']}/{result['codebook_size']} "
              f"({100 * result['usage']:.2f} %), perplexity {result['perplexity']:.1f}")
    return result
