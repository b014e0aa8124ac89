"""PFNN training speed: mtk's layer (four control outputs per batch, blended per row) against a
straightforward per-row weight blend (every row builds its own W0, W1, W2 by the cubic, then a batched
matrix product, as PFNN's Theano trainer does).

    python benchmarks/bench_pfnn_train.py [--x 342 --y 311] [--batch 32] [--steps 30] [--threads 1]

Times full training steps (forward, loss with the regulariser, backward, Adam) on random rows, alternating
the two implementations so that both see the same machine load; prints rows/s and the ratio.
"""

from __future__ import annotations

import argparse

import torch
from timing import best_of

from mtk.pfnn.network import PhaseFunctionedNetwork, phase_blend_weights


class PerRowBlend(PhaseFunctionedNetwork):
    """The same network, evaluated the straightforward way: a (N, out, in) weight tensor per layer."""

    def forward(self, x: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        blend = phase_blend_weights(phase)
        h = x
        for index, ((weight, bias), dropout) in enumerate(zip(self.layers(), self.dropout, strict=True)):
            h = dropout(h)
            per_row = torch.einsum("nk,koi->noi", blend, weight)
            h = torch.bmm(per_row, h.unsqueeze(-1)).squeeze(-1) + blend @ bias
            if index < 2:
                h = torch.nn.functional.elu(h)
        return h


def step_time(net: PhaseFunctionedNetwork, batch: int, steps: int, repeat: int) -> float:
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    x_dim, y_dim = net.W0.shape[2], net.W2.shape[1]
    x, y, p = torch.randn(batch, x_dim), torch.randn(batch, y_dim), torch.rand(batch)

    def work() -> None:
        for _ in range(steps):
            loss = net.loss(x, p, y)[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    work()
    return best_of(work, repeat) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x", type=int, default=342)
    parser.add_argument("--y", type=int, default=311)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fast, slow = PhaseFunctionedNetwork(args.x, args.y), PerRowBlend(args.x, args.y)
    slow.load_state_dict(fast.state_dict())
    fast.eval(), slow.eval()
    x, p = torch.randn(8, args.x), torch.rand(8)
    assert torch.allclose(fast(x, p), slow(x, p), atol=1e-4), "the two implementations disagree"
    fast.train(), slow.train()
    times = {"mtk (blend layer outputs)": [], "per-row weight blend": []}
    for _ in range(args.repeat):
        times["mtk (blend layer outputs)"].append(step_time(fast, args.batch, args.steps, 1))
        times["per-row weight blend"].append(step_time(slow, args.batch, args.steps, 1))
    best = {name: min(values) for name, values in times.items()}
    print(f"PFNN training steps, X {args.x} -> 512 -> 512 -> Y {args.y}, batch {args.batch}, "
          f"{args.threads} thread(s)")
    for name, seconds in best.items():
        print(f"  {name:<28} {args.batch / seconds:10.0f} rows/s  ({1000 * seconds:.1f} ms/step)")
    ratio = best["per-row weight blend"] / best["mtk (blend layer outputs)"]
    print(f"  ratio {ratio:.1f}x")


if __name__ == "__main__":
    main()
