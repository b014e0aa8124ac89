"""Which training windows each process takes at each step: a pure function of the seed and the sample number.

The training samples form one endless stream. Pass ``e`` over the ``n`` training motions visits them in the
order ``numpy.random.default_rng([seed, e]).permutation(n)``, each with a window start drawn uniformly in
``0..T - window`` by the same generator (MotionMillion's sampling: every motion equally often, a fresh random
window at each visit). A step takes the next ``G = batch x processes`` samples of the stream, and process
``r`` takes the ``r``-th run of ``batch`` of them. Hence:

* one process with batch ``2B`` and two processes with batch ``B`` train on the same windows, in the same
  order within the global batch;
* a resumed run continues the stream at the sample where it stopped, whatever the number of processes;
* every process takes a batch at every step, even when the data hold fewer windows than one global batch
  (a batch then spans passes), so no process ever waits for another that ran out of data;
* DataLoader workers only read: they draw no random numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Sampler


class WindowStream:
    """The endless stream of sample keys over ``count`` items: ``(index, start)`` pairs for a dataset of
    windows (``lengths`` in frames and ``window`` given), plain indices otherwise."""

    def __init__(self, count: int, seed: int, lengths: Sequence[int] | None = None, window: int | None = None):
        if count < 1:
            raise ValueError("a sample stream needs at least one item")
        self.count = int(count)
        self.seed = int(seed)
        self.lengths = None if lengths is None else np.asarray(lengths, dtype=np.int64)
        self.window = None if window is None else int(window)
        self._pass: tuple[int, np.ndarray, np.ndarray | None] | None = None

    def visit(self, number: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Pass ``number``: the item order and, for windows, each visit's start frame."""
        if self._pass is None or self._pass[0] != number:
            rng = np.random.default_rng([self.seed, number])
            order = rng.permutation(self.count)
            starts = None
            if self.lengths is not None and self.window is not None:
                starts = rng.integers(0, self.lengths[order] - self.window + 1)
            self._pass = (number, order, starts)
        return self._pass[1], self._pass[2]

    def keys(self, first: int, count: int) -> list[Any]:
        """The keys of samples ``first .. first + count - 1``."""
        keys: list[Any] = []
        sample = first
        while len(keys) < count:
            number, position = divmod(sample, self.count)
            order, starts = self.visit(number)
            stop = min(self.count, position + count - len(keys))
            if starts is None:
                keys += order[position:stop].tolist()
            else:
                keys += list(zip(order[position:stop].tolist(), starts[position:stop].tolist(), strict=True))
            sample += stop - position
        return keys


class StepBatches(Sampler[list]):
    """A DataLoader ``batch_sampler``: process ``rank`` of ``processes``'s batch at each of ``steps`` steps,
    starting at sample ``first`` of the stream."""

    def __init__(self, stream: WindowStream, batch_size: int, rank: int, processes: int, first: int, steps: int):
        self.stream = stream
        self.batch_size = int(batch_size)
        self.rank = int(rank)
        self.processes = int(processes)
        self.first = int(first)
        self.steps = max(0, int(steps))

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.processes

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list]:
        for step in range(self.steps):
            start = self.first + step * self.global_batch + self.rank * self.batch_size
            yield self.stream.keys(start, self.batch_size)
