"""Issue #16: what a new user trips over in the first hour. One test (or a few) per numbered point.

Decisions made here for the implementers (the tests assert them; wording is matched loosely):

1. ``tokenizer train`` without ``--preset`` on a machine without a GPU trains ``tiny`` and says so in one
   stderr line that names ``mm64k`` and how to insist (``--preset mm64k``); with a GPU the default stays
   ``mm64k``. ``tokenizer train --help`` lists every preset with its steps and codebook size
   (``mm64k``: 6,048,000 steps, 65,536 codes ... ``tiny``: 1,200 steps, 1,024 codes; digits may carry commas).
2. After a Ctrl-C before the first checkpoint, a plain rerun and ``--resume`` agree: whatever one suggests
   works (a run folder with no checkpoint is simply started afresh by either).
3. ``tokenizer eval`` normalises like ``tokenize``: ``--mean/--std``, else the checkpoint's stats, else the
   dataset's. A checkpoint of another layout than the dataset is refused naming both layouts.
4. An unknown split is refused listing the splits and ``all``; never suggesting ``none``. A dataset without
   splits evaluates all its motions by default (with a note), as detokenized datasets have none.
5. Every fps says where it comes from: ``fps: 30.0 (layout default)``, ``(file)``, ``(--fps)``, in ``inspect``
   and in summary lines; when the content suggests another rate (the real 60 fps 272 file) a warning names it
   and the option (``--fps 60``).
6. ``convert --help`` says that 272 -> joints output is floor- and origin-aligned; so does the summary line
   and ``inspect`` of such a joints file ("aligned").
7. ``stats --feat-bias F --out meta/`` on the HumanML3D family writes ``meta/mean.npy``/``meta/std.npy``
   (text-to-motion's ``meta/`` names, which the help promises); without ``--feat-bias`` the family's dataset
   names ``Mean.npy``/``Std.npy`` stay. ``stats --check meta/mean.npy meta/std.npy`` then works.
8. ``convert SRC out.h5 --to zarr`` is refused (exit 2, one line naming ``out.h5`` and ``.zarr``); nothing
   is written. Same for any suffix naming another format.
9. ``-q`` is accepted anywhere on the command line; with it a successful command prints nothing. Without it
   the result summary ("wrote ...") goes to stdout, progress/notes/warnings to stderr; piped output never
   wraps (one line per line, whatever its length).
10. ``--ckpt Mean.npy`` gives one mtk line, none of PyTorch's ``weights_only`` advice.
11. The demo's report names token paths that ``inspect`` opens; ``render``'s summary gives the motion's frame
    count (not only the GIF's); ``mtk.__version__`` is the package version; ``dir(mtk)`` lists the public API.
12. Any folder tree of feature ``.npy`` files is a dataset when the user says so: ``--as-dataset`` (layout
    detected from the width), or ``--layout L`` given on a folder that is no known dataset layout
    (``layout=L`` for ``mtk.open_dataset``/``mtk.MotionDataset``). Names are relative paths without suffix;
    texts from a parallel ``texts/`` tree (``texts/<name>.txt``) or beside each file (``<name>.txt``); splits
    from ``train.txt``/``val.txt``/``test.txt`` (root or ``split/``) or ``--splits DIR``; stats from
    ``Mean.npy``/``Std.npy`` or ``mean.npy``/``std.npy`` at the root when present.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hostile import assert_one_line_error, motion_files, sample, setup_mtk, tiny_checkpoint, tree_state
from hostile import mtk_here as mtk  # what a user reads, not process bounds: in this process


NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}


@pytest.fixture(scope="module")
def ckpt263(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt263"))


@pytest.fixture(scope="module")
def ckpt272(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt272"), layout="smpl272")


# 1 ---------------------------------------------------------------------------------------------------------

def test_1_help_shows_every_preset_steps_and_codebook():
    text = mtk("tokenizer", "train", "--help").stdout.replace(",", "")
    for steps in ("6048000", "200000", "1200"):
        assert steps in text, steps
    assert text.count("codes") >= 3, text


def test_1_cpu_without_preset_does_not_start_mm64k_silently(tmp_path):
    data = sample(tmp_path / "data", count=40)
    run = mtk("tokenizer", "train", data, "--out", tmp_path / "run", "--iters", 2, "--eval-every", 2,
              "--save-every", 2, "--workers", 0, "--batch-size", 4, env=NO_GPU, timeout=120)
    assert run.code == 0, run.output
    import json

    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["preset"] == "tiny", config["model"]
    assert "mm64k" in run.stderr and "--preset mm64k" in run.stderr, run.stderr


def on_terminal(*args, timeout: float = 120) -> str:
    """stdout+stderr of ``mtk ARGS`` run on a pseudo-terminal (progress bars show only on a terminal)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mtk", *map(str, args)], stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout)
    os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_1_training_and_tokenizing_show_progress_with_eta(tmp_path, ckpt263):
    """A bar with a known total (done/total or a percentage) and a remaining time on a terminal."""
    data = sample(tmp_path / "data", count=40)
    trained = on_terminal("tokenizer", "train", data, "--out", tmp_path / "run", "--preset", "tiny", "--iters", 10,
                          "--eval-every", 10, "--save-every", 10, "--workers", 0, "--batch-size", 4)
    encoded = on_terminal("tokenize", data, "--ckpt", ckpt263, "--out", tmp_path / "tok" / "codes")
    for output in (trained, encoded):
        assert re.search(r"\d+%|\d+/\d+", output) and re.search(r"\d+:\d\d:\d\d", output), output


