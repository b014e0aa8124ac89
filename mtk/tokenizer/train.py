"""Tokenizer training under accelerate: one process, many GPUs or many nodes with the same code.

``accelerate launch -m mtk tokenizer train DATA --out RUN`` shards the windows over processes (the batch
size is per process). AdamW, linear warm-up, then step decay at milestones counted in optimizer steps
(:mod:`mtk.tokenizer.schedule`). The run folder holds ``net_latest.pth`` (net, optimizer, scheduler,
nb_iter, config, train settings, dataset stats), ``net_best.pth`` (lowest eval MPJPE), ``config.json``
and ``log.jsonl`` (one JSON record per log/eval event; TensorBoard events too when it is installed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from mtk.errors import MtkError
from mtk.io.runlog import LOG, RunLog, run_folder, write_json
from mtk.tokenizer.checkpoint import config_differences, model_from_state, read_checkpoint, save_checkpoint
from mtk.tokenizer.evaluate import evaluate
from mtk.tokenizer.losses import reconstruction_loss
from mtk.tokenizer.model import TokenizerModel, model_config
from mtk.tokenizer.presets import default_preset, get_preset
from mtk.tokenizer.quantizers import DEFAULT_QUANTIZER, QUANTIZERS, get_quantizer
from mtk.tokenizer.schedule import WarmupStepSchedule

LATEST = "net_latest.pth"
BEST = "net_best.pth"
RUN_FILES = (LATEST, BEST, LOG, "config.json")
#: what makes a folder hold a resumable run (one stopped before its first net_latest.pth is started over)
CHECKPOINTS = (LATEST,)


@dataclass
class TrainConfig:
    """Settings of a training run; ``None`` takes the preset's default (or, on resume, the run's)."""

    dataset: str
    out: str
    preset: str | None = None
    quantizer: str | None = None
    codebook_size: int | None = None
    #: the quantizer's own options (``commitment``, ``codebook_init`` ...; see its ``options``)
    quantizer_options: dict[str, Any] | None = None
    iters: int | None = None
    batch_size: int | None = None
    window: int | None = None
    lr: float | None = None
    warmup: int | None = None
    milestones: tuple[int, ...] | None = None
    gamma: float | None = None
    position_weight: float | None = None
    root_weight: float | None = None
    eval_every: int | None = None
    save_every: int | None = None
    log_every: int | None = None
    eval_split: str | None = None
    eval_batch_size: int | None = None
    mixed_precision: str | None = None
    workers: int | None = None
    threads: int | None = None
    seed: int | None = None
    resume: bool = False
    overwrite: bool = False

    def settings(self) -> dict[str, Any]:
        """The training settings (no paths or run flags), JSON-able."""
        skip = {"dataset", "out", "resume", "overwrite"}
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k not in skip}

    def filled(self, defaults: dict[str, Any]) -> TrainConfig:
        """A copy with every ``None`` setting taken from ``defaults``; quantizer options merge key by key."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in defaults.items():
            if key == "quantizer_options":
                given = {k: v for k, v in (values[key] or {}).items() if v is not None}
                values[key] = {**(value or {}), **given}
            elif key in values and values[key] is None:
                values[key] = tuple(value) if key == "milestones" else value
        return TrainConfig(**values)


def preset_defaults(preset: str) -> dict[str, Any]:
    p = get_preset(preset)
    return {"preset": p.name, "quantizer": DEFAULT_QUANTIZER, "quantizer_options": {}, "iters": p.iters,
            "batch_size": p.batch_size, "window": p.window, "lr": p.lr, "warmup": p.warmup, "milestones": p.milestones, "gamma": p.gamma,
            "position_weight": 0.5, "root_weight": p.root_weight, "eval_every": p.eval_every,
            "save_every": p.save_every, "log_every": 50,
            "eval_split": "val", "eval_batch_size": 32, "mixed_precision": "no", "workers": 2, "threads": p.cpu_threads, "seed": 0}


@dataclass
class RunState:
    """What a resumed run continues from."""

    step: int = 0
    best_mpjpe: float = float("inf")
    net: dict | None = None
    optimizer: dict | None = None
    config: dict | None = None




def resolve(cfg: TrainConfig) -> tuple[TrainConfig, RunState]:
    """Fill every unset setting (from the run's checkpoint on --resume, else the preset) and read the
    resume state. Touches no files."""
    out = Path(cfg.out)
    if not cfg.resume:
        return cfg.filled(preset_defaults(cfg.preset or default_preset())), RunState()
    latest = out / LATEST
    if not latest.is_file():
        raise MtkError(out, f"nothing to resume: no {LATEST} (a run stopped before its first checkpoint is "
                       "not resumable)", "run the same command without --resume to start it over")
    ckpt = read_checkpoint(latest)
    stored = ckpt.get("train") or {}
    model = ckpt.get("config") or {}
    cfg = cfg.filled({"preset": model.get("preset"), "quantizer": model.get("quantizer"),
                      "codebook_size": model.get("codebook_size"), **stored,
                      "quantizer_options": stored_options(model)})
    cfg = cfg.filled(preset_defaults(cfg.preset or stored.get("preset") or default_preset()))
    metrics = ckpt.get("metrics") or {}
    return cfg, RunState(step=int(ckpt.get("nb_iter", 0)), net=ckpt["net"], optimizer=ckpt.get("optimizer"),
                         config=ckpt.get("config") or {},
                         best_mpjpe=float(metrics.get("best_mpjpe_mm", float("inf"))))


