"""The VQ baseline: same interface as FSQ, EMA codebook, dead-code reset, commitment loss."""

from __future__ import annotations

import torch

from mtk.tokenizer import VQ


def clustered(centres: torch.Tensor, n: int, noise: float = 0.01) -> torch.Tensor:
    """(1, dim, n) points scattered around ``centres`` (k, dim)."""
    picks = torch.randint(len(centres), (n,))
    return (centres[picks] + noise * torch.randn(n, centres.shape[1])).t()[None]


def test_interface_and_nearest_code():
    torch.manual_seed(0)
    vq = VQ(16, 4)
    z = torch.randn(2, 4, 9)
    vq.train()
    vq(z)
    vq.eval()
    quantized, indices, loss = vq(z)
    assert quantized.shape == z.shape and indices.shape == (2, 9) and indices.dtype == torch.int32
    flat = z.transpose(1, 2).reshape(-1, 4)
    brute = torch.cdist(flat, vq.codebook).argmin(1)
    assert torch.equal(indices.reshape(-1).long(), brute)
    assert torch.allclose(vq.dequantize(indices), quantized, atol=1e-6)
    assert loss > 0


def test_ema_learns_cluster_centres_and_resets_dead_codes():
    torch.manual_seed(1)
    centres = torch.randn(4, 3) * 5
    vq = VQ(8, 3, decay=0.8)
    vq.train()
    with torch.no_grad():
        vq(clustered(centres, 256))
        vq.codebook[0] = 1e3  # a code nothing maps to
        vq.ema_sum[0] = 1e3
        for _ in range(60):
            vq(clustered(centres, 256))
    assert vq.codebook[0].abs().max() < 100  # re-seeded from the data
    distance = torch.cdist(centres, vq.codebook).min(1).values
    assert distance.max() < 0.5
    usage = vq.usage(vq(clustered(centres, 512))[1])
    assert usage.used >= 4 and usage.perplexity > 3


def test_straight_through_and_commitment_gradients():
    vq = VQ(8, 4, commitment=0.5)
    vq.train()
    z = torch.randn(2, 4, 6, requires_grad=True)
    quantized, _, loss = vq(z)
    (quantized.sum() + loss).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert vq.codebook.grad is None  # the codebook learns by EMA only


def test_codebook_state_is_saved():
    assert set(VQ(8, 4).state_dict()) == {"codebook", "ema_count", "ema_sum", "initialised"}
