"""Dataset stores benchmark: convert throughput and peak RSS, random training windows per second, time to
first batch. Prints ratios; nothing is asserted.

    python benchmarks/bench_stores.py                      # 2,000 motions of 40-600 frames, 272-dim
    python benchmarks/bench_stores.py --motions 6000       # a >= 2 GB dataset for the convert RSS figure
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCHEMA_DIM = 272


def generate(root: Path, motions: int, seed: int = 0) -> tuple[Path, int]:
    """A MotionMillion-layout folder of ``motions`` random float32 motions of 40-600 frames."""
    rng = np.random.default_rng(seed)
    folder = root / "motion_data/vector_272"
    names, total = [], 0
    for i in range(motions):
        name = f"set{i % 4}/{i:06d}"
        frames = int(rng.integers(40, 601))
        path = folder / f"{name}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        features = rng.normal(size=(frames, SCHEMA_DIM)).astype(np.float32)
        np.save(path, features)
        text = root / "texts" / f"{name}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(f"motion {i}#motion/NOUN#0.0#0.0\n")
        names.append(name)
        total += features.nbytes
    split = root / "split/version1"
    split.mkdir(parents=True, exist_ok=True)
    (split / "train.txt").write_text("".join(f"{n}\n" for n in names))
    stats = root / "mean_std/vector_272"
    stats.mkdir(parents=True, exist_ok=True)
    np.save(stats / "mean.npy", np.zeros(SCHEMA_DIM))
    np.save(stats / "std.npy", np.ones(SCHEMA_DIM))
    return root, total


def timed_convert(src: Path, dst: Path, workers: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``mtk convert`` in a fresh process."""
    script = ("import resource, sys, time; from mtk.jobs.convert_dataset import convert_dataset;"
              "t = time.perf_counter(); convert_dataset(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]));"
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", script, str(src), str(dst), str(workers)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def windows_per_second(samplers: dict[str, object], count: int, rounds: int = 5) -> dict[str, float]:
    """Median rate of each sampler over ``rounds`` interleaved rounds (fair when the machine's load varies)."""
    rates: dict[str, list[float]] = {label: [] for label in samplers}
    for sample in samplers.values():
        sample(0)  # open files, warm up
    for r in range(rounds):
        for label, sample in samplers.items():
            started = time.perf_counter()
            for i in range(r * count, (r + 1) * count):
                sample(i)
            rates[label].append(count / (time.perf_counter() - started))
    return {label: float(np.median(values)) for label, values in rates.items()}


def npy_load_sampler(root: Path, names: list[str], window: int, seed: int = 0):
    """MotionMillion's training loader: np.load the motion's file, cut one random window, normalise."""
    rng = np.random.default_rng(seed)
    folder = root / "motion_data/vector_272"
    mean = np.load(root / "mean_std/vector_272/mean.npy")
    std = np.load(root / "mean_std/vector_272/std.npy")
    order = rng.permutation(len(names))

    def sample(i: int) -> np.ndarray:
        motion = np.load(folder / f"{names[order[i % len(names)]]}.npy")
        start = rng.integers(0, len(motion) - window + 1)
        return ((motion[start:start + window] - mean) / std).astype(np.float32)

    return sample


def dataset_sampler(dataset, seed: int = 0):
    order = np.random.default_rng(seed).permutation(len(dataset))
    return lambda i: dataset[int(order[i % len(dataset)])]


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def first_batch_seconds(build) -> float:
    started = time.perf_counter()
    build()
    return time.perf_counter() - started


def preload_first_batch(root: Path, names: list[str], window: int, batch: int) -> None:
    """MotionMillion's eval loader: load every file before the first batch."""
    folder = root / "motion_data/vector_272"
    data = [np.load(folder / f"{n}.npy") for n in names]
    np.stack([m[:window] for m in data[:batch]])


def store_first_batch(path: Path, window: int, batch: int) -> None:
    import torch

    from mtk.jobs.torch_data import WindowDataset

    loader = torch.utils.data.DataLoader(WindowDataset(str(path), window=window), batch_size=batch, shuffle=True)
    next(iter(loader))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--motions", type=int, default=2000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--windows", type=int, default=20000, help="windows drawn per reader")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    from mtk.formats.datasets import open_dataset
    from mtk.jobs.torch_data import WindowDataset

    work = args.dir or Path(tempfile.mkdtemp(prefix="mtk-bench-"))
    src, nbytes = generate(work / "src", args.motions)
    reader = open_dataset(src)
    names = reader.names
    long_enough = [n for n in names if reader.length(n) >= args.window]  # MotionMillion's pre-filtered split
    figures: dict[str, float] = {"motions": args.motions, "dataset_mb": nbytes / 1e6}
    print(f"dataset: {args.motions} motions, {nbytes / 1e6:.0f} MB of float32 features in {work}")

    for target in ("zarr", "h5"):
        seconds, peak = timed_convert(src, work / f"data.{target}", args.workers)
        figures[f"convert_{target}_mb_s"] = nbytes / 1e6 / seconds
        figures[f"convert_{target}_peak_rss_mb"] = peak
        print(f"convert npy -> {target}: {nbytes / 1e6 / seconds:.0f} MB/s, peak RSS {peak:.0f} MB "
              f"({args.workers} reading threads)")

    import warnings

    warnings.simplefilter("ignore")
    samplers = {"np.load": npy_load_sampler(src, long_enough, args.window)}
    datasets = {label: WindowDataset(str(path), window=args.window)
                for label, path in (("zarr", work / "data.zarr"), ("h5", work / "data.h5"), ("npy folder", src))}
    samplers.update({label: dataset_sampler(ds) for label, ds in datasets.items()})
    zarr_sampler = samplers["zarr"]
    zarr_sampler(0)
    before = rss_mb()
    for i in range(2 * len(datasets["zarr"])):  # two epochs
        zarr_sampler(i)
    grown = rss_mb() - before
    rates = windows_per_second(samplers, args.windows // 5)
    baseline = rates["np.load"]
    print(f"random {args.window}-frame windows/s (median of 5 interleaved rounds), per-file np.load "
          f"(MotionMillion): {baseline:,.0f}")
    for label in datasets:
        rate = rates[label]
        figures[f"window_dataset_{label.replace(' ', '_')}_windows_s"] = rate
        print(f"random {args.window}-frame windows/s, WindowDataset on {label}: {rate:,.0f} "
              f"({rate / baseline:.1f}x np.load)")
    figures["npy_load_windows_s"] = baseline
    figures["sampling_rss_growth_mb"] = grown
    print(f"RSS growth over two epochs of WindowDataset on zarr: {grown:.1f} MB")

    preload = first_batch_seconds(lambda: preload_first_batch(src, long_enough, args.window, 64))
    lazy = first_batch_seconds(lambda: store_first_batch(work / "data.zarr", args.window, 64))
    figures.update(first_batch_preload_s=preload, first_batch_store_s=lazy)
    print(f"time to first batch: preload every file {preload:.2f} s, WindowDataset on zarr {lazy:.3f} s "
          f"({preload / lazy:.0f}x faster)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
