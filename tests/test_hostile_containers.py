"""Issue #24, class 1: containers stay inside themselves.

Contract asserted here, for every container kind (HDF5 files, Zarr stores, npy folders and trees, caption
folders, split lists, token code folders and stores, PFNN databases):
- HDF5 external raw storage, external links and virtual datasets are refused: every byte mtk reads lies
  inside the input file.
- A symbolic link inside a container that leads outside it is refused, one line naming the link (exit 2, or
  an error-level finding in inspect/validate), nothing written; ``--follow-links`` (anywhere on the command
  line) reads through it. A link that stays inside the container is fine, and so is a container that is a link.
"""

from __future__ import annotations

import shutil

import h5py
import pytest
from hostile import (assert_one_line_error, mtk_here, sample_here, store_here, tiny_checkpoint, tree_state)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("containers")
    data = sample_here(root / "data", count=4)
    assert mtk_here("-q", "convert", data, root / "db", "--to", "pfnn").code == 0
    return {"data": data, "h5": store_here(data, root / "data.h5"), "zarr": store_here(data, root / "data.zarr"),
            "db": root / "db"}


@pytest.fixture
def copy(tmp_path, made):
    """``copy(key)``: a fresh copy of a made input under tmp_path/work (tests damage it)."""
    def make(key: str):
        source = made[key]
        target = tmp_path / "work" / source.name
        target.parent.mkdir(exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copyfile(source, target)
        return target
    return make


@pytest.fixture
def outside(tmp_path):
    """A folder outside every container, holding a 'private' file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "private.txt").write_text("secret: the outside file\n")
    return folder


def refused(args, *facts, tmp_path):
    """Run ``mtk args``: one-line error naming ``facts``; nothing in ``tmp_path`` changes."""
    before = tree_state(tmp_path)
    line = assert_one_line_error(mtk_here(*args), *facts)
    assert tree_state(tmp_path) == before
    return line


def reported(args, *facts):
    run = mtk_here(*args)
    assert run.code in (1, 2) and "internal error" not in run.output and "no findings" not in run.output, run.output
    for fact in facts:
        assert fact in run.output, (fact, run.output)


# -- HDF5 ----------------------------------------------------------------------------------------------------

def _replace_features(path, make) -> None:
    with h5py.File(path, "r+") as f:
        features = f["features"][:]
        del f["features"]
        make(f, features)


def test_hdf5_external_raw_storage_is_refused(tmp_path, copy, outside):
    """The dataset's bytes live in a file outside the store: any readable file could become motion data."""
    path = copy("h5")
    secret = outside / "raw.bin"

    def make(f, features):
        features.tofile(secret)
        f.create_dataset("features", shape=features.shape, dtype=features.dtype,
                         external=[(str(secret), 0, h5py.h5f.UNLIMITED)])

    _replace_features(path, make)
    refused(["convert", path, tmp_path / "out", "--to", "npy"], "data.h5", "external", tmp_path=tmp_path)
    reported(["validate", path], "external")


def test_hdf5_external_link_is_refused(tmp_path, copy, outside):
    path = copy("h5")
    other = outside / "other.h5"

    def make(f, features):
        with h5py.File(other, "w") as o:
            o.create_dataset("features", data=features, chunks=(64, features.shape[1]))
        f["features"] = h5py.ExternalLink(str(other), "/features")

    _replace_features(path, make)
    refused(["convert", path, tmp_path / "out.zarr"], "data.h5", "external link", tmp_path=tmp_path)
    reported(["inspect", path], "external link")


def test_hdf5_virtual_dataset_is_refused(tmp_path, copy, outside):
    path = copy("h5")
    other = outside / "source.h5"

    def make(f, features):
        with h5py.File(other, "w") as o:
            o.create_dataset("features", data=features)
        layout = h5py.VirtualLayout(shape=features.shape, dtype=features.dtype)
        layout[:] = h5py.VirtualSource(str(other), "features", shape=features.shape)
        f.create_virtual_dataset("features", layout)

    _replace_features(path, make)
    refused(["convert", path, tmp_path / "out", "--to", "npy"], "data.h5", "virtual", tmp_path=tmp_path)


# -- Zarr stores ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("linked", ["features", "features/c/0/0", "texts", "zarr.json"])
def test_zarr_link_leaving_the_store_is_refused(tmp_path, copy, outside, linked):
    path = copy("zarr")
    target = outside / "moved"
    shutil.move(path / linked, target)
    (path / linked).symlink_to(target)
    line = refused(["convert", path, tmp_path / "out", "--to", "npy"], linked, tmp_path=tmp_path)
    assert "--follow-links" in line
    reported(["validate", path], linked)
    run = mtk_here("-q", "convert", path, tmp_path / "followed", "--to", "npy", "--follow-links")
    assert run.code == 0, run.output


def test_zarr_link_inside_the_store_and_a_linked_store_are_fine(tmp_path, copy):
    path = copy("zarr")
    shutil.move(path / "texts", path / "texts-real")
    (path / "texts").symlink_to("texts-real")
    (tmp_path / "link.zarr").symlink_to(path)
    for source in (path, tmp_path / "link.zarr"):
        assert mtk_here("validate", source).code == 0


# -- npy folders, trees, captions and split lists ------------------------------------------------------------

@pytest.mark.parametrize("linked", ["new_joint_vecs/000001.npy", "new_joint_vecs", "texts/000001.txt", "texts",
                                    "train.txt", "Mean.npy"])
def test_npy_folder_link_leaving_the_dataset_is_refused(tmp_path, copy, outside, linked):
    path = copy("data")
    target = outside / "moved"
    if linked == "texts/000001.txt":
        target = outside / "private.txt"  # a caption that is any readable file
        (path / linked).unlink()
    else:
        shutil.move(path / linked, target)
    (path / linked).symlink_to(target)
    refused(["convert", path, tmp_path / "out.zarr"], linked.split("/")[0], tmp_path=tmp_path)
    reported(["validate", path], linked.split("/")[0])
    run = mtk_here("-q", "--follow-links", "convert", path, tmp_path / "followed.zarr")
    assert run.code == 0, run.output


def test_npy_folder_link_inside_is_fine(tmp_path, copy):
    path = copy("data")
    (path / "new_joint_vecs" / "000001.npy").rename(path / "000001-real.npy")
    (path / "new_joint_vecs" / "000001.npy").symlink_to(path / "000001-real.npy")
    assert mtk_here("-q", "convert", path, tmp_path / "out.zarr").code == 0


@pytest.mark.parametrize("linked", ["group/000001.npy", "texts/group/000001.txt", "train.txt"])
def test_npy_tree_link_leaving_the_tree_is_refused(tmp_path, made, outside, linked):
    tree = tmp_path / "tree"
    for name in ("000000", "000001", "000002"):
        (tree / "group").mkdir(parents=True, exist_ok=True)
        (tree / "texts" / "group").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made["data"] / "new_joint_vecs" / f"{name}.npy", tree / "group" / f"{name}.npy")
        (tree / "texts" / "group" / f"{name}.txt").write_text(f"caption {name}\n")
    (tree / "train.txt").write_text("group/000000\ngroup/000001\n")
    target = outside / "moved"
    shutil.move(tree / linked, target)
    (tree / linked).symlink_to(target)
    refused(["convert", tree, tmp_path / "out.zarr", "--as-dataset"], linked.split("/")[-1], tmp_path=tmp_path)


