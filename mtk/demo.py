"""``mtk demo``: the whole toolkit on the built-in procedural dataset, with a report.

sample -> validate -> stats -> convert to Zarr -> train ``tiny`` tokenizers, one per quantizer (FSQ and VQ
by default, any registered ones on request; same codebook size) -> evaluate each (MPJPE, usage;
reconstruction FID with a seeded random evaluator) -> tokenize -> PFNN export -> render. Each step calls the
library function its command uses, is timed, and yields a :class:`StepResult` with its key figures. The
report folder holds loss curves, codebook usage histograms per quantizer, a GIF and ``report.md`` linking
them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtk.errors import DestinationExistsError, MtkError
from mtk.schemas import HML263

Advance = Callable[[int], None]
#: progress(description, total) -> a context manager yielding advance(n); the CLI passes its progress bar
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Advance]]
#: the quantizers the demo compares unless told otherwise
DEFAULT_QUANTIZERS = ("fsq", "vq")


@dataclass(frozen=True)
class DemoSize:
    """How much data and training the demo uses: ``train`` overrides the ``tiny`` preset's settings."""

    motions: int
    iters: int
    train: dict[str, Any] = field(default_factory=dict)
    #: passes of ``mtk pfnn train`` over the PFNN export
    pfnn_epochs: float = 0.3
    #: motions per batch of the FID step (the protocol's 32; the quick demo has fewer motions than that)
    fid_batch: int = 32
    #: replications of the FID step (the papers' 20 would cost minutes on a CPU)
    fid_replications: int = 2


#: ``full``: 2.5x the ``tiny`` preset's schedule (its rate drop at 3/4 of the run), about 4 minutes on 2 idle
#: CPU cores (more on a busy machine); ``quick``: seconds, for tests (the numbers mean nothing)
SIZES = {
    "full": DemoSize(motions=300, iters=3000, train={"milestones": (2250,), "eval_every": 500}),
    "quick": DemoSize(motions=24, iters=4, train={"batch_size": 8, "eval_every": 2, "warmup": 1,
                                                  "milestones": (3,)}, pfnn_epochs=0.02, fid_batch=8,
                     fid_replications=1),
}


@dataclass
class StepResult:
    """One finished step: its name, wall time, key figures (label -> value) and the library's summary."""

    name: str
    seconds: float
    figures: dict[str, Any]
    summary: str = ""

    def figures_text(self) -> str:
        """The key figures as one line: ``label: value, ...``."""
        return ", ".join(f"{k}: {v}" for k, v in self.figures.items())


@dataclass
class DemoResult:
    """Every step's result, the report's path and the verdict on the quantizers."""

    out: Path
    steps: list[StepResult] = field(default_factory=list)
    report: Path | None = None
    verdict: str = ""

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


