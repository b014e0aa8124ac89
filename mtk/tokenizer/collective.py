"""What quantizers share across training processes, so that every process keeps the same quantizer and the
result equals one process trained on the whole global batch.

* statistics of the batch (VQ's EMA counts and sums) are summed over processes: :func:`all_reduce_sum`;
* batch means inside the loss (LFQ's code distribution) are means over the global batch, with gradients
  that DDP's averaging turns into the one-process gradient: :func:`global_mean`;
* rows drawn from the data (VQ's initial codebook and re-seeded codes) are drawn from the encoder outputs of
  all processes, in rank order (the order of one process's batch), with a generator seeded from process 0:
  :func:`gather_rows`, :func:`shared_generator`;
* decisions (which codes are dead) come from process 0: :func:`broadcast_from_main`.

Outside a process group every function is the identity (or a local draw), so a quantizer calls them
unconditionally.
"""

from __future__ import annotations

import torch
from torch import Tensor, distributed as dist


def in_group() -> bool:
    """Whether a ``torch.distributed`` group is running."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if in_group() else 1


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """``tensor`` summed over processes, in place."""
    if in_group():
        dist.all_reduce(tensor)
    return tensor


def broadcast_from_main(tensor: Tensor) -> Tensor:
    """Process 0's ``tensor`` on every process, in place."""
    if in_group():
        dist.broadcast(tensor, src=0)
    return tensor


def gather_rows(rows: Tensor) -> Tensor:
    """``rows (M, ...)`` of every process concatenated in rank order (every process holds ``M`` rows)."""
    if not in_group():
        return rows
    parts = [torch.empty_like(rows) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, rows.contiguous())
    return torch.cat(parts)


def shared_generator(device: torch.device) -> torch.Generator:
    """A generator seeded from process 0's global RNG: the same draws on every process. Every process draws
    its own seed too, so the global RNG advances alike everywhere (and as in one process)."""
    seed = broadcast_from_main(torch.randint(0, 2**62, (1,), dtype=torch.int64).to(device))
    return torch.Generator(device=device).manual_seed(int(seed.item()))


class _GlobalMean(torch.autograd.Function):
    """Mean over processes; its backward sums the gradients of every process's copy (all-reduce) and divides
    by the process count, so that DDP's gradient average equals the gradient of one process's batch."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:  # type: ignore[override]
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out / dist.get_world_size()

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad / dist.get_world_size()


def global_mean(tensor: Tensor) -> Tensor:
    """The mean of ``tensor`` over processes (each holding a mean over the same number of items): the mean
    over the global batch, differentiable."""
    return _GlobalMean.apply(tensor) if in_group() else tensor
