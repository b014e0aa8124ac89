"""Several processes for real: a 2-process gloo group on the CPU (``torchrun --standalone --nproc_per_node 2``)
trains every quantizer, evaluates, tokenizes, detokenizes and trains a PFNN, and each result is compared with
one process's; launches that form no group are refused; a killed process ends the group with a one-line error;
Ctrl-C leaves a run that resumes on another number of processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch

from mtk.errors import MtkError
from mtk.tokenizer.quantizers import QUANTIZERS
from mtk.tokenizer.train import TrainConfig, train

HERE = Path(__file__).parent


def variants() -> dict[str, tuple[str, dict[str, str]]]:
    """Every registered quantizer, and one variant per other choice of each option with choices
    (``vqvae`` and ``vqvae-codebook_init-data``): run name -> (quantizer, options)."""
    found = {}
    for name, quantizer in QUANTIZERS.items():
        found[name] = (name, {})
        for option in quantizer.options:
            for choice in option.kind if isinstance(option.kind, tuple) else ():
                if choice != option.default:
                    found[f"{name}-{option.key}-{choice}"] = (name, {option.key: choice})
    return found


VARIANTS = variants()
#: per-process batch B; one process trains with 2B on the same windows
BATCH = 4
STEPS = 4
TRAIN = {"preset": "tiny", "window": 16, "lr": 1e-3, "warmup": 2, "milestones": (3,), "gamma": 0.5,
         "eval_every": 2, "save_every": 2, "log_every": 1, "workers": 0, "seed": 5}
#: on --resume every setting is the run's own
THE_RUNS_OWN = dict.fromkeys(TRAIN)


def train_args(dataset: Path, out: Path, **settings) -> list[str]:
    """``mtk tokenizer train`` arguments for TRAIN updated with ``settings`` (``quantizer_options`` as flags)."""
    args = ["tokenizer", "train", str(dataset), "--out", str(out)]
    settings = {**TRAIN, **settings}
    for key, value in {**(settings.pop("quantizer_options", None) or {}), **settings}.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not None:
            args += [flag, ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    return args


def one_process(dataset: Path, out: Path, **settings) -> dict:
    """The same training in this process (one process, no group)."""
    values = {**TRAIN, **settings}
    return train(TrainConfig(dataset=str(dataset), out=str(out), **values))


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR")}
    return {**env, "PYTHONPATH": str(HERE.parent), "MTK_PROCESS_TIMEOUT": "60", **extra}


def test_every_process_takes_its_share_of_the_global_batch_of_one_stream():
    from mtk.tokenizer.sampling import StepBatches, WindowStream

    lengths = np.array([40, 16, 25, 90, 33])
    stream = WindowStream(len(lengths), seed=3, lengths=lengths, window=16)
    one = list(StepBatches(stream, 6, rank=0, processes=1, first=0, steps=7))
    two = [list(StepBatches(stream, 3, rank=r, processes=2, first=0, steps=7)) for r in (0, 1)]
    assert len(one) == 7 and all(a + b == c for a, b, c in zip(*two, one, strict=True))
    keys = [key for batch in one for key in batch]
    for number in range(8):  # each pass visits every motion once, at a start inside it
        visit = keys[number * 5:(number + 1) * 5]
        if len(visit) == 5:
            assert sorted(index for index, _ in visit) == list(range(5))
        assert all(0 <= start <= lengths[index] - 16 for index, start in visit)
    # a run resumed at step 4 on 3 processes of batch 2 continues the very same stream
    resumed = [list(StepBatches(stream, 2, rank=r, processes=3, first=4 * 6, steps=3)) for r in range(3)]
    assert [a + b + c for a, b, c in zip(*resumed, strict=True)] == one[4:]
    assert WindowStream(5, seed=3).keys(3, 4) == [k for k, _ in stream.keys(3, 4)]
    assert WindowStream(5, seed=4, lengths=lengths, window=16).keys(0, 5) != stream.keys(0, 5)


def test_pfnn_steps_take_the_same_rows_on_two_processes_and_resume_with_the_global_batch():
    from mtk.pfnn.train import Plan, TrainConfig as PfnnConfig, _batches, _same_global_batch

    rows = np.arange(100, 300)
    plan = Plan(rows, np.zeros(0, np.int64), [], steps_per_epoch=12, total_steps=30, eval_steps=frozenset({30}))
    one = _batches(plan, PfnnConfig("db", "run", batch_size=16, seed=4), 1, rank=0, world=1)
    two = [_batches(plan, PfnnConfig("db", "run", batch_size=8, seed=4), 1, rank=r, world=2) for r in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(two, axis=1), one)
    saved = PfnnConfig("db", "run", batch_size=8, resume=True)
    assert _same_global_batch(saved, {"processes": 2}, world=1).batch_size == 16
    assert _same_global_batch(saved, {"processes": 2}, world=4).batch_size == 4
    assert _same_global_batch(saved, {"step": 3}, world=2).batch_size == 4  # saved before the count: 1 process
    with pytest.raises(MtkError, match="global batch of 16 rows .* does not split over 3 processes"):
        _same_global_batch(saved, {"processes": 2}, world=3)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A 272 sample dataset (24 motions), its PFNN database, and a 1-process run stopped at step 2 that the
    group resumes."""
    from mtk.pfnn.export import convert_to_pfnn
    from mtk.jobs.sample import write_sample_dataset

    root = tmp_path_factory.mktemp("processes")
    write_sample_dataset(str(root / "sample"), layout="smpl272", count=24, seed=3)
    convert_to_pfnn(str(root / "sample"), str(root / "pfnn"))
    one_process(root / "sample", root / "one_then_two", batch_size=2 * BATCH, iters=2)
    return {"root": root, "sample": root / "sample", "pfnn": root / "pfnn", "one_then_two": root / "one_then_two"}


