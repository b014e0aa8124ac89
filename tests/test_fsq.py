"""FSQ: levels table, bit-equality with vector-quantize-pytorch, index <-> code round trips, float32."""

from __future__ import annotations

import math

import pytest
import torch

from mtk.tokenizer import FSQ, FSQ_LEVELS, levels_for
from mtk.tokenizer.quantizers import code_counts, usage_from_counts

reference = pytest.importorskip("vector_quantize_pytorch")


def test_levels_table_matches_paper_and_motionmillion():
    assert levels_for(65536) == (8, 8, 8, 5, 5, 5)
    assert levels_for(64000) == (8, 8, 8, 5, 5, 5)
    assert math.prod(levels_for(2**16)) == 64000
    assert math.prod(levels_for(2**14)) == 15360
    assert math.prod(levels_for(2**10)) == 1000
    with pytest.raises(ValueError, match="no FSQ levels for codebook size 1234"):
        levels_for(1234)


@pytest.mark.parametrize("size", sorted(FSQ_LEVELS))
def test_codes_and_indices_equal_vector_quantize_pytorch(size):
    levels = list(FSQ_LEVELS[size])
    ours = FSQ(levels, dim=len(levels))
    theirs = reference.FSQ(levels)
    torch.manual_seed(size)
    z = torch.randn(4, 257, len(levels)) * 3
    their_codes, their_indices = theirs(z)
    _, our_indices, aux = ours(z.transpose(1, 2))
    assert torch.equal(ours.quantize(z), their_codes)
    assert torch.equal(our_indices, their_indices)
    assert our_indices.dtype == torch.int32 and float(aux) == 0.0
    assert torch.equal(ours.indices_to_codes(their_indices), theirs.indices_to_codes(their_indices))


@pytest.mark.parametrize("size", sorted(FSQ_LEVELS))
def test_index_code_index_is_identity(size):
    fsq = FSQ(FSQ_LEVELS[size], dim=8)
    every = torch.arange(fsq.codebook_size)
    codes = fsq.indices_to_codes(every)
    assert codes.min() == -1 and codes.max() <= 1
    assert torch.equal(fsq.codes_to_indices(codes), every.to(torch.int32))


def test_first_dimension_is_least_significant():
    fsq = FSQ((8, 8, 8, 5, 5, 5), dim=512)
    codes = fsq.indices_to_codes(torch.tensor([0, 1, 63999]))
    assert codes[0].tolist() == [-1.0] * 6
    assert codes[1].tolist() == [-0.75, -1, -1, -1, -1, -1]
    assert codes[2].tolist() == [0.75, 0.75, 0.75, 1, 1, 1]
    assert fsq._basis.tolist() == [1, 8, 64, 512, 2560, 12800]


def test_bound_keeps_zero_and_range():
    fsq = FSQ((8, 5), dim=2)
    assert torch.allclose(fsq.bound(torch.zeros(1, 2)), torch.zeros(1, 2), atol=1e-6)
    big = fsq.bound(torch.tensor([[100.0, 100.0], [-100.0, -100.0]]))
    assert big[0, 0] == pytest.approx(3.0035, abs=1e-4) and big[1, 0] == pytest.approx(-4.0035, abs=1e-4)
    assert big[0, 1] == pytest.approx(2.002, abs=1e-4)


def test_straight_through_gradient_reaches_the_encoder():
    fsq = FSQ((8, 5, 5, 5), dim=16)
    z = torch.randn(2, 16, 10, requires_grad=True)
    out, _, _ = fsq(z)
    out.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_quantization_stays_float32_under_autocast():
    fsq = FSQ((8, 8, 8, 5, 5, 5), dim=32)
    z = torch.randn(2, 32, 50)
    plain_out, plain_idx, _ = fsq(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, idx, _ = fsq(z)
    assert out.dtype == torch.float32
    assert torch.equal(idx, plain_idx) and torch.equal(out, plain_out)


def test_dequantize_matches_forward():
    fsq = FSQ((8, 5, 5, 5), dim=16)
    out, idx, _ = fsq(torch.randn(3, 16, 7))
    assert torch.allclose(fsq.dequantize(idx), out, atol=1e-6)


def test_usage_and_perplexity_with_bincount():
    counts = code_counts(torch.tensor([[0, 0, 1, 3]]), 5)
    assert counts.tolist() == [2, 1, 0, 1, 0]
    usage = usage_from_counts(counts)
    assert usage.used == 3 and usage.usage == pytest.approx(0.6)
    p = torch.tensor([0.5, 0.25, 0.25])
    assert usage.perplexity == pytest.approx(float(torch.exp(-(p * p.log()).sum())))
    assert usage_from_counts(torch.ones(1000, dtype=torch.long)).perplexity == pytest.approx(1000)
