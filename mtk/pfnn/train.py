"""``mtk pfnn train``: PFNN's training (Adam, lr 1e-4, batch 32, MSE on normalised Y + PFNN's L1 regulariser)
on an ``mtk convert --to pfnn`` folder, on a CPU, one GPU or many under accelerate.

The schedule is a pure function of (seed, step): epoch e visits the training rows in the permutation
``default_rng([seed, e])``; a step is one optimizer update. ``net_latest.pth`` (with the optimizer and the
dropout RNG) is saved at every evaluation, so ``--resume`` continues the very same run. Validation holds
out whole clips (:func:`mtk.pfnn.database.clip_split`); ``net_best.pth`` has the lowest validation normalised
RMSE. ``log.jsonl`` has one record per log / eval event, ``training_curve.png`` plots it at the end.
PFNN's 20 macro-epochs of 10 chunks are 20 passes over the data: the default ``--epochs 20``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtk.errors import BadInputError, MtkError, first_line
from mtk.pfnn.database import Database, clip_split, read_database
from mtk.pfnn.evaluate import scores
from mtk.pfnn.figures import data_figures
from mtk.pfnn.meta import NetworkMeta
from mtk.pfnn.netfile import BEST, LATEST, read_document, save_network
from mtk.pfnn.network import PhaseFunctionedNetwork
from mtk.pfnn.weights import PfnnWeights

LOG = "log.jsonl"
CURVE = "training_curve.png"
RUN_FILES = (LATEST, BEST, LOG, CURVE, "config.json")


@dataclass
class TrainConfig:
    """A run's settings; on ``resume`` the run's own settings are used."""

    database: str
    out: str
    epochs: float = 20.0
    batch_size: int = 32
    lr: float = 1e-4
    hidden: int = 512
    val_fraction: float = 0.1
    evals: int = 20
    log_every: int = 100
    seed: int = 0
    #: CPU threads; 1 by default: on a busy 2-core machine 2 threads ran 8x slower than 1
    threads: int | None = 1
    mixed_precision: str = "no"
    resume: bool = False
    overwrite: bool = False

    def settings(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("out", "resume", "overwrite")}


@dataclass
class Plan:
    """Rows and step counts of a run."""

    train_rows: np.ndarray
    val_rows: np.ndarray
    val_clips: list[str]
    steps_per_epoch: int
    total_steps: int
    #: steps after which the run validates and saves (``evals`` of them, evenly spread, the last one included)
    eval_steps: frozenset[int]


def plan_run(cfg: TrainConfig, db: Database, world: int = 1) -> Plan:
    train_rows, val_rows, val_clips = clip_split(db.clips(), cfg.val_fraction, cfg.seed)
    per_epoch = len(train_rows) // (cfg.batch_size * world)
    if per_epoch == 0:
        raise MtkError(cfg.database, f"{len(train_rows)} training rows, fewer than one batch of {cfg.batch_size}"
                       f" per process", "lower --batch-size or add clips")
    total = max(1, int(round(cfg.epochs * per_epoch)))
    evals = max(1, min(cfg.evals, total))
    return Plan(train_rows, val_rows, val_clips, per_epoch, total,
                frozenset(-(-k * total // evals) for k in range(1, evals + 1)))


def resolve(cfg: TrainConfig) -> tuple[TrainConfig, dict[str, Any] | None]:
    """The settings to run with and, on ``resume``, the run's latest checkpoint."""
    out = Path(cfg.out)
    if not cfg.resume:
        if not cfg.overwrite and any((out / name).exists() for name in RUN_FILES):
            raise MtkError(out, "run folder already holds a training run",
                           "pass --resume to continue it or --overwrite to start over")
        return cfg, None
    if not (out / LATEST).is_file():
        raise MtkError(out, f"nothing to resume: no {LATEST}", "start a new run without --resume")
    document = read_document(out / LATEST)
    stored = document.get("train") or {}
    names = {f.name for f in fields(TrainConfig)}
    resumed = TrainConfig(**{**{k: v for k, v in stored.items() if k in names}, "out": cfg.out, "resume": True,
                             "database": cfg.database or stored.get("database", "")})
    return resumed, document


def planned_steps(cfg: TrainConfig) -> tuple[int, int]:
    """(first step, last step) of the run ``cfg`` describes, for a progress bar."""
    cfg, document = resolve(cfg)
    from mtk.io.processes import announced_processes

    db = read_database(cfg.database)
    world = announced_processes()[0]
    return (int(document["step"]) if document else 0), plan_run(_same_global_batch(cfg, document, world), db,
                                                                world).total_steps


