"""The HumanVQVAE-compatible model: the reference state dict's keys and shapes, masking, checkpoints."""

from __future__ import annotations

import pytest
import torch

from mtk.errors import MtkError
from mtk.tokenizer import build_model, load_checkpoint, save_checkpoint

#: MotionMillion's HumanVQVAE (FSQ, 64k codes) state dict: every key, its shape and dtype. Checkpoints of the
#: reference implementation load into mtk's model with strict=True only if these match exactly; the four
#: buffers (the Haar patcher's ``wavelets`` and ``_arange``) are persistent there and must be here too.
REFERENCE_STATE_DICT = """
vqvae.decoder.model.0.bias 512 float32
vqvae.decoder.model.0.weight 512,512,3 float32
vqvae.decoder.model.2.0.model.0.conv1.bias 512 float32
vqvae.decoder.model.2.0.model.0.conv1.weight 512,512,3 float32
vqvae.decoder.model.2.0.model.0.conv2.bias 512 float32
vqvae.decoder.model.2.0.model.0.conv2.weight 512,512,1 float32
vqvae.decoder.model.2.0.model.0.norm1.bias 512 float32
vqvae.decoder.model.2.0.model.0.norm1.weight 512 float32
vqvae.decoder.model.2.0.model.0.norm2.bias 512 float32
vqvae.decoder.model.2.0.model.0.norm2.weight 512 float32
vqvae.decoder.model.2.0.model.1.conv1.bias 512 float32
vqvae.decoder.model.2.0.model.1.conv1.weight 512,512,3 float32
vqvae.decoder.model.2.0.model.1.conv2.bias 512 float32
vqvae.decoder.model.2.0.model.1.conv2.weight 512,512,1 float32
vqvae.decoder.model.2.0.model.1.norm1.bias 512 float32
vqvae.decoder.model.2.0.model.1.norm1.weight 512 float32
vqvae.decoder.model.2.0.model.1.norm2.bias 512 float32
vqvae.decoder.model.2.0.model.1.norm2.weight 512 float32
vqvae.decoder.model.2.0.model.2.conv1.bias 512 float32
vqvae.decoder.model.2.0.model.2.conv1.weight 512,512,3 float32
vqvae.decoder.model.2.0.model.2.conv2.bias 512 float32
vqvae.decoder.model.2.0.model.2.conv2.weight 512,512,1 float32
vqvae.decoder.model.2.0.model.2.norm1.bias 512 float32
vqvae.decoder.model.2.0.model.2.norm1.weight 512 float32
vqvae.decoder.model.2.0.model.2.norm2.bias 512 float32
vqvae.decoder.model.2.0.model.2.norm2.weight 512 float32
vqvae.decoder.model.2.2.bias 512 float32
vqvae.decoder.model.2.2.weight 512,512,3 float32
vqvae.decoder.model.3.bias 512 float32
vqvae.decoder.model.3.weight 512,512,3 float32
vqvae.decoder.model.5.bias 272 float32
vqvae.decoder.model.5.weight 272,512,3 float32
vqvae.decoder.model.6._arange 2 int64
vqvae.decoder.model.6.wavelets 2 float32
vqvae.encoder.model.0._arange 2 int64
vqvae.encoder.model.0.wavelets 2 float32
vqvae.encoder.model.1.bias 512 float32
vqvae.encoder.model.1.weight 512,272,3 float32
vqvae.encoder.model.3.0.bias 512 float32
vqvae.encoder.model.3.0.weight 512,512,4 float32
vqvae.encoder.model.3.1.model.0.conv1.bias 512 float32
vqvae.encoder.model.3.1.model.0.conv1.weight 512,512,3 float32
vqvae.encoder.model.3.1.model.0.conv2.bias 512 float32
vqvae.encoder.model.3.1.model.0.conv2.weight 512,512,1 float32
vqvae.encoder.model.3.1.model.0.norm1.bias 512 float32
vqvae.encoder.model.3.1.model.0.norm1.weight 512 float32
vqvae.encoder.model.3.1.model.0.norm2.bias 512 float32
vqvae.encoder.model.3.1.model.0.norm2.weight 512 float32
vqvae.encoder.model.3.1.model.1.conv1.bias 512 float32
vqvae.encoder.model.3.1.model.1.conv1.weight 512,512,3 float32
vqvae.encoder.model.3.1.model.1.conv2.bias 512 float32
vqvae.encoder.model.3.1.model.1.conv2.weight 512,512,1 float32
vqvae.encoder.model.3.1.model.1.norm1.bias 512 float32
vqvae.encoder.model.3.1.model.1.norm1.weight 512 float32
vqvae.encoder.model.3.1.model.1.norm2.bias 512 float32
vqvae.encoder.model.3.1.model.1.norm2.weight 512 float32
vqvae.encoder.model.3.1.model.2.conv1.bias 512 float32
vqvae.encoder.model.3.1.model.2.conv1.weight 512,512,3 float32
vqvae.encoder.model.3.1.model.2.conv2.bias 512 float32
vqvae.encoder.model.3.1.model.2.conv2.weight 512,512,1 float32
vqvae.encoder.model.3.1.model.2.norm1.bias 512 float32
vqvae.encoder.model.3.1.model.2.norm1.weight 512 float32
vqvae.encoder.model.3.1.model.2.norm2.bias 512 float32
vqvae.encoder.model.3.1.model.2.norm2.weight 512 float32
vqvae.encoder.model.4.bias 512 float32
vqvae.encoder.model.4.weight 512,512,3 float32
vqvae.quantizer.project_in.bias 6 float32
vqvae.quantizer.project_in.weight 6,512 float32
vqvae.quantizer.project_out.bias 512 float32
vqvae.quantizer.project_out.weight 512,6 float32
"""