# 2 ---------------------------------------------------------------------------------------------------------

def test_2_ctrl_c_before_the_first_checkpoint_then_consistent_advice(tmp_path):
    data = sample(tmp_path / "data", count=40)
    run_dir = tmp_path / "run"
    args = ["tokenizer", "train", data, "--out", run_dir, "--preset", "tiny", "--iters", 100000,
            "--save-every", 100000, "--eval-every", 100000, "--workers", 0, "--batch-size", 4]
    # SIGINT restored in the child: a shell starts background jobs (CI) with it ignored, and then no
    # KeyboardInterrupt would ever reach mtk
    proc = subprocess.Popen([sys.executable, "-m", "mtk", "-q", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = time.perf_counter()
    while not (run_dir / "config.json").exists() and time.perf_counter() - started < 60:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert not (run_dir / "net_latest.pth").exists()
    short = [str(a) for a in args]
    short[short.index("--iters") + 1] = "2"
    short[short.index("--save-every") + 1] = "2"
    short[short.index("--eval-every") + 1] = "2"
    plain = mtk(*short, timeout=120)
    if plain.code != 0:
        # whatever the plain rerun suggests must work
        assert "--resume" not in plain.stderr or mtk(*short, "--resume", timeout=120).code == 0, plain.stderr
        assert "--overwrite" in plain.stderr, plain.stderr
        assert mtk(*short, "--overwrite", timeout=120).code == 0
    resumed = mtk(*short, "--resume", timeout=120)
    if resumed.code != 0:
        # --resume may refuse only by suggesting something other than what the plain rerun refused
        assert not ("without --resume" in resumed.stderr and plain.code != 0), (plain.stderr, resumed.stderr)


# 3 ---------------------------------------------------------------------------------------------------------

def test_3_eval_uses_the_checkpoint_stats_like_tokenize(tmp_path, ckpt263):
    data = sample(tmp_path / "data", count=8)
    (data / "Mean.npy").unlink()
    (data / "Std.npy").unlink()
    assert mtk("tokenize", data, "--ckpt", ckpt263, "--out", tmp_path / "tok" / "codes", timeout=60).code == 0
    run = mtk("tokenizer", "eval", data, "--ckpt", ckpt263, "--split", "all", timeout=60)
    assert run.code == 0, run.output
    assert "MPJPE" in run.output


def test_3_eval_names_the_layout_mismatch(tmp_path, ckpt272):
    data = sample(tmp_path / "data", count=8)
    (data / "Mean.npy").unlink()
    (data / "Std.npy").unlink()
    run = mtk("tokenizer", "eval", data, "--ckpt", ckpt272, "--split", "all", timeout=60)
    line = assert_one_line_error(run)
    assert ("smpl272" in line or "272" in line) and ("hml263" in line or "263" in line), line


# 4 ---------------------------------------------------------------------------------------------------------

def test_4_unknown_split_suggests_what_works(tmp_path, ckpt263):
    data = sample(tmp_path / "data", count=8)
    run = mtk("tokenizer", "eval", data, "--ckpt", ckpt263, "--split", "nosuch", timeout=60)
    line = assert_one_line_error(run, "nosuch")
    assert "all" in line and "none" not in line, line
    assert mtk("tokenizer", "eval", data, "--ckpt", ckpt263, "--split", "all", timeout=60).code == 0


def test_4_default_eval_on_a_detokenized_dataset(tmp_path, ckpt263):
    data = sample(tmp_path / "data", count=8)
    setup_mtk("tokenize", data, "--ckpt", ckpt263, "--out", tmp_path / "tok" / "codes")
    setup_mtk("detokenize", tmp_path / "tok" / "codes", "--ckpt", ckpt263, "--out", tmp_path / "decoded")
    run = mtk("tokenizer", "eval", tmp_path / "decoded", "--ckpt", ckpt263, timeout=60)
    assert run.code == 0, run.output


# 5 ---------------------------------------------------------------------------------------------------------

def test_5_inspect_says_where_fps_comes_from_and_doubts_it(data_dir):
    run = mtk("inspect", data_dir / "smpl272" / "features" / "000000.npy")
    assert re.search(r"fps: 30(\.0)? \(layout default\)", run.output), run.output
    assert "--fps 60" in run.output, run.output


def test_5_given_and_file_fps_are_labelled(tmp_path, data_dir):
    run = mtk("inspect", data_dir / "smpl272" / "features" / "000000.npy", "--fps", "60")
    assert re.search(r"fps: 60(\.0)? \(--fps\)", run.output), run.output
    assert "--fps 60" not in run.output.replace("fps: 60.0 (--fps)", "")
    bvh = mtk("inspect", data_dir / "motionmillion" / "bvh" / "case1_0_predict.bvh")
    assert re.search(r"fps: 30(\.0)? \(file\)", bvh.output), bvh.output


def test_5_convert_summary_says_where_fps_comes_from(tmp_path, data_dir):
    run = mtk("convert", data_dir / "smpl272" / "features" / "000000.npy", tmp_path / "m.bvh", timeout=60)
    assert run.code == 0, run.output
    assert "layout default" in run.output and "--fps 60" in run.output, run.output


# 6 ---------------------------------------------------------------------------------------------------------

def test_6_272_to_joints_says_it_is_aligned(tmp_path):
    assert "aligned" in mtk("convert", "--help").stdout
    data = sample(tmp_path / "data", count=2, layout="smpl272")
    out = tmp_path / "j.npy"
    run = mtk("convert", motion_files(data)[0], out, "--to", "joints")
    assert run.code == 0 and "aligned" in run.output, run.output
    assert "aligned" in mtk("inspect", out).output


# 7 ---------------------------------------------------------------------------------------------------------

def test_7_stats_feat_bias_out_meta_writes_what_help_promises(tmp_path):
    assert "{mean,std}.npy" in mtk("stats", "--help").stdout
    data = sample(tmp_path / "data", count=8)
    meta = tmp_path / "meta"
    assert mtk("stats", data, "--split", "all", "--feat-bias", "5", "--out", meta).code == 0
    names = set(os.listdir(meta))
    assert {"mean.npy", "std.npy"} <= names and not {"Mean.npy", "Std.npy"} & names, names
    check = mtk("stats", "--check", meta / "mean.npy", meta / "std.npy")
    assert check.code == 0 and "5" in check.output, check.output
    plain = tmp_path / "plain"
    assert mtk("stats", data, "--split", "all", "--out", plain).code == 0
    assert {"Mean.npy", "Std.npy"} <= set(os.listdir(plain))


# 8 ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dst, to", [("out.h5", "zarr"), ("out.zarr", "hdf5"), ("out.zarr", "npy"),
                                     ("out.bvh", "joints")])
