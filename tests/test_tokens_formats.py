"""Tokens formats: MotionMillion's code folder + prob file + all_data.pkl, and the Zarr tokens store."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from factories import write_malicious_pickle

from mtk.analysis.codebook import code_counts, most_frequent, perplexity, usage
from mtk.errors import BadInputError, DestinationExistsError, MtkError
from mtk.formats import registry
from mtk.formats.tokens import TokenSet, read_tokens, write_tokens
from mtk.formats.tokens.zarr import code_dtype

K = 64_000


def _tokens(k: int = K) -> TokenSet:
    rng = np.random.default_rng(0)
    names = ["000001", "MotionGV/folder0/000123", "b", "empty"]
    codes = [rng.integers(0, k, n) for n in (7, 12, 3, 0)]
    codes[2][:] = [5, 5, k - 1]
    texts = [["a person walks forward.", "someone strolls"], ["jumps#x/X#0.0#0.0"], [], ["waves"]]
    return TokenSet(names, codes, texts, codebook_size=k, unit_length=2, layout="smpl272", fps=30.0)


def _same(a: TokenSet, b: TokenSet) -> None:
    assert a.names == b.names
    assert [c.tolist() for c in a.codes] == [c.tolist() for c in b.codes]
    assert a.texts == b.texts
    assert a.codebook_size == b.codebook_size


def test_motionmillion_layout_is_what_its_loader_reads(tmp_path):
    import torch

    tokens = _tokens()
    folder = tmp_path / "MotionMillion" / "VQVAE_codebook_65536_FSQ_all"
    write_tokens(folder, tokens, "motionmillion")
    code = np.load(folder / "MotionGV/folder0/000123.npy")
    assert code.dtype == np.int32 and code.shape == (1, 12)
    assert np.load(folder / "empty.npy").shape == (1, 0)
    prob = torch.load(tmp_path / "MotionMillion" / "VQVAE_codebook_65536_FSQ_all_prob.npy", weights_only=True)
    assert prob.dtype == torch.float32 and prob.shape == (K + 2,)
    total = 7 + 12 + 3 + 0 + 4  # tokens plus one end token per motion
    assert prob[K].item() == pytest.approx(4 / total) and prob[K + 1].item() == 0
    assert prob[5].item() == pytest.approx(2 / total) and prob.sum().item() == pytest.approx(1.0)
    with open(tmp_path / "MotionMillion" / "all_data.pkl", "rb") as handle:
        data = pickle.load(handle)  # our own output, written a line above
    assert set(data) == {"text_data", "code_data", "file_names"}
    assert data["file_names"] == tokens.names
    assert data["text_data"]["000001"] == ["a person walks forward.\n", "someone strolls\n"]
    row = data["code_data"]["000001"]
    assert row.dtype == np.int32 and row.shape == (1, 7)  # MotionMillion does random.choice over rows
    np.testing.assert_array_equal(row[0], tokens.codes[0])


def test_all_data_pickle_names_numpy_the_way_numpy_1_can_import(tmp_path):
    """MotionMillion pins numpy 1.22, which has no ``numpy._core`` (numpy 2's default pickle path)."""
    write_tokens(tmp_path / "codes", _tokens(), "motionmillion")
    data = (tmp_path / "all_data.pkl").read_bytes()
    assert b"numpy._core" not in data and b"numpy.core.multiarray" in data
    loaded = pickle.loads(data)  # written a line above
    np.testing.assert_array_equal(loaded["code_data"]["b"], [[5, 5, K - 1]])


@pytest.mark.parametrize("which", ["folder", "prob", "pickle"])
def test_motionmillion_reads_back_from_any_of_its_files(tmp_path, which):
    tokens = _tokens()
    folder = tmp_path / "codes"
    write_tokens(folder, tokens, "motionmillion")
    path = {"folder": folder, "prob": tmp_path / "codes_prob.npy", "pickle": tmp_path / "all_data.pkl"}[which]
    assert (registry.detect(path).kind, registry.detect(path).name) == ("tokens", "motionmillion")
    _same(read_tokens(path), tokens)


def test_zarr_store_round_trip_and_plain_zarr_view(tmp_path):
    import zarr

    tokens = _tokens()
    store = tmp_path / "tokens.zarr"
    write_tokens(store, tokens, "zarr")
    assert (registry.detect(store).kind, registry.detect(store).name) == ("tokens", "zarr")
    _same(read_tokens(store), tokens)
    group = zarr.open_group(str(store), mode="r")
    assert group["codes"].dtype == np.uint16
    assert group.attrs["codebook_size"] == K and group.attrs["unit_length"] == 2 and group.attrs["layout"] == "smpl272"
    offsets = group["offsets"][:]
    np.testing.assert_array_equal(group["codes"][offsets[1]:offsets[2]], tokens.codes[1])
    assert group["counts"][K] == 4 and group["counts"][:].sum() == 22 + 4


def test_zarr_store_through_an_fsspec_url():
    url = "memory://mtk-tests/tokens.zarr"
    write_tokens(url, _tokens(), "zarr", overwrite=True)
    assert (registry.detect(url).kind, registry.detect(url).name) == ("tokens", "zarr")
    _same(read_tokens(url), _tokens())


def test_code_dtype_widens_past_uint16():
    assert code_dtype(65_534) == np.uint16
    assert code_dtype(65_535) == np.int32


def test_big_codebook_store_keeps_int32(tmp_path):
    tokens = _tokens(k=100_000)
    tokens.codes[0][:] = 99_999
    write_tokens(tmp_path / "t.zarr", tokens, "zarr")
    _same(read_tokens(tmp_path / "t.zarr"), tokens)


@pytest.mark.parametrize("fmt,target", [("motionmillion", "codes"), ("motionmillion", "codes_prob.npy"),
                                        ("motionmillion", "all_data.pkl"), ("zarr", "codes")])
def test_existing_outputs_need_overwrite(tmp_path, fmt, target):
    (tmp_path / target).mkdir() if target == "codes" else (tmp_path / target).write_text("keep")
    with pytest.raises(DestinationExistsError):
        write_tokens(tmp_path / "codes", _tokens(), fmt)
    write_tokens(tmp_path / "codes", _tokens(), fmt, overwrite=True)
    _same(read_tokens(tmp_path / "codes"), _tokens())


def test_unsafe_names_are_refused_before_writing(tmp_path):
    tokens = _tokens()
    tokens.names[1] = "../escape"
    with pytest.raises(BadInputError, match=r"motion name '\.\./escape' has a '\.' or '\.\.' part"):
        write_tokens(tmp_path / "codes", tokens)
    assert list(tmp_path.iterdir()) == []


def test_codebook_statistics():
    counts = code_counts([np.array([1, 1, 2]), np.array([3])], 5)
    assert counts.tolist() == [0, 2, 1, 1, 0]
    assert perplexity(np.array([4, 4, 4, 4])) == pytest.approx(4.0)
    assert perplexity(np.array([0, 9, 0])) == pytest.approx(1.0)
    assert usage(counts) == pytest.approx(3 / 5)
    assert most_frequent(counts, 2) == [(1, 2), (2, 1)]
    beyond = code_counts(np.array([7, 2**31 - 1, 1]), 5)  # codes beyond the size are counted together, not
    assert beyond.tolist() == [0, 1, 0, 0, 0, 2]        # dropped; memory follows the size, not the codes


def test_inspect_reports_usage_perplexity_and_top_codes(tmp_path, mtk_cli):
    write_tokens(tmp_path / "codes", _tokens(), "motionmillion")
    write_tokens(tmp_path / "t.zarr", _tokens(), "zarr")
    done = mtk_cli("inspect", tmp_path / "codes", "--json")
    assert done.code == 0, done.stderr
    reports = [json.loads(done.stdout)] + [registry.inspect(p).to_dict() for p in (tmp_path / "all_data.pkl",
                                                                                  tmp_path / "t.zarr")]
    for report in reports:
        assert report["kind"] == "tokens"
        details = report["details"]
        assert details["motions"] == 4 and details["tokens"] == 22
        assert details["tokens_per_motion"] == {"min": 0, "mean": 5.5, "median": 5.0, "max": 12}
        assert details["most_frequent"][0] == {"code": 5, "count": 2}
        assert details["codes_used"] == len(np.unique(np.concatenate(_tokens().codes)))
        assert details["perplexity"] == pytest.approx(perplexity(code_counts(_tokens().codes, K)))
    done = mtk_cli("inspect", tmp_path / "t.zarr")
    assert done.code == 0 and "perplexity" in done.stdout and "codebook_usage" in done.stdout


def test_inspect_flags_a_stale_prob_file(tmp_path):
    import torch

    write_tokens(tmp_path / "codes", _tokens(), "motionmillion")
    np.save(tmp_path / "codes" / "000001.npy", np.array([[1, 2]], dtype=np.int32))
    report = registry.inspect(tmp_path / "codes")
    assert report.has_errors and "prob_mismatch" in [f.code for f in report.findings]
    torch.save(torch.zeros(10), tmp_path / "codes_prob.npy")  # a codebook of 8: codes are out of range
    assert "code_out_of_range" in [f.code for f in registry.inspect(tmp_path / "codes").findings]


def test_inspect_refuses_a_malicious_pickle_and_runs_nothing(tmp_path, mtk_cli):
    marker = tmp_path / "pwned"
    path = write_malicious_pickle(tmp_path / "all_data.pkl", marker, "x")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = mtk_cli("inspect", path)
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"mtk: error: {path}: ")
    assert "posix.system" in done.stderr
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == before


