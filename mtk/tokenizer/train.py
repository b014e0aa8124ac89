"""Tokenizer training under accelerate: one process, many GPUs or many nodes with the same code.

``torchrun``/``accelerate launch -m mtk tokenizer train DATA --out RUN`` trains on every process of the group
(:func:`mtk.io.processes.start_group`); the batch size is per process. Each step takes the next
``batch x processes`` windows of one seeded stream (:mod:`mtk.tokenizer.sampling`), so N processes with batch
B train on the windows one process with batch N x B would, and DDP's gradient average makes the step the
same; quantizers keep their state identical on every process (:mod:`mtk.tokenizer.collective`).
AdamW, linear warm-up, then step decay at milestones counted in optimizer steps
(:mod:`mtk.tokenizer.schedule`). The run folder holds ``net_latest.pth`` (net, optimizer, scheduler, nb_iter,
samples consumed, random state, processes, config, train settings, dataset stats), ``net_best.pth`` (lowest
eval MPJPE), ``config.json`` and ``log.jsonl`` (one JSON record per log/eval event, averaged over
processes; TensorBoard events too when it is installed). Resuming on another number of processes keeps
the global batch unless ``--batch-size`` is given.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields, replace
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
from mtk.tokenizer.quantizers import DEFAULT_QUANTIZER, QUANTIZERS, get_quantizer, usage_from_counts
from mtk.tokenizer.sampling import StepBatches, WindowStream
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
    #: training samples consumed (:mod:`mtk.tokenizer.sampling`); None before mtk saved it
    samples: int | None = None
    #: processes of the run that saved the checkpoint
    processes: int = 1
    #: torch's CPU random state when it was saved (the same on every process)
    rng: torch.Tensor | None = None


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
    samples = ckpt.get("samples")
    return cfg, RunState(step=int(ckpt.get("nb_iter", 0)), net=ckpt["net"], optimizer=ckpt.get("optimizer"),
                         config=ckpt.get("config") or {},
                         best_mpjpe=float(metrics.get("best_mpjpe_mm", float("inf"))),
                         samples=None if samples is None else int(samples), processes=int(ckpt.get("processes", 1)),
                         rng=ckpt.get("rng"))


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


def per_process_batch(cfg: TrainConfig, state: RunState, requested: int | None, processes: int) -> int:
    """The batch per process: as asked, else the run's global batch (batch x processes when it was saved)
    spread over ``processes`` (a run resumed on another number of processes trains on the same windows)."""
    if requested is not None or not cfg.resume or state.processes == processes:
        return cfg.batch_size
    global_batch = cfg.batch_size * state.processes
    if global_batch % processes:
        raise MtkError(cfg.out, f"the run's global batch of {global_batch} windows ({state.processes} x "
                       f"{cfg.batch_size}) does not split over {processes} processes",
                       "pass --batch-size to choose the batch per process")
    return global_batch // processes


def _seed(cfg: TrainConfig, state: RunState) -> None:
    """The same torch random state on every process: the saved one on resume, else from the seed."""
    saved = state.rng
    if isinstance(saved, torch.Tensor) and saved.dtype == torch.uint8 and saved.shape == torch.get_rng_state().shape:
        torch.set_rng_state(saved)
    else:
        torch.manual_seed(cfg.seed + state.step)


def train(cfg: TrainConfig, datasets: tuple[Any, Any] | None = None,
          on_progress: Callable[[int], None] | None = None,
          on_event: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train (or resume) a tokenizer; returns the final iteration, best MPJPE, the last evaluation, the
    number of processes and whether this is the main process (the one that writes and reports).

    ``datasets`` = (train windows, eval motions) overrides opening ``cfg.dataset``; each must carry
    ``layout``, ``mean`` and ``std`` (windows with ``lengths`` and ``window`` are drawn by
    :mod:`mtk.tokenizer.sampling`, others as whole items). ``on_progress(n)`` is called after every
    optimizer step, on the main process; ``on_event(record)`` gets every log record. The run folder is
    written like every output (:func:`mtk.io.runlog.run_folder`).
    """
    with run_folder(cfg.out, LATEST):
        return _train(cfg, datasets, on_progress, on_event)