@pytest.fixture(scope="module")
def group(data) -> Path:
    """One ``torchrun`` launch of tests/group_run.py: every command below on 2 processes."""
    out = data["root"] / "group"
    out.mkdir()
    sample = data["sample"]
    commands = [(f"train_{name}", train_args(sample, out / f"run_{name}", quantizer=quantizer,
                                             quantizer_options=options, batch_size=BATCH, iters=STEPS))
                for name, (quantizer, options) in VARIANTS.items()]
    commands += [
        ("resume_one_then_two", train_args(sample, data["one_then_two"], **THE_RUNS_OWN, resume=True,
                                           iters=STEPS)),
        ("eval", ["tokenizer", "eval", str(sample), "--ckpt", str(out / "run_vq" / "net_latest.pth"), "--split",
                  "all", "--batch-size", "5", "--json"]),
        ("tokenize", ["tokenize", str(sample), "--ckpt", str(out / "run_fsq" / "net_latest.pth"), "--out",
                      str(out / "tokens.zarr"), "--format", "zarr", "--batch-size", "3"]),
        ("detokenize", ["detokenize", str(out / "tokens.zarr"), "--ckpt", str(out / "run_fsq" / "net_latest.pth"),
                        "--out", str(out / "decoded.zarr")]),
        ("pfnn", ["pfnn", "train", str(data["pfnn"]), "--out", str(out / "pfnn_run"), "--epochs", "0.2",
                  "--hidden", "16", "--batch-size", "16", "--evals", "2", "--json"]),
    ]
    spec = out / "spec.json"
    spec.write_text(json.dumps({"out": str(out), "commands": commands}))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(HERE / "group_run.py"), str(spec)]
    launch = Launch(command, ACCELERATE_USE_CPU="1")
    try:
        stderr = launch.process.communicate(timeout=GROUP_LIMIT)[1]
    except subprocess.TimeoutExpired:
        pytest.fail(f"the group ran past {GROUP_LIMIT} s: {launch.stop()[-3000:]}")
    assert launch.process.returncode == 0, stderr[-3000:]
    for rank in (0, 1):
        codes = json.loads((out / f"codes.{rank}.json").read_text())
        failed = {name: (out / f"{name}.{rank}.err").read_text()[-1500:] for name, code in codes.items() if code}
        assert not failed, failed
    return out


