"""Issue #12, class 2: declared sizes are checked against what is there before anything is allocated.

Contract asserted here:
- ``.npy`` headers are checked against the file size; Zarr metadata shapes against the shard files present
  (a missing or short shard is an error naming it, ``features/c/0/0``, never zeros; cost O(shards present));
  HDF5 shapes against the offsets and a sane bound; BVH frame counts against the lines present; text files
  must be regular files of at most a few MiB; a checkpoint's model is built from its state dict's shapes.
- Every refusal: exit 2, one ``mtk: error: <file>: ...`` line naming the file (``inspect``/``validate`` may
  instead report an error-level finding with exit 1 that names it), within 10 s, under 1 GB of memory.
"""

from __future__ import annotations

import json
import os

import pytest
from hostile import (assert_bounded, assert_one_line_error, mtk, npy_header_only, sample, setup_mtk, store,
                     strays, tiny_checkpoint, tree_state)


HUGE = 10**12


def assert_reported(run, *facts):
    """``inspect``/``validate``: an error finding (exit 1) or a refusal (exit 2) naming ``facts``, bounded."""
    assert_bounded(run)
    assert run.code in (1, 2), run.output
    assert "internal error" not in run.output and "Traceback" not in run.output, run.output
    for fact in facts:
        assert str(fact) in run.output, (fact, run.output)


@pytest.fixture
def dataset(tmp_path):
    return sample(tmp_path / "data", count=4)


# -- .npy headers --------------------------------------------------------------------------------------------

def test_npy_header_declaring_huge_rows_alone(tmp_path):
    bad = npy_header_only(tmp_path / "huge.npy", (HUGE, 263))
    assert bad.stat().st_size < 256
    assert_reported(mtk("inspect", bad), "huge.npy")
    before = tree_state(tmp_path)
    run = mtk("convert", bad, tmp_path / "joints.npy", "--to", "joints")
    assert_one_line_error(run, "huge.npy")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("command", ["validate", "convert", "stats"])
def test_npy_header_declaring_huge_rows_in_a_dataset(dataset, tmp_path, command):
    bad = npy_header_only(dataset / "new_joint_vecs" / "000001.npy", (HUGE, 263))
    before = tree_state(tmp_path)
    if command == "validate":
        assert_reported(mtk("validate", dataset), "000001")
        return
    args = [dataset, tmp_path / "out.zarr"] if command == "convert" else [dataset, "--split", "all", "--out",
                                                                          tmp_path / "stats"]
    run = mtk(command, *args)
    assert_one_line_error(run, "000001")
    assert tree_state(tmp_path) == before
    assert bad.stat().st_size < 256


# -- Zarr --------------------------------------------------------------------------------------------------

def zarr_store(tmp_path, dataset):
    return store(dataset, tmp_path / "data.zarr")


def test_zarr_metadata_declaring_huge_rows(tmp_path, dataset):
    path = zarr_store(tmp_path, dataset)
    meta = path / "features" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"][0] = HUGE
    meta.write_text(json.dumps(doc))
    import zarr

    offsets = zarr.open_array(str(path / "offsets"), mode="r+")
    offsets[-1] = HUGE  # consistent declarations: the last motion claims 10^12 frames (6x10^7 absent shards)
    for command in ("inspect", "validate"):
        assert_reported(mtk(command, path), "data.zarr")
    before = tree_state(tmp_path)
    assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "data.zarr")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("damage", ["deleted", "short"])
@pytest.mark.parametrize("command", ["inspect", "validate", "convert", "stats", "tokenize"])
def test_zarr_missing_or_short_shard_is_never_zeros(tmp_path, dataset, damage, command, request):
    path = zarr_store(tmp_path, dataset)
    shard = path / "features" / "c" / "0" / "0"
    if damage == "deleted":
        shard.unlink()
    else:
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    if command in ("inspect", "validate"):
        assert_reported(mtk(command, path), "c/0/0")
        return
    before = tree_state(tmp_path)
    out = tmp_path / "out"
    if command == "convert":
        run = mtk("convert", path, out, "--to", "npy")
    elif command == "stats":
        run = mtk("stats", path, "--split", "all", "--out", out)
    else:
        ckpt = tiny_checkpoint(tmp_path / "ckpt")
        before = tree_state(tmp_path)
        run = mtk("tokenize", path, "--ckpt", ckpt, "--out", out / "codes", timeout=60)
    assert_one_line_error(run, "data.zarr", "c/0/0")
    assert tree_state(tmp_path, skip=(out,)) == before
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]
    assert not strays(tmp_path)


# -- HDF5 --------------------------------------------------------------------------------------------------

def test_hdf5_dataset_resized_to_huge_rows(tmp_path, dataset):
    import h5py

    path = store(dataset, tmp_path / "data.h5")
    with h5py.File(path, "r+") as f:
        f["features"].resize((HUGE, f["features"].shape[1]))
        f["offsets"][-1] = HUGE  # consistent declarations: the last motion claims 10^12 frames
    for command in ("inspect", "validate"):
        assert_reported(mtk(command, path), "data.h5")
    before = tree_state(tmp_path)
    assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "data.h5")
    assert_one_line_error(mtk("stats", path, "--split", "all", "--out", tmp_path / "s"), "data.h5")
    assert tree_state(tmp_path) == before


