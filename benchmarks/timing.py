"""Timing shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``, so this imports as ``timing``)."""

from __future__ import annotations

import time


def best_of(work, repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` calls of ``work()``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)
