"""Issue #12, class 3: pickles (``all_data.pkl``) are walked with a visited set and bounded by their size.

Contract asserted here:
- A self-referencing pickle (17 bytes) or one with 2^40 shared references (~250 bytes) is refused or read in
  bounded time: every command that reads ``all_data.pkl`` (``inspect`` of the pickle or of the code folder
  beside it, ``detokenize`` of either) finishes within 10 s with exit 2 and one line naming
  ``all_data.pkl``.
- An array inside a pickle may not be larger than the pickle allows (its data must come from the pickle's
  own bytes): a ~200-byte pickle that reconstructs a 10^8-element array is refused, never read as 10^8
  tokens, never allocates more than 1 GB.
- Nothing is written (``detokenize`` leaves no output), nothing runs (the existing safe-pickle tests).
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from hostile import assert_one_line_error, mtk, mtk_here, sample, setup_mtk, tiny_checkpoint, tree_state



def self_referencing() -> bytes:
    loop: list = []
    loop.append(loop)
    data = pickle.dumps(loop, protocol=0)
    assert len(data) <= 17
    return data


def shared_references(depth: int = 40) -> bytes:
    """A list of 2 references to a list of 2 references ... : 2^depth leaves, a few hundred bytes."""
    node: list = []
    for _ in range(depth):
        node = [node, node]
    data = pickle.dumps({"text_data": {}, "code_data": {"m": node}, "file_names": ["m"]})
    assert len(data) < 400
    return data


class _BigArray:
    """Pickles as numpy's own array reconstructor asked for ``count`` elements (no data in the pickle)."""

    def __init__(self, count: int):
        self.count = count

    def __reduce__(self):
        return (np._core.multiarray._reconstruct, (np.ndarray, (self.count,), b"b"))


def declared_big_array(count: int = 10**8) -> bytes:
    data = pickle.dumps({"text_data": {"m": ["a text"]}, "code_data": {"m": _BigArray(count)},
                         "file_names": ["m"]})
    assert len(data) < 300
    return data


PICKLES = {"self-referencing": self_referencing, "shared-references": shared_references,
           "declared-big-array": declared_big_array}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokens")
    ckpt = tiny_checkpoint(root / "ckpt")
    data = sample(root / "ds", count=3)
    setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", root / "tok" / "codes")
    return root / "tok", ckpt


@pytest.fixture
def tokens(tmp_path, made):
    import shutil

    folder, ckpt = made
    shutil.copytree(folder, tmp_path / "tok")
    return tmp_path / "tok", ckpt


@pytest.mark.parametrize("kind", sorted(PICKLES))
@pytest.mark.parametrize("target", ["pickle", "code-folder"])
def test_inspect_hostile_pickle(tmp_path, tokens, kind, target):
    folder, _ = tokens
    (folder / "all_data.pkl").write_bytes(PICKLES[kind]())
    before = tree_state(tmp_path)
    run = mtk("inspect", folder / "all_data.pkl" if target == "pickle" else folder / "codes")
    if target == "code-folder" and run.code in (0, 1):
        # the code folder itself is fine: inspect may ignore a pickle it cannot use, but must say so
        assert "all_data.pkl" in run.output, run.output
        assert "100000000" not in run.output.replace(",", "")
    else:
        assert_one_line_error(run, "all_data.pkl")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("kind", sorted(PICKLES))
@pytest.mark.parametrize("target", ["pickle"])
def test_detokenize_hostile_pickle(tmp_path, tokens, kind, target):
    folder, ckpt = tokens
    (folder / "all_data.pkl").write_bytes(PICKLES[kind]())
    before = tree_state(tmp_path)
    out = tmp_path / "decoded"
    run = mtk("detokenize", folder / "all_data.pkl" if target == "pickle" else folder / "codes", "--ckpt", ckpt,
              "--out", out, timeout=12)
    assert run.cpu_seconds < 10, f"took {run.cpu_seconds:.1f} s of CPU"
    if target == "code-folder" and run.code == 0:
        # decoding the code folder may ignore the unusable pickle (texts only), but must say so
        assert "all_data.pkl" in run.output
        return
    assert_one_line_error(run, "all_data.pkl")
    assert not out.exists()
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_pickle_of_any_protocol_is_read(tmp_path, protocol):
    """Issue #24: an ``all_data.pkl`` of plain data written at pickle protocol 0, 1 or 2 (``bytes`` spelled
    through ``_codecs.encode``, ``complex`` through ``builtins``) loads like one of protocol 4: no false alarm."""
    codes = np.array([[3, 1, 4, 1, 5]], dtype=np.int32)
    document = {"text_data": {"humanml/000001": ["a person walks#a/DET#0.0#0.0\n"]},
                "code_data": {"humanml/000001": codes, "000002": np.zeros((1, 0), np.int32)},
                "file_names": ["humanml/000001", "000002"], "extra": [b"raw", 1 + 2j, 2**70, None]}
    pkl = tmp_path / "all_data.pkl"
    pkl.write_bytes(pickle.dumps(document, protocol=protocol))
    run = mtk_here("inspect", pkl, "--json")
    assert run.code == 0, run.output
    report = json.loads(run.stdout)
    assert report["details"]["motions"] == 2 and report["details"]["tokens"] == 5
