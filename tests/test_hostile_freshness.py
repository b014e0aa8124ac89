"""Issue #24, class 6: writes and freshness.

Contract asserted here:
- Training outputs (``tokenizer train``, ``pfnn train``) behave like every other writer: a read-only or full
  disk is one line naming the run folder (exit 2), never a traceback; a run refused before its first
  checkpoint leaves no run folder it created.
- ``--overwrite`` onto a mount point is refused before anything is written (no stray partial).
- ``--resume`` is not fooled by an edit whose modification time was restored (conversions, stats, tokenize).
- Two code folders may not share one ``all_data.pkl``: the second is refused, with or without ``--overwrite``.
- A deleted texts chunk of a Zarr store (or a missing texts chunk of an HDF5 file) is an error naming it,
  like a missing features chunk: never every caption empty with exit 0.
"""

from __future__ import annotations

import os
import shutil
from functools import partial

import pytest
from hostile import (assert_one_line_error, motion_files, mtk_here, sample_here, store_here, strays,
                     tiny_checkpoint, tmpfs, tree_state)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("freshness")
    data = sample_here(root / "data", count=12)
    assert mtk_here("-q", "convert", data, root / "db", "--to", "pfnn").code == 0
    return {"data": data, "db": root / "db", "ckpt": tiny_checkpoint(root / "ckpt")}


TRAIN = {"tokenizer": ["tokenizer", "train", "{data}", "--out", "{out}", "--preset", "tiny", "--iters", "2",
                       "--eval-every", "2", "--save-every", "2", "--workers", "0", "--batch-size", "2"],
         "pfnn": ["pfnn", "train", "{db}", "--out", "{out}", "--epochs", "0.01", "--hidden", "4", "--evals", "1"]}


def _train(made, kind: str, out) -> list[str]:
    return [a.format(data=made["data"], db=made["db"], out=out) for a in TRAIN[kind]]


# -- training outputs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(TRAIN))
def test_training_on_a_read_only_disk_is_one_line(tmp_path, made, kind):
    with tmpfs(tmp_path / "mnt", read_only=True) as mount:
        assert_one_line_error(mtk_here(*_train(made, kind, mount / "run")), "run", "read-only")
        assert list(mount.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(TRAIN))
def test_training_on_a_full_disk_is_one_line_and_leaves_no_run_folder(tmp_path, made, kind):
    with tmpfs(tmp_path / "mnt", size="64k") as mount:
        assert_one_line_error(mtk_here(*_train(made, kind, mount / "run")), "run", "no space left")
        assert list(mount.iterdir()) == []


def test_a_refused_training_run_leaves_no_run_folder(tmp_path, made):
    """The dataset's train split is empty: refused before anything is trained."""
    data = shutil.copytree(made["data"], tmp_path / "data")
    (data / "train.txt").write_text("")
    out = tmp_path / "runs" / "tiny"
    assert_one_line_error(mtk_here(*_train(made, "tokenizer", out)[:2], data, *_train(made, "tokenizer", out)[3:]))
    assert not (tmp_path / "runs").exists()


def test_overwrite_refused_training_keeps_the_previous_run(tmp_path, made):
    out = tmp_path / "run"
    assert mtk_here("-q", *_train(made, "tokenizer", out)).code == 0
    before = tree_state(out)
    bad = shutil.copytree(made["data"], tmp_path / "bad")
    (bad / "train.txt").write_text("")
    args = _train(made, "tokenizer", out)
    args[2] = str(bad)
    assert_one_line_error(mtk_here(*args, "--overwrite"))
    assert tree_state(out) == before


# -- mount points --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["npy", "zarr"])
def test_overwrite_onto_a_mount_point_is_refused(tmp_path, made, target):
    with tmpfs(tmp_path / "mnt", size="16m") as mount:
        (mount / "keep.txt").write_text("the mounted file system's own file\n")
        before = tree_state(tmp_path)
        run = mtk_here("convert", made["data"], mount, "--to", target, "--overwrite")
        assert_one_line_error(run, "mnt", "mount point")
        assert tree_state(tmp_path) == before
        assert not strays(tmp_path)


# -- resume fingerprints -------------------------------------------------------------------------------------

