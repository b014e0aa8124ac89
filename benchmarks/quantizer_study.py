"""FSQ vs VQ (EMA + resets) vs plain VQ-VAE vs LFQ across codebook sizes: one study, one JSON, plots.

Every run trains the same encoder/decoder (the ``tiny`` preset's width) on the same ``mtk sample`` data with
the same batch, window and step budget through :func:`mtk.tokenizer.train.train`, then measures
reconstruction (val and test MPJPE, root error), codebook usage and perplexity over every token of the test
split and of the training split (with the bound the token count puts on usage), dead codes, how usage moved
during training, the time of a training step and of encoding one token, and VQ's re-seeded codes. A short
commitment-weight sweep for VQ runs at one size.

    python benchmarks/quantizer_study.py --out docs/quantizer_study            # the full study (< 1 h, 2 CPUs)
    python benchmarks/quantizer_study.py --out /tmp/qs --quick                 # plumbing check (< 5 min)
    python benchmarks/quantizer_study.py --table docs/quantizer_study/results.json   # markdown tables

Sizes are nominal powers of two; FSQ takes its levels from the table (2^16 -> 64,000 codes), VQ and
VQ-VAE get exactly FSQ's number of codes, LFQ ``2^bits``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mtk.jobs.sample import write_sample_dataset
from mtk.jobs.torch_data import MotionDataset, WindowDataset
from mtk.tokenizer.checkpoint import load_checkpoint
from mtk.tokenizer.evaluate import evaluate
from mtk.tokenizer.model import TokenizerModel, build_model
from mtk.tokenizer.quantizers import code_counts, levels_for, usage_from_counts
from mtk.tokenizer.train import TrainConfig, train

QUANTIZERS = ("fsq", "vq", "vqvae", "lfq")
RESULTS = "results.json"


@dataclass
class StudySettings:
    """What every run shares (the ``tiny`` preset's encoder/decoder)."""

    motions: int = 1000
    iters: int = 500
    batch_size: int = 32
    window: int = 32
    lr: float = 2e-3
    warmup: int = 40
    sizes: tuple[int, ...] = (8, 10, 12, 14, 16)
    quantizers: tuple[str, ...] = QUANTIZERS
    seeds: tuple[int, ...] = (0, 1)
    sweep_size: int = 12
    sweep_weights: tuple[float, ...] = (0.005, 0.1, 0.5)
    threads: int = 1
    timing_steps: int = 8
    preset: str = "tiny"
    data_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> StudySettings:
        return cls(motions=200, iters=30, sizes=(8, 16), seeds=(0,), sweep_size=8, sweep_weights=(0.5,),
                   timing_steps=3)


def codebook_size(quantizer: str, exponent: int) -> int:
    """Codes for a nominal ``2^exponent``: FSQ's table, the same count for VQ/VQ-VAE, ``2^bits`` for LFQ."""
    return 2**exponent if quantizer == "lfq" else math.prod(levels_for(2**exponent))


@torch.no_grad()
def split_counts(model: TokenizerModel, dataset: MotionDataset, batch_size: int = 64) -> torch.Tensor:
    """Code counts over every valid token of ``dataset`` (encode only, padded batches, masked)."""
    from torch.utils.data import DataLoader

    counts = torch.zeros(model.codebook_size, dtype=torch.int64)
    model.eval()
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        lengths = batch["length"] // model.unit_length * model.unit_length
        x = batch["features"][:, : int(lengths.max())]
        codes = model.encode(x, lengths)
        valid = torch.arange(codes.shape[1])[None] < (lengths // model.unit_length)[:, None]
        counts += code_counts(codes[valid], model.codebook_size)
    return counts


def usage_record(counts: torch.Tensor) -> dict[str, Any]:
    """Usage, perplexity, token count and the bound ``min(1, tokens / K)`` on usage."""
    usage = usage_from_counts(counts)
    tokens = int(counts.sum())
    return {**usage.to_dict(), "tokens": tokens, "usage_bound": min(1.0, tokens / usage.size),
            "dead_codes": usage.size - usage.used}


def step_time_ms(quantizer: str, size: int, settings: StudySettings, input_dim: int, seed: int) -> float:
    """Median wall time (ms) of one training step (forward, backward, AdamW) on a fixed batch, fresh model."""
    torch.manual_seed(seed)
    model = build_model(settings.preset, input_dim, quantizer, size).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(settings.batch_size, settings.window, input_dim)
    times = []
    for _ in range(settings.timing_steps + 2):
        start = time.perf_counter()
        out = model(x)
        (out.reconstruction.square().mean() + out.aux_loss).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[2:])


@torch.no_grad()
def encode_time_us(model: TokenizerModel, settings: StudySettings, input_dim: int) -> float:
    """Median wall time (µs) per token of ``encode`` on a fixed (batch, window) input."""
    model.eval()
    x = torch.randn(settings.batch_size, settings.window, input_dim)
    tokens = settings.batch_size * settings.window // model.unit_length
    times = []
    for _ in range(settings.timing_steps + 1):
        start = time.perf_counter()
        model.encode(x)
        times.append(time.perf_counter() - start)
    return 1e6 * statistics.median(times[1:]) / tokens


class Study:
    """Data, splits and the loop over runs."""

    def __init__(self, settings: StudySettings, data: Path, work: Path):
        self.settings = settings
        self.data = data
        self.work = work
        s = settings
        if not data.exists():
            write_sample_dataset(str(data), layout="smpl272", count=s.motions, seed=s.data_seed)
        self.train_windows = WindowDataset(str(data), window=s.window, split="train", seed=0)
        self.splits = {split: MotionDataset(str(data), split=split) for split in ("train", "val", "test")}
        self.layout = self.train_windows.layout
        self.mean = torch.as_tensor(self.train_windows.mean)
        self.std = torch.as_tensor(self.train_windows.std)

    def describe_data(self) -> dict[str, Any]:
        return {"path": str(self.data), "layout": self.layout.name, "generator": "mtk sample (procedural)",
                **{f"{split}_motions": len(d) for split, d in self.splits.items()},
                **{f"{split}_frames": int(d.lengths.sum()) for split, d in self.splits.items()},
                "train_windows_per_epoch": len(self.train_windows)}

    def run(self, quantizer: str, exponent: int, seed: int, commitment: float | None = None) -> dict[str, Any]:
        s = self.settings
        size = codebook_size(quantizer, exponent)
        name = f"{quantizer}_2^{exponent}_s{seed}" + (f"_c{commitment}" if commitment is not None else "")
        out = self.work / name
        stamps: list[float] = []
        events: list[dict[str, Any]] = []
        cfg = TrainConfig(dataset=str(self.data), out=str(out), preset=s.preset, quantizer=quantizer,
                          codebook_size=size, commitment=commitment, iters=s.iters, batch_size=s.batch_size,
                          window=s.window, lr=s.lr, warmup=s.warmup, milestones=(int(s.iters * 0.75),),
                          gamma=0.2, eval_every=max(1, s.iters // 2), save_every=s.iters,
                          log_every=max(1, s.iters // 20), eval_split="val", workers=0, threads=s.threads,
                          seed=seed, overwrite=True)
        started = time.perf_counter()
        train(cfg, datasets=(self.train_windows, self.splits["val"]),
              on_progress=lambda _: stamps.append(time.perf_counter()), on_event=events.append)
        seconds = time.perf_counter() - started
        model, _ = load_checkpoint(out / "net_latest.pth")
        measured = {split: self._evaluate(model, split) for split in ("val", "test")}
        steps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        record = {
            "name": name, "quantizer": quantizer, "exponent": exponent, "codebook_size": model.codebook_size,
            "seed": seed, "commitment": model.config.get("commitment"), "sweep": commitment is not None,
            "iters": s.iters,
            "train_seconds": seconds, "step_ms_in_training": 1000 * statistics.median(steps) if steps else None,
            "step_ms_fixed_batch": step_time_ms(quantizer, size, s, self.layout.dim, seed),
            "encode_us_per_token": encode_time_us(model, s, self.layout.dim),
            **measured,
            "train_tokens": usage_record(split_counts(model, self.splits["train"])),
            "codes_reseeded": next((e["codes_reseeded"] for e in reversed(events) if "codes_reseeded" in e), None),
            "batch_usage": [{"iter": e["iter"], "usage": e["batch_usage"], "perplexity": e["batch_perplexity"]}
                            for e in events if e["event"] == "train"],
            "val_usage": [{"iter": e["iter"], "usage": e["usage"], "perplexity": e["perplexity"],
                           "mpjpe_mm": e["mpjpe_mm"]} for e in events if e["event"] == "eval"],
        }
        return record

    def _evaluate(self, model: TokenizerModel, split: str) -> dict[str, Any]:
        dataset = self.splits[split]
        result = evaluate(model, dataset, self.layout, self.mean, self.std, batch_size=64)
        tokens = result["frames"] // model.unit_length
        return {**result, "tokens": tokens, "usage_bound": min(1.0, tokens / model.codebook_size)}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, min and max over seeds of the headline figures, per quantizer and size (main grid only)."""
    keys = {"val_mpjpe_mm": ("val", "mpjpe_mm"), "test_mpjpe_mm": ("test", "mpjpe_mm"),
            "test_root_error_mm": ("test", "root_error_mm"), "test_usage": ("test", "usage"),
            "test_perplexity": ("test", "perplexity"), "test_usage_bound": ("test", "usage_bound"),
            "train_usage": ("train_tokens", "usage"), "train_perplexity": ("train_tokens", "perplexity"),
            "train_usage_bound": ("train_tokens", "usage_bound"), "dead_codes": ("train_tokens", "dead_codes"),
            "step_ms_fixed_batch": ("step_ms_fixed_batch",), "step_ms_in_training": ("step_ms_in_training",),
            "encode_us_per_token": ("encode_us_per_token",), "codes_reseeded": ("codes_reseeded",)}
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["quantizer"], run["exponent"]), []).append(run)
    rows = []
    for (quantizer, exponent), members in groups.items():
        row: dict[str, Any] = {"quantizer": quantizer, "exponent": exponent,
                               "codebook_size": members[0]["codebook_size"], "seeds": len(members)}
        for key, path in keys.items():
            values = [_dig(m, path) for m in members]
            values = [v for v in values if v is not None]
            if values:
                row[key] = {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}
        rows.append(row)
    return rows


def _dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        record = record[key]
    return record


def plot(results: dict[str, Any], folder: Path) -> list[str]:
    """The PNGs: usage, perplexity, MPJPE and step time vs codebook size (mean, min-max bar over seeds),
    and batch usage during training per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["summary"]
    quantizers = [q for q in QUANTIZERS if any(r["quantizer"] == q for r in rows)]
    figures = {
        "usage_vs_size.png": [("test_usage", "test-split usage (share of codes)", "test_usage_bound"),
                              ("train_usage", "training-split usage (share of codes)", "train_usage_bound")],
        "perplexity_vs_size.png": [("test_perplexity", "test-split perplexity", None),
                                   ("train_perplexity", "training-split perplexity", None)],
        "mpjpe_vs_size.png": [("val_mpjpe_mm", "val MPJPE (mm)", None), ("test_mpjpe_mm", "test MPJPE (mm)", None)],
        "time_vs_size.png": [("step_ms_fixed_batch", "training step (ms)", None),
                             ("encode_us_per_token", "encode (µs / token)", None)],
    }
    linear = {"val_mpjpe_mm", "test_mpjpe_mm"}
    written = []
    for filename, panels in figures.items():
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        for ax, (key, label, bound) in zip(axes[0], panels, strict=True):
            for quantizer in quantizers:
                mine = sorted((r for r in rows if r["quantizer"] == quantizer and key in r),
                              key=lambda r: r["codebook_size"])
                x = [r["codebook_size"] for r in mine]
                mean = [r[key]["mean"] for r in mine]
                spread = [[r[key]["mean"] - r[key]["min"] for r in mine], [r[key]["max"] - r[key]["mean"] for r in mine]]
                ax.errorbar(x, mean, yerr=spread, marker="o", capsize=3, label=quantizer)
            if bound:
                edge = sorted((r for r in rows if r["quantizer"] == "fsq" and bound in r), key=lambda r: r["codebook_size"])
                ax.plot([r["codebook_size"] for r in edge], [r[bound]["mean"] for r in edge], "k:",
                        label="bound: tokens / codes")
            ax.set_xscale("log", base=2)
            if key not in linear:
                ax.set_yscale("log")
            ax.set_xlabel("codebook size (codes)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"{results['command']}  (bars: min-max over seeds)", fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / filename, dpi=90)
        plt.close(fig)
        written.append(filename)
    runs = [r for r in results["runs"] if r["seed"] == min(results["settings"]["seeds"])]
    exponents = sorted({r["exponent"] for r in runs})
    fig, axes = plt.subplots(1, len(exponents), figsize=(3.6 * len(exponents), 3.4), sharey=True, squeeze=False)
    for ax, exponent in zip(axes[0], exponents, strict=True):
        for quantizer in quantizers:
            for run in (r for r in runs if r["quantizer"] == quantizer and r["exponent"] == exponent):
                ax.plot([b["iter"] for b in run["batch_usage"]],
                        [b["usage"] * run["codebook_size"] for b in run["batch_usage"]], label=quantizer)
        ax.set_title(f"2^{exponent}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("distinct codes in a training batch")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "usage_during_training.png", dpi=90)
    plt.close(fig)
    written.append("usage_during_training.png")
    return written


def mm64k_costs() -> dict[str, float]:
    """What a learnt 64,000-code codebook would add to one ``mm64k`` training step (batch 64 x 96 frames, one
    GPU), counted, not timed: the conv net's forward+backward FLOPs (torch's FLOP counter), the nearest-code
    search's FLOPs (``2 N K C``) and the EMA statistics VQ all-reduces every step (float32)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model("mm64k")
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 96, 272)).reconstruction.sum().backward()
    tokens, codes, width = 64 * 48, math.prod(levels_for(2**16)), model.config["code_dim"]
    return {"conv_net_gflop_per_step": counter.get_total_flops() * 64 / 1e9,
            "nearest_code_gflop_per_step": 2 * tokens * codes * width / 1e9,
            "ema_all_reduce_mb_per_step": (codes * width + codes) * 4 / 1e6}


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _cell(row: dict[str, Any], key: str, fmt) -> str:
    if key not in row:
        return "–"
    v = row[key]
    text = fmt(v["mean"])
    return text if row["seeds"] == 1 else f"{text} ({fmt(v['min'])}–{fmt(v['max'])})"


def table(results: dict[str, Any]) -> str:
    """Markdown tables of the summary and of the commitment sweep (the doc's tables come from here)."""
    lines = ["| quantizer | codes | test MPJPE (mm) | val MPJPE (mm) | test usage (bound) | test PPL "
             "| train usage (bound) | train PPL | dead codes | step (ms) | encode (µs/token) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    order = {q: i for i, q in enumerate(QUANTIZERS)}
    for row in sorted(results["summary"], key=lambda r: (r["exponent"], order.get(r["quantizer"], 99))):
        lines.append(
            f"| {row['quantizer']} | {row['codebook_size']:,} | {_cell(row, 'test_mpjpe_mm', '{:.1f}'.format)} "
            f"| {_cell(row, 'val_mpjpe_mm', '{:.1f}'.format)} "
            f"| {_cell(row, 'test_usage', _pct)} ({_pct(row['test_usage_bound']['mean'])}) "
            f"| {_cell(row, 'test_perplexity', '{:.0f}'.format)} "
            f"| {_cell(row, 'train_usage', _pct)} ({_pct(row['train_usage_bound']['mean'])}) "
            f"| {_cell(row, 'train_perplexity', '{:.0f}'.format)} | {_cell(row, 'dead_codes', '{:,.0f}'.format)} "
            f"| {_cell(row, 'step_ms_fixed_batch', '{:.1f}'.format)} "
            f"| {_cell(row, 'encode_us_per_token', '{:.2f}'.format)} |")
    sweep = results.get("sweep") or []
    if sweep:
        lines += ["", "| quantizer | codes | commitment | seed | test MPJPE (mm) | test usage | train usage "
                  "| train PPL | codes re-seeded |", "|---|---|---|---|---|---|---|---|---|"]
        for run in sorted(sweep, key=lambda r: (r["quantizer"], r["commitment"])):
            lines.append(f"| {run['quantizer']} | {run['codebook_size']:,} | {run['commitment']} | {run['seed']} "
                         f"| {run['test']['mpjpe_mm']:.1f} | {_pct(run['test']['usage'])} "
                         f"| {_pct(run['train_tokens']['usage'])} | {run['train_tokens']['perplexity']:.0f} "
                         f"| {run['codes_reseeded'] if run['codes_reseeded'] is not None else '–'} |")
    reseeded = [r for r in results["summary"] if "codes_reseeded" in r]
    if reseeded:
        lines += ["", "| VQ codes | codes re-seeded during training (mean over seeds) |", "|---|---|"]
        lines += [f"| {r['codebook_size']:,} | {r['codes_reseeded']['mean']:,.0f} |"
                  for r in sorted(reseeded, key=lambda r: r["codebook_size"])]
    return "\n".join(lines)


def run_study(settings: StudySettings, out: Path, data: Path | None, command: str,
              log=print) -> dict[str, Any]:
    """Run every (quantizer, size, seed) and the sweep; write ``out/results.json`` and the plots."""
    torch.set_num_threads(settings.threads)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="quantizer_study_") as tmp:
        study = Study(settings, data or Path(tmp) / "data", Path(tmp) / "runs")
        plan = [(q, e, seed, None) for e in settings.sizes for q in settings.quantizers for seed in settings.seeds]
        plan += [("vq", settings.sweep_size, settings.seeds[0], w) for w in settings.sweep_weights]
        runs: list[dict[str, Any]] = []
        started = time.perf_counter()
        for i, (quantizer, exponent, seed, commitment) in enumerate(plan, 1):
            runs.append(study.run(quantizer, exponent, seed, commitment))
            elapsed = time.perf_counter() - started
            r = runs[-1]
            log(f"[{i}/{len(plan)}] {r['name']}: test MPJPE {r['test']['mpjpe_mm']:.1f} mm, test usage "
                f"{_pct(r['test']['usage'])}, train usage {_pct(r['train_tokens']['usage'])}, step "
                f"{r['step_ms_fixed_batch']:.1f} ms; {elapsed / 60:.1f} min, ETA {elapsed / i * (len(plan) - i) / 60:.1f} min")
        main = [r for r in runs if not r["sweep"]]
        results = {
            "command": command, "settings": {k: v for k, v in vars(settings).items() if k != "extra"},
            "data": study.describe_data(), "machine": {"cpu_threads": settings.threads, "torch": torch.__version__,
                                                        "python": platform.python_version(), "device": "cpu"},
            "wall_minutes": (time.perf_counter() - started) / 60,
            "runs": main, "sweep": [r for r in runs if r["sweep"]], "summary": summarise(main),
        }
    (out / RESULTS).write_text(json.dumps(results, indent=1))
    plot(results, out)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="folder for results.json and the PNGs")
    parser.add_argument("--quick", action="store_true", help="small data, few steps, one seed (< 5 min)")
    parser.add_argument("--data", type=Path, help="existing smpl272 dataset (default: a fresh mtk sample)")
    parser.add_argument("--motions", type=int, help="motions to sample")
    parser.add_argument("--iters", type=int, help="training steps per run")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--sizes", type=int, nargs="+", help="codebook exponents (2^k)")
    parser.add_argument("--quantizers", nargs="+", choices=QUANTIZERS)
    parser.add_argument("--table", type=Path, help="print the markdown tables of a results.json and exit")
    parser.add_argument("--plot", type=Path, help="redraw the plots of a results.json beside it and exit")
    parser.add_argument("--costs", action="store_true", help="print what VQ adds to an mm64k step and exit")
    args = parser.parse_args(argv)
    if args.costs:
        print(json.dumps(mm64k_costs(), indent=1))
        return
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    if args.plot:
        plot(json.loads(args.plot.read_text()), args.plot.parent)
        return
    if args.out is None:
        parser.error("--out is required")
    settings = StudySettings.quick() if args.quick else StudySettings()
    for key in ("motions", "iters", "seeds", "sizes", "quantizers"):
        value = getattr(args, key)
        if value is not None:
            setattr(settings, key, tuple(value) if isinstance(value, list) else value)
    command = "python benchmarks/quantizer_study.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results = run_study(settings, args.out, args.data, command)
    print(table(results))
    print(f"wrote {args.out / RESULTS} and plots in {results['wall_minutes']:.1f} min")


if __name__ == "__main__":
    main()
