"""Tokenizer presets: architecture plus training defaults.

``mm64k`` is MotionMillion's configuration (``scripts/train/train_tokenizer.sh``); ``small`` is a
single-GPU model; ``tiny`` trains on a laptop CPU in minutes. Step counts are optimizer steps from the
start of training, warm-up included, whatever the number of processes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preset:
    """One named configuration."""

    name: str
    # architecture
    width: int
    code_dim: int
    down_t: int
    depth: int
    dilation_growth_rate: int
    codebook_size: int
    # training defaults
    window: int
    batch_size: int
    lr: float
    warmup: int
    iters: int
    milestones: tuple[int, ...]
    gamma: float
    eval_every: int
    save_every: int
    #: weight of the root/heading loss term (MotionMillion: 0, its ``forward_root`` is off)
    root_weight: float = 0.0
    #: intra-op threads when training on a CPU (None: torch's default); tiny convs run faster on one
    cpu_threads: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


MOTIONMILLION_WARMUP = 48_000

PRESETS: dict[str, Preset] = {
    "mm64k": Preset(
        name="mm64k", width=512, code_dim=512, down_t=1, depth=3, dilation_growth_rate=3,
        codebook_size=2**16, window=96, batch_size=64, lr=5e-5, warmup=MOTIONMILLION_WARMUP,
        iters=MOTIONMILLION_WARMUP + 6_000_000, milestones=(MOTIONMILLION_WARMUP + 300_000,), gamma=0.05,
        eval_every=3_000, save_every=1_000,
    ),
    "small": Preset(
        name="small", width=256, code_dim=256, down_t=1, depth=3, dilation_growth_rate=3,
        codebook_size=2**14, window=64, batch_size=64, lr=2e-4, warmup=2_000, iters=200_000,
        milestones=(150_000,), gamma=0.1, eval_every=5_000, save_every=1_000,
    ),
    "tiny": Preset(
        name="tiny", width=64, code_dim=64, down_t=1, depth=2, dilation_growth_rate=3,
        codebook_size=2**10, window=32, batch_size=32, lr=2e-3, warmup=50, iters=1_200,
        milestones=(900,), gamma=0.2, eval_every=200, save_every=200, root_weight=1.0, cpu_threads=1,
    ),
}


#: the preset trained when none is named: MotionMillion's with a GPU, else one a CPU finishes in minutes
GPU_DEFAULT = "mm64k"
CPU_DEFAULT = "tiny"
#: rough seconds per mm64k step on a CPU (batch 64 of 96 frames through a width-512 net), for the warning
MM64K_CPU_SECONDS_PER_STEP = 1.0


def default_preset() -> str:
    """``mm64k`` when torch sees a GPU, else ``tiny``."""
    import torch

    return GPU_DEFAULT if torch.cuda.is_available() else CPU_DEFAULT


def cpu_default_note() -> str:
    """The one line said when a CPU trains ``tiny`` because no preset was named."""
    big = PRESETS[GPU_DEFAULT]
    days = big.iters * MM64K_CPU_SECONDS_PER_STEP / 86_400
    return (f"no GPU: training --preset {CPU_DEFAULT} ({PRESETS[CPU_DEFAULT].iters:,} steps, minutes); "
            f"{GPU_DEFAULT} ({big.iters:,} steps) would take about {days:,.0f} days here: "
            f"pass --preset {GPU_DEFAULT} to insist")


def preset_table() -> str:
    """Every preset's steps and codebook, for ``--help``."""
    return "; ".join(f"{p.name}: {p.iters:,} steps, {p.codebook_size:,} codes" for p in PRESETS.values())


def get_preset(name: str) -> Preset:
    """A preset by name; unknown names raise ValueError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown tokenizer preset {name!r}; known: {', '.join(PRESETS)}") from None