def test_corrupt_code_file_is_a_one_line_error(tmp_path, mtk_cli):
    write_tokens(tmp_path / "codes", _tokens(), "motionmillion")
    np.save(tmp_path / "codes" / "b.npy", np.zeros((1, 3), dtype=np.float32))
    done = mtk_cli("inspect", tmp_path / "codes")
    assert done.code == 2 and "b.npy" in done.stderr and "float32" in done.stderr


@pytest.mark.parametrize("damage", ["offsets", "texts", "codebook_size", "codes_dtype"])
def test_damaged_tokens_store_is_a_one_line_error(tmp_path, damage):
    import zarr

    store = tmp_path / "t.zarr"
    write_tokens(store, _tokens(), "zarr")
    group = zarr.open_group(str(store), mode="r+")
    if damage == "offsets":
        group["offsets"][1] = 100
    elif damage == "texts":
        del group["texts"]
        group.create_array("texts", shape=(1,), dtype=str)
    elif damage == "codebook_size":
        group.attrs["codebook_size"] = "64000"
    else:
        del group["codes"]
        group.create_array("codes", data=np.zeros(22, dtype=np.float32))
    with pytest.raises(BadInputError) as err:
        read_tokens(store)
    assert str(store) in err.value.one_line() and "\n" not in err.value.one_line()


