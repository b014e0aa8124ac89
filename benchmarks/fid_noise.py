"""How noisy reconstruction FID (and R-precision) are under T2M-GPT's protocol, by replication count.

Each replication draws new captions, crops and batches (``RandomState(seed + r)``); papers report the mean of
20 and ``1.96 · std / sqrt(20)``. This script runs ``--replications`` of them for one tokenizer and prints the
per-replication spread, the 95 % half-interval the papers would print for 1, 5, 10 and 20 replications, and
the spread of the means of disjoint groups of replications (what two papers running the same model see),
and every replication's FID.

    python benchmarks/fid_noise.py DATA --ckpt RUN/net_best.pth [--evaluator DIR --glove DIR]
        [--replications 40] [--split all] [--sizes released|small] [--fid-only]

Without ``--evaluator`` a seeded random evaluator of Guo et al.'s architecture is written to a temporary
folder (``--sizes``: the released widths or 1/8 of them): its FID values say nothing about quality, but the
protocol's sampling noise is measured on the same code path. The noise shrinks with the split's size (the
HumanML3D test split keeps about 4,400 motions); say which split and evaluator the figures come from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--evaluator")
    parser.add_argument("--glove")
    parser.add_argument("--split", default="all")
    parser.add_argument("--replications", type=int, default=40)
    parser.add_argument("--sizes", choices=("released", "small"), default="released")
    parser.add_argument("--fid-only", action="store_true", help="skip the text encoder (R-precision, MM-Dist)")
    parser.add_argument("--json", help="also write the per-replication values here")
    args = parser.parse_args()

    from mtk.formats.datasets import open_dataset
    from mtk.metrics import random_evaluator
    from mtk.metrics.statistics import confidence_interval
    from mtk.tokenizer.paper_metrics import evaluate_with_evaluator

    evaluator, glove, label = args.evaluator, args.glove, "given evaluator"
    if evaluator is None:
        reader = open_dataset(args.data)
        captions = [line for motion in reader.iter(None) for line in motion.texts]
        folder = tempfile.mkdtemp(prefix="fid-noise-")
        sizes = random_evaluator.RELEASED if args.sizes == "released" else random_evaluator.SMALL
        evaluator, glove = map(str, random_evaluator.write_random_t2m_evaluator(
            folder, reader.info.stats.mean, reader.info.stats.std, captions, sizes=sizes))
        label = f"seeded random evaluator ({args.sizes} widths)"
    started = time.perf_counter()

    def progress(n: int) -> None:
        progress.done += n
        print(f"replication {progress.done}/{args.replications} at {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)

    progress.done = 0
    result = evaluate_with_evaluator(args.data, args.ckpt, evaluator, split=args.split, glove=glove,
                                     replications=args.replications, with_text=not args.fid_only,
                                     on_progress=progress)
    seconds = time.perf_counter() - started
    print(f"{label}; {result['evaluated_motions']} motions ({args.split}), {args.replications} replications "
          f"in {seconds:.0f} s")
    group = min(20, args.replications // 2)
    print("| figure | mean | std per replication | 95 % half-interval for R = 1 / 5 / 10 / 20 | "
          f"spread of means of disjoint groups of {group} (max - min) |")
    print("|---|---:|---:|---|---:|")
    for side, key in (("evaluated", "fid"), ("evaluated", "top1"), ("reference", "top1"), ("evaluated", "mmdist"),
                      ("evaluated", "diversity")):
        values = np.array(result[side][key]["values"])
        if not np.isfinite(values).all() or (args.fid_only and key in ("top1", "mmdist")):
            continue
        std = values.std()
        halves = " / ".join(f"{1.96 * std / np.sqrt(r):.4f}" for r in (1, 5, 10, 20))
        groups = [values[i: i + group].mean() for i in range(0, len(values) - group + 1, group)]
        spread = f"{max(groups) - min(groups):.4f} ({len(groups)} groups)" if len(groups) > 1 else "-"
        print(f"| {side} {key} | {values.mean():.4f} | {std:.4f} | {halves} | {spread} |")
        assert np.isclose(confidence_interval(values), 1.96 * std / np.sqrt(len(values)))
    print("FID per replication:", " ".join(f"{v:.4f}" for v in result["evaluated"]["fid"]["values"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
