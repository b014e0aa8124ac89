"""Learning-rate schedule: linear warm-up, then step decay at milestones, counted in optimizer steps.

The rate is a pure function of the optimizer step, so it is the same on every process and after a resume.
(MotionMillion's accelerate-wrapped ``MultiStepLR`` is stepped once per process per iteration, which drops
the rate ``num_processes`` times too early; this schedule does not reproduce that.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch.optim import Optimizer


@dataclass(frozen=True)
class WarmupStepSchedule:
    """``lr * (step + 1) / warmup`` during warm-up, then ``lr * gamma ** (milestones passed)``."""

    lr: float
    warmup: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    def lr_at(self, step: int) -> float:
        """The rate for optimizer step ``step`` (0-based: the first step is 0)."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        return self.lr * self.gamma ** sum(step >= m for m in self.milestones)

    def apply(self, optimizer: Optimizer, step: int) -> float:
        """Set every parameter group's rate for ``step``; returns it."""
        lr = self.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict:
        return {**asdict(self), "milestones": list(self.milestones)}
