"""mtk tokenize / detokenize: batched codes equal one-at-a-time codes, sharding merges, round trips, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from factories import write_malicious_pickle

from mtk.features import recover_joints
from mtk.formats.datasets import open_dataset
from mtk.formats.tokens import read_tokens
from mtk.tokenizer import build_model, save_checkpoint
from mtk.tokenizer.encode import (cropped_frames, encode_batch, encode_motions, in_order, load_shard, normalize,
                                  plan_batches, save_shard, shard_names)
from mtk.tokenizer.tokenize import _encode_sharded, _Processes, tokenize_dataset


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from tests.conftest import run_mtk

    out = tmp_path_factory.mktemp("sample") / "sample272"
    done = run_mtk("sample", out, "--layout", "smpl272", "--count", "24", "--seed", "3")
    assert done.code == 0, done.stderr
    return out


def _checkpoint(path: Path, preset: str, dataset: Path | None = None, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = build_model(preset, 272)
    stats = open_dataset(dataset).info.stats if dataset else None
    save_checkpoint(path, model, mean=None if stats is None else stats.mean, std=None if stats is None else stats.std,
                    layout="smpl272")
    return path


@pytest.fixture(scope="module")
def tiny_ckpt(sample, tmp_path_factory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", "tiny", sample)


def _alone(model, features: np.ndarray, mean, std) -> np.ndarray:
    """One motion encoded by itself, as MotionMillion's get-codes does (batch 1, no lengths)."""
    frames = cropped_frames(len(features), model.unit_length)
    with torch.inference_mode():
        return model.encode(torch.from_numpy(normalize(features[:frames], mean, std))[None])[0].numpy()


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_batched_codes_equal_one_at_a_time(sample, preset):
    """Every motion of a ``mtk sample`` dataset, in zero-padded batches of mixed lengths."""
    torch.manual_seed(1)
    model = build_model(preset, 272).eval()
    reader = open_dataset(sample)
    stats = reader.info.stats
    batched = {e.name: e.codes for e in encode_motions(reader, reader.names, model, stats.mean, stats.std,
                                                       batch_size=5)}
    assert set(batched) == set(reader.names)
    for name in reader.names:
        features = reader.read(name).features
        alone = _alone(model, features, stats.mean, stats.std)
        assert len(alone) == len(features) // 2
        assert batched[name].dtype == np.int32
        np.testing.assert_array_equal(batched[name], alone)


@pytest.mark.parametrize("margin,expected_alone", [(0.0, 0), (1.0, 3)])
def test_tokens_near_a_rounding_boundary_are_encoded_again_alone(monkeypatch, margin, expected_alone):
    from mtk.tokenizer import encode as encode_module

    torch.manual_seed(3)
    model = build_model("tiny", 272).eval()
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(n, 272)).astype(np.float32) for n in (40, 36, 34)]
    calls = []
    original = model.encode
    monkeypatch.setattr(model, "encode", lambda x, lengths=None: calls.append(len(x)) or original(x, lengths))
    monkeypatch.setattr(encode_module, "TIE_MARGIN", margin)
    codes = encode_batch(model, arrays)
    assert calls.count(1) == expected_alone  # every token counts as a tie with margin 1.0, none with 0.0
    for array, got in zip(arrays, codes, strict=True):
        np.testing.assert_array_equal(got, _alone(model, array, np.zeros(272), np.ones(272)))


def test_planned_batches_cover_every_motion_once_and_bound_padding():
    lengths = [10, 300, 40, 40, 0, 120, 300, 2, 36, 290, 38, 100]
    batches = plan_batches(lengths, batch_size=3, max_frames=600, max_padding=0.25)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3 and (len(batch) == 1 or len(batch) * lengths[batch[0]] <= 600)
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)
        assert all(lengths[i] >= 0.75 * lengths[batch[0]] for i in batch)
    assert [2, 3, 10] in batches and [8] in batches  # 40, 40, 38 together; 36 starts the next batch


def test_short_and_empty_motions_give_empty_codes():
    model = build_model("tiny", 272).eval()
    arrays = [np.zeros((0, 272), np.float32), np.ones((1, 272), np.float32), np.ones((6, 272), np.float32)]
    codes = encode_batch(model, arrays)
    assert [len(c) for c in codes] == [0, 0, 3]
    np.testing.assert_array_equal(codes[2], _alone(model, arrays[2], np.zeros(272), np.ones(272)))