def stored_options(config: dict[str, Any]) -> dict[str, Any]:
    """The quantizer options a saved model config holds (its quantizer's declared keys present in it)."""
    quantizer = QUANTIZERS.get(str(config.get("quantizer")))
    return {o.key: config[o.key] for o in (quantizer.options if quantizer else ()) if o.key in config}


def planned_steps(cfg: TrainConfig) -> tuple[int, int]:
    """(first step, last step) of the run ``cfg`` describes, e.g. for a progress bar."""
    cfg, state = resolve(cfg)
    return state.step, cfg.iters


def _check_folder(cfg: TrainConfig) -> None:
    """A folder holding a run's checkpoints needs --resume or --overwrite (read-only check, done by every
    process); a run stopped before its first checkpoint left nothing to resume and is simply started over."""
    out = Path(cfg.out)
    if not cfg.resume and not cfg.overwrite and any((out / name).exists() for name in CHECKPOINTS):
        raise MtkError(out, "run folder already holds a training run",
                       "pass --resume to continue it or --overwrite to start over")


def _clear_folder(cfg: TrainConfig) -> None:
    """Create the run folder; a new run (--overwrite) removes the previous run's files."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if not cfg.resume:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)


def open_datasets(cfg: TrainConfig):
    """The training windows and the evaluation motions (``mtk.jobs.torch_data``)."""
    from mtk.jobs.torch_data import MotionDataset, WindowDataset

    train_set = WindowDataset(cfg.dataset, window=cfg.window, split="train", seed=cfg.seed)
    eval_set = None
    for split in dict.fromkeys((cfg.eval_split, "val", "test")):
        try:
            eval_set = MotionDataset(cfg.dataset, split=split)
        except (KeyError, MtkError):
            continue
        if len(eval_set):
            break
    return train_set, eval_set


def _build(cfg: TrainConfig, input_dim: int, state: RunState) -> TokenizerModel:
    try:
        config = model_config(cfg.preset, input_dim, cfg.quantizer, cfg.codebook_size, **(cfg.quantizer_options or {}))
    except ValueError as err:
        raise MtkError(cfg.out, str(err), "see `mtk tokenizer train --help`") from None
    if state.net is None:
        return TokenizerModel(config)
    problem = get_quantizer(config["quantizer"]).resume_problem(state.config or {})
    if problem:
        raise MtkError(Path(cfg.out) / LATEST, f"cannot resume this {config['quantizer']} run: {problem}",
                       "start a new run with --overwrite or another --out")
    differences = config_differences(state.config, config)
    if differences:
        raise MtkError(Path(cfg.out) / LATEST, "checkpoint does not fit the requested model: "
                       + ", ".join(differences), "resume with the run's own settings or start a new --out")
    return model_from_state(state.net, config, Path(cfg.out) / LATEST)


def train(cfg: TrainConfig, datasets: tuple[Any, Any] | None = None,
          on_progress: Callable[[int], None] | None = None,
          on_event: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train (or resume) a tokenizer; returns the final iteration, best MPJPE, the last evaluation and
    whether this is the main process (the one that writes and reports).

    ``datasets`` = (train windows, eval motions) overrides opening ``cfg.dataset``; each must carry
    ``layout``, ``mean`` and ``std``. ``on_progress(n)`` is called after every optimizer step, on the main
    process; ``on_event(record)`` gets every log record. The run folder is written like every output
    (:func:`mtk.io.runlog.run_folder`).
    """
    with run_folder(cfg.out, LATEST):
        return _train(cfg, datasets, on_progress, on_event)


