"""Tokenizer training on one process against two (a gloo group on the CPU), at the same global batch.

    python benchmarks/bench_processes.py [--preset tiny] [--quantizer fsq] [--global-batch 64] [--steps 60]
                                         [--rounds 3]

Every configuration trains the same run (the same windows, :mod:`mtk.tokenizer.sampling`) into a fresh
folder on a procedural 272 dataset, through the real command line:

* ``1 process``: the global batch, 1 thread (the tiny preset's CPU default);
* ``1 process, N threads``: the global batch, one thread per core (its other sensible setting);
* ``2 processes``: ``torchrun --standalone --nproc_per_node 2``, half the global batch each, 1 thread each.

Steps/s comes from log.jsonl's timestamps between the first and the last training record (start-up and
the first evaluation are left out). Rounds alternate the configurations so that all see the same machine
load; the best round of each is printed with the spread of all, then the ratio of two processes to the
faster one-process setting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def steps_per_second(run: Path) -> float:
    """Training steps per second between the first and the last ``train`` record of ``run``'s log."""
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r["event"] == "train"]
    first, last = train[0], train[-1]
    return (last["iter"] - first["iter"]) / (last["time"] - first["time"])


def train_command(args: argparse.Namespace, data: Path, out: Path, batch: int, threads: int) -> list[str]:
    return ["tokenizer", "train", str(data), "--out", str(out), "--preset", args.preset, "--quantizer",
            args.quantizer, "--iters", str(args.steps), "--batch-size", str(batch), "--log-every", "5",
            "--eval-every", str(10 * args.steps), "--save-every", str(10 * args.steps), "--workers", "0",
            "--threads", str(threads), "-q"]


def configurations(args: argparse.Namespace, data: Path) -> dict[str, Callable[[Path], None]]:
    cores = os.cpu_count() or 1
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}

    def one(threads: int) -> Callable[[Path], None]:
        def run(out: Path) -> None:
            command = [sys.executable, "-m", "mtk", *train_command(args, data, out, args.global_batch, threads)]
            subprocess.run(command, check=True, env={**env, "OMP_NUM_THREADS": str(threads)})
        return run

    def two(out: Path) -> None:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                   "-m", "mtk", *train_command(args, data, out, args.global_batch // 2, 1)]
        subprocess.run(command, check=True, env=env, stderr=subprocess.DEVNULL)

    return {"1 process, 1 thread": one(1), f"1 process, {cores} threads": one(cores),
            "2 processes, 1 thread each": two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--quantizer", default="fsq")
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--motions", type=int, default=64)
    args = parser.parse_args()
    from mtk.jobs.sample import write_sample_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sample"
        write_sample_dataset(str(data), layout="smpl272", count=args.motions, seed=0)
        runs = configurations(args, data)
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for round_ in range(args.rounds):
            for index, (name, run) in enumerate(runs.items()):
                out = Path(tmp) / f"run{round_}_{index}"
                run(out)
                rates[name].append(steps_per_second(out))
    print(f"{args.preset} preset, {args.quantizer}, global batch {args.global_batch}, {args.steps} steps, "
          f"{args.rounds} rounds, {os.cpu_count()} CPU cores")
    for name, values in rates.items():
        print(f"  {name:28s} {max(values):6.2f} steps/s (rounds: {', '.join(f'{v:.2f}' for v in values)})")
    best_one = max(max(v) for name, v in rates.items() if name.startswith("1 process"))
    print(f"  2 processes / best 1 process: {max(rates['2 processes, 1 thread each']) / best_one:.2f}x")


if __name__ == "__main__":
    main()
