"""``mtk sample`` speed: seconds for 200 procedural motions, against the issue's 10 s target.

    python benchmarks/bench_sample.py [--count 200] [--repeat 3]

Timings (best of --repeat), per layout:
  generate  procedural rotations + FK + feature extraction, in memory
  write     the whole ``write_sample_dataset`` (generation, npy folder, splits, mean/std)
Prints a table and each timing as a fraction of the 10 s target; writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import best_of

from mtk.features import get_layout
from mtk.jobs.sample import write_sample_dataset
from mtk.sample.procedural import motion_features, procedural_motion

TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'layout':8} {'generate s':>11} {'write s':>8} {'write / target':>15}")
    for name in ("hml263", "smpl272"):
        layout = get_layout(name)

        def generate() -> None:
            for i in range(args.count):
                motion_features(procedural_motion(0, i, layout.fps), layout)

        with tempfile.TemporaryDirectory() as tmp:
            counter = iter(range(args.repeat))
            generated = best_of(generate, args.repeat)
            written = best_of(lambda: write_sample_dataset(
                str(Path(tmp) / f"run{next(counter)}"), layout=name, count=args.count), args.repeat)
        print(f"{name:8} {generated:11.2f} {written:8.2f} {written / TARGET_S:15.2f}")


if __name__ == "__main__":
    main()
