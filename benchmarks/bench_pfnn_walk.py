"""The walking acceptance of issue #21 at full size: does a PFNN trained on text-to-motion data walk without
gliding?

    MTK_TEST_DATA=../shared/data python benchmarks/bench_pfnn_walk.py [--motions 200] [--epochs 8]
        [--select locomotion --keep stand,walk,jog] [--dir /tmp/mtk-bench-pfnn-walk]

1. ``mtk sample --layout smpl272`` motions -> ``mtk convert --to pfnn`` with the motion/text gait labels and the
   selection -> ``mtk pfnn train --epochs N`` (every other setting its default) -> ``mtk pfnn play`` 10 s of
   walking and 10 s of jogging (foot IK on, the defaults), checked against the thresholds: foot sliding at
   most 2x the training data's, speed 85-115 % of the command, pelvis bob at most 3x the data's for that gait;
2. PFNN's own network (``$MTK_TEST_DATA/pfnn/network``) walking 10 s against its mocap's figures (the take
   ``LocomotionFlat04_000``): sliding at most 1.5x, speed 90-110 % of the command.

Prints the export summary, wall and CPU time of each stage, every figure with and without IK and in PFNN's
smoother trajectory mode, and PASS / FAIL per threshold. The test suite checks the same thresholds on a
smaller network (tests/test_pfnn_controller.py); this is the run docs/pfnn.md reports.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

THRESHOLDS = {"walk": (2.0, (0.85, 1.15), 3.0), "jog": (2.0, (0.85, 1.15), 3.0)}


def timed(label: str, work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(f"{label}: {time.perf_counter() - wall:.0f} s wall, {time.process_time() - cpu:.0f} s CPU", flush=True)
    return result


def figures_line(name: str, figures: dict, gait: str) -> str:
    ours = figures["gaits"][gait]
    data = ours["data"] or {}
    return (f"  {name:<22} sliding {ours['foot_sliding_cm_s']:5.2f} cm/s (network {ours['network_foot_sliding_cm_s']:5.1f}; "
            f"data {figures['data_foot_sliding_cm_s']:.2f}), speed {ours['speed_m_s']:.2f} / {ours['command_m_s']:.2f} "
            f"m/s = {100 * ours['speed_ratio']:.0f} %, phase {ours['phase_hz']:.2f} Hz (data {data.get('phase_hz', float('nan')):.2f}), "
            f"pelvis bob {ours['pelvis_bob_cm']:.1f} cm (data {data.get('pelvis_bob_cm', float('nan')):.1f})")


def verdict(figures: dict, gait: str, sliding: float, speed: tuple[float, float], bob: float | None) -> str:
    ours = figures["gaits"][gait]
    checks = [("sliding", ours["foot_sliding_cm_s"] <= sliding * figures["data_foot_sliding_cm_s"]),
              ("speed", speed[0] <= ours["speed_ratio"] <= speed[1])]
    if bob is not None:
        checks.append(("bob", ours["pelvis_bob_cm"] <= bob * ours["data"]["pelvis_bob_cm"]))
    return ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--motions", type=int, default=200)
    parser.add_argument("--epochs", type=float, default=8.0)
    parser.add_argument("--select", default="locomotion")
    parser.add_argument("--keep", default="stand,walk,jog")
    parser.add_argument("--dir", default="/tmp/mtk-bench-pfnn-walk")
    parser.add_argument("--data", default=os.environ.get("MTK_TEST_DATA"))
    args = parser.parse_args()

    from mtk.jobs.sample import write_sample_dataset
    from mtk.pfnn.export import convert_to_pfnn
    from mtk.pfnn.netfile import load_network
    from mtk.pfnn.play import play, report
    from mtk.pfnn.train import TrainConfig, train

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    sample, db, run = work / "sample", work / "db", work / "run"
    timed(f"mtk sample ({args.motions} motions)",
          lambda: write_sample_dataset(str(sample), "smpl272", args.motions, seed=0, overwrite=True))
    summary = timed("mtk convert --to pfnn", lambda: convert_to_pfnn(
        str(sample), str(db), select=args.select, keep=args.keep or None, overwrite=True))
    print(summary)
    result = timed(f"mtk pfnn train --epochs {args.epochs:g}",
                   lambda: train(TrainConfig(str(db), str(run), epochs=args.epochs, overwrite=True)))
    print(f"  {result['steps']} steps, {result['train_rows']} training rows, best validation normalised RMSE "
          f"{result['best_val_normalized_rmse']:.3f}")
    weights = load_network(run)
    for gait, (sliding, speed, bob) in THRESHOLDS.items():
        print(f"{gait}:10 (network from {args.motions} sample motions)")
        for name, kwargs in (("default (IK, responsive)", {}), ("--smooth", {"responsive": False})):
            figures = report(play(weights, path=f"{gait}:10", **kwargs), weights)
            print(figures_line(name, figures, gait) + ("  -> " + verdict(figures, gait, sliding, speed, bob)
                                                       if not kwargs else ""))
    if args.data:
        take = Path(args.data) / "pfnn" / "animations" / "LocomotionFlat04_000.bvh"
        convert_to_pfnn(str(take), str(work / "take"), overwrite=True)
        pfnn = load_network(Path(args.data) / "pfnn" / "network")
        print("walk:10 (PFNN's own network; data: its take LocomotionFlat04_000)")
        for name, kwargs in (("default (IK, responsive)", {}), ("--smooth", {"responsive": False}),
                             ("--no-ik", {"ik": False})):
            figures = report(play(pfnn, path="walk:10", **kwargs), pfnn, data=str(work / "take"))
            print(figures_line(name, figures, "walk") + ("  -> " + verdict(figures, "walk", 1.5, (0.9, 1.1), None)
                                                         if not kwargs else ""))


if __name__ == "__main__":
    main()