# -- BVH ---------------------------------------------------------------------------------------------------

BVH_MANY_FRAMES_NO_CHANNELS = """HIERARCHY
ROOT Hips
{
OFFSET 0 0 0
CHANNELS 0
End Site
{
OFFSET 0 0 0
}
}
MOTION
Frames: 10000000
Frame Time: 0.0333333
"""


@pytest.mark.parametrize("command", ["inspect", "convert-smpl272", "convert-pfnn"])
def test_bvh_declaring_ten_million_frames_of_nothing(tmp_path, command):
    bvh = tmp_path / "tiny.bvh"
    bvh.write_text(BVH_MANY_FRAMES_NO_CHANNELS)
    assert bvh.stat().st_size < 200
    if command == "inspect":
        assert_reported(mtk("inspect", bvh), "tiny.bvh")
        return
    before = tree_state(tmp_path)
    to = command.split("-")[1]
    run = mtk("convert", bvh, tmp_path / ("out.npy" if to == "smpl272" else "db"), "--to", to)
    assert_one_line_error(run, "tiny.bvh")
    assert tree_state(tmp_path) == before


def test_bvh_declaring_more_frames_than_it_has(tmp_path, dataset):
    bvh = tmp_path / "m.bvh"
    setup_mtk("convert", sorted((dataset / "new_joint_vecs").glob("*.npy"))[0], bvh)
    head, _, rest = bvh.read_text().partition("Frames:")
    _, _, tail = rest.partition("\n")
    bvh.write_text(f"{head}Frames: {10**7}\n{tail}")
    assert_reported(mtk("inspect", bvh), "m.bvh")
    assert_one_line_error(mtk("convert", bvh, tmp_path / "o.npy", "--to", "smpl272"), "m.bvh")


# -- text files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
@pytest.mark.parametrize("command", ["validate", "convert"])
def test_text_file_must_be_a_small_regular_file(tmp_path, dataset, kind, command):
    text = dataset / "texts" / "000001.txt"
    text.unlink()
    if kind == "fifo":
        os.mkfifo(text)
    elif kind == "dev-zero":
        text.symlink_to("/dev/zero")
    else:
        with open(text, "wb") as handle:
            handle.truncate(64 << 20)  # sparse: 64 MiB of zero bytes, no disk used
    if command == "validate":
        assert_reported(mtk("validate", dataset), "000001.txt")
        return
    before = tree_state(tmp_path)
    assert_one_line_error(mtk("convert", dataset, tmp_path / "out.zarr"), "000001.txt")
    assert tree_state(tmp_path) == before


# -- checkpoints -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.mark.parametrize("key, value", [("width", 10**6), ("depth", 10**6), ("down_t", 10**4),
                                        ("code_dim", 10**7)])
def test_checkpoint_config_with_a_huge_size(tmp_path, dataset, ckpt, key, value):
    import torch

    state = torch.load(ckpt, weights_only=True)
    state["config"][key] = value
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    before = tree_state(tmp_path)
    run = mtk("tokenize", dataset, "--ckpt", bad, "--out", tmp_path / "tok" / "codes", timeout=20)
    assert run.cpu_seconds < 10
    assert_one_line_error(run, "bad.pth", key)
    assert tree_state(tmp_path) == before
    assert_reported(mtk("inspect", bad), "bad.pth")


# -- arrays read whole: declared bytes against the files that hold them -----------------------------------------

@pytest.mark.parametrize("array", ["codes", "names"])
def test_tokens_store_declaring_huge_arrays(tmp_path, dataset, ckpt, array):
    zstore = tmp_path / "tokens.zarr"
    setup_mtk("tokenize", dataset, "--ckpt", ckpt, "--out", zstore, "--format", "zarr")
    meta = zstore / array / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"][0] = 10**10  # chunks unchanged: the files hold a few KB, zarr would allocate 40-80 GB
    meta.write_text(json.dumps(doc))
    assert_reported(mtk("inspect", zstore), "tokens.zarr", array)
    out = tmp_path / "decoded"
    run = mtk("detokenize", zstore, "--ckpt", ckpt, "--out", out, timeout=60)
    assert_one_line_error(run, f"tokens.zarr/{array}", "declares")
    assert not out.exists()


def test_store_chunk_that_would_decompress_to_gigabytes(tmp_path, dataset):
    path = zarr_store(tmp_path, dataset)
    meta = path / "offsets" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"][0] = 10**9
    grid = doc["chunk_grid"]["configuration"]
    grid["chunk_shape"] = [10**9]  # one present chunk file claiming 8 GB
    meta.write_text(json.dumps(doc))
    for command in ("inspect", "validate"):
        assert_reported(mtk(command, path), "offsets")
    assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "offsets")