def _edit_keeping_times(path) -> None:
    """Change a file's bytes (same size) and restore its access and modification times."""
    state = os.stat(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(state.st_atime_ns, state.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == state.st_mtime_ns and os.stat(path).st_size == state.st_size


def test_resumed_conversion_sees_an_edit_with_a_restored_mtime(tmp_path, made, monkeypatch):
    from mtk.jobs import convert_dataset as job  # an interruption at a chosen block needs the job

    monkeypatch.setattr(job, "read_in_order", partial(job.read_in_order, block=4))

    data = shutil.copytree(made["data"], tmp_path / "data")
    out = tmp_path / "out"
    calls = []

    def stop(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.convert_dataset(str(data), str(out), to="npy", workers=1, on_progress=stop)
    _edit_keeping_times(motion_files(data)[0])
    run = mtk_here("convert", data, out, "--to", "npy", "--resume")
    assert_one_line_error(run, "000000", "changed")


def test_resumed_tokenize_sees_a_checkpoint_edit_with_a_restored_mtime(tmp_path, made):
    ckpt = shutil.copyfile(made["ckpt"], tmp_path / "tiny.pth")
    out = tmp_path / "tok" / "codes"
    from mtk.io.workdir import work_path

    work = work_path(out)
    assert mtk_here("-q", "tokenize", made["data"], "--ckpt", ckpt, "--out", out).code == 0
    shutil.rmtree(out.parent)
    work.mkdir(parents=True)  # the work folder of a run killed after writing its key ...
    from mtk.io.workdir import options_key, source_identity

    options = {"dataset": source_identity(made["data"]), "ckpt": source_identity(ckpt), "split": "all",
               "mean": None, "std": None, "layout": None, "splits": None}
    (work / "key").write_text(options_key(options))
    (work / "batch-000000.npz").write_bytes(b"")  # ... and one batch
    _edit_keeping_times(ckpt)
    run = mtk_here("tokenize", made["data"], "--ckpt", ckpt, "--out", out, "--resume")
    assert_one_line_error(run, "other inputs")


# -- shared all_data.pkl -------------------------------------------------------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_sibling_code_folders_never_share_an_all_data_pkl(tmp_path, made, overwrite):
    root = tmp_path / "tok"
    assert mtk_here("-q", "tokenize", made["data"], "--ckpt", made["ckpt"], "--out", root / "a").code == 0
    before = tree_state(tmp_path)
    run = mtk_here("tokenize", made["data"], "--ckpt", made["ckpt"], "--out", root / "b",
                   *(["--overwrite"] if overwrite else []))
    assert_one_line_error(run, "all_data.pkl")
    assert tree_state(tmp_path) == before


# -- missing texts chunks ------------------------------------------------------------------------------------

def test_deleted_texts_chunk_of_a_zarr_store_is_an_error(tmp_path, made):
    store = store_here(made["data"], tmp_path / "data.zarr")
    (store / "texts" / "c" / "0").unlink()
    before = tree_state(tmp_path)
    run = mtk_here("convert", store, tmp_path / "out", "--to", "npy")
    assert_one_line_error(run, "texts", "c/0")
    assert tree_state(tmp_path) == before
    run = mtk_here("validate", store)
    assert run.code in (1, 2) and "texts" in run.output and "no findings" not in run.output, run.output


def test_empty_texts_are_written_as_chunks_and_read_back(tmp_path, made):
    """Motions without texts still have their texts chunk written, so a missing one is always damage."""
    data = shutil.copytree(made["data"], tmp_path / "data")
    shutil.rmtree(data / "texts")
    store = store_here(data, tmp_path / "data.zarr")
    assert (store / "texts" / "c" / "0").is_file()
    run = mtk_here("validate", store)
    assert "c/0" not in run.output, run.output


def test_deleted_texts_chunk_of_a_tokens_store_is_an_error(tmp_path, made):
    out = tmp_path / "tokens.zarr"
    assert mtk_here("-q", "tokenize", made["data"], "--ckpt", made["ckpt"], "--out", out, "--format",
                    "zarr").code == 0
    (out / "texts" / "c" / "0").unlink()
    run = mtk_here("inspect", out)
    assert run.code in (1, 2) and "texts" in run.output, run.output


def test_hdf5_texts_without_storage_is_an_error(tmp_path, made):
    import h5py

    store = store_here(made["data"], tmp_path / "data.h5")
    with h5py.File(store, "r+") as f:
        count = f["texts"].shape[0]
        del f["texts"]
        f.create_dataset("texts", shape=(count,), dtype=h5py.string_dtype(), chunks=(4,))  # never written
    assert_one_line_error(mtk_here("convert", store, tmp_path / "out", "--to", "npy"), "texts")