def _train(cfg: TrainConfig, datasets: tuple[Any, Any] | None, on_progress: Callable[[int], None] | None,
           on_event: Callable[[dict], None] | None) -> dict[str, Any]:
    """:func:`train`'s work: the process group, the run folder's lock, the run."""
    from mtk.io.lock import exclusive
    from mtk.io.processes import start_group

    requested_batch = cfg.batch_size
    cfg, state = resolve(cfg)
    _check_folder(cfg)
    accelerator = start_group(cfg.mixed_precision)
    cfg = replace(cfg, batch_size=per_process_batch(cfg, state, requested_batch, accelerator.num_processes))
    with ExitStack() as stack:
        if accelerator.is_main_process:  # one writer per run folder, whatever else runs on the machine
            stack.enter_context(exclusive(cfg.out))
        accelerator.wait_for_everyone()
        return _Training(cfg, state, accelerator, datasets, on_event).run(on_progress)


class _Training:
    """One run's model, optimizer, data stream, evaluation and checkpoints on this process."""

    def __init__(self, cfg: TrainConfig, state: RunState, accelerator: Any, datasets: tuple[Any, Any] | None,
                 on_event: Callable[[dict], None] | None):
        self.cfg, self.state, self.accelerator = cfg, state, accelerator
        self.main = accelerator.is_main_process
        _seed(cfg, state)
        if accelerator.device.type == "cpu" and cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.train_set, self.eval_set = datasets if datasets is not None else open_datasets(cfg)
        if len(self.train_set) == 0:
            raise MtkError(cfg.dataset, "has no training windows", "lower --window or add motions")
        self.layout = self.train_set.layout
        self.mean = torch.as_tensor(self.train_set.mean, dtype=torch.float32)
        self.std = torch.as_tensor(self.train_set.std, dtype=torch.float32)
        model = _build(cfg, self.layout.dim, state)
        if cfg.window % model.unit_length:
            raise MtkError(cfg.dataset, f"window {cfg.window} is not a multiple of the unit length "
                           f"{model.unit_length}", "pick an even --window")
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
        if state.optimizer is not None:
            optimizer.load_state_dict(state.optimizer)
        # the data and the model are accepted: only now may a new run (--overwrite) clear the previous one's files
        accelerator.wait_for_everyone()  # every process has checked the folder before the main one clears it
        if self.main:
            _clear_folder(cfg)
        accelerator.wait_for_everyone()
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.schedule = WarmupStepSchedule(cfg.lr, cfg.warmup, tuple(cfg.milestones), cfg.gamma)
        self.global_batch = cfg.batch_size * accelerator.num_processes
        self.first_step = state.step
        self.first_sample = state.samples if state.samples is not None else state.step * self.global_batch
        self.out = Path(cfg.out)
        self.log = RunLog(self.out, self.main, on_event)
        if self.main:
            write_json(self.out / "config.json",
                       {"model": self.network.config, "train": cfg.settings(), "dataset": cfg.dataset,
                        "processes": accelerator.num_processes, "global_batch": self.global_batch})

    @property
    def network(self) -> TokenizerModel:
        return self.accelerator.unwrap_model(self.model)

    def loader(self):
        """This process's batches for the remaining steps (:class:`mtk.tokenizer.sampling.StepBatches`)."""
        from torch.utils.data import DataLoader

        lengths, window = getattr(self.train_set, "lengths", None), getattr(self.train_set, "window", None)
        stream = WindowStream(len(self.train_set), self.cfg.seed, lengths, window)
        batches = StepBatches(stream, self.cfg.batch_size, self.accelerator.process_index,
                              self.accelerator.num_processes, self.first_sample, self.cfg.iters - self.state.step)
        # a generator of its own: starting the workers draws nothing from torch's global random state
        return DataLoader(self.train_set, batch_sampler=batches, num_workers=self.cfg.workers,
                          generator=torch.Generator().manual_seed(self.cfg.seed))

    def evaluate(self, step: int) -> dict[str, Any] | None:
        """Evaluate on every process's share of the eval motions (sums reduced), keep the best checkpoint."""
        if self.eval_set is None:
            return None
        result = evaluate(self.network, self.eval_set, self.layout,
                          torch.as_tensor(self.eval_set.mean, dtype=torch.float32),
                          torch.as_tensor(self.eval_set.std, dtype=torch.float32), model_stats=(self.mean, self.std),
                          batch_size=self.cfg.eval_batch_size, rank=self.accelerator.process_index,
                          world=self.accelerator.num_processes, reduce=self.sum_over_processes)
        self.log.write({"event": "eval", "iter": step, **result})
        if result["motions"] and result["mpjpe_mm"] < self.state.best_mpjpe:
            self.state.best_mpjpe = result["mpjpe_mm"]
            self.save(BEST, step, with_optimizer=False)
        return result

    def sum_over_processes(self, tensor: torch.Tensor) -> torch.Tensor:
        return self.accelerator.reduce(tensor, "sum")

    def quantizer_stats(self) -> dict[str, Any]:
        """The quantizer's training figures, each averaged over the processes (counters are the same on every
        process and stay integers; shares of equal local batches average to the global batch's)."""
        stats = {}
        for key, value in self.network.quantizer.train_stats().items():
            local = torch.tensor(value, dtype=torch.float64, device=self.accelerator.device)
            mean = self.accelerator.reduce(local, "mean").tolist()
            stats[key] = round(mean) if isinstance(value, int) else mean
        return stats

    def save(self, name: str, step: int, with_optimizer: bool) -> None:
        """Write a checkpoint from the main process (all processes hold the same model)."""
        self.accelerator.wait_for_everyone()
        if not self.main:
            return
        extra: dict[str, Any] = {"train": self.cfg.settings(), "scheduler": self.schedule.state_dict(),
                                 "metrics": {"best_mpjpe_mm": self.state.best_mpjpe},
                                 "processes": self.accelerator.num_processes,
                                 "samples": self.first_sample + (step - self.first_step) * self.global_batch}
        if with_optimizer:
            extra.update(optimizer=self.optimizer.state_dict(), rng=torch.get_rng_state())
        save_checkpoint(self.out / name, self.network, iteration=step, mean=self.mean.numpy(),
                        std=self.std.numpy(), layout=self.layout.name, **extra)

    def log_training(self, step: int, lr: float, running: dict[str, float], steps: int, indices: torch.Tensor) -> None:
        """Mean losses over the steps since the last record and over every process; the code usage of the
        last global batch."""
        device = self.accelerator.device
        losses = self.accelerator.reduce(torch.tensor(list(running.values()), device=device) / steps, "mean")
        counts = self.sum_over_processes(self.network.quantizer.counts(indices))
        usage = usage_from_counts(counts)
        self.log.write({"event": "train", "iter": step, "lr": lr,
                        **dict(zip(running, losses.tolist(), strict=True)),
                        "batch_usage": usage.usage, "batch_perplexity": usage.perplexity, **self.quantizer_stats()})

    def run(self, on_progress: Callable[[int], None] | None) -> dict[str, Any]:
        cfg, model, optimizer = self.cfg, self.model, self.optimizer
        step = self.state.step
        last_eval = None if step else self.evaluate(0)
        running: dict[str, float] = {}
        since_log = 0
        model.train()
        try:
            for batch in self.loader():
                batch = batch.to(self.accelerator.device, non_blocking=True)
                lr = self.schedule.apply(optimizer, step)
                output = model(batch)
                parts = reconstruction_loss(output.reconstruction, batch[:, : output.reconstruction.shape[1]],
                                            self.layout, cfg.position_weight, cfg.root_weight)
                loss = parts.total + output.aux_loss
                self.accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                for key, value in (("loss", loss), ("rec", parts.reconstruction), ("pos", parts.positions),
                                   ("root", parts.root), ("aux", output.aux_loss)):
                    running[key] = running.get(key, 0.0) + float(value.detach())
                since_log += 1
                if on_progress and self.main:
                    on_progress(1)
                if step % cfg.log_every == 0 or step == cfg.iters:
                    self.log_training(step, lr, running, since_log, output.indices)
                    running.clear()
                    since_log = 0
                if step % cfg.eval_every == 0 or step == cfg.iters:
                    last_eval = self.evaluate(step)
                if step % cfg.save_every == 0 or step == cfg.iters:
                    self.save(LATEST, step, with_optimizer=True)
        finally:
            self.log.close()
        return {"iter": step, "best_mpjpe_mm": self.state.best_mpjpe, "eval": last_eval, "out": str(self.out),
                "processes": self.accelerator.num_processes, "main_process": self.main,
                "settings": cfg.settings()}