def test_split_folder_link_leaving_it_is_refused(tmp_path, made, outside):
    splits = tmp_path / "splits"
    splits.mkdir()
    (outside / "train.txt").write_text("000000\n")
    (splits / "train.txt").symlink_to(outside / "train.txt")
    refused(["convert", made["data"] / "new_joint_vecs", tmp_path / "out.zarr", "--splits", splits], "train.txt",
            tmp_path=tmp_path)


# -- tokens --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def codes(tmp_path_factory, made):
    root = tmp_path_factory.mktemp("codes")
    ckpt = tiny_checkpoint(root / "ckpt")
    assert mtk_here("-q", "tokenize", made["data"], "--ckpt", ckpt, "--out", root / "tok" / "codes").code == 0
    assert mtk_here("-q", "tokenize", made["data"], "--ckpt", ckpt, "--out", root / "tokens.zarr",
                    "--format", "zarr").code == 0
    return root / "tok", root / "tokens.zarr", ckpt


@pytest.mark.parametrize("linked", ["codes/000001.npy", "all_data.pkl", "codes_prob.npy"])
def test_code_folder_link_leaving_it_is_refused(tmp_path, codes, outside, linked):
    folder = shutil.copytree(codes[0], tmp_path / "tok")
    target = outside / "moved"
    shutil.move(folder / linked, target)
    (folder / linked).symlink_to(target)
    reported(["inspect", folder / "codes"], linked.split("/")[-1])
    refused(["detokenize", folder / "codes", "--ckpt", codes[2], "--out", tmp_path / "decoded"],
            linked.split("/")[-1], tmp_path=tmp_path)


def test_tokens_store_link_leaving_it_is_refused(tmp_path, codes, outside):
    store = shutil.copytree(codes[1], tmp_path / "tokens.zarr")
    shutil.move(store / "codes", outside / "moved")
    (store / "codes").symlink_to(outside / "moved")
    reported(["inspect", store], "codes")


# -- PFNN databases ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("linked", ["database.npz", "layout.json", "Xmean.npy"])
def test_pfnn_database_link_leaving_it_is_refused(tmp_path, copy, outside, linked):
    db = copy("db")
    shutil.move(db / linked, outside / "moved")
    (db / linked).symlink_to(outside / "moved")
    refused(["pfnn", "train", db, "--out", tmp_path / "run", "--epochs", "0.01"], linked, tmp_path=tmp_path)
    if linked != "Xmean.npy":
        reported(["inspect", db], linked)
