"""Helpers for the hostile-input tests (issue #12) and the first-hour tests (issue #16).

Everything here goes through stable interfaces only: the ``mtk`` command line (in a bounded subprocess, or
in this process through ``mtk.testing.run_cli`` where a process is not the point: building inputs, the
first-hour messages), and the third-party libraries (numpy, zarr, h5py, torch) that write the files mtk
reads. Nothing imports mtk's internal modules, so these tests survive the package restructure.

Bounds (issue #12 acceptance): a command may not hang beyond ``TIME_BOUND`` seconds nor use more than
``MEMORY_BOUND`` bytes of memory on inputs under 1 MB. Time is the child's CPU time, so that a machine busy
with other work (two test processes and a training on two cores) does not turn a slow start into a "hang";
a child that stops computing but does not end (blocked on a read) is stopped after ``WALL_FACTOR`` times
the bound in wall time. Memory is measured as the child's peak RSS
(``os.wait4``); the address space is also capped at ``ADDRESS_CAP`` so that a blow-up cannot take the machine
down (measured: ``mtk tokenize`` with torch peaks at ~250 MB RSS and runs under a 1 GiB address-space cap).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import pytest

TIME_BOUND = 10.0
WALL_FACTOR = 6
MEMORY_BOUND = 1 << 30
ADDRESS_CAP = 2 << 30
#: environment contract for the commit-kill tests (see test_hostile_commit_kills.py)
PAUSE_AT = "MTK_TEST_PAUSE_AT"
PAUSE_FILE = "MTK_TEST_PAUSE_FILE"


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float  # wall time
    cpu_seconds: float  # the child's user + system time
    max_rss: int  # bytes

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_CAP, ADDRESS_CAP))


def _command(args) -> list[str]:
    return [sys.executable, "-m", "mtk", *map(str, args)]


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system seconds ``process`` has run so far (0 once it has ended)."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def mtk(*args, cwd: Path | None = None, timeout: float = TIME_BOUND, env: dict | None = None,
        stdin: str | None = None) -> Run:
    """Run ``mtk ARGS`` under the time and address-space bounds; fail the test when it hangs: ``timeout``
    seconds of CPU, or ``WALL_FACTOR`` times that of wall time."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(_command(args), cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                env={**os.environ, **(env or {})}, preexec_fn=_cap_memory)
        if stdin is not None:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        watched = psutil.Process(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            wall = time.perf_counter() - started
            cpu = _cpu_seconds(watched) if wall > timeout else 0.0
            if wall > WALL_FACTOR * timeout or cpu > timeout:
                os.kill(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                pytest.fail(f"mtk {' '.join(map(str, args))} hung: {cpu:.0f} s of CPU in {wall:.0f} s (bounds:"
                            f" {timeout:.0f} s of CPU, {WALL_FACTOR * timeout:.0f} s)")
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(tuple(map(str, args)), proc.returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), time.perf_counter() - started,
                   usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def mtk_here(*args, cwd: Path | None = None, timeout: float | None = None, env: dict | None = None) -> Run:
    """``mtk ARGS`` run in this process through its console entry point (``mtk.testing.run_cli``), for tests
    where a process is not the point: the same exit code, stdout and stderr as :func:`mtk`, without an
    interpreter start-up; no bounds (``max_rss`` 0, ``timeout`` ignored). ``env`` is set for the call."""
    from mtk.testing import run_cli

    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    started, cpu = time.perf_counter(), time.process_time()
    try:
        done = run_cli(*args, cwd=cwd)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Run(tuple(map(str, args)), done.code, done.stdout, done.stderr, time.perf_counter() - started,
               time.process_time() - cpu, 0)


def setup_mtk(*args, cwd: Path | None = None) -> Run:
    """Run an mtk command that builds a test input, in this process (building inputs is not what the
    bounds are about); it must succeed."""
    run = mtk_here("-q", *args, cwd=cwd)
    assert run.code == 0, run.output
    return run


def assert_bounded(run: Run) -> None:
    assert run.max_rss < MEMORY_BOUND, f"mtk {' '.join(run.args)} used {run.max_rss / 2**20:.0f} MB"


def assert_one_line_error(run: Run, *facts: str, code: int = 2) -> str:
    """Exit ``code`` with exactly one non-empty stderr line ``mtk: error: ...`` that contains every fact (a
    path, a name); never an internal error or a traceback. Returns the line."""
    assert_bounded(run)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.code == code, f"exit {run.code}, expected {code}:\n{run.output}"
    errors = [line for line in lines if line.startswith("mtk: error: ")]
    assert len(errors) == 1, f"expected one 'mtk: error:' line:\n{run.stderr}"
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    assert not any(line.startswith(("  File ", "Warning:", "/")) for line in lines), run.stderr
    for fact in facts:
        assert str(fact) in errors[0], f"{fact!r} not in {errors[0]!r}"
    return errors[0]


def tree_state(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """sha256 (or the kind, for non-regular entries) of every entry under ``root``, except under ``skip``;
    symlinks are not followed. Folders are listed too, so a created empty folder counts as a change."""
    skip = tuple(Path(p).absolute() for p in skip)
    state: dict[str, str] = {}
    for path in sorted(Path(root).rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        mode = path.lstat().st_mode
        key = str(path.relative_to(root))
        if stat.S_ISLNK(mode):
            state[key] = "link->" + os.readlink(path)
        elif stat.S_ISREG(mode):
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISDIR(mode):
            state[key] = "dir"
        else:
            state[key] = f"special:{stat.S_IFMT(mode)}"
    return state


def strays(folder: Path) -> list[str]:
    """Entries of ``folder`` (recursively) that a finished or refused run must not leave: partial siblings,
    journals, work folders, temporary files."""
    marks = (".mtk-partial", ".mtk-work", ".mtk-lock", ".mtk-commit", ".mtk-old", ".journal", ".tmp", ".lock")
    return sorted(str(p) for p in Path(folder).rglob("*") if any(m in p.name for m in marks))


# -- inputs ------------------------------------------------------------------------------------------------

def sample_here(root: Path, count: int = 6, layout: str = "hml263", seed: int = 0) -> Path:
    """:func:`sample`, in this process."""
    run = mtk_here("-q", "sample", root, "--count", count, "--layout", layout, "--seed", seed)
    assert run.code == 0, run.output
    return root


def store_here(src: Path, dst: Path) -> Path:
    """:func:`store`, in this process."""
    run = mtk_here("-q", "convert", src, dst)
    assert run.code == 0, run.output
    return dst


def sample(root: Path, count: int = 6, layout: str = "hml263", seed: int = 0) -> Path:
    """A procedural dataset written by ``mtk sample`` (HumanML3D layout for hml263, MotionMillion for 272)."""
    setup_mtk("sample", root, "--count", count, "--layout", layout, "--seed", seed)
    return root


def motion_files(dataset: Path) -> list[Path]:
    return sorted(p for p in dataset.rglob("*.npy")
                  if p.parent.name == "new_joint_vecs" or p.relative_to(dataset).parts[:2] == ("motion_data", "vector_272"))


def store(src: Path, dst: Path) -> Path:
    setup_mtk("convert", src, dst)
    return dst


def set_store_names(path: Path, names: list[str]) -> None:
    """Replace the ``names`` array of an mtk Zarr (.zarr) or HDF5 (.h5) store (same count)."""
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r+") as f:
            assert len(f["names"]) == len(names)
            del f["names"]
            f.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        return
    import zarr

    array = zarr.open_array(str(path / "names"), mode="r+")
    assert array.shape == (len(names),)
    array[:] = np.array(names, dtype=array.dtype)


def store_names(path: Path) -> list[str]:
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as f:
            return [n.decode() if isinstance(n, bytes) else str(n) for n in f["names"][:]]
    import zarr

    return [str(n) for n in zarr.open_array(str(path / "names"), mode="r")[:]]


def tiny_checkpoint(folder: Path, layout: str = "hml263") -> Path:
    """A tiny tokenizer trained for 2 steps by ``mtk tokenizer train`` (random-ish but valid weights), copied
    into ``folder``; trained once per test session and layout."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"tiny-{layout}.pth"
    shutil.copyfile(_trained_checkpoint(layout), target)
    return target


@functools.cache
def _trained_checkpoint(layout: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="mtk-hostile-ckpt-"))
    atexit.register(shutil.rmtree, root, True)
    data = sample(root / "train-data", count=40, layout=layout)
    run = root / "run"
    setup_mtk("tokenizer", "train", data, "--out", run, "--preset", "tiny", "--iters", 2, "--eval-every", 2,
              "--save-every", 2, "--workers", 0, "--batch-size", 4)
    return run / "net_latest.pth"


def npy_header_only(path: Path, shape: tuple[int, ...], dtype: str = "<f4") -> Path:
    """A ``.npy`` file whose header declares ``shape`` but that holds no data (a ~128-byte file)."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
    return path


def tmpfs(folder: Path, size: str = "1m", read_only: bool = False):
    """Mount a small tmpfs on ``folder`` (root only; the test skips otherwise). Use as a context manager."""
    return _Tmpfs(folder, size, read_only)


class _Tmpfs:
    def __init__(self, folder: Path, size: str, read_only: bool):
        self.folder, self.size, self.read_only = Path(folder), size, read_only

    def __enter__(self) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        self.folder.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.folder)],
                                 capture_output=True)
        if mounted.returncode:
            pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
        if self.read_only and subprocess.run(["mount", "-o", "remount,ro", str(self.folder)]).returncode:
            self.__exit__()
            pytest.skip("cannot remount the tmpfs read-only")
        return self.folder

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)
