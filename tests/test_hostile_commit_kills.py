"""Issue #12, class 6: a kill at any instant of a writer's commit leaves the complete old output or the complete
new one, and the next run repairs or reports what it finds.

Test hook contract (the implementation must honour it; it costs one environment lookup per pause point):

    MTK_TEST_PAUSE_AT=<point>      where to pause; unset in normal use
    MTK_TEST_PAUSE_FILE=<path>     the process writes "<point>\\n" to this file when it reaches the point,
                                   then blocks (``signal.pause()``-style) until it is killed or interrupted

    points:
      piece        after the first piece of resumable work is durably saved (a shard flushed and journaled,
                   a motion file written and journaled, a stats run or tokenize batch saved in the work folder)
      commit:K     in the commit that replaces the destination, after K filesystem operations (renames,
                   removals, the writes of stats' Mean/Std/stats.json, tokenize's folder/prob/pickle ...);
                   commit:0 = everything is written to temporaries, nothing of the old output touched yet.
                   When K is past the commit's last operation the process does not pause and finishes.

The tests run each writer onto an existing output with ``--overwrite``, kill it at ``commit:0``,
``commit:1`` ... until it no longer pauses, and check after each kill that the destination is exactly the
old output or exactly the new one (partial/work siblings aside), and that a rerun with ``--overwrite`` gives
the new output with nothing stray left. ``commit:0`` must pause for every writer (the hook is honoured).
Writers whose output is several sibling paths (``stats``: Mean/Std/stats.json; ``tokenize``: the code
folder, ``*_prob.npy``, ``all_data.pkl``) may leave a mixture only together with a commit journal (a
``.mtk-partial``/``.mtk-work``/``.journal`` sibling) from which the next run rolls forward.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hostile import PAUSE_AT, PAUSE_FILE, mtk, motion_files, sample, setup_mtk, strays, tiny_checkpoint, tree_state

#: writer -> (args with {src} for the input that changes between old and new, {out} the destination)
WRITERS = {
    "convert-zarr": ["convert", "{data}", "{out}/out.zarr"],
    "convert-hdf5": ["convert", "{data}", "{out}/out.h5"],
    "convert-npy": ["convert", "{data}", "{out}/out", "--to", "npy"],
    "convert-joints": ["convert", "{motion}", "{out}/j.npy", "--to", "joints"],
    "convert-bvh": ["convert", "{motion}", "{out}/m.bvh"],
    "convert-pfnn": ["convert", "{data}", "{out}/db", "--to", "pfnn"],
    "stats": ["stats", "{data}", "--split", "all", "--out", "{out}/stats"],
    "tokenize": ["tokenize", "{data}", "--ckpt", "{ckpt}", "--out", "{out}/codes"],
    "tokenize-zarr": ["tokenize", "{data}", "--ckpt", "{ckpt}", "--out", "{out}/tokens.zarr", "--format", "zarr"],
    "detokenize": ["detokenize", "{codes}", "--ckpt", "{ckpt}", "--out", "{out}/decoded"],
    "render": ["render", "{motion}", "--out", "{out}/m.png"],
    "sample": ["sample", "{out}/sample", "--count", "{count}"],
}


#: writers whose commit runs the same code as another writer's in the full matrix (detokenize and sample:
#: the npy folder writer's, as convert-npy; tokenize-zarr: a folder's ``Destination.commit``, as convert-zarr;
#: render: ``atomic_file``, as convert-joints) are killed at one step of it only (the most telling one:
#: the old output moved to the temporary name, or the file renamed), to keep the suite fast
ONE_STEP = {"detokenize": 2, "tokenize-zarr": 1, "render": 1, "sample": 1}


#: writers whose output is several sibling paths in a folder the user owns (stats: Mean/Std/stats.json in
#: --out; tokenize: codes/, codes_prob.npy, all_data.pkl): after a kill the state may be a mixture only when a
#: commit journal beside it lets the next run roll forward
SEVERAL_PATHS = {"stats", "tokenize"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two versions of every input (old, new)."""
    root = tmp_path_factory.mktemp("inputs")
    ckpt = tiny_checkpoint(root / "ckpt")
    versions = []
    for seed in (0, 1):
        data = sample(root / f"data{seed}", count=8 + seed, seed=seed)
        setup_mtk("tokenize", data, "--ckpt", ckpt, "--out", root / f"tok{seed}" / "codes")
        versions.append({"data": data, "ckpt": ckpt, "codes": root / f"tok{seed}" / "codes",
                         "motion": motion_files(data)[0], "count": 8 + seed})
    return versions


def command(writer: str, values: dict, out: Path) -> list[str]:
    return ["-q", *(a.format(out=out, **values) for a in WRITERS[writer])]


def output_state(folder: Path) -> dict[str, str]:
    """The destination's content, partial/work siblings aside."""
    strayed = tuple(Path(s) for s in strays(folder))
    return tree_state(folder, skip=strayed)