def _train(cfg: TrainConfig, datasets: tuple[Any, Any] | None, on_progress: Callable[[int], None] | None,
           on_event: Callable[[dict], None] | None) -> dict[str, Any]:
    """:func:`train`'s work."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader

    cfg, state = resolve(cfg)
    _check_folder(cfg)
    try:
        accelerator = Accelerator(mixed_precision=cfg.mixed_precision)
    except (ValueError, RuntimeError) as err:
        raise MtkError(None, f"cannot set up accelerate: {str(err).splitlines()[0]}",
                       "check --mixed-precision (fp16 needs a GPU) and the accelerate config") from None
    set_seed(cfg.seed + state.step + accelerator.process_index)
    if accelerator.device.type == "cpu" and cfg.threads:
        torch.set_num_threads(cfg.threads)
    train_set, eval_set = datasets if datasets is not None else open_datasets(cfg)
    layout = train_set.layout
    mean = torch.as_tensor(train_set.mean, dtype=torch.float32)
    std = torch.as_tensor(train_set.std, dtype=torch.float32)
    model = _build(cfg, layout.dim, state)
    if cfg.window % model.unit_length:
        raise MtkError(cfg.dataset, f"window {cfg.window} is not a multiple of the unit length "
                       f"{model.unit_length}", "pick an even --window")
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    if state.optimizer is not None:
        optimizer.load_state_dict(state.optimizer)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                        num_workers=cfg.workers, persistent_workers=cfg.workers > 0)
    if len(loader) == 0:
        raise MtkError(cfg.dataset, f"{len(train_set)} training windows, fewer than one batch of "
                       f"{cfg.batch_size}", "lower --batch-size or add motions")
    # the data and the model are accepted: only now may a new run (--overwrite) clear the previous one's files
    accelerator.wait_for_everyone()  # every process has checked the folder before the main one clears it
    if accelerator.is_main_process:
        _clear_folder(cfg)
    accelerator.wait_for_everyone()
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    schedule = WarmupStepSchedule(cfg.lr, cfg.warmup, tuple(cfg.milestones), cfg.gamma)
    out = Path(cfg.out)
    main = accelerator.is_main_process
    log = RunLog(out, main, on_event)
    if main:
        write_json(out / "config.json", {"model": accelerator.unwrap_model(model).config, "train": cfg.settings(),
                                         "dataset": cfg.dataset, "processes": accelerator.num_processes})

    def run_eval(step: int) -> dict[str, Any] | None:
        if eval_set is None:
            return None
        result = evaluate(accelerator.unwrap_model(model), eval_set, layout,
                          torch.as_tensor(eval_set.mean, dtype=torch.float32),
                          torch.as_tensor(eval_set.std, dtype=torch.float32), model_stats=(mean, std),
                          batch_size=cfg.eval_batch_size, rank=accelerator.process_index,
                          world=accelerator.num_processes, reduce=lambda t: accelerator.reduce(t, "sum"))
        log.write({"event": "eval", "iter": step, **result})
        return result

    def save(name: str, step: int, with_optimizer: bool) -> None:
        accelerator.wait_for_everyone()
        if not main:
            return
        extra: dict[str, Any] = {"train": cfg.settings(), "scheduler": schedule.state_dict(),
                                 "metrics": {"best_mpjpe_mm": state.best_mpjpe}}
        if with_optimizer:
            extra["optimizer"] = optimizer.state_dict()
        save_checkpoint(out / name, accelerator.unwrap_model(model), iteration=step, mean=mean.numpy(),
                        std=std.numpy(), layout=layout.name, **extra)

    def evaluate_and_keep_best(step: int) -> dict[str, Any] | None:
        result = run_eval(step)
        if result is not None and result["motions"] and result["mpjpe_mm"] < state.best_mpjpe:
            state.best_mpjpe = result["mpjpe_mm"]
            save(BEST, step, with_optimizer=False)
        return result

    step = state.step
    last_eval = None if step else evaluate_and_keep_best(0)
    running: dict[str, float] = {}
    since_log = 0
    model.train()
    try:
        while step < cfg.iters:
            for batch in loader:
                lr = schedule.apply(optimizer, step)
                output = model(batch)
                parts = reconstruction_loss(output.reconstruction, batch[:, : output.reconstruction.shape[1]],
                                            layout, cfg.position_weight, cfg.root_weight)
                loss = parts.total + output.aux_loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                for key, value in (("loss", loss), ("rec", parts.reconstruction), ("pos", parts.positions),
                                   ("root", parts.root), ("aux", output.aux_loss)):
                    running[key] = running.get(key, 0.0) + float(value.detach())
                since_log += 1
                if on_progress and main:
                    on_progress(1)
                if step % cfg.log_every == 0 or step == cfg.iters:
                    quantizer = accelerator.unwrap_model(model).quantizer
                    usage = quantizer.usage(output.indices)
                    log.write({"event": "train", "iter": step, "lr": lr,
                               **{k: v / since_log for k, v in running.items()},
                               "batch_usage": usage.usage, "batch_perplexity": usage.perplexity,
                               **quantizer.train_stats()})
                    running.clear()
                    since_log = 0
                if step % cfg.eval_every == 0 or step == cfg.iters:
                    last_eval = evaluate_and_keep_best(step)
                if step % cfg.save_every == 0 or step == cfg.iters:
                    save(LATEST, step, with_optimizer=True)
                if step >= cfg.iters:
                    break
    finally:
        log.close()
    return {"iter": step, "best_mpjpe_mm": state.best_mpjpe, "eval": last_eval, "out": str(out),
            "processes": accelerator.num_processes, "main_process": main, "settings": cfg.settings()}