def _stacked(q: int = 3, k: int = 40) -> TokenSet:
    """Tokens of a quantizer with ``q`` codes per step."""
    rng = np.random.default_rng(1)
    codes = [rng.integers(0, k, (n, q)) for n in (5, 0, 9)]
    return TokenSet(["a", "b", "c/d"], codes, codebook_size=k, unit_length=2, layout="hml263", fps=20.0)


def test_several_codes_per_step_round_trip_through_the_zarr_store(tmp_path):
    tokens = _stacked()
    assert tokens.codes_per_step == 3 and tokens.lengths.tolist() == [5, 0, 9]
    write_tokens(tmp_path / "t.zarr", tokens, "zarr")
    back = read_tokens(tmp_path / "t.zarr")
    _same(tokens, back)
    assert back.codes_per_step == 3 and back.codes[1].shape == (0, 3)
    np.testing.assert_array_equal(back.frequencies()[:40], code_counts(tokens.codes, 40)[:40])
    assert back.frequencies()[40] == 3


def test_several_codes_per_step_are_refused_where_one_is_held(tmp_path):
    with pytest.raises(MtkError, match="motionmillion tokens hold one code per step; this tokenizer makes 3"):
        write_tokens(tmp_path / "codes", _stacked(), "motionmillion")
    assert not (tmp_path / "codes").exists()
    with pytest.raises(BadInputError, match="different shapes"):
        TokenSet(["a", "b"], [np.zeros((2, 3), int), np.zeros(2, int)])


def test_a_store_whose_codes_do_not_match_codes_per_step_is_refused(tmp_path):
    import zarr

    write_tokens(tmp_path / "t.zarr", _stacked(), "zarr")
    zarr.open_group(str(tmp_path / "t.zarr"), mode="r+").attrs["codes_per_step"] = 2
    with pytest.raises(BadInputError, match=r"expected integers \(L, 2\)"):
        read_tokens(tmp_path / "t.zarr")
