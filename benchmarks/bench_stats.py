"""``mtk stats`` against the reference approach, as whole processes on a warm page cache.

Reference (HumanML3D cal_mean_variance, 272 cal_mean_std): load every motion, ``np.concatenate``,
``mean(0)``/``std(0)``. From a Zarr store the reference reads the whole ``features`` array in one call
(its best case: no per-motion reads, no concatenation). mtk streams float64 moments in parallel.

Peak memory is sampled every few ms over the whole process tree (parent and workers): PSS (shared
pages split between the processes that map them) and RSS (counted once per process).

    python benchmarks/bench_stats.py [--dir /tmp/mtk-bench-stats] [--motions 2000] [--repeat 3]

Prints a table and the ratios (wall time, CPU time of the process tree, peaks); writes nothing outside
--dir. Times are the best of --repeat runs, interleaved with the reference's, after one warm-up each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REFERENCE_NPY = """
import sys, numpy as np
root = sys.argv[1]
names = sorted(n for n in __import__("os").listdir(root + "/new_joint_vecs") if n.endswith(".npy"))
data = np.concatenate([np.load(f"{root}/new_joint_vecs/{n}") for n in names], axis=0)
mean, std = data.mean(axis=0), data.std(axis=0)
print(data.shape[0], float(std.sum()))
"""
REFERENCE_ZARR = """
import sys, zarr
data = zarr.open_group(sys.argv[1], mode="r")["features"][:]
mean, std = data.mean(axis=0), data.std(axis=0)
print(data.shape[0], float(std.sum()))
"""


def make_dataset(root: Path, motions: int, seed: int = 0) -> Path:
    """A HumanML3D-layout folder of float32 263-dim motions, 40-604 frames (mean ~322)."""
    folder = root / "npy"
    if (folder / "all.txt").is_file():
        return folder
    rng = np.random.default_rng(seed)
    (folder / "new_joint_vecs").mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}" for i in range(motions)]
    for name in names:
        features = rng.normal(size=(int(rng.integers(40, 605)), 263)).astype(np.float32)
        features[:, 259:263] = features[:, 259:263] > 0  # binary contacts
        np.save(folder / "new_joint_vecs" / f"{name}.npy", features)
    (folder / "all.txt").write_text("".join(f"{n}\n" for n in names))
    return folder


def make_store(folder: Path, store: Path) -> Path:
    """The same motions in a Zarr store, written by mtk's own writer."""
    if store.exists():
        return store
    from mtk.formats.datasets import create_writer, open_dataset

    reader = open_dataset(str(folder))
    with create_writer(str(store), "zarr", reader.info) as writer:
        for motion in reader.iter():
            writer.add(motion)
        writer.set_splits(reader.info.splits)
    return store


def _tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as handle:
                children = [int(c) for c in handle.read().split()]
        except OSError:
            continue
        pids += children
        frontier += children
    return pids


def _memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of a process in bytes, 0 when it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: list[str]) -> tuple[float, float, int, int, str]:
    """Wall time, CPU time (user + sys of the whole tree), peak tree PSS, peak tree RSS and stdout."""
    peaks = [0, 0]
    cpu = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            totals = [sum(values) for values in zip(*(_memory(p) for p in _tree(process.pid)))] or [0, 0]
            peaks[0], peaks[1] = max(peaks[0], totals[0]), max(peaks[1], totals[1])
            time.sleep(0.003)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{command} failed: {err.strip()}")
    return elapsed, _children_cpu() - cpu, peaks[0], peaks[1], out


def best_of(commands: list[list[str]], repeat: int) -> list[tuple[float, float, int, int, str]]:
    """Best times, peak memories and output of each command; runs interleave so load hits all alike."""
    for command in commands:
        run_measured(command)  # warm the page cache and the imports
    runs = [[run_measured(command) for command in commands] for _ in range(repeat)]
    return [(min(r[i][0] for r in runs), min(r[i][1] for r in runs), max(r[i][2] for r in runs),
             max(r[i][3] for r in runs), runs[0][i][4]) for i in range(len(commands))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mtk-bench-stats"))
    parser.add_argument("--motions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", default=[0],
                        help="worker counts to time (0: mtk's default)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = make_dataset(args.dir, args.motions)
    store = make_store(folder, args.dir / "store.zarr")
    files = list((folder / "new_joint_vecs").glob("*.npy"))
    frames = sum(np.load(p, mmap_mode="r").shape[0] for p in files)
    print(f"{len(files)} motions, {frames} frames, {sum(p.stat().st_size for p in files) / 1e6:.0f} MB float32; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'source':11} {'approach':22} {'wall s':>7} {'cpu s':>6} {'PSS MB':>7} {'RSS MB':>7} {'speed-up':>9} "
          f"{'PSS %':>6} {'RSS %':>6}")
    for source, reference, path in (("npy folder", REFERENCE_NPY, folder), ("zarr store", REFERENCE_ZARR, store)):
        commands = [[sys.executable, "-c", reference, str(path)]]
        for workers in args.workers:
            commands.append([sys.executable, "-m", "mtk", "--quiet", "stats", "--split", "all", "--json", str(path),
                             *(["--workers", str(workers)] if workers else [])])
        results = best_of(commands, args.repeat)
        ref = results[0]
        assert int(ref[4].split()[0]) == frames, "the reference saw other frames"
        for workers, (t, cpu, pss, rss, out) in zip([None, *args.workers], results):
            label = "reference" if workers is None else f"mtk stats ({f'{workers} workers' if workers else 'default'})"
            if workers is not None:
                assert json.loads(out)["frames"] == frames, "mtk stats saw other frames"
            print(f"{source:11} {label:22} {t:7.2f} {cpu:6.2f} {pss / 1e6:7.0f} {rss / 1e6:7.0f} {ref[0] / t:8.2f}x "
                  f"{pss / ref[2]:6.1%} {rss / ref[3]:6.1%}")


if __name__ == "__main__":
    main()