@contextmanager
def _no_progress(description: str, total: int | None) -> Iterator[Advance]:
    yield lambda n=1: None


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse an existing non-empty ``out`` unless ``overwrite`` (the demo's files are then replaced)."""
    if out.exists() and not out.is_dir():
        raise MtkError(out, "is a file, not a folder", "pick another OUT")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DestinationExistsError(out, "already exists and is not empty",
                                     "pick another OUT or pass --overwrite to replace the demo's files there")


class Demo:
    """The demo's steps over one output folder; :meth:`run` executes them in order."""

    def __init__(self, out: str | Path, size: DemoSize, overwrite: bool = False,
                 progress: ProgressFactory | None = None, quantizers: tuple[str, ...] = DEFAULT_QUANTIZERS):
        self.out = Path(out).absolute()
        self.quantizers = known_quantizers(quantizers)
        self.size = size
        self.overwrite = overwrite
        self.progress = progress or _no_progress
        self.sample = self.out / "data" / "sample"
        self.store = self.out / "data" / "sample.zarr"
        self.report_dir = self.out / "report"
        self.evals: dict[str, dict[str, Any]] = {}
        self.fid: dict[str, dict[str, Any]] = {}
        self.usage: dict[str, dict[str, Any]] = {}
        self.pfnn_section = ""

    def run_dir(self, quantizer: str) -> Path:
        return self.out / "runs" / quantizer

    def ckpt(self, quantizer: str) -> Path:
        return self.run_dir(quantizer) / "net_best.pth"

    def codes_dir(self, quantizer: str) -> Path:
        return self.out / "tokens" / quantizer / "codes"

    def steps(self) -> list[tuple[str, Callable[[], tuple[dict[str, Any], str]]]]:
        train = [(f"train {q}", lambda q=q: self.train(q)) for q in self.quantizers]
        evaluate = [(f"eval {q}", lambda q=q: self.evaluate(q)) for q in self.quantizers]
        tokenize = [(f"tokenize {q}", lambda q=q: self.tokenize(q)) for q in self.quantizers]
        return [("sample", self.make_sample), ("validate", self.validate), ("stats", self.stats),
                ("convert", self.convert), *train, *evaluate, ("fid", self.reconstruction_fid), *tokenize,
                ("pfnn", self.pfnn),
                ("render", self.render)]

    def run(self, on_step: Callable[[StepResult], None] | None = None) -> DemoResult:
        check_out(self.out, self.overwrite)
        result = DemoResult(self.out)
        for name, step in self.steps():
            started = time.perf_counter()
            figures, summary = step()
            result.steps.append(StepResult(name, time.perf_counter() - started, figures, summary))
            if on_step:
                on_step(result.steps[-1])
        started = time.perf_counter()
        trends = {q: batch_usage_trend(self.run_dir(q)) for q in self.quantizers}
        result.verdict = quantizer_verdict(self.usage, self.evals, trends)
        result.report = write_report(self, result)
        result.steps.append(StepResult("report", time.perf_counter() - started,
                                       {"files": len(list(self.report_dir.iterdir()))}, str(result.report)))
        if on_step:
            on_step(result.steps[-1])
        return result

    # --- steps ---------------------------------------------------------------------------------------

    def make_sample(self) -> tuple[dict[str, Any], str]:
        from mtk.formats.datasets import open_dataset
        from mtk.jobs.sample import write_sample_dataset

        with self.progress("sample", self.size.motions) as advance:
            summary = write_sample_dataset(str(self.sample), layout=HML263.name, count=self.size.motions, seed=0,
                                           overwrite=self.overwrite, on_progress=advance)
        reader = open_dataset(self.sample)
        frames = sum(reader.length(n) for n in reader.info.names)
        fps = reader.info.fps
        reader.close()
        return {"motions": self.size.motions, "frames": frames, "hours": round(frames / fps / 3600, 3)}, summary

    def validate(self) -> tuple[dict[str, Any], str]:
        from mtk.jobs.validate import validate_dataset

        with self.progress("validate", self.size.motions) as advance:
            report = validate_dataset(self.sample, on_progress=advance)
        counts = {level: sum(f.level == level for f in report.findings) for level in ("error", "warning", "info")}
        codes = sorted({f.code for f in report.findings})
        return ({"findings": ", ".join(f"{n} {level}" for level, n in counts.items()) + (f" ({', '.join(codes)})"
                                                                                          if codes else "")},
                "; ".join(f"{f.level}: {f.code}: {f.message}" for f in report.findings) or "no findings")

    def stats(self) -> tuple[dict[str, Any], str]:
        from mtk.jobs.stats import dataset_stats, write_stats

        with self.progress("stats", None) as advance:
            result = dataset_stats(str(self.sample), workers=1, on_progress=advance)
        written = write_stats(result, self.out / "stats", overwrite=self.overwrite)
        return ({"convention": result.stats.convention, "split": result.split, "frames": result.stats.frames},
                "wrote " + ", ".join(p.name for p in written))

    def convert(self) -> tuple[dict[str, Any], str]:
        from mtk.jobs.convert_dataset import convert_dataset

        with self.progress("convert to zarr", self.size.motions) as advance:
            result = convert_dataset(str(self.sample), str(self.store), "zarr", overwrite=self.overwrite,
                                     on_progress=advance)
        size = sum(p.stat().st_size for p in self.store.rglob("*") if p.is_file())
        return {"store MB": round(size / 1e6, 2), "motions": result.motions}, result.summary()

    def train(self, quantizer: str) -> tuple[dict[str, Any], str]:
        from mtk.tokenizer.train import TrainConfig, train

        s = self.size
        cfg = TrainConfig(dataset=str(self.store), out=str(self.run_dir(quantizer)), preset="tiny",
                          quantizer=quantizer, iters=s.iters, save_every=s.iters, log_every=max(1, s.iters // 60),
                          workers=0, overwrite=self.overwrite, **s.train)
        with self.progress(f"train {quantizer}", s.iters) as advance:
            result = train(cfg, on_progress=advance)
        return ({"iters": result["iter"], "best val MPJPE mm": round(result["best_mpjpe_mm"], 1)},
                f"{result['out']}: best MPJPE {result['best_mpjpe_mm']:.1f} mm")

    def evaluate(self, quantizer: str) -> tuple[dict[str, Any], str]:
        from mtk.tokenizer.evaluate import evaluate_checkpoint

        with self.progress(f"eval {quantizer}", None) as advance:
            result = evaluate_checkpoint(str(self.store), str(self.ckpt(quantizer)), split="test",
                                         on_progress=advance)
        self.evals[quantizer] = result
        return ({"test MPJPE mm": round(result["mpjpe_mm"], 1), "usage %": round(100 * result["usage"], 1),
                 "perplexity": round(result["perplexity"], 1)},
                f"{result['motions']} test motions, codes {result['codes_used']}/{result['codebook_size']}")

    def reconstruction_fid(self) -> tuple[dict[str, Any], str]:
        """Reconstruction FID and R-precision with a seeded **random** evaluator of the released architecture:
        the code path of the papers' metrics, not a measure of quality."""
        from mtk.formats.datasets import open_dataset
        from mtk.metrics.random_evaluator import SMALL, write_random_t2m_evaluator
        from mtk.tokenizer.paper_metrics import evaluate_with_evaluator

        reader = open_dataset(self.store)
        captions = [line for motion in reader.iter(None) for line in motion.texts]
        stats = reader.info.stats
        reader.close()
        evaluator, glove = write_random_t2m_evaluator(self.out / "random_evaluator", stats.mean, stats.std, captions,
                                                      sizes=SMALL)
        for quantizer in self.quantizers:
            with self.progress(f"fid {quantizer}", None) as advance:
                self.fid[quantizer] = evaluate_with_evaluator(
                    str(self.store), str(self.ckpt(quantizer)), str(evaluator), split="all", glove=str(glove),
                    replications=self.size.fid_replications, batch_size=self.size.fid_batch,
                    on_progress=advance)
        return ({f"{q} FID (random evaluator)": round(self.fid[q]["evaluated"]["fid"]["mean"], 3)
                 for q in self.quantizers},
                "reconstruction FID with a seeded random evaluator (not comparable to papers)")

    def tokenize(self, quantizer: str) -> tuple[dict[str, Any], str]:
        from mtk.analysis.codebook import code_counts
        from mtk.formats.tokens import read_tokens
        from mtk.tokenizer.tokenize import tokenize_dataset

        out = self.codes_dir(quantizer)
        out.parent.mkdir(parents=True, exist_ok=True)
        with self.progress(f"tokenize {quantizer}", self.size.motions) as advance:
            summary = tokenize_dataset(str(self.store), str(self.ckpt(quantizer)), str(out),
                                       overwrite=self.overwrite, on_progress=advance)
        tokens = read_tokens(out)
        counts = code_counts(tokens.codes, tokens.codebook_size)
        self.usage[quantizer] = codebook_figures(counts)
        figures = self.usage[quantizer]
        return ({"tokens": figures["tokens"], "usage %": round(100 * figures["usage"], 1),
                 "perplexity": round(figures["perplexity"], 1)}, summary)

    def pfnn(self) -> tuple[dict[str, Any], str]:
        from mtk.pfnn.database import read_pfnn_database
        from mtk.pfnn.export import convert_to_pfnn

        with self.progress("pfnn export", self.size.motions) as advance:
            summary = convert_to_pfnn(str(self.store), str(self.out / "pfnn"), select="locomotion",
                                      overwrite=self.overwrite, on_progress=advance)
        X, Y, _, _ = read_pfnn_database(self.out / "pfnn")
        from mtk.pfnn.demo_step import pfnn_demo

        self.report_dir.mkdir(parents=True, exist_ok=True)
        with self.progress("pfnn train", None) as advance:
            figures, self.pfnn_section = pfnn_demo(self.out / "pfnn", self.out / "runs" / "pfnn",
                                                   self.report_dir / "pfnn_walk.gif", self.size.pfnn_epochs,
                                                   self.overwrite, advance)
        return {"PFNN rows": len(X), "X cols": X.shape[1], "Y cols": Y.shape[1], **figures}, summary

    def render(self) -> tuple[dict[str, Any], str]:
        from mtk.formats.datasets import open_dataset
        from mtk.jobs.render import render_file

        reader = open_dataset(self.sample)
        test = reader.info.splits.get("test") or reader.info.names
        name = min(test, key=reader.length)
        reader.close()
        self.report_dir.mkdir(parents=True, exist_ok=True)
        source = self.sample / "new_joint_vecs" / f"{name}.npy"
        summary = render_file(str(source), str(self.report_dir / "motion.gif"), fps=10.0, overwrite=True)
        return {"motion": name, "gif": "report/motion.gif"}, summary


def codebook_figures(counts) -> dict[str, Any]:
    """Tokens, codes used, usage and perplexity from per-code counts (length K)."""
    from mtk.analysis.codebook import perplexity, usage

    return {"tokens": int(counts.sum()), "codes_used": int((counts > 0).sum()), "codebook_size": len(counts),
            "usage": usage(counts), "perplexity": perplexity(counts), "counts": counts}


def batch_usage_trend(run: Path) -> tuple[float, float] | None:
    """Per-batch codebook usage (%) at the first and the last logged training step of a run."""
    records = [r for r in read_log(run) if r["event"] == "train"]
    return (100 * records[0]["batch_usage"], 100 * records[-1]["batch_usage"]) if records else None


def known_quantizers(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` without repeats, each one a registered quantizer (a one-line error names the others)."""
    from mtk.tokenizer.quantizers import quantizer_names

    known = quantizer_names()
    if unknown := [n for n in names if n not in known]:
        raise MtkError(None, f"unknown quantizer {', '.join(unknown)}", f"choose from {', '.join(known)}")
    if not names:
        raise MtkError(None, "no quantizer to train", f"choose from {', '.join(known)}")
    return tuple(dict.fromkeys(names))


def quantizer_verdict(usage: dict[str, dict[str, Any]], evals: dict[str, dict[str, Any]],
                      trends: dict[str, tuple[float, float] | None] | None = None) -> str:
    """One honest paragraph on this run's quantizers at the same codebook size: codebook usage over every
    token, test MPJPE, how per-batch usage moved in training (``trends``), and, when FSQ and VQ both ran, what
    the quantizer study (docs/tokenizer.md) concludes about them and how this run compares."""
    names = list(usage)
    parts = []
    for q in names:
        figures, trend = usage[q], (trends or {}).get(q)
        moved = f", per batch {trend[0]:.1f} % -> {trend[1]:.1f} % over training" if trend else ""
        parts.append(f"{q.upper()} used {figures['codes_used']} of {figures['codebook_size']} codes "
                     f"({100 * figures['usage']:.1f} %, perplexity {figures['perplexity']:.0f}{moved}) with test "
                     f"MPJPE {evals[q]['mpjpe_mm']:.1f} mm")
    text = f"Over all {usage[names[0]]['tokens']} tokens of the dataset: " + "; ".join(parts) + "."
    best_usage = max(names, key=lambda q: usage[q]["usage"])
    best_mpjpe = min(names, key=lambda q: evals[q]["mpjpe_mm"])
    if len(names) > 1:
        text += (f" In this run {best_usage.upper()} used the most of its codebook and {best_mpjpe.upper()} "
                 "reconstructed best.")
    if "fsq" in names and "vq" in names:
        agrees = usage["vq"]["usage"] >= usage["fsq"]["usage"] and evals["vq"]["mpjpe_mm"] <= evals["fsq"]["mpjpe_mm"]
        text += (" The quantizer study (docs/tokenizer.md: 10,000 motions, each quantizer at its own tuned "
                 "learning rate, five seeds per size from 2^8 to 2^16 codes) finds the same ordering: VQ with "
                 "EMA and dead-code resets has the lower pose error at every size and uses at least as much of "
                 "its codebook as FSQ, while FSQ needs no codebook state, loss term or reset, keeps its cost flat "
                 "as the codebook grows (a VQ training step at 64,000 codes cost about 6x FSQ's on the study's "
                 "CPU) and must keep its learning rate low enough that its tanh does not saturate." if agrees else
                 " The quantizer study (docs/tokenizer.md: 10,000 motions, tuned learning rates, five seeds per "
                 "size) found VQ with EMA and resets ahead of FSQ on both counts; this short run on a few hundred "
                 "motions differs, which is within what a single seed of a short run shows.")
    return text


# --- report ------------------------------------------------------------------------------------------


def read_log(run: Path) -> list[dict[str, Any]]:
    """The JSON records of a training run's ``log.jsonl``."""
    path = run / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_training(demo: Demo, path: Path) -> None:
    """Training loss, validation MPJPE and batch codebook usage over steps, one line per quantizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for quantizer in demo.quantizers:
        log = read_log(demo.run_dir(quantizer))
        train = [r for r in log if r["event"] == "train"]
        evals = [r for r in log if r["event"] == "eval"]
        label = quantizer.upper()
        axes[0].plot([r["iter"] for r in train], [r["loss"] for r in train], label=label)
        axes[1].plot([r["iter"] for r in evals], [r["mpjpe_mm"] for r in evals], marker="o", label=label)
        axes[2].plot([r["iter"] for r in train], [100 * r["batch_usage"] for r in train], label=label)
    for ax, title in zip(axes, ("training loss", "validation MPJPE (mm)", "codes used per batch (%)"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_usage(usage: dict[str, dict[str, Any]], path: Path) -> None:
    """Per-code token counts, most used first, one panel per quantizer (same codebook size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(usage), figsize=(6 * len(usage), 4), sharey=True, squeeze=False)
    for index, (ax, quantizer) in enumerate(zip(axes[0], usage, strict=True)):
        figures = usage[quantizer]
        counts = np.sort(figures["counts"])[::-1]
        ax.bar(np.arange(len(counts)), counts, width=1.0, color=f"C{index}")
        ax.set_yscale("symlog")
        ax.set_title(f"{quantizer.upper()}: {figures['codes_used']}/{figures['codebook_size']} codes used "
                     f"({100 * figures['usage']:.1f} %), perplexity {figures['perplexity']:.0f}")
        ax.set_xlabel("code, most used first")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("tokens")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def fid_section(demo: Demo) -> str:
    """The reconstruction-FID table of the report, labelled as measured with a random evaluator."""
    def cell(quantizer: str, side: str, key: str) -> str:
        figure = demo.fid[quantizer][side][key]
        return f"{figure['mean']:.3f} ± {figure['conf']:.3f}"

    first = demo.quantizers[0]
    rows = "\n".join(f"| {label} | " + " | ".join(cell(q, "evaluated", key) for q in demo.quantizers)
                     + f" | {cell(first, 'reference', key) if key != 'fid' else '0'} |"
                     for label, key in (("FID", "fid"), ("R-precision top-1", "top1"), ("MM-Dist", "mmdist")))
    head = " | ".join(q.upper() for q in demo.quantizers)
    rule = "|".join("---:" for _ in demo.quantizers)
    return f"""## Reconstruction FID (seeded random evaluator)

**Measured with an evaluator of random weights** (Guo et al.'s architecture at 1/8 of its widths, seeded): it
runs the
papers' protocol end to end (`mtk tokenizer eval --metrics fid,rprecision,mmdist`), but its numbers say
nothing about quality and are not comparable with any paper. {demo.fid[first]['evaluated_motions']} motions (all
splits), batches of {demo.size.fid_batch}, {demo.fid[first]['replications']} replications, mean ± 95 % interval.
docs/metrics.md says which evaluator files to download for real figures.

| | {head} | reference (real crops) |
|---|{rule}|---:|
{rows}
"""


def comparison_table(demo: Demo) -> str:
    """The report's markdown table: one column per quantizer, the test and all-motions figures as rows."""
    names = demo.quantizers
    rows = [("test MPJPE (mm, pelvis-aligned)", lambda q: f"{demo.evals[q]['mpjpe_mm']:.1f}"),
            ("test root error (mm)", lambda q: f"{demo.evals[q]['root_error_mm']:.1f}"),
            ("test codebook usage", lambda q: f"{100 * demo.evals[q]['usage']:.1f} %"),
            ("all-motions codebook usage", lambda q: f"{100 * demo.usage[q]['usage']:.1f} %"),
            ("all-motions perplexity", lambda q: f"{demo.usage[q]['perplexity']:.1f}")]
    lines = ["| | " + " | ".join(q.upper() for q in names) + " |", "|---|" + "|".join("---:" for _ in names) + "|"]
    lines += [f"| {label} | " + " | ".join(cell(q) for q in names) + " |" for label, cell in rows]
    return "\n".join(lines)


def write_report(demo: Demo, result: DemoResult) -> Path:
    """Plots and ``report/report.md`` (summary table, the quantizers side by side, links to every output)."""
    folder = demo.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    plot_training(demo, folder / "training_curves.png")
    plot_usage(demo.usage, folder / "codebook_usage.png")
    rows = "\n".join(f"| {s.name} | {s.seconds:.1f} | {s.figures_text()} |" for s in result.steps)
    first = demo.quantizers[0]
    runs = ", ".join(f"`../runs/{q}/`" for q in demo.quantizers)
    codes = ", ".join(f"`../tokens/{q}/codes/`" for q in demo.quantizers)
    text = f"""# mtk demo report

Built-in procedural dataset ({demo.size.motions} motions, HumanML3D 263-dim layout), tokenizers trained
with the `tiny` preset for {demo.size.iters} steps each, on this machine, in {result.seconds:.0f} s of steps.

## Steps

| step | seconds | key figures |
|---|---:|---|
{rows}

## The quantizers at the same codebook size ({demo.evals[first]['codebook_size']} codes)

{comparison_table(demo)}

{result.verdict}

![codebook usage](codebook_usage.png)

{fid_section(demo)}

## Training

![training curves](training_curves.png)

## A test motion

![motion](motion.gif)

{demo.pfnn_section}
## Outputs

- `../data/sample/`: the dataset (HumanML3D folder layout); `../data/sample.zarr`: the same as a Zarr v3 store
- `../stats/`: Mean.npy / Std.npy and stats.json
- {runs}: checkpoints (`net_best.pth`), `log.jsonl`, `config.json`
- {codes}: MotionMillion-layout tokens (one `.npy` of codes per motion;
  `codes_prob.npy` and `all_data.pkl` beside them); `mtk inspect` opens the code folder
- `../pfnn/`: PFNN database (`database.npz`, Xmean/Xstd/Ymean/Ystd); `../runs/pfnn/`: the PFNN run

Reproduce any step with its command, e.g. `mtk tokenizer eval {demo.store} --ckpt {demo.ckpt(first)}`.
"""
    path = folder / "report.md"
    path.write_text(text, encoding="utf-8")
    return path


def run_demo(out: str | Path = "mtk-demo", quick: bool = False, overwrite: bool = False,
             progress: ProgressFactory | None = None, on_step: Callable[[StepResult], None] | None = None,
             quantizers: tuple[str, ...] = DEFAULT_QUANTIZERS) -> DemoResult:
    """Run the demo into ``out`` with one tokenizer per quantizer; ``on_step`` gets each step as it completes."""
    return Demo(out, SIZES["quick" if quick else "full"], overwrite, progress, quantizers).run(on_step)
