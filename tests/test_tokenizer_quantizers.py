"""Quantizers as modules: the registry, every registered quantizer's contract, VQ-VAE and LFQ, a toy quantizer."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import Tensor, nn

from mtk.cli import cli
from mtk.errors import BadInputError
from mtk.tokenizer import build_model, load_checkpoint, model_config, save_checkpoint
from mtk.tokenizer.checkpoint import infer_config
from mtk.tokenizer.quantizers import (LFQ, QUANTIZERS, VQ, PlainVQ, Quantizer, get_quantizer, quantizer_names,
                                      register_quantizer)
from mtk.tokenizer.train import TrainConfig, train

BUILT_IN = ("fsq", "lfq", "vq", "vqvae")


def quantizer(name: str, size: int = 256, dim: int = 8) -> Quantizer:
    cls = get_quantizer(name)
    return cls.from_config({**cls.make_config(size, size), "code_dim": dim})


def test_registry_lists_the_built_in_quantizers_fsq_first():
    assert quantizer_names()[:4] == BUILT_IN
    with pytest.raises(ValueError, match="unknown quantizer 'rvq'; choose one of fsq, lfq, vq, vqvae"):
        build_model("tiny", quantizer="rvq")


@pytest.mark.parametrize("name", BUILT_IN)
def test_shapes_dequantize_and_straight_through_gradient(name):
    torch.manual_seed(0)
    q = quantizer(name)
    z = torch.randn(2, 8, 10, requires_grad=True)
    q.train()
    q(z)
    q.eval()
    quantized, indices, aux = q(z)
    assert quantized.shape == z.shape and indices.shape == (2, 10) and indices.dtype == torch.int32
    assert 0 <= int(indices.min()) and int(indices.max()) < q.codebook_size and aux.shape == ()
    assert torch.allclose(q.dequantize(indices), quantized, atol=1e-5)
    (quantized.square().sum() + aux).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


@pytest.mark.parametrize("name", BUILT_IN)
def test_checkpoint_round_trip_with_and_without_config(name, tmp_path):
    torch.manual_seed(1)
    model = build_model("tiny", 272, name, 256)
    model.train()
    model(torch.randn(3, 16, 272))  # VQ initialises its codebook from the first batch
    save_checkpoint(tmp_path / "mtk.pth", model)
    torch.save({"net": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "mm.pth")
    x = torch.randn(2, 16, 272)
    expected = model.eval().encode(x)
    for path in ("mtk.pth", "mm.pth"):
        loaded, info = load_checkpoint(tmp_path / path, codebook_size=model.codebook_size)  # FSQ 2^8, 2^9: 3 channels
        assert info["config"]["quantizer"] == name and loaded.codebook_size == model.codebook_size
        assert torch.equal(loaded.encode(x), expected)


def test_plain_vqvae_learns_by_codebook_loss_and_leaves_unused_codes_alone():
    torch.manual_seed(2)
    q = PlainVQ(16, 4, commitment=0.25)
    z = torch.randn(1, 4, 32, requires_grad=True)
    quantized, indices, loss = q(z)
    codes = q.dequantize(indices.long()).detach()
    expected = F.mse_loss(codes, z.detach()) + 0.25 * F.mse_loss(z.detach(), codes)
    assert torch.allclose(loss, expected)
    loss.backward()
    grad_rows = q.embedding.weight.grad.abs().sum(1) > 0
    used = torch.zeros(16, dtype=torch.bool)
    used[indices.long().unique()] = True
    assert torch.equal(grad_rows, used)  # only picked codes move: no reset, no EMA
    assert z.grad.abs().sum() > 0  # commitment pulls the encoder


def test_lfq_codes_are_sign_bits_least_significant_first():
    q = LFQ(bits=4, dim=4)
    with torch.no_grad():
        q.project_in.weight.copy_(torch.eye(4))
        q.project_in.bias.zero_()
    z = torch.tensor([[0.5, -1.0, 2.0, -0.1], [-3.0, -0.2, -0.4, 0.9]]).t()[None]  # (1, 4 channels, 2 tokens)
    _, indices, _ = q(z)
    assert indices.tolist() == [[1 + 4, 8]]
    assert q.near_boundary(z, 0.15).tolist() == [[True, False]]  # token 0 has a channel at -0.1: its sign may flip
    assert torch.equal(q.indices_to_codes(torch.arange(16)).gt(0).long() @ q.basis, torch.arange(16))


def test_lfq_entropy_term_prefers_balanced_decided_bits():
    q = LFQ(bits=2, dim=2, commitment=0.0).train()
    with torch.no_grad():
        q.project_in.weight.copy_(torch.eye(2))
        q.project_in.bias.zero_()
    spread = torch.tensor([[3.0, 3.0], [3.0, -3.0], [-3.0, 3.0], [-3.0, -3.0]]).t()[None]
    collapsed = torch.full((1, 2, 4), 3.0)
    assert q(spread)[2] < q(collapsed)[2]
    token, batch = q.entropy_terms(spread.transpose(1, 2))
    assert token.item() == pytest.approx(0.0, abs=1e-6) and batch.item() == pytest.approx(math.log(4))


def _lfq_pair(bits: int, groups: int):
    """mtk's LFQ and vector-quantize-pytorch's on ``bits`` channels with no projection in between."""
    from vector_quantize_pytorch import LFQ as ReferenceLFQ

    mine = LFQ(bits=bits, dim=bits).train()
    with torch.no_grad():
        mine.project_in.weight.copy_(torch.eye(bits))
        mine.project_in.bias.zero_()
    reference = ReferenceLFQ(dim=bits, codebook_size=2 ** (bits // groups), num_codebooks=groups,
                             entropy_loss_weight=0.1, commitment_loss_weight=0.25, diversity_gamma=1.0).train()
    return mine, reference


def _reference_index(indices: Tensor, group_bits: int) -> Tensor:
    """vector-quantize-pytorch's per-codebook indices (channel 0 most significant) as mtk's one index
    (channel 0 least significant); one codebook comes without its codebook axis."""
    indices = indices if indices.ndim == 3 else indices[..., None]
    reversed_bits = torch.zeros_like(indices)
    for bit in range(group_bits):
        reversed_bits |= ((indices >> bit) & 1) << (group_bits - 1 - bit)
    return sum(reversed_bits[..., g] << (g * group_bits) for g in range(indices.shape[-1]))


@pytest.mark.parametrize("bits, groups", [(10, 1), (16, 2)])
def test_lfq_matches_vector_quantize_pytorch(bits, groups):
    """2^10: the entropy of the whole code distribution; 2^16: two groups of 8 bits, which is the reference's
    loss with two codebooks. Same indices, same entropy and commitment terms."""
    torch.manual_seed(bits)
    mine, reference = _lfq_pair(bits, groups)
    x = torch.randn(3, 40, bits) * 0.05  # near the boundaries, where the soft assignments are not one-hot
    _, indices, aux = mine(x.transpose(1, 2))
    (_, ref_indices, ref_aux), (per_sample, codebook, commit) = reference(x, return_loss_breakdown=True)
    assert torch.equal(indices.long(), _reference_index(ref_indices.long(), bits // groups))
    token, batch = mine.entropy_terms(x)
    assert token.item() == pytest.approx(per_sample.item(), rel=1e-5)
    assert batch.item() == pytest.approx(codebook.item(), rel=1e-5)
    assert F.mse_loss(x, torch.where(x > 0, 1.0, -1.0)).item() == pytest.approx(commit.item(), rel=1e-6)
    assert aux.item() == pytest.approx(ref_aux.item(), rel=1e-5)


def test_lfq_entropy_groups_stay_small():
    from mtk.tokenizer.quantizers.lfq import entropy_groups

    assert entropy_groups(10) == (10,) and entropy_groups(12) == (12,)
    assert entropy_groups(14) == (7, 7) and entropy_groups(16) == (8, 8) and entropy_groups(25) == (9, 8, 8)


def test_an_lfq_run_from_the_per_bit_loss_loads_but_does_not_resume(tmp_path):
    model = build_model("tiny", 272, "lfq", 256)
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run" / "net_latest.pth", model, iteration=2)
    ckpt = torch.load(tmp_path / "run" / "net_latest.pth", weights_only=True)
    del ckpt["config"]["lfq_loss"]  # as mtk wrote LFQ runs before the code-entropy loss
    torch.save(ckpt, tmp_path / "run" / "net_latest.pth")
    loaded, _ = load_checkpoint(tmp_path / "run" / "net_latest.pth")
    x = torch.randn(1, 16, 272)
    assert torch.equal(loaded.encode(x), model.encode(x))
    from mtk.errors import MtkError

    with pytest.raises(MtkError, match="earlier per-bit entropy loss"):
        train(TrainConfig(dataset="memory", out=str(tmp_path / "run"), resume=True, workers=0),
              datasets=_datasets())


def test_vqvae_data_init_starts_the_codebook_on_the_first_batch():
    torch.manual_seed(4)
    uniform = PlainVQ(64, 4)
    data = PlainVQ(64, 4, codebook_init="data").train()
    assert uniform.embedding.weight.abs().max() <= 1 / 64
    z = torch.randn(2, 4, 16) * 3 + 5  # 32 outputs far from the origin
    data(z)
    rows = z.transpose(1, 2).reshape(-1, 4)
    nearest = torch.cdist(data.embedding.weight.detach(), rows).min(dim=1).values
    assert bool(data.initialised) and nearest.max() < 0.2  # every code sits (jittered) on an output
    before = data.embedding.weight.detach().clone()
    data(torch.randn(2, 4, 16))  # the second batch does not re-initialise
    assert torch.equal(data.embedding.weight.detach(), before)
    state = {k: v for k, v in data.state_dict().items()}
    assert set(state) == {"embedding.weight", "initialised"}
    assert PlainVQ.config_from_state(state, 4, None, None)["codebook_init"] == "data"
    assert PlainVQ.config_from_state({"embedding.weight": before}, 4, None, None)["codebook_init"] == "uniform"
    with pytest.raises(ValueError, match="--codebook-init takes one of uniform, data"):
        model_config("tiny", quantizer="vqvae", codebook_init="kmeans")
    with pytest.raises(ValueError, match=r"the vq quantizer takes no codebook_init \(it takes --commitment\)"):
        model_config("tiny", quantizer="vq", codebook_init="data")


def test_vq_reports_how_many_codes_it_reseeded():
    torch.manual_seed(3)
    vq = VQ(8, 3, decay=0.5)
    vq.train()
    with torch.no_grad():
        vq(torch.randn(1, 3, 64))
        vq.codebook[:4] = 1e3  # four codes nothing maps to
        vq.ema_sum[:4] = 1e3 * vq.ema_count[:4, None]
        assert vq.train_stats() == {"codes_reseeded": 0}
        for _ in range(10):
            vq(torch.randn(1, 3, 64))
    assert vq.train_stats()["codes_reseeded"] >= 4 and vq.codebook.abs().max() < 100
    assert not vq.near_boundary(torch.randn(2, 3, 5), 1.0).any()  # learnt codebooks report no boundaries


def test_quantizer_options_and_sizes_are_checked():
    with pytest.raises(ValueError, match="the fsq quantizer takes no commitment"):
        model_config("tiny", quantizer="fsq", commitment=0.1)
    with pytest.raises(ValueError, match="1000 is not a power of two"):
        model_config("tiny", quantizer="lfq", codebook_size=1000)
    assert model_config("tiny", quantizer="lfq")["codebook_size"] == 1024
    assert model_config("tiny", quantizer="vqvae")["codebook_size"] == 1000  # FSQ's real size: equal footing
    assert model_config("tiny", quantizer="vq", commitment=0.5)["commitment"] == 0.5


def test_an_old_vq_config_without_a_commitment_still_loads(tmp_path):
    model = build_model("tiny", 272, "vq")
    model.train()
    model(torch.randn(2, 16, 272))
    save_checkpoint(tmp_path / "old.pth", model)
    ckpt = torch.load(tmp_path / "old.pth", weights_only=True)
    del ckpt["config"]["commitment"]
    ckpt["config"]["levels"] = None  # as mtk wrote VQ configs before quantizers were modules
    torch.save(ckpt, tmp_path / "old.pth")
    loaded, _ = load_checkpoint(tmp_path / "old.pth")
    assert loaded.quantizer.commitment == 0.02


def test_unrecognised_quantizer_weights_give_one_line_error(tmp_path):
    state = build_model("tiny", 272).state_dict()
    state["vqvae.quantizer.mystery"] = torch.zeros(3)
    with pytest.raises(BadInputError, match=r"0 quantizers \(none\) recognise the quantizer weights"):
        infer_config(state, tmp_path / "x.pth")


# --- a toy quantizer: the whole of it is this one class and one registration call -----------------------


class Toy(Quantizer):
    """Rounds a learnt scalar projection to ``codebook_size`` levels in [0, 1]."""

    name = "toy"
    summary = "a one-channel toy for the registry test"

    def __init__(self, codebook_size: int, dim: int):
        super().__init__()
        self.codebook_size = codebook_size
        self.toy_in = nn.Linear(dim, 1)
        self.toy_out = nn.Linear(1, dim)

    @classmethod
    def make_config(cls, codebook_size: int | None, nominal_size: int, **options: Any) -> dict[str, Any]:
        return {"codebook_size": int(codebook_size or nominal_size)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Toy:
        return cls(config["codebook_size"], config["code_dim"])

    @classmethod
    def config_from_state(cls, state, code_dim, codebook_size, path) -> dict[str, Any] | None:
        return {"codebook_size": codebook_size or 16} if "toy_in.weight" in state else None

    def dequantize(self, indices: Tensor) -> Tensor:
        return self.toy_out(indices[..., None].float() / (self.codebook_size - 1)).transpose(1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = torch.sigmoid(self.toy_in(z.transpose(1, 2))) * (self.codebook_size - 1)
        rounded = h + (h.round() - h).detach()
        out = self.toy_out(rounded / (self.codebook_size - 1)).transpose(1, 2)
        return out, h.round().squeeze(-1).to(torch.int32), z.new_zeros(())


@pytest.fixture
def toy():
    register_quantizer(Toy)
    yield Toy
    QUANTIZERS.pop("toy")


def test_a_toy_quantizer_registered_in_one_module_is_everywhere(toy, tmp_path):
    help_text = CliRunner().invoke(cli, ["tokenizer", "train", "--help"]).output
    assert "fsq|lfq|toy|vq|vqvae" in help_text
    result = train(TrainConfig(dataset="memory", out=str(tmp_path / "run"), preset="tiny", quantizer="toy",
                               codebook_size=16, iters=2, batch_size=2, window=16, warmup=1, milestones=(2,),
                               eval_every=2, save_every=2, log_every=1, workers=0), datasets=_datasets())
    assert result["eval"]["codebook_size"] == 16
    model, info = load_checkpoint(tmp_path / "run" / "net_latest.pth")
    assert isinstance(model.quantizer, Toy) and info["config"]["quantizer"] == "toy"
    torch.save({"net": model.state_dict()}, tmp_path / "mm.pth")
    again, info = load_checkpoint(tmp_path / "mm.pth", codebook_size=16)
    x = torch.randn(1, 16, 272)
    assert info["format"] == "motionmillion" and torch.equal(again.encode(x), model.encode(x))


def test_registering_another_class_under_a_taken_name_is_refused(toy):
    class Other(Toy):
        pass

    with pytest.raises(ValueError, match="'toy' is already registered"):
        register_quantizer(Other)


def _datasets():
    from test_tokenizer_train import datasets

    return datasets()


@pytest.mark.parametrize("name", ["vqvae", "lfq"])
def test_new_quantizers_train_through_the_cli(name, tmp_path, mtk_cli):
    data = tmp_path / "data"
    assert mtk_cli("sample", data, "--layout", "smpl272", "--count", "10").code == 0
    run = tmp_path / "run"
    done = mtk_cli("-q", "tokenizer", "train", data, "--out", run, "--preset", "tiny", "--quantizer", name,
                   "--codebook-size", "256", "--commitment", "0.5", "--iters", "2", "--batch-size", "2",
                   "--window", "16", "--eval-every", "2", "--workers", "0")
    assert done.code == 0, done.stderr
    model, info = load_checkpoint(run / "net_latest.pth")
    assert info["config"]["quantizer"] == name and info["config"]["commitment"] == 0.5
    assert model.codebook_size == 256 and math.isfinite(float(model.quantizer.commitment))
    done = mtk_cli("tokenize", data, "--ckpt", run / "net_latest.pth", "--out", tmp_path / "codes")
    assert done.code == 0, done.stderr