def _batches(plan: Plan, cfg: TrainConfig, epoch: int, rank: int, world: int) -> np.ndarray:
    """(steps_per_epoch, batch) row indices this process trains on in ``epoch``."""
    order = plan.train_rows[np.random.default_rng([cfg.seed, epoch]).permutation(len(plan.train_rows))]
    used = plan.steps_per_epoch * world * cfg.batch_size
    return order[:used].reshape(plan.steps_per_epoch, world, cfg.batch_size)[:, rank]


def _same_global_batch(cfg: TrainConfig, document: dict[str, Any] | None, world: int) -> TrainConfig:
    """On resume with another number of processes, the batch per process that keeps the run's global batch
    (so the steps take the same rows)."""
    saved = int(document.get("processes", 1)) if document else world
    if saved == world:
        return cfg
    global_batch = cfg.batch_size * saved
    if global_batch % world:
        raise MtkError(cfg.out, f"the run's global batch of {global_batch} rows ({saved} x {cfg.batch_size}) does "
                       f"not split over {world} processes", f"resume on a number of processes dividing {global_batch}")
    return replace(cfg, batch_size=global_batch // world)


class Run:
    """One training run: the accelerator, the network and Adam (restored on resume), the normalised rows on
    the device, the plan, the best validation figure and the log."""

    def __init__(self, cfg: TrainConfig, document: dict[str, Any] | None,
                 on_event: Callable[[dict], None] | None, held: ExitStack):
        from mtk.io.lock import exclusive
        from mtk.io.processes import start_group
        from mtk.io.runlog import RunLog, write_json

        self.accelerator = accelerator = start_group(cfg.mixed_precision)
        self.main, self.rank, self.world = (accelerator.is_main_process, accelerator.process_index,
                                            accelerator.num_processes)
        self.cfg = cfg = _same_global_batch(cfg, document, self.world)
        self.out = Path(cfg.out)
        if self.main:  # one writer per run folder (until ``held`` closes), whatever else runs on the machine
            held.enter_context(exclusive(self.out))
        accelerator.wait_for_everyone()
        if self.main:
            self.out.mkdir(parents=True, exist_ok=True)
            if not cfg.resume:
                for name in RUN_FILES:
                    (self.out / name).unlink(missing_ok=True)
        if accelerator.device.type == "cpu" and cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.db = db = read_database(cfg.database)
        self.plan = plan_run(cfg, db, self.world)
        self.meta = NetworkMeta.for_database(db, cfg.database)
        self.meta.data_figures = data_figures(db.X, db.Y, self.meta, [(a, b) for _, a, b in db.clips()])
        self.meta.val_clips, self.meta.train_rows = self.plan.val_clips, int(len(self.plan.train_rows))
        torch.manual_seed(cfg.seed + self.rank)
        net = PhaseFunctionedNetwork(db.X.shape[1], db.Y.shape[1], cfg.hidden, torch.Generator().manual_seed(cfg.seed))
        optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
        self.step, self.best = 0, float("inf")
        if document is not None:
            self._restore(document, net, optimizer)
        self.net, self.optimizer = accelerator.prepare(net, optimizer)
        device = accelerator.device
        xm, xs, ym, ys = (torch.as_tensor(db.norm[n], dtype=torch.float32) for n in ("Xmean", "Xstd", "Ymean", "Ystd"))
        self.X = ((torch.as_tensor(db.X) - xm) / xs).to(device)
        self.Y = ((torch.as_tensor(db.Y) - ym) / ys).to(device)
        self.P = torch.as_tensor(db.P, dtype=torch.float32).to(device)
        self.log = RunLog(self.out, self.main, on_event)
        if self.main:
            write_json(self.out / "config.json",
                       {"train": cfg.settings(), "processes": self.world, "val_clips": self.plan.val_clips,
                        "steps": self.plan.total_steps, "steps_per_epoch": self.plan.steps_per_epoch})

    def _restore(self, document: dict[str, Any], net: PhaseFunctionedNetwork, optimizer) -> None:
        try:
            net.load_state_dict(document["controls"])
            optimizer.load_state_dict(document["optimizer"])
            self.step = int(document["step"])
            self.best = float(document["metrics"].get("best_val_normalized_rmse", self.best))
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise BadInputError(self.out / LATEST, f"cannot resume: {first_line(err)[:200]}",
                                "resume with the database the run was trained on") from None
        if document.get("rng") is not None and self.world == 1:
            torch.set_rng_state(document["rng"])

    def mean_over_processes(self, values: np.ndarray) -> list[float]:
        """``values`` averaged over the processes (each held an equal share of the rows)."""
        local = torch.as_tensor(values, dtype=torch.float64, device=self.accelerator.device)
        return self.accelerator.reduce(local, "mean").tolist()

    @property
    def model(self) -> PhaseFunctionedNetwork:
        return self.accelerator.unwrap_model(self.net)

    def weights(self) -> PfnnWeights:
        return PfnnWeights(self.model.control_arrays(), dict(self.db.norm), self.meta)

    def train_step(self, rows: np.ndarray) -> list[float]:
        """One Adam step on ``rows``; returns (loss, mse, regulariser). The forward pass goes through the
        accelerate wrapper, so gradients are synchronised across processes."""
        index = torch.as_tensor(rows, device=self.accelerator.device)
        mse = torch.mean((self.net(self.X[index], self.P[index]) - self.Y[index]) ** 2)
        reg = self.model.regularizer()
        total = mse + reg
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(total)
        self.optimizer.step()
        self.step += 1
        return [float(total.detach()), float(mse.detach()), float(reg.detach())]

    def validate(self) -> dict[str, Any] | None:
        """:func:`mtk.pfnn.evaluate.scores` on the held-out clips (None without any)."""
        rows = self.plan.val_rows
        if not len(rows):
            return None
        model = self.model
        model.eval()
        with torch.no_grad():
            index = torch.as_tensor(rows, device=self.accelerator.device)
            pred = torch.cat([model(self.X[r], self.P[r]) for r in index.split(8192)]).cpu().double().numpy()
        model.train()
        prediction = pred * self.db.norm["Ystd"] + self.db.norm["Ymean"]
        return scores(self.weights(), self.db.X[rows], self.db.Y[rows], self.db.P[rows], prediction)

    def save(self, name: str, metrics: dict[str, Any], full: bool) -> None:
        extra: dict[str, Any] = {"step": self.step, "train": self.cfg.settings(), "metrics": metrics,
                                 "processes": self.world}
        if full:
            extra.update(optimizer=self.optimizer.state_dict(), rng=torch.get_rng_state())
        save_network(self.out / name, self.weights(), **extra)

    def checkpoint(self) -> dict[str, Any] | None:
        """Validate (main process), keep net_best.pth, save net_latest.pth; returns the validation."""
        result = self.validate() if self.main else None
        if result is not None:
            self.log.write({"event": "eval", "iter": self.step,
                            **{k: v for k, v in result.items() if not isinstance(v, dict)}})
            if result["normalized_rmse"] < self.best:
                self.best = result["normalized_rmse"]
                self.save(BEST, {"val": result, "best_val_normalized_rmse": self.best}, full=False)
        self.accelerator.wait_for_everyone()
        if self.main:
            self.save(LATEST, {"best_val_normalized_rmse": self.best}, full=True)
        return result


def train(cfg: TrainConfig, on_progress: Callable[[int], None] | None = None,
          on_event: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train (or resume) a PFNN; returns the steps done, best validation scores and where the run is. The run
    folder is written like every output (:func:`mtk.io.runlog.run_folder`)."""
    from mtk.io.runlog import run_folder

    with run_folder(cfg.out, LATEST):
        cfg, document = resolve(cfg)
        with ExitStack() as held:
            return _train(Run(cfg, document, on_event, held), on_progress)


def _train(run: Run, on_progress: Callable[[int], None] | None) -> dict[str, Any]:
    cfg, plan = run.cfg, run.plan
    started, first_step = time.perf_counter(), run.step
    last_eval: dict[str, Any] | None = None
    running, since = np.zeros(3), 0
    run.net.train()
    try:
        while run.step < plan.total_steps:
            epoch, offset = divmod(run.step, plan.steps_per_epoch)
            for rows in _batches(plan, cfg, epoch, run.rank, run.world)[offset:]:
                running += run.train_step(rows)
                since += 1
                if on_progress and run.main:
                    on_progress(1)
                if run.step % cfg.log_every == 0 or run.step == plan.total_steps:
                    run.log.write({"event": "train", "iter": run.step, "epoch": run.step / plan.steps_per_epoch,
                                   **dict(zip(("loss", "mse", "regularizer"), run.mean_over_processes(running / since),
                                              strict=True))})
                    running, since = np.zeros(3), 0
                if run.step in plan.eval_steps:
                    last_eval = run.checkpoint()
                if run.step >= plan.total_steps:
                    break
    finally:
        run.log.close()
    seconds = time.perf_counter() - started
    if run.main:
        from mtk.pfnn.curve import plot_curve

        plot_curve(run.out / LOG, run.out / CURVE)
    return {"out": str(run.out), "steps": run.step, "total_steps": plan.total_steps, "processes": run.world,
            "main_process": run.main, "seconds": seconds,
            "rows_per_second": (run.step - first_step) * cfg.batch_size * run.world / seconds if seconds > 0 else None,
            "val_clips": len(plan.val_clips), "val_rows": int(len(plan.val_rows)),
            "train_rows": int(len(plan.train_rows)), "best_val_normalized_rmse": run.best, "final_val": last_eval,
            "settings": cfg.settings()}
