"""Batched tokenization against one motion at a time (MotionMillion's get-codes way), on the CPU.

Both runs use mtk's encoding pipeline on the same ``mtk sample`` dataset and model: read each motion,
normalise, crop to a multiple of the unit length, encode. One-at-a-time calls the model per motion (batch 1,
no padding); batched groups motions of similar length into zero-padded batches with lengths. Codes are
compared token by token. Timings are the best of ``--repeat`` runs, alternating the two, so a busy machine
penalises both alike.

    python benchmarks/bench_tokenize.py [--motions 128] [--presets tiny,small,mm64k] [--batch-size 64]
                                        [--threads 2] [--repeat 3] [--dir /tmp/mtk-bench-tokenize]

Prints motions per second (wall clock), their ratio, and the ratio of CPU seconds spent by this process
(less sensitive to other load on a shared machine); writes nothing outside --dir.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mtk.formats.datasets import open_dataset
from mtk.tokenizer import build_model
from mtk.tokenizer.encode import encode_motions


def make_dataset(root: Path, motions: int) -> Path:
    """A procedural 272-dim MotionMillion-layout dataset (2-10 s motions at 30 fps)."""
    out = root / f"sample272-{motions}"
    if not out.exists():
        subprocess.run([sys.executable, "-m", "mtk", "sample", str(out), "--layout", "smpl272", "--count",
                        str(motions), "--seed", "7"], check=True, capture_output=True)
    return out


def timed(reader, names, model, stats, batch_size: int) -> tuple[float, float, dict[str, np.ndarray]]:
    """(wall seconds, CPU seconds of this process, codes)."""
    start, cpu = time.perf_counter(), time.process_time()
    codes = {e.name: e.codes for e in encode_motions(reader, names, model, stats.mean, stats.std, batch_size)}
    return time.perf_counter() - start, time.process_time() - cpu, codes


def bench(reader, preset: str, batch_size: int, repeat: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(preset, reader.info.layout.dim).eval()
    names, stats = reader.names, reader.info.stats
    timed(reader, names[:4], model, stats, 1)  # warm-up: allocator and first kernels
    single = batched = single_cpu = batched_cpu = float("inf")
    for _ in range(repeat):
        t, c, alone = timed(reader, names, model, stats, 1)
        single, single_cpu = min(single, t), min(single_cpu, c)
        t, c, together = timed(reader, names, model, stats, batch_size)
        batched, batched_cpu = min(batched, t), min(batched_cpu, c)
    equal = sum(int((alone[n] == together[n]).sum()) for n in names)
    total = sum(len(alone[n]) for n in names)
    return {"single": len(names) / single, "batched": len(names) / batched, "cpu_ratio": single_cpu / batched_cpu,
            "equal": equal, "tokens": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--motions", type=int, default=128)
    parser.add_argument("--presets", default="tiny,small,mm64k")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (CI machines have 2 cores)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mtk-bench-tokenize"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reader = open_dataset(make_dataset(args.dir, args.motions))
    frames = sum(reader.length(n) for n in reader.names)
    print(f"{len(reader)} motions, {frames} frames (mean {frames / len(reader):.0f}), {args.threads} threads, "
          f"batch size {args.batch_size}, best of {args.repeat}, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'preset':8} {'one-at-a-time':>15} {'batched':>12} {'ratio':>7} {'CPU-time ratio':>15}  identical tokens")
    for preset in args.presets.split(","):
        r = bench(reader, preset, args.batch_size, args.repeat)
        print(f"{preset:8} {r['single']:11.1f} m/s {r['batched']:8.1f} m/s {r['batched'] / r['single']:6.2f}x "
              f"{r['cpu_ratio']:14.2f}x  {r['equal']}/{r['tokens']} ({100 * r['equal'] / r['tokens']:.4f} %)")


if __name__ == "__main__":
    main()
