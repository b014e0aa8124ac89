"""FSQ vs VQ (EMA + resets) vs plain VQ-VAE (two codebook starts) vs LFQ across codebook sizes, version 2.

Every run trains the same encoder/decoder (the ``tiny`` preset's width) on the same ``mtk sample`` data with
the same batch, window and step budget through :func:`mtk.tokenizer.train.train`; only the quantizer and
the peak learning rate differ. The study has two phases:

1. **Rate sweep.** Each variant trains at 2^10 and 2^16 codes, two seeds, at each peak rate of
   ``--rates``; its rate is the one with the lowest geometric mean of validation MPJPE over those four runs.
   When the best rate is the largest (smallest) one tried, the next rate up (down) is tried too, once.
2. **Grid.** Every variant at every size, ``--seeds`` seeds, at its own chosen rate (the sweep's runs at
   that rate count as seeds 0 and 1).

Each run is a fresh process of one thread (so its peak memory is its own), saved to ``runs/<key>.json`` as
soon as it ends; a rerun skips finished runs, so the study resumes run by run, and several workers share
the plan. Runs are ordered so an unfinished grid degrades as planned: the sweep, then every size and seed
of ``fsq`` and ``vq``, then the other variants at 2^8, 2^12, 2^16, then at 2^10 and 2^14.

Variants come from the quantizer registry: every registered quantizer with its defaults, plus one variant
per non-default choice of a quantizer's choice option (``vqvae/data``: ``--codebook-init data``).

    python benchmarks/quantizer_study.py --out docs/quantizer_study --data /tmp/data10k --workers 2
    python benchmarks/quantizer_study.py --out /tmp/qs --quick            # plumbing check (minutes)
    python benchmarks/quantizer_study.py --out docs/quantizer_study --report   # results.json, tables, plots
    python benchmarks/quantizer_study.py --out docs/quantizer_study --timing   # step/encode times, quiet machine

Sizes are nominal powers of two; FSQ takes its levels from the table (2^16 -> 64,000 codes), VQ and
VQ-VAE get exactly FSQ's number of codes, LFQ ``2^bits``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = "results.json"
TIMING = "timing.json"
MAIN_PAIR = ("fsq", "vq")


@dataclass
class StudySettings:
    """What every run shares (the ``tiny`` preset's encoder/decoder) and the plan's axes."""

    motions: int = 10_000
    iters: int = 3_000
    batch_size: int = 32
    window: int = 32
    warmup: int = 100
    rates: tuple[float, ...] = (5e-4, 1e-3, 2e-3)
    sweep_sizes: tuple[int, ...] = (10, 16)
    sweep_seeds: tuple[int, ...] = (0, 1)
    # variants outside the main pair that sweep at the smaller size only (their 2^16 runs cost 40 CPU-minutes)
    small_sweep: tuple[str, ...] = ("vqvae", "vqvae/data")
    sizes: tuple[int, ...] = (8, 10, 12, 14, 16)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    variants: tuple[str, ...] | None = None
    evals: int = 1
    preset: str = "tiny"
    data_seed: int = 0
    timing_steps: int = 10

    @classmethod
    def quick(cls) -> StudySettings:
        return cls(motions=240, iters=40, warmup=5, rates=(1e-3, 2e-3), sweep_sizes=(8,), sweep_seeds=(0,),
                   sizes=(8, 10), seeds=(0, 1), evals=1, timing_steps=2)

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudySettings:
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()})


# --- variants: the registry's quantizers and their choice options -----------------------------------------


def all_variants() -> dict[str, tuple[str, dict[str, Any]]]:
    """variant name -> (quantizer, options): each registered quantizer with its defaults, and one variant
    per non-default value of each of its choice options (``vqvae/data``)."""
    from mtk.tokenizer.quantizers import QUANTIZERS, quantizer_names

    variants: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in quantizer_names():
        variants[name] = (name, {})
        for option in QUANTIZERS[name].options:
            if isinstance(option.kind, tuple):
                for value in option.kind:
                    if value != option.default:
                        variants[f"{name}/{value}"] = (name, {option.key: value})
    return variants


def codebook_size(quantizer: str, exponent: int) -> int:
    """Codes for a nominal ``2^exponent``: FSQ's table, the same count for VQ/VQ-VAE, ``2^bits`` for LFQ."""
    from mtk.tokenizer.quantizers import levels_for

    return 2**exponent if quantizer == "lfq" else math.prod(levels_for(2**exponent))


# --- the plan ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    variant: str
    exponent: int
    lr: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.variant.replace('/', '-')}_2^{self.exponent}_lr{self.lr:g}_s{self.seed}"


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(max(v, 1e-9)) for v in values))