def test_8_suffix_naming_another_format_is_refused(tmp_path, dst, to):
    data = sample(tmp_path / "data", count=2)
    src = motion_files(data)[0] if to == "joints" else data
    before = tree_state(tmp_path)
    line = assert_one_line_error(mtk("convert", src, tmp_path / dst, "--to", to), dst)
    assert to in line or {"zarr": ".zarr", "hdf5": ".h5"}.get(to, to) in line, line
    assert tree_state(tmp_path) == before


# 9 ---------------------------------------------------------------------------------------------------------

def test_9_quiet_anywhere(tmp_path):
    data = sample(tmp_path / "data", count=2)
    for k, args in enumerate((["convert", data, tmp_path / "a.zarr", "-q"],
                              ["convert", "-q", data, tmp_path / "b.zarr"],
                              ["-q", "convert", data, tmp_path / "c.zarr"])):
        run = mtk(*args)
        assert run.code == 0 and not run.stdout and not run.stderr, (args, run.output)


def test_9_summary_on_stdout_and_piped_output_never_wraps(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "data"
    data = sample(deep, count=2)
    run = mtk("convert", data, deep.parent / "store.zarr")
    assert run.code == 0
    assert "wrote" in run.stdout and "wrote" not in run.stderr, run.output
    line = next(line for line in run.stdout.splitlines() if "wrote" in line)
    assert "store.zarr" in line and "motions" in line and "MB/s" in line, run.stdout
    info = mtk("inspect", motion_files(data)[0])
    lines = info.stdout.splitlines()
    assert any(str(motion_files(data)[0]) in line for line in lines), info.stdout  # the long path is not cut
    assert any("dtype: float32" in line for line in lines), info.stdout
    assert not any(line.rstrip().endswith(":") for line in lines), info.stdout


# 10 --------------------------------------------------------------------------------------------------------

def test_10_ckpt_that_is_a_npy_gives_one_mtk_line(tmp_path):
    data = sample(tmp_path / "data", count=2)
    run = mtk("tokenize", data, "--ckpt", data / "Mean.npy", "--out", tmp_path / "tok" / "codes", timeout=60)
    line = assert_one_line_error(run, "Mean.npy")
    assert "weights_only" not in run.stderr and "PyTorch" not in run.stderr, line


# 11 --------------------------------------------------------------------------------------------------------

def test_11_version_and_public_api():
    from importlib.metadata import version

    import mtk as package

    assert package.__version__ == version("mtk")
    assert {"open_dataset", "create_writer", "MotionDataset", "WindowDataset", "read_bvh"} <= set(dir(package))
    assert mtk("--version").stdout.strip().endswith(package.__version__)


def test_11_render_summary_counts_motion_frames(tmp_path):
    data = sample(tmp_path / "data", count=1)
    motion = motion_files(data)[0]
    frames = np.load(motion).shape[0]
    run = mtk("render", motion, "--out", tmp_path / "m.gif", "--fps", "10", timeout=120)
    assert run.code == 0 and str(frames) in run.output, (frames, run.output)


def test_11_demo_report_names_inspectable_tokens(quick_demo):
    out = quick_demo[0]
    report = (out / "report" / "report.md").read_text()
    named = re.findall(r"`\.\./(tokens/[^`]+?)/?`", report)
    assert named, report
    for rel in named:
        opened = mtk("inspect", out / rel)
        assert opened.code == 0, (rel, opened.output)


# 12 --------------------------------------------------------------------------------------------------------

def make_tree(root: Path, count: int, seed: int = 0, texts: str = "parallel") -> list[str]:
    """A published-style tree: ``<group>/<sub>/<id>.npy`` of mixed depth (272 float64 features), texts in a
    parallel ``texts/`` tree (or beside each file), split lists of relative ids at the root."""
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        depth = i % 3
        parts = [f"g{i % 4}", f"s{i % 5}"][:depth] + [f"{i:06d}"]
        name = "/".join(parts)
        names.append(name)
        path = root / f"{name}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        features = rng.normal(size=(int(rng.integers(40, 80)), 272))
        features[:, 2:8] = [1, 0, 0, 0, 1, 0]
        np.save(path, features)
        text = (root / "texts" / f"{name}.txt") if texts == "parallel" else root / f"{name}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(f"a person does thing {i}#a/DET#0.0#0.0\n")
    names.sort()
    cut = int(len(names) * 0.8)
    (root / "train.txt").write_text("".join(f"{n}\n" for n in names[:cut]))
    (root / "test.txt").write_text("".join(f"{n}\n" for n in names[cut:]))
    return names


def test_12_validate_opens_a_tree_when_told(tmp_path):
    tree = tmp_path / "release"
    names = make_tree(tree, 12)
    run = mtk("validate", tree, "--layout", "smpl272")
    assert run.code == 0, run.output
    assert "12 motions" in run.output.replace("motions: 12", "12 motions") or "12" in run.output
    assert mtk("validate", tree, "--as-dataset").code == 0
    assert names


@pytest.mark.parametrize("texts", ["parallel", "beside"])
def test_12_tree_round_trip_through_zarr_to_the_motionmillion_layout(tmp_path, texts):
    tree = tmp_path / "release"
    names = make_tree(tree, 24, texts=texts)
    store = tmp_path / "mm.zarr"
    run = mtk("convert", tree, store, "--as-dataset", timeout=60)
    assert run.code == 0, run.output
    back = tmp_path / "MotionMillion"
    assert mtk("convert", store, back, "--to", "npy", timeout=60).code == 0
    for name in names:
        out = back / "motion_data" / "vector_272" / f"{name}.npy"
        assert out.read_bytes() == (tree / f"{name}.npy").read_bytes(), name
        source_text = tree / "texts" / f"{name}.txt" if texts == "parallel" else tree / f"{name}.txt"
        assert (back / "texts" / f"{name}.txt").read_text() == source_text.read_text()
    split_dir = back / "split" / "version1"
    assert (split_dir / "train.txt").read_text() == (tree / "train.txt").read_text()


def test_12_stats_tokenize_and_splits_dir_on_a_tree(tmp_path, ckpt272):
    tree = tmp_path / "release"
    make_tree(tree, 16)
    splits = tmp_path / "lists"
    splits.mkdir()
    for split in ("train", "test"):
        shutil.move(tree / f"{split}.txt", splits / f"{split}.txt")
    run = mtk("stats", tree, "--layout", "smpl272", "--splits", splits, "--out", tmp_path / "stats")
    assert run.code == 0, run.output
    assert "train" in run.output
    tok = mtk("tokenize", tree, "--layout", "smpl272", "--ckpt", ckpt272, "--out", tmp_path / "tok" / "codes",
              timeout=60)
    assert tok.code == 0, tok.output
    assert len(list((tmp_path / "tok" / "codes").rglob("*.npy"))) == 16


def test_12_torch_datasets_open_a_tree(tmp_path):
    import mtk as package

    tree = tmp_path / "release"
    names = make_tree(tree, 10)
    reader = package.open_dataset(tree, layout="smpl272")
    assert sorted(reader.names) == names
    dataset = package.MotionDataset(str(tree), split=None, layout="smpl272", normalize=False)
    assert len(dataset) == 10


@pytest.mark.slow
def test_12_a_thousand_files_round_trip_and_tokenize(tmp_path, ckpt272):
    tree = tmp_path / "release"
    names = make_tree(tree, 1000)
    store = tmp_path / "mm.zarr"
    assert mtk("convert", tree, store, "--layout", "smpl272", timeout=300).code == 0
    back = tmp_path / "MotionMillion"
    assert mtk("convert", store, back, "--to", "npy", timeout=300).code == 0
    for name in names:
        assert (back / "motion_data" / "vector_272" / f"{name}.npy").read_bytes() == \
            (tree / f"{name}.npy").read_bytes()
    tok = mtk("tokenize", tree, "--layout", "smpl272", "--ckpt", ckpt272, "--out", tmp_path / "tok" / "codes",
              timeout=300)
    assert tok.code == 0, tok.output