def output(group: Path, name: str, rank: int = 0, stream: str = "out") -> str:
    return (group / f"{name}.{rank}.{stream}").read_text()


def nets(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["net"]


#: ||update(2 processes) - update(1 process)|| / ||update(1 process)|| over all weights, after STEPS steps
UPDATE_TOLERANCE = 0.02


def assert_same_model(got: Path, want: Path) -> None:
    """The same steps on the same windows: the weights moved from their (seeded) start the same way.

    Not bit for bit: DDP averages two half-batch gradients where one process sums one batch, and AdamW divides
    by the root of the squared gradients, which turns those last-bit differences into steps of up to +-lr on
    weights whose gradient is nearly zero. The losses agree to 1e-6; the updates to a fraction of a percent
    (0.34 % after 4 tiny-preset steps when measured); a different batch gives differences of order one."""
    from mtk.tokenizer.model import TokenizerModel

    a, b = torch.load(got, weights_only=True), torch.load(want, weights_only=True)
    assert (a["nb_iter"], a["samples"], a["config"]) == (b["nb_iter"], b["samples"], b["config"])
    torch.manual_seed(TRAIN["seed"])
    start = TokenizerModel(b["config"]).state_dict()
    difference = norm = 0.0
    for key, value in start.items():
        if value.is_floating_point():
            moved = b["net"][key] - value
            difference += float((a["net"][key] - value - moved).pow(2).sum())
            norm += float(moved.pow(2).sum())
    assert norm > 0 and (difference / norm) ** 0.5 < UPDATE_TOLERANCE, (difference / norm) ** 0.5


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_two_processes_train_the_model_one_process_trains_with_twice_the_batch(group, data, tmp_path, variant):
    quantizer, options = VARIANTS[variant]
    run = group / f"run_{variant}"
    assert f"{STEPS} steps on 2 process(es)" in output(group, f"train_{variant}")
    assert output(group, f"train_{variant}", rank=1) == ""  # the main process reports for the group
    assert json.loads((run / "config.json").read_text())["processes"] == 2
    one_process(data["sample"], tmp_path / "one", quantizer=quantizer, quantizer_options=options,
                batch_size=2 * BATCH, iters=STEPS)
    assert_same_model(run / "net_latest.pth", tmp_path / "one" / "net_latest.pth")
    # the logged losses are the global batch's: equal to one process's
    logs = [[json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
            for folder in (run, tmp_path / "one")]
    for two, one in zip(*logs, strict=True):
        for key in ("loss", "rec", "aux", "mpjpe_mm", "perplexity"):
            if key in one:
                assert two[key] == pytest.approx(one[key], rel=1e-4, abs=1e-6), (key, two, one)


@pytest.mark.slow
def test_quantizer_state_is_identical_on_every_process_and_equals_one_process(group):
    from tests.group_run import run_quantizers

    two = torch.load(group / "quantizers.pt", weights_only=True)
    one = run_quantizers(rank=0, world=1)
    assert two["identical_on_every_process"]
    assert one["reseeded"] > 0 and two["reseeded"] == one["reseeded"]  # resets happened, the same ones
    for key, value in one["vq"].items():
        torch.testing.assert_close(two["vq"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    # VQ-VAE's data-initialised codebook is drawn from the global batch
    torch.testing.assert_close(two["vqvae"], one["vqvae"], rtol=1e-5, atol=1e-6)
    # LFQ's entropy term is the global batch's: DDP's average gradient equals one process's
    torch.testing.assert_close(two["lfq_grad"], one["lfq_grad"], rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_a_run_resumes_on_another_number_of_processes(group, data, tmp_path):
    # started on 1 process (batch 2B), resumed on 2 (batch B each: the same global batch)
    reference = tmp_path / "one"
    one_process(data["sample"], reference, batch_size=2 * BATCH, iters=STEPS)
    assert f"{STEPS} steps on 2 process(es)" in output(group, "resume_one_then_two")
    assert_same_model(data["one_then_two"] / "net_latest.pth", reference / "net_latest.pth")
    # started on 2 processes, resumed on 1: the batch becomes 2B by itself
    resumed = tmp_path / "two_then_one"
    resumed.mkdir()
    for name in ("net_latest.pth", "config.json"):
        (resumed / name).write_bytes((group / "run_fsq" / name).read_bytes())
    one_process(data["sample"], resumed, **THE_RUNS_OWN, resume=True, iters=STEPS + 2)
    one_process(data["sample"], reference, **THE_RUNS_OWN, resume=True, iters=STEPS + 2)
    assert_same_model(resumed / "net_latest.pth", reference / "net_latest.pth")


@pytest.mark.slow
def test_evaluation_on_two_processes_equals_one(group, data):
    from mtk.tokenizer.evaluate import evaluate_checkpoint

    two = json.loads(output(group, "eval"))
    one = evaluate_checkpoint(str(data["sample"]), str(group / "run_vq" / "net_latest.pth"), split="all",
                              batch_size=5)
    assert two["processes"] == 2 and one["processes"] == 1
    assert two["motions"] == one["motions"] == 24 and two["frames"] == one["frames"]
    assert two["codes_used"] == one["codes_used"]
    for key in ("mpjpe_mm", "root_error_mm", "perplexity"):
        assert two[key] == pytest.approx(one[key], rel=1e-9), key


@pytest.mark.slow
def test_tokenize_and_detokenize_on_two_processes_equal_one(group, data, tmp_path):
    from mtk.formats.datasets import open_dataset
    from mtk.formats.tokens import read_tokens
    from mtk.tokenizer.tokenize import detokenize, tokenize_dataset

    ckpt = str(group / "run_fsq" / "net_latest.pth")
    assert "2 processes" in output(group, "tokenize") and "on 2 processes" in output(group, "detokenize")
    tokenize_dataset(str(data["sample"]), ckpt, str(tmp_path / "one.zarr"), format="zarr", batch_size=3)
    two, one = read_tokens(group / "tokens.zarr"), read_tokens(tmp_path / "one.zarr")
    assert two.names == one.names and two.texts == one.texts and len(two.names) == 24
    for a, b in zip(two.codes, one.codes, strict=True):
        np.testing.assert_array_equal(a, b)
    detokenize(str(tmp_path / "one.zarr"), ckpt, str(tmp_path / "one_decoded.zarr"))
    decoded, expected = open_dataset(group / "decoded.zarr"), open_dataset(tmp_path / "one_decoded.zarr")
    assert decoded.info.names == expected.info.names
    for name in expected.info.names:
        np.testing.assert_allclose(decoded.read(name).features, expected.read(name).features, rtol=1e-5, atol=1e-5)
    assert not list(group.glob(".*mtk-shards*")) and not list(group.glob(".*mtk-lock"))


@pytest.mark.slow
def test_pfnn_trains_on_two_processes(group):
    result = json.loads(output(group, "pfnn"))
    assert result["processes"] == 2 and result["steps"] == result["total_steps"] > 0
    assert json.loads((group / "pfnn_run" / "config.json").read_text())["processes"] == 2
    assert (group / "pfnn_run" / "net_latest.pth").is_file()


# --- launches that must not run as if alone, and how a group ends ---------------------------------------------


def test_the_environment_says_how_many_processes_were_launched():
    from mtk.io.processes import announced_processes, announced_rank, check_group, collective_timeout

    assert announced_processes({}) == (1, None) and announced_rank({}) == 0
    assert announced_processes({"WORLD_SIZE": "4", "SLURM_STEP_NUM_TASKS": "2"}) == (4, "WORLD_SIZE")
    assert announced_processes({"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "1"}) == (2, "SLURM_STEP_NUM_TASKS")
    assert announced_rank({"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "1"}) == 1
    assert announced_rank({"OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "2"}) == 2
    check_group(2, {"WORLD_SIZE": "2"})
    check_group(1, {})
    with pytest.raises(MtkError, match="WORLD_SIZE=2 announces 2 processes but they formed no process group"):
        check_group(1, {"WORLD_SIZE": "2"})
    assert collective_timeout({}) == 600 and collective_timeout({"MTK_PROCESS_TIMEOUT": "2.5"}) == 2.5
    for bad in ("0", "-3", "soon", "inf", "nan"):
        with pytest.raises(MtkError, match="MTK_PROCESS_TIMEOUT"):
            collective_timeout({"MTK_PROCESS_TIMEOUT": bad})


def test_a_failed_collective_reads_as_one_line_only_inside_a_group():
    from mtk.io.processes import _gloo_detail, group_failure

    err = RuntimeError("[/src/third_party/gloo/gloo/transport/tcp/pair.cc:537] Read error [127.0.0.1]:36019: "
                       "Connection reset by peer. This is typically caused by a remote worker crashing.\nmore")
    assert _gloo_detail(err) == "Read error [127.0.0.1]:36019: Connection reset by peer"
    assert group_failure(err) is None  # no group in this process: not a group failure


def _refused(monkeypatch, capsys, tmp_path, **variables: str) -> str:
    """``mtk tokenizer train`` in this process under ``variables``: exit 2, one line, no run folder."""
    from mtk.cli import main

    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as done:
        main(["-q", "tokenizer", "train", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--iters", "2"])
    error = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(error.splitlines()) == 1, error
    assert not (tmp_path / "run").exists()
    return error


def test_processes_that_form_no_group_are_refused_with_what_to_run(monkeypatch, capsys, tmp_path):
    from accelerate.state import AcceleratorState

    sample = tmp_path / "data"
    from mtk.jobs.sample import write_sample_dataset

    write_sample_dataset(str(sample), layout="smpl272", count=4, seed=1)
    # WORLD_SIZE exported by hand: nobody to meet
    error = _refused(monkeypatch, capsys, tmp_path, WORLD_SIZE="2", RANK="0")
    assert "WORLD_SIZE=2 announces 2 processes but MASTER_ADDR is unset" in error and "torchrun" in error
    # srun -n 2 without torchrun: each task would train alone into the same folder
    try:
        error = _refused(monkeypatch, capsys, tmp_path, SLURM_STEP_NUM_TASKS="2", SLURM_PROCID="0",
                         MASTER_ADDR="127.0.0.1")
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert "SLURM_STEP_NUM_TASKS=2 announces 2 processes but they formed no process group" in error
    assert "accelerate launch --num_processes N" in error


def test_two_trainings_never_write_one_run_folder(tmp_path):
    from mtk.io.lock import exclusive

    with exclusive(tmp_path / "run"):  # another mtk process training into it
        with pytest.raises(MtkError, match="is being written by another mtk process"):
            one_process(tmp_path / "unused", tmp_path / "run", iters=2)
    assert not (tmp_path / "run").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: seconds the group's launch may take (about 60 on an idle 2-core machine)
GROUP_LIMIT = 600


class Launch:
    """A launcher started in a session of its own (as a terminal's foreground job), and every process under it.

    torchrun starts each worker in a session of its own: killing the launcher's process group would leave the
    workers running (a 100,000-step run for hours) with the launcher's pipes open, and reading those would
    never end. So the workers are gathered while the launcher lives and :meth:`stop` kills each one."""

    def __init__(self, command: list[str], **env: str):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True, env=environment(**env))
        self.family: dict[int, psutil.Process] = {}

    def gather(self) -> None:
        """Note every process now under the launcher."""
        with contextlib.suppress(psutil.NoSuchProcess):
            self.family.update((p.pid, p) for p in psutil.Process(self.process.pid).children(recursive=True))

    def stop(self) -> str:
        """Kill the launcher and every process it started; the launcher's stderr ('' when already read)."""
        running = self.process.poll() is None
        if running:
            self.gather()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        for process in self.family.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        return self.process.communicate(timeout=60)[1] if running else ""


@contextmanager
def _launch(command: list[str], run: Path, **env: str) -> Iterator[subprocess.Popen]:
    """Start a launcher, wait for the run's first checkpoint; whatever is still running at the end is killed,
    the launcher's workers included."""
    launch = Launch(command, **env)
    try:
        deadline = time.monotonic() + 300
        while not (run / "net_latest.pth").is_file():
            if launch.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no checkpoint: {launch.stop()[-2000:]}")
            time.sleep(0.2)
        launch.gather()
        yield launch.process
    finally:
        launch.stop()


def _ends_within(launcher: subprocess.Popen, stop: Callable[[], object], seconds: float = 30) -> str:
    """``stop()`` the launch: every process must be gone, the launch failed, within ``seconds``. Its stderr."""
    stop()
    stopped = time.monotonic()
    _, stderr = launcher.communicate(timeout=60)
    assert time.monotonic() - stopped < seconds and launcher.returncode != 0
    return stderr


def _resumes_on_one_process(data, run: Path) -> None:
    """The run left behind continues on one process, from its checkpoint, with the same global batch."""
    saved = torch.load(run / "net_latest.pth", weights_only=True)
    assert saved["processes"] == 2 and saved["train"]["batch_size"] == BATCH
    result = one_process(data["sample"], run, **THE_RUNS_OWN, resume=True, iters=saved["nb_iter"] + 2)
    assert result["processes"] == 1 and result["iter"] == saved["nb_iter"] + 2
    assert result["settings"]["batch_size"] == 2 * BATCH
    assert not list(run.parent.glob("*.mtk-lock"))


LONG_RUN = {"iters": 100_000, "save_every": 1, "eval_every": 100_000, "log_every": 100_000, "batch_size": BATCH}


@pytest.mark.slow
def test_accelerate_multi_gpu_without_gpus_forms_one_group_and_a_killed_process_ends_it(data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
               str(_free_port()), "-m", "mtk", *train_args(data["sample"], run, **LONG_RUN)]
    with _launch(command, run, MTK_PROCESS_TIMEOUT="20") as launcher:
        assert json.loads((run / "config.json").read_text())["processes"] == 2  # one group, not two runs
        ranks = {p.environ().get("RANK"): p for p in psutil.Process(launcher.pid).children(recursive=True)
                 if "mtk" in p.cmdline()}
        assert set(ranks) == {"0", "1"}
        stderr = _ends_within(launcher, ranks["1"].kill)
    ours = [line for line in stderr.splitlines() if line.startswith("mtk: ")]
    assert any(line.startswith(("mtk: error: process 0 of 2: another process of the group stopped",
                                "mtk: process 0 of 2: stopped by the launcher")) for line in ours), stderr[-2000:]
    assert not list(tmp_path.glob("*.mtk-lock"))


@pytest.mark.slow
def test_ctrl_c_on_the_launcher_leaves_a_run_that_resumes(data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "mtk",
               *train_args(data["sample"], run, **LONG_RUN)]
    with _launch(command, run, ACCELERATE_USE_CPU="1") as launcher:
        stderr = _ends_within(launcher, lambda: os.killpg(launcher.pid, signal.SIGINT))  # what Ctrl-C does
    assert "holds the last checkpoint: rerun with --resume" in stderr
    _resumes_on_one_process(data, run)
