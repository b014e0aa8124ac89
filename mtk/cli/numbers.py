"""The numbers a user types: click types that check every numeric option before a command runs.

Every numeric option of every command uses one of these (``tests/test_cli_numbers.py`` walks the commands
and fails on any other): a value outside its range, NaN or Inf is a one-line usage error naming the option
(``mtk: error: Invalid value for '--fps': nan is not a finite number ...``, exit 2). Both bounds are always
given: the lower one where zero or a negative value means nothing, the upper one where memory or time follows
from the value (a codebook of 10^9 codes, a window of 10^9 frames).
"""

from __future__ import annotations

import math

import click


class Integer(click.IntRange):
    """An integer in ``[low, high]``, both bounds required."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__(min=low, max=high)


class Real(click.FloatRange):
    """A finite float in ``[low, high]`` (``low_open``: excluding ``low``), both bounds required; NaN and Inf
    are refused (click's FloatRange lets NaN through: every comparison with it is false)."""

    def __init__(self, low: float, high: float, low_open: bool = False) -> None:
        super().__init__(min=low, max=high, min_open=low_open)

    def convert(self, value, param, ctx) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


class StepList(click.ParamType):
    """Optimizer steps separated by commas or spaces (``300000,400000``), each in ``[1, MAX_STEPS]``."""

    name = "steps"

    def convert(self, value, param, ctx) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            steps = tuple(int(v) for v in str(value).replace(",", " ").split())
        except ValueError:
            self.fail("give optimizer steps separated by commas, e.g. 300000,400000", param, ctx)
        if any(not 1 <= step <= MAX_STEPS for step in steps):
            self.fail(f"every step must lie in [1, {MAX_STEPS}]", param, ctx)
        return steps


class Unit(click.ParamType):
    """A length unit: a name (``cm``) or metres per unit, checked as :func:`mtk.mocap.placement.parse_unit`
    reads it (finite, within :data:`~mtk.mocap.placement.METRES_PER_UNIT`); the text is passed on as typed."""

    name = "unit"

    def convert(self, value, param, ctx) -> str:
        from mtk.errors import MtkError
        from mtk.mocap.placement import parse_unit

        try:
            parse_unit(str(value))
        except MtkError as err:
            self.fail(f"{err.problem} ({err.hint})", param, ctx)
        return str(value)


#: the most optimizer steps, evaluations or log intervals a run may name (~a year at 30 steps/s)
MAX_STEPS = 10**9

#: frames per second of motion data or a picture (mocap runs to 480; 0 or NaN would divide by zero)
FPS = Real(0.0, 1000.0, low_open=True)
#: worker processes or threads (0 workers: load in the main process)
WORKERS = Integer(1, 256)
LOADER_WORKERS = Integer(0, 64)
THREADS = Integer(1, 1024)
#: a random seed: numpy's generators take 0 .. 2^32 - 1
SEED = Integer(0, 2**32 - 1)
#: passes of a metric over the split, each a full evaluation (the papers use 20)
REPLICATIONS = Integer(1, 1000)
#: the first replication's seed: replication r draws from numpy's RandomState(seed + r), which takes 0 .. 2^32 - 1
REPLICATION_SEED = Integer(0, 2**32 - 1 - REPLICATIONS.max)
#: optimizer steps, warm-up steps and "every N steps" intervals
STEPS = Integer(1, MAX_STEPS)
WARMUP = Integer(0, MAX_STEPS)
#: a learning rate (AdamW / Adam): positive, at most 1
LEARNING_RATE = Real(0.0, 1.0, low_open=True)
#: the factor a learning rate is multiplied by at a milestone
DECAY = Real(0.0, 1.0, low_open=True)
#: a loss weight (commitment, position, root)
LOSS_WEIGHT = Real(0.0, 1000.0)
#: motions or windows per batch (memory grows with it)
BATCH = Integer(1, 65_536)
#: a training window in frames (memory grows with it)
WINDOW = Integer(1, 100_000)
#: codebook entries (a VQ codebook holds codes x code_dim floats: 2^18 x 512 is 512 MiB)
CODEBOOK = Integer(2, 2**18)
#: PFNN's hidden width (4 control sets of hidden x hidden weights: 4096 is 256 MiB, 2.25x more with Adam)
HIDDEN = Integer(1, 4096)
#: passes over the training rows (fractions allowed)
EPOCHS = Real(0.0, 1e6, low_open=True)
#: evaluations over a run
EVALS = Integer(1, 100_000)
#: a fraction of the rows held out
FRACTION = Real(0.0, 0.99)
#: the divisor text-to-motion applies to the root and contact groups' std
FEAT_BIAS = Real(0.0, 1000.0, low_open=True)
#: motions a procedural dataset holds
SAMPLE_COUNT = Integer(1, 1_000_000)
#: key frames in a PNG strip
KEY_FRAMES = Integer(1, 100)
#: seconds of a played motion (frames follow: an hour at 60 fps is 216,000 frames)
SECONDS = Real(0.0, 3600.0, low_open=True)
#: a quantizer's own numeric setting (a weight, a count): finite and non-negative, as the quantizers take them
QUANTIZER_REAL = Real(0.0, 1e6)
QUANTIZER_INT = Integer(0, 2**31 - 1)


def for_kind(kind: type) -> Integer | Real:
    """The type of a numeric setting declared as ``int`` or ``float`` elsewhere (a quantizer's options)."""
    return QUANTIZER_INT if kind is int else QUANTIZER_REAL
