"""``mtk convert --to pfnn`` against PFNN's own generator on the same take (LocomotionFlat04_000).

PFNN's ``generate_database.py`` (original 2017 script) takes about 0.6 s of processing and 2.4 s in all for
this take (measured when PFNN's script was run here; docs/pfnn.md, "Reproducing PFNN's generator"); it writes 8850 rows of which 885 are distinct (every flat cycle is
written 10 times). mtk writes the 885 distinct rows once. To compare like with like on your machine, pass
``--pfnn-processing`` / ``--pfnn-total`` with figures you measured, or ``--pfnn-dir DIR``: a checkout of PFNN
whose ``generate_database.py`` runs under today's numpy (numpy 2 fixes only) with its clip list cut to this
take; its whole process is then timed alternately with ``mtk convert`` (same load for both).

    MTK_TEST_DATA=../shared/data python benchmarks/bench_pfnn.py [--repeat 5] [--pfnn-dir DIR]

Timings (best of --repeat):
  processing  rows from arrays already in memory (PFNN's "processing": process_data + cycle loop)
  library     read the BVH and side files, build rows, stats, write the folder (no interpreter start-up)
  cli         ``python -m mtk convert ... --to pfnn`` as a whole process (PFNN's "in all")
Also: rows/s on 22-joint data (the real HumanML3D clip repeated as a dataset) with 1 and 2 workers.
Prints a table and the ratios; writes nothing outside --dir.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import best_of

#: PFNN's generator on LocomotionFlat04_000: seconds, rows written, distinct rows
PFNN_PROCESSING_S, PFNN_TOTAL_S, PFNN_ROWS, PFNN_DISTINCT = 0.6, 2.4, 8850, 885


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MTK_TEST_DATA", "../shared/data"))
    parser.add_argument("--dir", default="/tmp/mtk-bench-pfnn")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pfnn-processing", type=float, default=PFNN_PROCESSING_S)
    parser.add_argument("--pfnn-total", type=float, default=PFNN_TOTAL_S)
    parser.add_argument("--pfnn-dir", default=None, help="run PFNN's generate_database.py there for 'cli'")
    parser.add_argument("--motions", type=int, default=200, help="clips in the 22-joint dataset run")
    args = parser.parse_args()

    from mtk.pfnn.export import convert_to_pfnn
    from mtk.pfnn.sources import ExportOptions, source_from_bvh
    from mtk.pfnn.schema import get_preset
    from mtk.pfnn.rows import export_rows

    take = Path(args.data) / "pfnn/animations/LocomotionFlat04_000.bvh"
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    source = source_from_bvh(take, ExportOptions())
    preset = get_preset("pfnn31")
    rows = len(export_rows(source.motion, preset))
    processing = best_of(lambda: export_rows(source.motion, preset), args.repeat)
    library = best_of(lambda: convert_to_pfnn(str(take), str(work / "lib"), overwrite=True), args.repeat)
    command = [sys.executable, "-m", "mtk", "-q", "convert", str(take), str(work / "cli"), "--to", "pfnn",
               "--overwrite"]
    cli = best_of(lambda: subprocess.run(command, check=True, capture_output=True), args.repeat)
    if args.pfnn_dir:
        generator = [sys.executable, "generate_database.py"]
        pfnn_total, ours = [], []
        for _ in range(args.repeat):  # alternate, so both see the same machine load
            pfnn_total.append(best_of(lambda: subprocess.run(generator, cwd=args.pfnn_dir, check=True,
                                                             capture_output=True), 1))
            ours.append(best_of(lambda: subprocess.run(command, check=True, capture_output=True), 1))
        args.pfnn_total, cli = min(pfnn_total), min(ours)

    print(f"take: {take.name}, {rows} rows (PFNN: {PFNN_ROWS} written, {PFNN_DISTINCT} distinct)")
    print(f"{'stage':<12}{'mtk s':>10}{'PFNN s':>10}{'mtk rows/s':>14}{'PFNN rows/s':>14}{'ratio':>8}")
    for stage, ours, theirs in (("processing", processing, args.pfnn_processing),
                                ("library", library, None), ("cli", cli, args.pfnn_total)):
        theirs_text = f"{theirs:>10.3f}" if theirs else f"{'-':>10}"
        rate = f"{PFNN_DISTINCT / theirs:>14.0f}" if theirs else f"{'-':>14}"
        ratio = f"{theirs / ours:>7.1f}x" if theirs else f"{'-':>8}"
        print(f"{stage:<12}{ours:>10.4f}{theirs_text}{rows / ours:>14.0f}{rate}{ratio}")
    print(f"(PFNN rows/s counts distinct rows; counting its {PFNN_ROWS} written rows: "
          f"{PFNN_ROWS / args.pfnn_processing:.0f} rows/s processing, {PFNN_ROWS / args.pfnn_total:.0f} in all)")

    dataset = work / "hml"
    features = np.load(Path(args.data) / "humanml3d/new_joint_vecs/012314.npy")
    (dataset / "new_joint_vecs").mkdir(parents=True, exist_ok=True)
    for i in range(args.motions):
        np.save(dataset / "new_joint_vecs" / f"{i:06d}.npy", features[i % 40:])
    for workers in (1, 2):
        start = time.perf_counter()
        summary = convert_to_pfnn(str(dataset), str(work / f"hml-{workers}"), workers=workers, overwrite=True)
        seconds = time.perf_counter() - start
        count = int(summary.split(": ")[1].split(" rows")[0])
        print(f"smpl22 dataset, {args.motions} clips, {workers} worker(s): {count} rows in {seconds:.2f} s "
              f"= {count / seconds:.0f} rows/s")


if __name__ == "__main__":
    main()