def sweep_specs(variant: str, rates: tuple[float, ...], s: StudySettings) -> list[RunSpec]:
    sizes = s.sweep_sizes[:1] if variant in s.small_sweep else s.sweep_sizes
    return [RunSpec(variant, e, lr, seed) for e in sizes for lr in rates for seed in s.sweep_seeds]


def finished_scores(variant: str, rates: tuple[float, ...], s: StudySettings, done: dict[str, dict]) -> dict[float, float]:
    """Geometric mean of validation MPJPE per rate, for the rates whose sweep runs have all finished."""
    scores = {}
    specs = sweep_specs(variant, rates, s)
    for lr in rates:
        runs = [spec for spec in specs if spec.lr == lr]
        if all(spec.key in done for spec in runs):
            scores[lr] = _geomean([done[spec.key]["val"]["mpjpe_mm"] for spec in runs])
    return scores


def chosen_rate(variant: str, s: StudySettings, done: dict[str, dict]) -> tuple[float | None, tuple[float, ...]]:
    """(the variant's rate, or None while its sweep is unfinished; the rates it needs swept).

    The rate with the lowest geometric mean of validation MPJPE over the sweep's sizes and seeds; a best rate
    at the edge of those tried adds its neighbour (x2 or /2) once."""
    rates = tuple(sorted(s.rates))
    for _ in range(2):
        score = finished_scores(variant, rates, s, done)
        if len(score) < len(rates):
            return None, rates
        best = min(rates, key=lambda lr: score[lr])
        edge = best * 2 if best == max(rates) else best / 2 if best == min(rates) else None
        extended = len(rates) > len(s.rates)
        if edge is None or extended or len(rates) < 2:  # one rate given: no sweep to extend
            return best, rates
        rates = tuple(sorted(rates + (edge,)))
    return None, rates


def provisional_rate(variant: str, rates: tuple[float, ...], s: StudySettings, done: dict[str, dict]) -> float | None:
    """For a sweep still running: the best of the rates whose runs have all finished (None if none has)."""
    scores = finished_scores(variant, rates, s, done)
    return min(scores, key=scores.get) if scores else None


def plan(s: StudySettings, done: dict[str, dict]) -> tuple[list[RunSpec], bool]:
    """The runs still to do, in priority order, and whether more will follow once they finish (grid runs
    wait for their variant's sweep)."""
    variants = s.variants or tuple(all_variants())
    first = [v for v in variants if v in MAIN_PAIR]
    rest = [v for v in variants if v not in MAIN_PAIR]
    todo: list[RunSpec] = []
    waiting = False
    chosen: dict[str, float] = {}
    for variant in first + rest:  # every sweep first, the main pair's before the others'
        rate, rates = chosen_rate(variant, s, done)
        todo += [spec for spec in sweep_specs(variant, rates, s) if spec.key not in done]
        if rate is None:
            waiting = True
        else:
            chosen[variant] = rate
    middle = [e for e in s.sizes if e not in (10, 14)] or list(s.sizes)
    # the grid by tiers: the main pair on three seeds, then its other seeds, then the other variants
    tiers = [(first, s.sizes, s.seeds[:3]), (first, s.sizes, s.seeds[3:]), (rest, middle, s.seeds),
             (rest, [e for e in s.sizes if e not in middle], s.seeds)]
    for group, sizes, seeds in tiers:
        for e in sizes:
            for variant in group:
                if variant not in chosen:
                    continue
                todo += [spec for seed in seeds if (spec := RunSpec(variant, e, chosen[variant], seed)).key not in done]
    return list(dict.fromkeys(todo)), waiting


# --- one run ----------------------------------------------------------------------------------------------


def load_done(folder: Path) -> dict[str, dict]:
    runs = folder / "runs"
    return {p.stem: json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))} if runs.is_dir() else {}


def _write_json(path: Path, data: Any) -> None:
    from mtk.io.atomic import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def _save_figure(fig: Any, path: Path) -> None:
    """``fig`` as a PNG at ``path``, in place whole or not at all."""
    from mtk.io.atomic import atomic_file

    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)