def reference_keys() -> dict[str, tuple[tuple[int, ...], str]]:
    """Key -> (shape, dtype) of :data:`REFERENCE_STATE_DICT`."""
    rows = [line.split() for line in REFERENCE_STATE_DICT.strip().splitlines()]
    return {key: (tuple(int(v) for v in shape.split(",")), dtype) for key, shape, dtype in rows}


def test_mm64k_state_dict_has_exactly_the_reference_keys_and_shapes():
    expected = reference_keys()
    assert len(expected) == 70
    state = build_model("mm64k").state_dict()
    assert {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()} == expected


def test_mm64k_parameter_count_and_codebook():
    model = build_model()
    assert sum(p.numel() for p in model.parameters()) == 11_349_782
    assert model.codebook_size == 64000 and model.unit_length == 2
    assert model.config["levels"] == [8, 8, 8, 5, 5, 5] and model.config["layout"] == "smpl272"


def test_reference_state_dict_loads_strict_with_module_prefix(tmp_path):
    source = build_model("mm64k")
    reference = {f"module.{k}": v.clone() for k, v in source.state_dict().items()}
    torch.save({"net": reference, "nb_iter": 7}, tmp_path / "net_latest.pth")
    model, info = load_checkpoint(tmp_path / "net_latest.pth")
    assert info["format"] == "motionmillion" and info["config"]["preset"] == "mm64k" and info["iteration"] == 7
    x = torch.randn(2, 48, 272)
    assert torch.equal(model.encode(x), source.eval().encode(x))
    fresh = build_model("mm64k")
    fresh.load_state_dict({k.removeprefix("module."): v for k, v in reference.items()}, strict=True)


@pytest.mark.parametrize("dim", [272, 263, 251])
def test_shapes_follow_the_layout_width(dim):
    model = build_model("tiny", input_dim=dim).eval()
    x = torch.randn(3, 40, dim)
    out = model(x)
    assert out.reconstruction.shape == (3, 40, dim) and out.indices.shape == (3, 20)
    codes = model.encode(x)
    assert codes.shape == (3, 20) and int(codes.max()) < model.codebook_size
    assert model.decode(codes).shape == (3, 40, dim)
    assert torch.allclose(model.decode(codes), out.reconstruction, atol=1e-5)


@pytest.mark.parametrize("quantizer", ["fsq", "vq"])
def test_padded_batch_codes_equal_codes_alone(quantizer):
    torch.manual_seed(0)
    model = build_model("tiny", 263, quantizer)
    model.train()
    model(torch.randn(4, 32, 263))  # initialises the VQ codebook
    model.eval()
    lengths = torch.tensor([50, 23, 8, 37])
    x = torch.randn(4, 50, 263)
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    batch = model.encode(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = model.encode(x[i:i + 1, :n])
        assert torch.equal(batch[i, : n // 2], alone[0])
    unmasked = model.encode(x)
    assert not torch.equal(unmasked[1, :11], batch[1, :11])  # without lengths the padding leaks in


def test_odd_length_drops_the_last_frame():
    model = build_model("tiny", 272).eval()
    assert model.encode(torch.randn(1, 65, 272)).shape == (1, 32)
    assert model(torch.randn(1, 65, 272)).reconstruction.shape == (1, 64, 272)


def test_vq_defaults_to_the_fsq_size_for_equal_footing():
    assert build_model("tiny", quantizer="vq").codebook_size == 1000
    assert build_model("tiny", quantizer="vq", codebook_size=512).codebook_size == 512
    assert build_model("tiny", codebook_size=65536).codebook_size == 64000
    with pytest.raises(ValueError, match="unknown tokenizer preset"):
        build_model("huge")


def test_mtk_checkpoint_round_trip_with_stats(tmp_path):
    model = build_model("tiny", 263, "vq")
    model.train()
    model(torch.randn(2, 16, 263))
    save_checkpoint(tmp_path / "c.pth", model, iteration=12, mean=torch.zeros(263), std=torch.ones(263) * 2)
    saved = torch.load(tmp_path / "c.pth", weights_only=True)
    assert set(saved) == {"net", "config", "nb_iter", "layout", "mean", "std"}
    loaded, info = load_checkpoint(tmp_path / "c.pth")
    assert info["format"] == "mtk" and info["iteration"] == 12 and info["layout"] == "hml263"
    assert info["std"].tolist() == [2.0] * 263 and info["config"] == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert not loaded.training


def test_mismatched_checkpoint_gives_one_line_error(tmp_path):
    torch.save({"net": build_model("tiny", 272).state_dict(), "config": build_model("tiny", 263).config},
               tmp_path / "bad.pth")
    with pytest.raises(MtkError) as err:
        load_checkpoint(tmp_path / "bad.pth")
    message = err.value.one_line()
    assert "\n" not in message and str(tmp_path / "bad.pth") in message
    assert "config says input_dim 263 but its weights have input_dim 272" in message  # found before building


def test_pickled_objects_are_refused(tmp_path):
    import collections

    torch.save({"net": {}, "obj": collections.Counter("abc").most_common}, tmp_path / "evil.pth")
    with pytest.raises(MtkError, match="objects other than tensors"):
        load_checkpoint(tmp_path / "evil.pth")
    with pytest.raises(MtkError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pth")


def test_quantizer_runs_in_float32_under_bf16_autocast():
    model = build_model("tiny", 272).eval()
    x = torch.randn(2, 32, 272)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        latents = model.vqvae.encoder(x.transpose(1, 2))
        quantized, indices, _ = model.quantizer(latents)
    assert latents.dtype == torch.bfloat16  # the conv net does run in bf16
    assert quantized.dtype == torch.float32
    with torch.no_grad():
        _, expected, _ = model.quantizer(latents.float())
    assert torch.equal(indices, expected)