def test_shards_merge_to_the_single_process_result(sample, tiny_ckpt, tmp_path):
    from mtk.tokenizer.checkpoint import load_checkpoint

    model, _ = load_checkpoint(tiny_ckpt)
    reader = open_dataset(sample)
    names, stats = reader.names, reader.info.stats

    def encode(subset):
        return list(encode_motions(reader, subset, model, stats.mean, stats.std, batch_size=4))

    whole = in_order(encode(names), names)
    shards = tmp_path / ".tokens.mtk-shards"
    # processes 2 and 1 finish first (their barrier is a no-op here), then the main process merges
    for index in (2, 1):
        assert _encode_sharded(reader, names, model.unit_length, shards, _Processes(index, 3), encode) is None
    merged = _encode_sharded(reader, names, model.unit_length, shards, _Processes(0, 3), encode)
    assert [e.name for e in merged] == names
    for a, b in zip(merged, whole, strict=True):
        np.testing.assert_array_equal(a.codes, b.codes)
        assert a.texts == b.texts
    assert not shards.exists()


def test_shard_files_round_trip_and_balance(tmp_path):
    from mtk.tokenizer.encode import Encoded

    items = [Encoded("a/b", np.array([1, 2], np.int32), ["x", "y"]), Encoded("c", np.zeros(0, np.int32), []),
             Encoded("d", np.array([7], np.int32), [""])]
    save_shard(tmp_path / "s.npz", items)
    back = load_shard(tmp_path / "s.npz")
    assert [(e.name, e.codes.tolist(), e.texts) for e in back] == [(e.name, e.codes.tolist(), e.texts) for e in items]
    shares = [shard_names(list("abcdef"), [6, 5, 4, 3, 2, 1], k, 2) for k in range(2)]
    assert shares == [["a", "c", "e"], ["b", "d", "f"]]


def test_tokenize_cli_writes_motionmillion_and_reads_back(sample, tiny_ckpt, tmp_path, mtk_cli):
    import torch as t

    out = tmp_path / "MM" / "VQVAE_codebook_FSQ_all"
    done = mtk_cli("tokenize", sample, "--ckpt", tiny_ckpt, "--out", out, "--batch-size", "7")
    assert done.code == 0, done.stderr
    reader = open_dataset(sample)
    tokens = read_tokens(out)
    assert tokens.names == reader.names and tokens.codebook_size == 1000
    for name, codes in zip(tokens.names, tokens.codes, strict=True):
        assert len(codes) == reader.length(name) // 2
    with open(tmp_path / "MM" / "all_data.pkl", "rb") as handle:
        data = pickle.load(handle)  # written by this test's own run
    first = reader.names[0]
    assert data["text_data"][first] == [f"{line}\n" for line in reader.read(first).texts]
    prob = t.load(tmp_path / "MM" / "VQVAE_codebook_FSQ_all_prob.npy", weights_only=True)
    assert prob.shape == (1002,) and prob[1000].item() == pytest.approx(len(tokens) / (tokens.lengths.sum() + len(tokens)))


def test_motionmillion_checkpoint_works_as_it_is(sample, tmp_path):
    torch.manual_seed(2)
    model = build_model("mm64k", 272)  # MotionMillion's own configuration: 6 FSQ channels, 64,000 codes
    ckpt = tmp_path / "net_last.pth"
    torch.save({"net": {f"module.{k}": v for k, v in model.state_dict().items()}, "nb_iter": 10}, ckpt)
    out = tmp_path / "t.zarr"
    summary = tokenize_dataset(str(sample), str(ckpt), str(out), format="zarr", split="test", batch_size=8)
    assert "sample272 stats" in summary  # no stats in the checkpoint: the dataset's, as MotionMillion does
    reader = open_dataset(sample)
    tokens = read_tokens(out)
    assert tokens.names == reader.info.split_names("test") and tokens.codebook_size == 64_000
    stats = reader.info.stats
    for name, codes in zip(tokens.names, tokens.codes, strict=True):
        np.testing.assert_array_equal(codes, _alone(model.eval(), reader.read(name).features, stats.mean, stats.std))


def _mpjpe_mm(decoded: Path, source: Path, names: list[str]) -> float:
    src, dec = open_dataset(source), open_dataset(decoded)
    errors = []
    for name in names:
        prediction = dec.read(name).features.astype(np.float64)
        truth = src.read(name).features[:len(prediction)].astype(np.float64)
        a, b = recover_joints(prediction, src.info.layout), recover_joints(truth, src.info.layout)
        errors.append(np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).mean())
    return float(np.mean(errors)) * 1000