def _claim(folder: Path, spec: RunSpec) -> bool:
    """Take ``spec`` for this process (an exclusive claim file); a claim whose process is gone is taken over."""
    claim = folder / "runs" / f"{spec.key}.claim"
    for _ in range(2):
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(claim.read_text() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                return False
            claim.unlink(missing_ok=True)
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: real 272 motions in ``MTK_TEST_DATA`` (cross-domain for tokenizers trained on procedural data)
REAL_CLIPS = {
    "amass_60fps": ("smpl272/features/000000.npy", "AMASS mocap via the 272 pipeline, the file as released (60 fps)"),
    "amass_30fps": ("smpl272/bvh/000000.bvh", "the same take, its BVH converted by mtk at 30 fps"),
    "motionmillion_30fps": ("motionmillion/bvh/case1_0_predict.bvh",
                            "a MotionMillion output (SMPL-22 BVH) converted by mtk at 30 fps"),
}


def prepare_real_clips(folder: Path) -> None:
    """Copy or convert the real clips into ``folder/real/<name>.npy`` (once; nothing without MTK_TEST_DATA)."""
    import numpy as np

    from mtk.jobs.convert_motion import convert_to_features

    root = os.environ.get("MTK_TEST_DATA")
    if not root:
        return
    (folder / "real").mkdir(exist_ok=True)
    for name, (relative, _) in REAL_CLIPS.items():
        src, dst = Path(root) / relative, folder / "real" / f"{name}.npy"
        if dst.exists() or not src.is_file():
            continue
        if src.suffix == ".bvh":
            convert_to_features(str(src), str(dst), "smpl272")
        else:
            np.save(dst, np.load(src))


def real_clips(folder: Path) -> list[tuple[str, Any]]:
    import numpy as np

    return [(f"{name}: {REAL_CLIPS[name][1]}", np.load(path)) for path in sorted((folder / "real").glob("*.npy"))
            if (name := path.stem) in REAL_CLIPS]


class PackedReader:
    """Every motion of the dataset, as stored (float64), in one memory-mapped ``.npy`` that all workers share
    through the page cache: ``read_window`` is a slice instead of a file read per window. The datasets keep
    their own sampling and normalisation; only where the rows come from changes."""

    def __init__(self, folder: Path):
        import numpy as np

        self.rows = np.load(folder / "packed" / "features.npy", mmap_mode="r")
        self.index = json.loads((folder / "packed" / "index.json").read_text())

    def read_window(self, name: str, start: int, length: int):
        offset, total = self.index[name]
        if not 0 <= start <= start + length <= total:
            raise ValueError(f"window {start}+{length} outside motion {name} of {total} frames")
        return self.rows[offset + start: offset + start + length].copy()

    def read(self, name: str):
        return self.read_window(name, 0, self.index[name][1])


def pack(folder: Path, data: Path) -> None:
    """Write ``folder/packed``: every motion's rows in one ``.npy`` and their offsets (once)."""
    import numpy as np

    from mtk.formats.datasets import open_dataset

    target = folder / "packed"
    if (target / "index.json").is_file():
        return
    target.mkdir(exist_ok=True)
    reader = open_dataset(str(data))
    names = list(reader.info.names)
    lengths = [reader.length(n) for n in names]
    rows = np.lib.format.open_memmap(target / "features.npy", mode="w+", dtype=np.float64,
                                     shape=(sum(lengths), reader.info.layout.dim))
    index, offset = {}, 0
    for name, length in zip(names, lengths, strict=True):
        rows[offset: offset + length] = reader.read(name).features
        index[name] = (offset, length)
        offset += length
    rows.flush()
    reader.close()
    _write_json(target / "index.json", index)


def packed(dataset, reader: PackedReader):
    """``dataset`` (a WindowDataset or MotionDataset) reading its rows from ``reader``."""
    dataset._reader = reader
    return dataset


def run_one(folder: Path, spec: RunSpec, s: StudySettings, data: Path) -> dict[str, Any]:
    """Train and measure one run in this process (one thread); returns its record."""
    import torch

    from mtk.jobs.torch_data import MotionDataset, WindowDataset
    from mtk.tokenizer.checkpoint import load_checkpoint
    from mtk.tokenizer.evaluate import evaluate
    from mtk.tokenizer.train import TrainConfig, train

    torch.set_num_threads(1)
    quantizer, options = all_variants()[spec.variant]
    size = codebook_size(quantizer, spec.exponent)
    work = folder / "work" / spec.key
    rows = PackedReader(folder)
    windows = packed(WindowDataset(str(data), window=s.window, split="train", seed=spec.seed), rows)
    val = packed(MotionDataset(str(data), split="val"), rows)
    events: list[dict[str, Any]] = []
    stamps: list[float] = []
    cfg = TrainConfig(dataset=str(data), out=str(work), preset=s.preset, quantizer=quantizer,
                      codebook_size=size, quantizer_options=options, iters=s.iters, batch_size=s.batch_size,
                      window=s.window, lr=spec.lr, warmup=s.warmup, milestones=(int(s.iters * 0.75),), gamma=0.2,
                      eval_every=max(1, s.iters // s.evals), save_every=s.iters, log_every=max(1, s.iters // 30),
                      eval_split="val", workers=0, threads=1, seed=spec.seed, overwrite=True)
    started = time.perf_counter()
    train(cfg, datasets=(windows, val), on_progress=lambda _: stamps.append(time.perf_counter()),
          on_event=events.append)
    seconds = time.perf_counter() - started
    model, _ = load_checkpoint(work / "net_latest.pth")
    mean, std = torch.as_tensor(windows.mean), torch.as_tensor(windows.std)
    layout = windows.layout
    final = [e for e in events if e["event"] == "eval" and e["iter"] == s.iters]
    measured = {"val": {k: v for k, v in final[-1].items() if k not in ("event", "iter", "time")},
                "test": evaluate(model, packed(MotionDataset(str(data), split="test"), rows), layout, mean, std,
                                 batch_size=64)}
    steps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    record = {
        "key": spec.key, "variant": spec.variant, "quantizer": quantizer, "options": options,
        "exponent": spec.exponent, "codebook_size": model.codebook_size, "seed": spec.seed, "lr": spec.lr,
        "iters": s.iters, "train_seconds": seconds,
        "step_ms_in_training": 1000 * statistics.median(steps) if steps else None,
        **measured,
        "train_tokens": training_split_report(model, packed(MotionDataset(str(data), split="train"), rows)),
        "real": [{"clip": name, **evaluate(model, _ClipSet(clip, mean, std), layout, mean, std, batch_size=1)}
                 for name, clip in real_clips(folder)],
        "codes_reseeded": next((e["codes_reseeded"] for e in reversed(events) if "codes_reseeded" in e), None),
        "batch_usage": [{"iter": e["iter"], "usage": e["batch_usage"], "perplexity": e["batch_perplexity"],
                         "loss": e["loss"]} for e in events if e["event"] == "train"],
        "val_during": [{"iter": e["iter"], "mpjpe_mm": e["mpjpe_mm"], "usage": e["usage"]}
                       for e in events if e["event"] == "eval"],
        "load_average": os.getloadavg()[0],
    }
    shutil.rmtree(work, ignore_errors=True)  # checkpoints of finished runs are not kept (up to 50 MB each)
    return record


class _ClipSet:
    """One motion as the one-item dataset :func:`evaluate` takes (normalised features and length)."""

    def __init__(self, clip, mean, std):
        import torch

        self.item = {"features": (torch.as_tensor(clip, dtype=torch.float32) - mean) / std, "length": len(clip)}

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict:
        return self.item


def training_split_report(model, dataset, batch_size: int = 64) -> dict[str, Any]:
    """Code usage over every valid token of the training split, and for FSQ per channel the share of
    pre-bound values with ``|tanh| > 0.95`` and the levels used."""
    import torch
    from torch.utils.data import DataLoader

    from mtk.tokenizer.quantizers import FSQ, code_counts, usage_from_counts

    quantizer = model.quantizer
    counts = torch.zeros(model.codebook_size, dtype=torch.int64)
    saturated = levels = None
    model.eval()
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            lengths = batch["length"] // model.unit_length * model.unit_length
            x = batch["features"][:, : int(lengths.max())]
            latents = model.vqvae.encoder(x.transpose(1, 2), lengths)
            codes = quantizer(latents)[1]
            valid = torch.arange(codes.shape[1])[None] < (lengths // model.unit_length)[:, None]
            counts += code_counts(codes[valid], model.codebook_size)
            if isinstance(quantizer, FSQ):
                tokens = latents.transpose(1, 2)[valid].t()[None]  # (1, C, valid tokens)
                sat, lev = quantizer.channel_report(tokens)
                saturated = sat if saturated is None else saturated + sat
                levels = lev if levels is None else levels + lev
    usage = usage_from_counts(counts)
    tokens = int(counts.sum())
    report: dict[str, Any] = {**usage.to_dict(), "tokens": tokens, "tokens_per_code": tokens / usage.size,
                              "usage_bound": min(1.0, tokens / usage.size), "dead_codes": usage.size - usage.used}
    if saturated is not None:
        report["fsq_saturated_share"] = (saturated.double() / max(tokens, 1)).tolist()
        report["fsq_levels_used"] = [int((row > 0).sum()) for row in levels]
        report["fsq_levels"] = list(quantizer.levels)
    return report


# --- timing (a quiet machine) -----------------------------------------------------------------------------


def time_one(s: StudySettings, variant: str, exponent: int) -> dict[str, Any]:
    """In this (fresh) process: median ms of a training step (forward, backward, AdamW) on a fixed batch, µs
    per token of encoding, and the process's peak memory, one thread, a fresh model."""
    import torch

    from mtk.tokenizer.model import build_model

    torch.set_num_threads(1)
    quantizer, options = all_variants()[variant]
    torch.manual_seed(0)
    model = build_model(s.preset, 272, quantizer, codebook_size(quantizer, exponent), **options).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(s.batch_size, s.window, 272)
    step = []
    for _ in range(s.timing_steps + 2):
        start = time.perf_counter()
        out = model(x)
        (out.reconstruction.square().mean() + out.aux_loss).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step.append(time.perf_counter() - start)
    model.eval()
    encode = []
    with torch.no_grad():
        for _ in range(s.timing_steps + 1):
            start = time.perf_counter()
            model.encode(x)
            encode.append(time.perf_counter() - start)
    tokens = s.batch_size * s.window // model.unit_length
    return {"variant": variant, "exponent": exponent, "codebook_size": model.codebook_size,
            "step_ms": 1000 * statistics.median(step[2:]),
            "encode_us_per_token": 1e6 * statistics.median(encode[1:]) / tokens,
            "parameters": sum(p.numel() for p in model.parameters()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_average": os.getloadavg()[0]}


def timing(s: StudySettings, script: str) -> list[dict[str, Any]]:
    """:func:`time_one` for every variant and size, each in a fresh process, one after the other."""
    rows = []
    for variant in s.variants or tuple(all_variants()):
        for exponent in s.sizes:
            done = subprocess.run([sys.executable, script, "--time-one", json.dumps([variant, exponent])],
                                  capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout))
            print(f"{variant} 2^{exponent}: step {rows[-1]['step_ms']:.1f} ms, encode "
                  f"{rows[-1]['encode_us_per_token']:.2f} µs/token, peak {rows[-1]['peak_rss_mb']:.0f} MB", flush=True)
    return rows


def mm64k_costs() -> dict[str, float]:
    """What a learnt 64,000-code codebook would add to one ``mm64k`` training step (batch 64 x 96 frames, one
    GPU), counted, not timed: the conv net's forward+backward FLOPs (torch's FLOP counter), the nearest-code
    search's FLOPs (``2 N K C``) and the EMA statistics VQ all-reduces every step (float32)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mtk.tokenizer.model import build_model
    from mtk.tokenizer.quantizers import levels_for

    model = build_model("mm64k")
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 96, 272)).reconstruction.sum().backward()
    tokens, codes, width = 64 * 48, math.prod(levels_for(2**16)), model.config["code_dim"]
    return {"conv_net_gflop_per_step": counter.get_total_flops() * 64 / 1e9,
            "nearest_code_gflop_per_step": 2 * tokens * codes * width / 1e9,
            "ema_all_reduce_mb_per_step": (codes * width + codes) * 4 / 1e6}


# --- statistics over seeds --------------------------------------------------------------------------------


def median_and_spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "n": len(ordered),
            "mean": statistics.fmean(ordered)}


def rank_test(a: list[float], b: list[float]) -> float:
    """Two-sided exact permutation p-value of the Mann-Whitney U statistic (tied values share their mean rank)."""
    from itertools import combinations

    pooled = a + b
    ordered = sorted(pooled)
    ranks = {v: statistics.fmean(i for i, w in enumerate(ordered) if w == v) for v in pooled}
    u = sum(ranks[v] for v in a) - len(a) * (len(a) - 1) / 2
    centre = len(a) * len(b) / 2
    extreme = 0
    total = 0
    for pick in combinations(range(len(pooled)), len(a)):
        total += 1
        u_pick = sum(ranks[pooled[i]] for i in pick) - len(a) * (len(a) - 1) / 2
        extreme += abs(u_pick - centre) >= abs(u - centre) - 1e-12
    return extreme / total


def bootstrap_difference(a: list[float], b: list[float], draws: int = 4000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of ``median(a) - median(b)``, resampling seeds within each group."""
    rng = random.Random(seed)
    diffs = sorted(statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
                   for _ in range(draws))
    return diffs[int(0.025 * draws)], diffs[int(0.975 * draws) - 1]


METRICS = {"test_mpjpe_mm": ("test", "mpjpe_mm"), "test_pose_mpjpe_mm": ("test", "pose_mpjpe_mm"),
           "val_mpjpe_mm": ("val", "mpjpe_mm"), "test_root_error_mm": ("test", "root_error_mm"),
           "test_accel_error_mm": ("test", "accel_error_mm"), "test_feature_rmse": ("test", "feature_rmse"),
           "train_usage": ("train_tokens", "usage"), "train_perplexity": ("train_tokens", "perplexity"),
           "dead_codes": ("train_tokens", "dead_codes"), "step_ms_in_training": ("step_ms_in_training",),
           "codes_reseeded": ("codes_reseeded",)}


def _dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None
    return record


def summarise(runs: list[dict[str, Any]], chosen: dict[str, float]) -> list[dict[str, Any]]:
    """Median and spread over seeds per variant and size, at the variant's chosen rate."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in runs:
        if chosen.get(run["variant"]) == run["lr"]:
            groups.setdefault((run["variant"], run["exponent"]), []).append(run)
    rows = []
    for (variant, exponent), members in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row: dict[str, Any] = {"variant": variant, "exponent": exponent, "codebook_size": members[0]["codebook_size"],
                               "lr": members[0]["lr"], "seeds": sorted(m["seed"] for m in members)}
        for key, path in METRICS.items():
            values = [v for m in members if (v := _dig(m, path)) is not None]
            if values:
                row[key] = median_and_spread([float(v) for v in values])
        rows.append(row)
    return rows


COMPARED = {"test_mpjpe_mm": "MPJPE", "test_pose_mpjpe_mm": "pose MPJPE"}  # METRICS keys -> table labels


def comparisons(runs: list[dict[str, Any]], chosen: dict[str, float]) -> list[dict[str, Any]]:
    """At each size and for each compared metric (test MPJPE, pose MPJPE): FSQ against the learnt-codebook
    variant with the lowest median, over seeds."""
    out = []
    by = {(r["variant"], r["exponent"], r["seed"]): r for r in runs if chosen.get(r["variant"]) == r["lr"]}

    def values(variant: str, exponent: int, metric: str) -> list[float]:
        return [float(v) for (name, e, _), r in by.items()
                if name == variant and e == exponent and (v := _dig(r, METRICS[metric])) is not None]

    for exponent in sorted({r["exponent"] for r in runs}):
        learnt = {name for name, e, _ in by if e == exponent and name.startswith("vq")}
        for metric in COMPARED:
            fsq = values("fsq", exponent, metric)
            candidates = {v: vals for v in learnt if len(vals := values(v, exponent, metric)) >= 2}
            if len(fsq) < 2 or not candidates:
                continue
            best = min(candidates, key=lambda v: statistics.median(candidates[v]))
            low, high = bootstrap_difference(fsq, candidates[best])
            out.append({"exponent": exponent, "metric": metric, "best_vq": best,
                        "fsq_median": statistics.median(fsq), "vq_median": statistics.median(candidates[best]),
                        "fsq_seeds": len(fsq), "vq_seeds": len(candidates[best]), "difference_ci95": [low, high],
                        "rank_test_p": (p := rank_test(fsq, candidates[best])),
                        "differs": (low > 0 or high < 0) and p < 0.05})
    return out


# --- report ----------------------------------------------------------------------------------------------


def report(folder: Path, s: StudySettings, meta: dict[str, Any]) -> dict[str, Any]:
    """Collect every saved run into ``results.json`` with the sweep, the chosen rates, the summary and the
    FSQ-vs-best-VQ comparisons; draw the plots."""
    done = load_done(folder)
    variants = s.variants or tuple(all_variants())
    chosen, provisional = {}, []
    sweep = []
    for variant in variants:
        rate, rates = chosen_rate(variant, s, done)
        if rate is None and (rate := provisional_rate(variant, rates, s, done)) is not None:
            provisional.append(variant)  # its sweep did not finish: the best of the rates that did
        if rate is not None:
            chosen[variant] = rate
        for lr in rates:
            specs = [spec for spec in sweep_specs(variant, rates, s) if spec.lr == lr and spec.key in done]
            if specs:
                vals = [done[spec.key]["val"]["mpjpe_mm"] for spec in specs]
                sweep.append({"variant": variant, "lr": lr, "runs": len(specs), "val_mpjpe_geomean": _geomean(vals),
                              "val_mpjpe_mm": {spec.key: done[spec.key]["val"]["mpjpe_mm"] for spec in specs}})
    runs = sorted(done.values(), key=lambda r: (r["exponent"], r["variant"], r["lr"], r["seed"]))
    timing_file = folder / TIMING
    results = {**meta, "settings": s.to_json(), "chosen_rates": chosen, "provisional_rates": provisional,
               "sweep": sweep, "runs": runs,
               "summary": summarise(runs, chosen), "comparisons": comparisons(runs, chosen),
               "timing": json.loads(timing_file.read_text()) if timing_file.is_file() else None,
               "mm64k_costs": meta.get("mm64k_costs")}
    _write_json(folder / RESULTS, results)
    plot(results, folder)
    return results


def plot(results: dict[str, Any], folder: Path) -> list[str]:
    """The PNGs: test MPJPE, pose MPJPE, training-split usage and perplexity vs size (median, min-max bars)
    and the learning-rate sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["summary"]
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    panels = {"quality_vs_size.png": [("test_mpjpe_mm", "test MPJPE (mm)", False),
                                      ("test_pose_mpjpe_mm", "test pose MPJPE (mm, no root)", False)],
              "usage_vs_size.png": [("train_usage", "training-split usage (share of codes)", True),
                                    ("train_perplexity", "training-split perplexity", True)]}
    written = []
    for filename, spec in panels.items():
        fig, axes = plt.subplots(1, len(spec), figsize=(5.5 * len(spec), 4), squeeze=False)
        for ax, (key, label, log) in zip(axes[0], spec, strict=True):
            for variant in variants:
                mine = sorted((r for r in rows if r["variant"] == variant and key in r), key=lambda r: r["codebook_size"])
                if not mine:
                    continue
                med = [r[key]["median"] for r in mine]
                err = [[m - r[key]["min"] for m, r in zip(med, mine, strict=True)],
                       [r[key]["max"] - m for m, r in zip(med, mine, strict=True)]]
                ax.errorbar([r["codebook_size"] for r in mine], med, yerr=err, marker="o", capsize=3, label=variant)
            ax.set_xscale("log", base=2)
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("codebook size (codes)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("median over seeds, bars min-max; each variant at its chosen rate", fontsize=8)
        fig.tight_layout()
        _save_figure(fig, folder / filename)
        plt.close(fig)
        written.append(filename)
    sweep = results["sweep"]
    if sweep:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for variant in dict.fromkeys(r["variant"] for r in sweep):
            mine = sorted((r for r in sweep if r["variant"] == variant), key=lambda r: r["lr"])
            ax.plot([r["lr"] for r in mine], [r["val_mpjpe_geomean"] for r in mine], marker="o", label=variant)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("peak learning rate")
        ax.set_ylabel("val MPJPE (mm), geometric mean over sizes and seeds")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        _save_figure(fig, folder / "lr_sweep.png")
        plt.close(fig)
        written.append("lr_sweep.png")
    return written


def _fmt(row: dict[str, Any], key: str, fmt: str) -> str:
    if key not in row:
        return "–"
    v = row[key]
    text = fmt.format(v["median"])
    return text if v["n"] == 1 else f"{text} ({fmt.format(v['min'])}–{fmt.format(v['max'])})"


def table(results: dict[str, Any]) -> str:
    """Markdown tables: the sweep, the summary (median, min-max over seeds) and the comparisons."""
    lines = ["| variant | peak rate | runs | val MPJPE geo-mean (mm) |", "|---|---|---|---|"]
    for row in results["sweep"]:
        provisional = row["variant"] in results.get("provisional_rates", ())
        mark = ((" **chosen (of the finished rates)**" if provisional else " **chosen**")
                if results["chosen_rates"].get(row["variant"]) == row["lr"] else "")
        lines.append(f"| {row['variant']} | {row['lr']:g}{mark} | {row['runs']} | {row['val_mpjpe_geomean']:.1f} |")
    lines += ["", "| variant | codes | seeds | test MPJPE (mm) | pose MPJPE (mm) | accel err (mm/f²) | feature RMSE "
              "| train usage | train PPL | dead codes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in results["summary"]:
        usage = _fmt({k: {**v, **{x: 100 * v[x] for x in ('median', 'min', 'max')}} for k, v in row.items()
                      if k == "train_usage"}, "train_usage", "{:.1f} %")
        lines.append(f"| {row['variant']} | {row['codebook_size']:,} | {len(row['seeds'])} "
                     f"| {_fmt(row, 'test_mpjpe_mm', '{:.1f}')} | {_fmt(row, 'test_pose_mpjpe_mm', '{:.1f}')} "
                     f"| {_fmt(row, 'test_accel_error_mm', '{:.2f}')} | {_fmt(row, 'test_feature_rmse', '{:.3f}')} "
                     f"| {usage} | {_fmt(row, 'train_perplexity', '{:.0f}')} | {_fmt(row, 'dead_codes', '{:,.0f}')} |")
    if results["comparisons"]:
        lines += ["", "| codes | metric | FSQ median (mm) | best VQ | its median (mm) | FSQ - VQ, 95 % bootstrap "
                  "| rank test p | differs |", "|---|---|---|---|---|---|---|---|"]
        for c in results["comparisons"]:
            low, high = c["difference_ci95"]
            lines.append(f"| 2^{c['exponent']} | {COMPARED[c['metric']]} "
                         f"| {c['fsq_median']:.1f} ({c['fsq_seeds']}) | {c['best_vq']} "
                         f"| {c['vq_median']:.1f} ({c['vq_seeds']}) | {low:+.1f} … {high:+.1f} | {c['rank_test_p']:.3f} "
                         f"| {'yes' if c['differs'] else 'no'} |")
    if results.get("timing"):
        lines += ["", "| variant | codes | step (ms) | encode (µs/token) | peak memory (MB) |", "|---|---|---|---|---|"]
        for row in results["timing"]:
            lines.append(f"| {row['variant']} | {row['codebook_size']:,} | {row['step_ms']:.1f} "
                         f"| {row['encode_us_per_token']:.2f} | {row['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


# --- driver ----------------------------------------------------------------------------------------------


def _settings_file(folder: Path) -> Path:
    return folder / "settings.json"


def prepare(folder: Path, s: StudySettings, data: Path) -> None:
    """Write the study's settings (refusing a folder that holds another study's) and make the data."""
    from mtk.jobs.sample import write_sample_dataset

    (folder / "runs").mkdir(parents=True, exist_ok=True)
    saved = _settings_file(folder)
    if saved.is_file():
        if StudySettings.from_json(json.loads(saved.read_text())) != s:
            raise SystemExit(f"{folder} holds a study with other settings ({saved}); use another --out")
    else:
        _write_json(saved, {**s.to_json()})
    if not data.exists():
        write_sample_dataset(str(data), layout="smpl272", count=s.motions, seed=s.data_seed)
    prepare_real_clips(folder)
    pack(folder, data)


def worker(folder: Path, s: StudySettings, data: Path, script: str, log=print) -> int:
    """Take runs from the plan until none is left (each in a fresh process); returns how many it ran."""
    ran = 0
    while True:
        todo, waiting = plan(s, load_done(folder))
        spec = next((spec for spec in todo if _claim(folder, spec)), None)
        if spec is None:
            if not todo and not waiting:
                return ran
            time.sleep(20)  # other workers are finishing what the next runs wait for
            continue
        started = time.perf_counter()
        result = subprocess.run([sys.executable, script, "--out", str(folder), "--data", str(data), "--run",
                                 json.dumps(asdict(spec))], capture_output=True, text=True)
        (folder / "runs" / f"{spec.key}.claim").unlink(missing_ok=True)
        if result.returncode:
            log(f"{spec.key} failed: {result.stderr.strip().splitlines()[-1:]}")
            return ran
        ran += 1
        done = load_done(folder)
        left, _ = plan(s, done)
        r = done[spec.key]
        log(f"{spec.key}: test MPJPE {r['test']['mpjpe_mm']:.1f} mm, train usage {100 * r['train_tokens']['usage']:.1f} %"
            f" in {(time.perf_counter() - started) / 60:.1f} min; {len(done)} done, {len(left)} planned")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the study folder (settings, runs/, results)")
    parser.add_argument("--data", type=Path, help="smpl272 dataset (made with mtk sample if missing; default "
                                                  "OUT/data, which is not committed)")
    parser.add_argument("--quick", action="store_true", help="a small plan that checks the plumbing in minutes")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (each one thread)")
    parser.add_argument("--variants", nargs="+", help="limit to these variants (default: every registered one)")
    parser.add_argument("--report", action="store_true", help="collect the saved runs into results.json + plots")
    parser.add_argument("--table", action="store_true", help="print the markdown tables of results.json")
    parser.add_argument("--timing", action="store_true", help="measure step and encode times (quiet machine)")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--time-one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.out
    if args.table:
        print(table(json.loads((folder / RESULTS).read_text())))
        return
    saved = _settings_file(folder)
    if saved.is_file():
        s = StudySettings.from_json(json.loads(saved.read_text()))
    else:
        s = StudySettings.quick() if args.quick else StudySettings()
        if args.variants:
            s.variants = tuple(args.variants)
    data = args.data or folder / "data"
    if args.run:
        spec = RunSpec(**json.loads(args.run))
        _write_json(folder / "runs" / f"{spec.key}.json", run_one(folder, spec, s, data))
        return
    if args.time_one:
        variant, exponent = json.loads(args.time_one)
        print(json.dumps(time_one(s, variant, exponent)))
        return
    if args.timing:
        _write_json(folder / TIMING, timing(s, str(Path(__file__).resolve())))
        return
    prepare(folder, s, data)
    started = time.time()
    if not args.report:
        script = str(Path(__file__).resolve())
        procs = []
        for _ in range(max(1, args.workers) - 1):
            procs.append(subprocess.Popen([sys.executable, script, "--out", str(folder), "--data", str(data),
                                           "--workers", "1"]))
            time.sleep(2)
        worker(folder, s, data, script)
        for proc in procs:
            proc.wait()
    meta = {"command": "python benchmarks/quantizer_study.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "data": describe_data(data, s), "machine": {"cpu_threads_per_run": 1, "python": platform.python_version(),
                                                         "cpus": os.cpu_count(), "device": "cpu"},
            "mm64k_costs": mm64k_costs(), "reported_at": time.strftime("%Y-%m-%d %H:%M"),
            "wall_minutes_this_call": (time.time() - started) / 60}
    results = report(folder, s, meta)
    print(table(results))


def describe_data(data: Path, s: StudySettings) -> dict[str, Any]:
    """The data's generator, splits and sizes, and the training tokens per code at each size."""
    from mtk.jobs.torch_data import MotionDataset

    out: dict[str, Any] = {"path": str(data), "layout": "smpl272", "fps": 30.0,
                           "generator": f"mtk sample --layout smpl272 --count {s.motions} --seed {s.data_seed} "
                                        "(procedural: walks, runs, turns, side-steps, jumps, idling)"}
    for split in ("train", "val", "test"):
        lengths = MotionDataset(str(data), split=split).lengths
        out[f"{split}_motions"] = len(lengths)
        out[f"{split}_frames"] = int(lengths.sum())
    out["train_tokens"] = int((out["train_frames"] // 2))
    out["train_tokens_per_code"] = {f"2^{e}": out["train_tokens"] / codebook_size("fsq", e) for e in s.sizes}
    return out


if __name__ == "__main__":
    main()