def run_until_paused(args: list[str], point: str, pause_file: Path, timeout: float = 60) -> bool:
    """Run mtk with the pause hook; SIGKILL it once paused. False when it finished without pausing."""
    pause_file.unlink(missing_ok=True)
    env = {**os.environ, PAUSE_AT: point, PAUSE_FILE: str(pause_file)}
    proc = subprocess.Popen([sys.executable, "-m", "mtk", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if pause_file.exists() and pause_file.read_text().strip() == point:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode()
            return False
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"mtk {' '.join(map(str, args))} neither paused at {point} nor finished")


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_kill_anywhere_in_the_overwrite_commit(tmp_path, inputs, writer):
    old, new = inputs
    reference = tmp_path / "reference"
    reference.mkdir()
    # the bytes a process writes are compared with the killed processes' below: made by a process too
    made = mtk(*command(writer, new, reference), timeout=300)
    assert made.code == 0, made.output
    expected_new = output_state(reference)
    original = tmp_path / "original"  # the old output, made once and copied before each kill (saves a run)
    original.mkdir()
    setup_mtk(*command(writer, old, original)[1:])
    pause = tmp_path / "paused"
    for k in [ONE_STEP[writer]] if writer in ONE_STEP else range(12):
        out = tmp_path / f"out{k}"
        shutil.copytree(original, out, symlinks=True)
        expected_old = output_state(out)
        assert expected_old != expected_new
        paused = run_until_paused([*command(writer, new, out), "--overwrite"], f"commit:{k}", pause)
        if not paused:
            assert k > 0 and writer not in ONE_STEP, f"the writer never paused at commit:{k}"
            assert output_state(out) == expected_new
            break
        state = output_state(out)
        if writer in SEVERAL_PATHS and state not in (expected_old, expected_new):
            # several sibling files cannot be swapped atomically: a commit journal must be left to roll
            # forward from (the rerun below must then repair)
            assert strays(out), f"commit:{k} left a mixture and no journal: {sorted(state)}"
        else:
            assert state in (expected_old, expected_new), f"commit:{k} left a mixture: {sorted(state)}"
        rerun = mtk(*command(writer, new, out), "--overwrite", timeout=60)
        assert rerun.code == 0, rerun.output
        assert output_state(out) == expected_new
        assert not strays(out), strays(out)


def test_stats_plain_rerun_after_a_kill_keeps_resumable_work(tmp_path, inputs):
    """A kill between Mean and Std; a plain rerun must not delete the work folder without saying so."""
    _, new = inputs
    out = tmp_path / "stats"
    args = command("stats", new, tmp_path)
    assert run_until_paused(args, "commit:1", tmp_path / "paused"), "stats never paused at commit:1"
    work = tmp_path / ".stats.mtk-work"
    had_work = work.exists()
    rerun = mtk(*args, timeout=60)
    if rerun.code != 0:
        assert "--resume" in rerun.stderr or "--overwrite" in rerun.stderr, rerun.stderr
        assert work.exists() == had_work, "the plain rerun deleted the resumable work folder"
        assert len([line for line in rerun.stderr.splitlines() if line.strip()]) == 1
        resumed = mtk(*args, "--resume", timeout=60)
        assert resumed.code == 0, resumed.output
    assert {"Mean.npy", "Std.npy"} <= {p.name for p in out.iterdir()}
    assert not strays(tmp_path)


@pytest.mark.parametrize("writer", ["convert-npy", "convert-zarr", "stats", "tokenize"])
def test_ctrl_c_says_how_to_resume(tmp_path, inputs, writer):
    _, new = inputs
    pause = tmp_path / "paused"
    env = {**os.environ, PAUSE_AT: "piece", PAUSE_FILE: str(pause)}
    # a shell starts background jobs with SIGINT ignored, and Python then never raises KeyboardInterrupt:
    # give the child the default disposition, as a terminal would
    proc = subprocess.Popen([sys.executable, "-m", "mtk", *command(writer, new, tmp_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = time.perf_counter()
    while not pause.exists() and proc.poll() is None and time.perf_counter() - started < 60:
        time.sleep(0.01)
    assert proc.poll() is None, "finished without pausing at 'piece' (MTK_TEST_PAUSE_AT not honoured)"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("mtk did not stop on Ctrl-C")
    assert proc.returncode in (130, 2, 1), err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--resume" in lines[0], err


def test_resume_after_a_source_changed_redoes_it(tmp_path, inputs):
    """--resume after a finished source file changed must not keep the stale data."""
    _, new = inputs
    data = tmp_path / "data"
    shutil.copytree(new["data"], data)
    out = tmp_path / "out"
    args = ["-q", "convert", data, out, "--to", "npy", "--workers", "1"]
    assert run_until_paused(args, "piece", tmp_path / "paused"), "never paused at 'piece'"
    first = motion_files(data)[0]
    changed = np.load(first) + 1
    np.save(first, changed)
    resumed = mtk(*args[1:], "--resume", timeout=60)
    if resumed.code == 0:
        np.testing.assert_array_equal(np.load(out / "new_joint_vecs" / first.name), changed)
        assert f"{len(motion_files(data))} motions" in resumed.output, resumed.output  # counts the whole output
    else:
        assert first.stem in resumed.stderr and len(resumed.stderr.strip().splitlines()) == 1, resumed.stderr