@pytest.mark.parametrize("fmt,dst", [("motionmillion", "decoded.zarr"), ("zarr", "decoded")])
def test_tokenize_detokenize_mpjpe_equals_tokenizer_eval(sample, tiny_ckpt, tmp_path, fmt, dst):
    from mtk.tokenizer.evaluate import evaluate_checkpoint
    from mtk.tokenizer.tokenize import detokenize

    tokens = tmp_path / ("codes" if fmt == "motionmillion" else "tokens.zarr")
    tokenize_dataset(str(sample), str(tiny_ckpt), str(tokens), format=fmt, split="train")
    detokenize(str(tokens), str(tiny_ckpt), str(tmp_path / dst))
    report = evaluate_checkpoint(str(sample), str(tiny_ckpt), split="train")
    names = read_tokens(tokens).names
    assert len(names) == report["motions"]
    assert _mpjpe_mm(tmp_path / dst, sample, names) == pytest.approx(report["mpjpe_mm"], rel=1e-5)


def test_detokenize_cli_writes_any_store(sample, tiny_ckpt, tmp_path, mtk_cli):
    tokenize_dataset(str(sample), str(tiny_ckpt), str(tmp_path / "t.zarr"), format="zarr", split="val")
    done = mtk_cli("detokenize", tmp_path / "t.zarr", "--ckpt", tiny_ckpt, "--out", tmp_path / "d.h5")
    assert done.code == 0, done.stderr
    decoded = open_dataset(tmp_path / "d.h5")
    tokens = read_tokens(tmp_path / "t.zarr")
    assert decoded.names == tokens.names and decoded.info.layout.name == "smpl272"
    assert [decoded.length(n) for n in decoded.names] == [2 * len(c) for c in tokens.codes]
    assert decoded.read(tokens.names[0]).texts == tokens.texts[0]


def test_tokenize_to_an_fsspec_url(sample, tiny_ckpt):
    url = "memory://mtk-tests/tokenize/t.zarr"
    tokenize_dataset(str(sample), str(tiny_ckpt), url, format="zarr", split="test", overwrite=True)
    assert read_tokens(url).names == open_dataset(sample).info.split_names("test")


def test_existing_output_is_refused_and_left_alone(sample, tiny_ckpt, tmp_path, mtk_cli):
    out = tmp_path / "codes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = mtk_cli("tokenize", sample, "--ckpt", tiny_ckpt, "--out", out)
    assert done.code == 2 and done.stderr.startswith("mtk: error: ") and "--overwrite" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes"] and (out / "keep.txt").read_text() == "mine"


def test_bad_normalisation_files_are_one_line_errors(sample, tiny_ckpt, tmp_path, mtk_cli):
    from mtk.errors import MtkError

    np.save(tmp_path / "mean.npy", np.zeros(263))
    np.save(tmp_path / "std.npy", np.ones(263))
    done = mtk_cli("tokenize", sample, "--ckpt", tiny_ckpt, "--out", tmp_path / "o", "--mean", tmp_path / "mean.npy",
                   "--std", tmp_path / "std.npy")
    assert done.code == 2 and "(263,)" in done.stderr and done.stderr.count("\n") == 1
    with pytest.raises(MtkError, match="--std"):
        tokenize_dataset(str(sample), str(tiny_ckpt), str(tmp_path / "o"), mean=str(tmp_path / "mean.npy"))
    assert not (tmp_path / "o").exists()


def test_detokenize_refuses_a_malicious_pickle(tiny_ckpt, tmp_path, mtk_cli):
    marker = tmp_path / "pwned"
    pkl = write_malicious_pickle(tmp_path / "all_data.pkl", marker)
    done = mtk_cli("detokenize", pkl, "--ckpt", tiny_ckpt, "--out", tmp_path / "out")
    assert done.code == 2 and done.stderr.count("\n") == 1 and "refuses" in done.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_detokenize_refuses_tokens_from_another_codebook(sample, tiny_ckpt, tmp_path):
    from mtk.errors import BadInputError
    from mtk.tokenizer.tokenize import detokenize

    other = _checkpoint(tmp_path / "small.pt", "small", sample)
    tokenize_dataset(str(sample), str(other), str(tmp_path / "t.zarr"), format="zarr", split="test")
    with pytest.raises(BadInputError, match="15360.*1000"):
        detokenize(str(tmp_path / "t.zarr"), str(tiny_ckpt), str(tmp_path / "d.zarr"))
    assert not (tmp_path / "d.zarr").exists()
