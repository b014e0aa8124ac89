"""The conformance kit every registered quantizer passes: output shapes and dtypes (one code per step, or
``(B, N, Q)`` for ``codes_per_step = Q``), codes inside the codebook, ``dequantize`` giving back the quantized
latents, a straight-through gradient to the encoder, and a checkpoint that loads with its config and, as
MotionMillion saves them, without one."""

from __future__ import annotations

from pathlib import Path

import torch

from mtk.tokenizer import build_model, load_checkpoint, save_checkpoint
from mtk.tokenizer.quantizers import Quantizer, get_quantizer


def build(name: str, codebook_size: int = 256, dim: int = 8, **options) -> Quantizer:
    """Quantizer ``name`` on ``dim``-channel latents, from its own config entries."""
    cls = get_quantizer(name)
    return cls.from_config({**cls.make_config(codebook_size, codebook_size, **options), "code_dim": dim})


def check_shapes_and_gradient(name: str, codebook_size: int = 256) -> None:
    """Indices int32 of shape (B, N) or (B, N, Q) inside the codebook; dequantize(indices) equals the
    quantized latents; the gradient reaches the input."""
    torch.manual_seed(0)
    q = build(name, codebook_size)
    z = torch.randn(2, 8, 10, requires_grad=True)
    q.train()
    q(z)  # quantizers that initialise from the first batch do it here
    q.eval()
    quantized, indices, aux = q(z)
    shape = (2, 10) if q.codes_per_step == 1 else (2, 10, q.codes_per_step)
    assert quantized.shape == z.shape, f"quantized {tuple(quantized.shape)}, expected {tuple(z.shape)}"
    assert tuple(indices.shape) == shape and indices.dtype == torch.int32, \
        f"indices {tuple(indices.shape)} {indices.dtype}, expected {shape} int32"
    assert 0 <= int(indices.min()) and int(indices.max()) < q.codebook_size, "codes outside the codebook"
    assert aux.shape == (), f"the aux loss has shape {tuple(aux.shape)}, expected a scalar"
    assert torch.allclose(q.dequantize(indices), quantized, atol=1e-5), "dequantize(indices) != quantized"
    (quantized.square().sum() + aux).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0, "no gradient reaches the input (straight-through)"


def check_checkpoints(name: str, folder: str | Path, codebook_size: int = 256) -> None:
    """A tiny model saved by mtk (with its config) and as MotionMillion saves nets (``{"net": ...}`` with
    ``module.`` prefixes, no config) loads back as the same quantizer and encodes identically."""
    folder = Path(folder)
    torch.manual_seed(1)
    model = build_model("tiny", 272, name, codebook_size)
    model.train()
    model(torch.randn(3, 16, 272))
    save_checkpoint(folder / "mtk.pth", model)
    torch.save({"net": {f"module.{k}": v for k, v in model.state_dict().items()}}, folder / "mm.pth")
    x = torch.randn(2, 16, 272)
    expected = model.eval().encode(x)
    for file in ("mtk.pth", "mm.pth"):
        loaded, info = load_checkpoint(folder / file, codebook_size=model.codebook_size)
        assert info["config"]["quantizer"] == name, f"{file} loads as {info['config']['quantizer']}"
        assert loaded.codebook_size == model.codebook_size and loaded.codes_per_step == model.codes_per_step
        assert torch.equal(loaded.encode(x), expected), f"{file} encodes differently after loading"


def check_quantizer(name: str, folder: str | Path, codebook_size: int = 256) -> None:
    """Run quantizer ``name`` through the kit (``folder``: an empty folder for checkpoints)."""
    check_shapes_and_gradient(name, codebook_size)
    check_checkpoints(name, folder, codebook_size)
