"""How many processes a command runs on, and the process group they form.

Launchers announce several processes through the environment: torchrun and ``accelerate launch`` set
``WORLD_SIZE`` (with ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``), MPI sets ``PMI_SIZE`` or
``OMPI_COMM_WORLD_SIZE``, and ``srun`` sets ``SLURM_STEP_NUM_TASKS``. :func:`start_group` turns that into one
accelerate process group, or refuses:

* on a machine without a GPU the processes form a gloo group on the CPU (accelerate alone would leave each
  ``--multi_gpu`` process by itself, each writing the same outputs as if alone);
* every collective gives up after :func:`collective_timeout` seconds (``MTK_PROCESS_TIMEOUT``, default 600)
  rather than waiting forever for a process that died or hangs;
* processes that were announced but formed no group (``WORLD_SIZE=2`` exported by hand, ``srun -n 2``
  without torchrun) are refused with one line saying what to run, before anything is written.

:func:`group_failure` turns the error a collective raises when another process is gone into that one line;
in a group, SIGTERM (what torchrun sends the others when one process fails) raises :class:`Stopped`, which the
CLI reports as one line too. Heavy imports (torch, accelerate) stay inside the functions: the CLI imports this module cheaply.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from mtk.errors import MtkError

#: variables that announce how many processes were launched, the most specific first
SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")
#: the matching rank variables
RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID")
TIMEOUT_VARIABLE = "MTK_PROCESS_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0
LAUNCH_HINT = ("launch with `torchrun --nproc_per_node N -m mtk ...` or `accelerate launch --num_processes N "
               "-m mtk ...`; see docs/scaling.md")


def _integer(environ: Mapping[str, str], name: str) -> int | None:
    try:
        return int(environ[name])
    except (KeyError, ValueError):
        return None


def announced_processes(environ: Mapping[str, str] | None = None) -> tuple[int, str | None]:
    """How many processes the environment says were launched, and the variable that says so (1, None if none)."""
    environ = os.environ if environ is None else environ
    for name in SIZE_VARIABLES:
        value = _integer(environ, name)
        if value is not None and value >= 1:
            return value, name
    return 1, None


def announced_rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's rank as the launcher announced it (0 without a launcher)."""
    environ = os.environ if environ is None else environ
    _, size_name = announced_processes(environ)
    if size_name is None:
        return 0
    return _integer(environ, RANK_VARIABLES[SIZE_VARIABLES.index(size_name)]) or 0


def is_main_process() -> bool:
    """Whether this process reports to the user (rank 0, or no launcher): cheap, before any group forms."""
    return announced_rank() == 0


def collective_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a collective waits for the other processes (``MTK_PROCESS_TIMEOUT``, default 600)."""
    environ = os.environ if environ is None else environ
    text = environ.get(TIMEOUT_VARIABLE)
    if text is None or not text.strip():
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise MtkError(None, f"{TIMEOUT_VARIABLE}={text!r} is not a number of seconds",
                       f"set it to a positive number, e.g. {TIMEOUT_VARIABLE}=600")
    return seconds


def _device_group_possible() -> bool:
    """Whether accelerate can form a group on an accelerator device here (CUDA, XPU, NPU ...; not MPS)."""
    import torch

    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and hasattr(accelerator, "current_accelerator"):
        device = accelerator.current_accelerator()
        return device is not None and device.type != "mps"
    return torch.cuda.is_available()


def _mpi_available() -> bool:
    import torch

    return torch.distributed.is_available() and torch.distributed.is_mpi_available()


def check_group(formed: int, environ: Mapping[str, str] | None = None) -> None:
    """Refuse when the launcher announced several processes but they formed a group of ``formed``."""
    count, name = announced_processes(environ)
    if count > 1 and formed != count:
        found = "no process group" if formed == 1 else f"a group of {formed}"
        raise MtkError(None, f"{name}={count} announces {count} processes but they formed {found}", LAUNCH_HINT)


def start_group(mixed_precision: str = "no") -> Any:
    """An ``accelerate.Accelerator`` over every announced process (see the module docstring)."""
    from datetime import timedelta

    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs

    count, name = announced_processes()
    if count > 1 and not os.environ.get("MASTER_ADDR") and not _mpi_available():
        raise MtkError(None, f"{name}={count} announces {count} processes but MASTER_ADDR is unset, so they cannot "
                       "meet", LAUNCH_HINT)
    timeout = InitProcessGroupKwargs(timeout=timedelta(seconds=collective_timeout()))
    cpu = count > 1 and not _device_group_possible()
    try:
        accelerator = Accelerator(mixed_precision=mixed_precision, cpu=cpu, kwargs_handlers=[timeout])
    except (ValueError, RuntimeError) as err:
        raise MtkError(None, f"cannot set up accelerate: {str(err).strip().splitlines()[0]}",
                       "check --mixed-precision (fp16 needs a GPU) and the accelerate config") from None
    check_group(accelerator.num_processes)
    if accelerator.num_processes > 1:
        _stop_on_sigterm()
    return accelerator


class Stopped(KeyboardInterrupt):
    """SIGTERM in a group: the launcher stops every process when one fails, and on Ctrl-C. Raised like Ctrl-C
    (outputs are left whole or not at all, runs stay resumable) and reported as one line."""


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Stopped` (only where nobody handles it already)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_stopped)


def default_sigterm() -> None:
    """SIGTERM ends the process again (a second signal, or one arriving while an interruption is reported)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is _raise_stopped:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _raise_stopped(signum: int, frame: object) -> None:
    import sys

    default_sigterm()
    torch = sys.modules.get("torch")
    where = ""
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        where = f"process {torch.distributed.get_rank()} of {torch.distributed.get_world_size()}: "
    raise Stopped(f"{where}stopped by the launcher (SIGTERM): another process of the group failed, or the launch "
                  "was interrupted")


def group_failure(err: BaseException) -> MtkError | None:
    """The one-line error for a collective that failed because another process died, failed or hung past the
    timeout; None when ``err`` is something else (or no group is running)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return None
    distributed_error = getattr(torch.distributed, "DistError", ())
    gloo = isinstance(err, RuntimeError) and "gloo" in str(err)  # gloo's errors name their source file
    if not isinstance(err, distributed_error) and not gloo:
        return None
    detail = _gloo_detail(err)
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return MtkError(None, f"process {rank} of {world}: another process of the group stopped, failed or did not "
                    f"answer within {collective_timeout():g} s ({detail})",
                    "see the other processes' errors; a training run continues with --resume")


def _gloo_detail(err: BaseException) -> str:
    """The first sentence of a collective's error, without gloo's source location."""
    lines = str(err).strip().splitlines()
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", lines[0]) if lines else type(err).__name__
    return text.split(". ")[0].rstrip(".")[:200]

