"""Issue #12, class 1: motion names are data, never paths.

Contract asserted here (for the implementers):
- One validation of motion names wherever they come from (store ``names``, split files, token stores,
  ``all_data.pkl``, code folders): relative, ``/``-separated, no ``..``/empty/``.`` segment, not absolute,
  no backslash, NUL or control character, at most 255 characters per segment.
- A bad name is refused before anything is written: exit 2, one line ``mtk: error: <file>: ... <name> ...``
  naming the file it came from and (repr or plain) the name. Here we assert the file and a recognisable
  part of the name are in the line; the wording is free.
- ``validate``/``inspect`` report a bad or duplicate name as an error-level finding (exit 1) or refuse to open
  (exit 2); either way the name is in the output.
- Duplicate names are an error when the store is opened.
- Nothing outside the output changes, and the output does not exist after a refusal.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hostile import (assert_one_line_error, mtk, mtk_here, sample, sample_here, set_store_names, setup_mtk, store,
                     store_here, store_names, strays, tiny_checkpoint, tree_state)


BAD_NAMES = {
    "dotdot": "../../../escaped",
    "absolute": "/ABS/escaped",  # made absolute under tmp_path by the test
    "backslash": "..\\..\\escaped",
    "nul": "bad\x00name",
    "control": "bad\x1bname",
    "empty-segment": "a//b",
    "dot-segment": "./a",
    "empty": "",
    "too-long": "x" * 300,
}


def hostile_store(tmp_path, suffix: str, bad: str) -> tuple:
    src = sample(tmp_path / "src", count=4)
    path = store(src, tmp_path / f"data{suffix}")
    names = store_names(path)
    names[1] = bad
    set_store_names(path, names)
    return path, names


@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
@pytest.mark.parametrize("kind", sorted(BAD_NAMES))
def test_store_name_is_refused_before_writing(tmp_path, suffix, kind):
    if kind == "nul" and suffix == ".h5":
        pytest.skip("HDF5 variable-length strings cannot hold NUL")
    bad = BAD_NAMES[kind].replace("/ABS", str(tmp_path / "victim"))
    (tmp_path / "victim").mkdir()
    (tmp_path / "work" / "out").mkdir(parents=True)  # ../../../escaped from work/out/new_joint_vecs lands in tmp
    path, _ = hostile_store(tmp_path, suffix, bad)
    out = tmp_path / "work" / "out" / "copy"
    before = tree_state(tmp_path)
    run = mtk("convert", path, out, "--to", "npy")
    visible = bad.encode("unicode_escape").decode()[:40] if kind in ("nul", "control") else bad[:40]
    line = assert_one_line_error(run, path.name)
    assert visible in line or repr(bad)[1:41] in line, line
    assert not out.exists()
    assert tree_state(tmp_path) == before
    assert not strays(tmp_path)


@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_validate_and_inspect_report_a_bad_name(tmp_path, suffix, command):
    path, _ = hostile_store(tmp_path, suffix, "../../../escaped")
    run = mtk(command, path)
    assert run.code in (1, 2), run.output
    assert "../../../escaped" in run.output
    assert "no findings" not in run.output


@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
def test_duplicate_names_are_an_error_at_open(tmp_path, suffix):
    path, names = hostile_store(tmp_path, suffix, "000000")  # names[0] is already 000000
    assert names.count("000000") == 2
    out = tmp_path / "copy"
    run = mtk("convert", path, out, "--to", "npy")
    assert_one_line_error(run, path.name, "000000")
    assert not out.exists()
    copy = tmp_path / "copy.h5"
    run = mtk("convert", path, copy)
    assert_one_line_error(run, path.name, "000000")
    assert not copy.exists()
    assert mtk("validate", path).code in (1, 2)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def test_split_file_cannot_reach_outside_the_dataset(tmp_path, ckpt):
    data = sample(tmp_path / "ds", count=6)
    victim = tmp_path / "victim"
    victim.mkdir()
    np.save(victim / "private.npy", np.load(sorted((data / "new_joint_vecs").glob("*.npy"))[0]))
    (data / "test.txt").write_text("000005\n../../victim/private\n")
    out = tmp_path / "tokens" / "codes"
    before = tree_state(tmp_path)
    run = mtk("tokenize", data, "--ckpt", ckpt, "--out", out, "--split", "test", timeout=60)
    assert_one_line_error(run, "test.txt", "../../victim/private")
    assert not out.exists() and not (tmp_path / "tokens" / "all_data.pkl").exists()
    assert tree_state(tmp_path, skip=(tmp_path / "tokens",)) == before
    run = mtk("validate", data)
    assert run.code in (1, 2) and "../../victim/private" in run.output


@pytest.fixture
def tokens(tmp_path, ckpt):
    data = sample(tmp_path / "ds", count=4)
    out = tmp_path / "tok" / "codes"
    setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", out)
    return out, ckpt


def test_detokenize_cannot_write_outside_out_from_a_pickle(tmp_path, tokens):
    codes, ckpt = tokens
    pkl = codes.parent / "all_data.pkl"
    data = pickle.loads(pkl.read_bytes())  # our own file, written by mtk tokenize
    bad = "../../../escaped"
    first = data["file_names"][0]
    data["file_names"][0] = bad
    data["code_data"][bad] = data["code_data"].pop(first)
    data["text_data"][bad] = data["text_data"].pop(first, [])
    pkl.write_bytes(pickle.dumps(data))
    out = tmp_path / "a" / "b" / "decoded"
    before = tree_state(tmp_path, skip=(tmp_path / "a",))
    run = mtk("detokenize", pkl, "--ckpt", ckpt, "--out", out, timeout=60)
    assert_one_line_error(run, "all_data.pkl", bad)
    assert not out.exists()
    assert tree_state(tmp_path, skip=(tmp_path / "a",)) == before


def test_detokenize_with_a_bad_name_in_a_tokens_store(tmp_path, tokens):
    codes, ckpt = tokens
    zstore = tmp_path / "tokens.zarr"
    data = sample(tmp_path / "ds2", count=4)
    setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", zstore, "--format", "zarr")
    set_store_names(zstore, ["../../../escaped"] + store_names(zstore)[1:])
    out = tmp_path / "a" / "b" / "decoded"
    before = tree_state(tmp_path, skip=(tmp_path / "a",))
    run = mtk("detokenize", zstore, "--ckpt", ckpt, "--out", out, timeout=60)
    assert_one_line_error(run, "tokens.zarr", "../../../escaped")
    assert tree_state(tmp_path, skip=(tmp_path / "a",)) == before


@pytest.mark.parametrize("spelling", ["{d}", "./{d}/../{d}", "{d}/", "{d}-link"])
def test_convert_onto_its_own_source_is_refused(tmp_path, spelling):
    """`mtk convert same ./same/../same --to npy --overwrite` deleted the source (issue #12)."""
    same = sample(tmp_path / "same", count=4)
    (tmp_path / "same-link").symlink_to(same)
    before = tree_state(tmp_path)
    run = mtk("convert", "same", spelling.format(d="same"), "--to", "npy", "--overwrite", cwd=tmp_path)
    assert_one_line_error(run, "same")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("where", ["inside", "around"])
def test_destination_inside_or_around_the_source_is_refused(tmp_path, where):
    data = sample(tmp_path / "data", count=4)
    dst = data / "copy.zarr" if where == "inside" else tmp_path
    before = tree_state(tmp_path)
    run = mtk("convert", data, dst, "--to", "zarr", "--overwrite")
    assert_one_line_error(run, str(dst.name) if where == "inside" else str(tmp_path.name))
    assert tree_state(tmp_path) == before


#: names that a folder cannot give back as they were written (issue #24): hidden parts, and every character
#: ``str.splitlines()`` splits on (split lists are read back line by line)
UNREADABLE_NAMES = {"leading-dot": ".hidden", "dot-part": "humanml/.000001", "u2028": "walk\u2028000001",
                    "u2029": "walk\u2029000001", "u0085": "walk\x85000001", "form-feed": "walk\x0c000001",
                    "group-separator": "walk\x1d000001"}


@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
@pytest.mark.parametrize("kind", sorted(UNREADABLE_NAMES))
def test_a_name_that_would_not_read_back_is_refused(tmp_path, suffix, kind):
    """A store name with a hidden part or a line separator is refused before anything is written, by every
    target (an npy folder, another store), and reported by validate: never written and then lost."""
    bad = UNREADABLE_NAMES[kind]
    src = store_here(sample_here(tmp_path / "src", count=4), tmp_path / f"data{suffix}")
    names = store_names(src)
    names[1] = bad
    set_store_names(src, names)
    before = tree_state(tmp_path)
    for out in (tmp_path / "copy", tmp_path / "copy.zarr"):
        run = mtk_here("convert", src, out, "--to", "npy" if out.suffix == "" else "zarr")
        line = assert_one_line_error(run, src.name)
        assert repr(bad)[1:-1] in line, line
        assert tree_state(tmp_path) == before
    run = mtk_here("validate", src)
    assert run.code in (1, 2) and repr(bad)[1:-1] in run.output, run.output
