"""Tokenizer training and evaluation: schedule, loss, checkpoints, resume after a kill, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mtk.errors import MtkError
from mtk.features import get_layout
from mtk.tokenizer import build_model, load_checkpoint
from mtk.tokenizer.evaluate import batch_errors, evaluate
from mtk.tokenizer.losses import position_slice, reconstruction_loss
from mtk.tokenizer.schedule import WarmupStepSchedule
from mtk.tokenizer.train import TrainConfig, train


class Windows(torch.utils.data.Dataset):
    """In-memory stand-in for WindowDataset: normalized (window, D) tensors plus layout/mean/std."""

    def __init__(self, count: int = 16, window: int = 16, layout: str = "smpl272", seed: int = 0):
        self.layout = get_layout(layout)
        rng = np.random.default_rng(seed)
        self.mean = rng.normal(size=self.layout.dim).astype(np.float32) * 0.1
        self.std = np.full(self.layout.dim, 0.5, np.float32)
        self.data = torch.from_numpy(rng.normal(size=(count, window, self.layout.dim)).astype(np.float32) * 0.5)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        return self.data[i]


class Motions(Windows):
    """In-memory stand-in for MotionDataset: zero-padded motions of varying length."""

    def __getitem__(self, i: int):
        length = self.data.shape[1] - 3 * (i % 3)
        features = self.data[i].clone()
        features[length:] = 0
        return {"features": features, "length": length, "name": f"{i:03d}"}


def datasets():
    return Windows(), Motions(count=5, window=20, seed=1)


def quick(tmp_path, **overrides) -> TrainConfig:
    settings = dict(preset="tiny", iters=4, batch_size=4, window=16, lr=1e-3, warmup=2, milestones=(3,),
                    gamma=0.5, eval_every=2, save_every=2, log_every=1, workers=0)
    settings.update(overrides)
    return TrainConfig(dataset="memory", out=str(tmp_path / "run"), **settings)


def records(tmp_path, event: str) -> list[dict]:
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == event]


def test_schedule_counts_optimizer_steps():
    schedule = WarmupStepSchedule(lr=1.0, warmup=4, milestones=(10, 20), gamma=0.1)
    assert [schedule.lr_at(s) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert schedule.lr_at(9) == 1.0 and schedule.lr_at(10) == pytest.approx(0.1)
    assert schedule.lr_at(25) == pytest.approx(0.01)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    assert schedule.apply(optimizer, 1) == 0.5 and optimizer.param_groups[0]["lr"] == 0.5


def test_loss_adds_the_weighted_position_term():
    assert position_slice(get_layout("smpl272")) == slice(8, 74)
    assert position_slice(get_layout("hml263")) == get_layout("hml263").block("ric_positions").slice
    target = torch.zeros(1, 4, 272)
    prediction = target.clone()
    prediction[..., 8:74] = 0.5  # SmoothL1(0.5) = 0.125 per element
    parts = reconstruction_loss(prediction, target, get_layout("smpl272"), position_weight=0.5)
    assert parts.positions == pytest.approx(0.125) and parts.root == 0
    assert parts.reconstruction == pytest.approx(0.125 * 66 / 272)
    assert parts.total == pytest.approx(0.125 * 66 / 272 + 0.0625)
    prediction[..., 2:8] = 3.0  # SmoothL1(3) = 2.5 on the heading columns, root term over 0:8
    parts = reconstruction_loss(prediction, target, get_layout("smpl272"), position_weight=0.0, root_weight=2.0)
    assert parts.root == pytest.approx(2.5 * 6 / 8)
    assert parts.total == pytest.approx(parts.reconstruction + 2 * 2.5 * 6 / 8)


def test_mpjpe_is_pelvis_aligned_mean_over_joints():
    layout = get_layout("smpl272")
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.normal(size=(2, 12, 272)) * 0.1)
    target[..., 2:8] = torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64)  # no heading change
    prediction = target.clone()
    prediction[..., 8 + 3 * 5] += 0.022  # joint 5 moves 22 mm along x in every frame
    prediction[..., 0] += 0.01  # the root drifts 10 mm per frame: cancels in MPJPE, shows in root error
    lengths = torch.tensor([12, 6])
    errors = batch_errors(prediction, target, lengths, layout)
    assert errors["mpjpe"].tolist() == pytest.approx([0.001, 0.001])
    assert errors["pose_mpjpe"].tolist() == pytest.approx([0.001, 0.001])
    assert errors["root"][1].item() == pytest.approx(0.01 * 3.5)  # mean of 1..6 frames of 10 mm drift
    assert errors["accel_error"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)  # a constant offset


def test_pose_mpjpe_ignores_the_heading_and_mpjpe_does_not():
    layout = get_layout("smpl272")
    rng = np.random.default_rng(1)
    target = torch.from_numpy(rng.normal(size=(1, 10, 272)) * 0.1)
    target[..., 2:8] = torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64)
    prediction = target.clone()
    turn = 0.2  # the prediction turns 0.2 rad about +y in its first frame and keeps that heading
    c, s = np.cos(turn), np.sin(turn)
    prediction[:, 0, 2:8] = torch.tensor([c, 0, -s, 0, 1, 0], dtype=torch.float64)
    errors = batch_errors(prediction, target, torch.tensor([10]), layout)
    assert errors["pose_mpjpe"].item() == pytest.approx(0.0, abs=1e-12)
    assert errors["mpjpe"].item() > 0.01


def test_acceleration_figures_follow_second_differences():
    layout = get_layout("smpl272")
    target = torch.zeros(1, 8, 272, dtype=torch.float64)
    target[..., 2:8] = torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64)
    prediction = target.clone()
    prediction[0, 4, 8 + 3 * 7] += 0.004  # joint 7 jumps 4 mm along x in frame 4 only
    errors = batch_errors(prediction, target, torch.tensor([8]), layout)
    # frames 3, 4, 5 see |a| of 4, 8, 4 mm on one of 22 joints; the mean is over the 6 inner frames
    assert errors["accel_max"].item() == pytest.approx((0.004 + 0.008 + 0.004) / 6)
    assert errors["accel_mean"].item() == pytest.approx((0.004 + 0.008 + 0.004) / 6 / 22)
    assert errors["accel_error"].item() == pytest.approx(errors["accel_mean"].item())
    assert errors["gt_accel_max"].item() == 0.0


def test_evaluation_shards_cover_the_split():
    model = build_model("tiny", 272)
    motions = Motions(count=7, window=20, seed=2)
    mean, std = torch.as_tensor(motions.mean), torch.as_tensor(motions.std)
    whole = evaluate(model, motions, motions.layout, mean, std, batch_size=3)
    shards = [evaluate(model, motions, motions.layout, mean, std, batch_size=2, rank=r, world=2) for r in (0, 1)]
    assert whole["motions"] == 7 == sum(s["motions"] for s in shards)
    combined = sum(s["mpjpe_mm"] * s["motions"] for s in shards) / 7
    assert combined == pytest.approx(whole["mpjpe_mm"], rel=1e-5)
    assert whole["codes_used"] <= whole["codebook_size"] == 1000 and whole["perplexity"] >= 1
    assert whole["pose_mpjpe_mm"] > 0 and whole["accel_error_mm"] > 0 and whole["feature_rmse"] > 0


def test_training_writes_logs_and_checkpoints(tmp_path):
    result = train(quick(tmp_path), datasets=datasets())
    assert result["iter"] == 4
    run = tmp_path / "run"
    assert [r["iter"] for r in records(tmp_path, "train")] == [1, 2, 3, 4]
    assert [r["iter"] for r in records(tmp_path, "eval")] == [0, 2, 4]
    assert [r["lr"] for r in records(tmp_path, "train")] == pytest.approx([5e-4, 1e-3, 1e-3, 5e-4])
    ckpt = torch.load(run / "net_latest.pth", weights_only=True)
    assert {"net", "optimizer", "scheduler", "nb_iter", "config", "train", "mean", "std", "layout"} <= set(ckpt)
    assert ckpt["nb_iter"] == 4 and ckpt["layout"] == "smpl272"
    model, info = load_checkpoint(run / "net_best.pth")
    assert info["config"]["preset"] == "tiny" and np.allclose(info["std"], 0.5)
    assert json.loads((run / "config.json").read_text())["model"]["codebook_size"] == 1000
    with pytest.raises(MtkError, match="already holds a training run"):
        train(quick(tmp_path), datasets=datasets())


class Killed(Exception):
    pass


def test_resume_after_a_kill_reaches_the_same_iteration_with_the_same_rate(tmp_path):
    def kill_at_three(_: int, seen=[0]) -> None:  # noqa: B006 - a counter local to this test
        seen[0] += 1
        if seen[0] == 3:
            raise Killed

    with pytest.raises(Killed):
        train(quick(tmp_path, iters=6), datasets=datasets(), on_progress=kill_at_three)
    assert torch.load(tmp_path / "run" / "net_latest.pth", weights_only=True)["nb_iter"] == 2
    result = train(TrainConfig(dataset="memory", out=str(tmp_path / "run"), resume=True), datasets=datasets())
    assert result["iter"] == 6 and result["settings"]["iters"] == 6
    resumed = [r for r in records(tmp_path, "train") if r["iter"] >= 3]
    schedule = WarmupStepSchedule(1e-3, 2, (3,), 0.5)
    assert [r["lr"] for r in resumed][-4:] == [schedule.lr_at(s) for s in range(2, 6)]
    ckpt = torch.load(tmp_path / "run" / "net_latest.pth", weights_only=True)
    assert ckpt["nb_iter"] == 6 and all(s["step"] == 6 for s in ckpt["optimizer"]["state"].values())


def test_resume_with_another_model_says_what_differs(tmp_path):
    train(quick(tmp_path, iters=2), datasets=datasets())
    with pytest.raises(MtkError) as err:
        train(TrainConfig(dataset="memory", out=str(tmp_path / "run"), resume=True, quantizer="vq", iters=4),
              datasets=datasets())
    assert "quantizer fsq (checkpoint) vs vq" in err.value.one_line()


def test_vq_trains_behind_the_same_interface(tmp_path):
    result = train(quick(tmp_path, quantizer="vq", iters=2), datasets=datasets())
    assert result["eval"]["codebook_size"] == 1000
    model, info = load_checkpoint(tmp_path / "run" / "net_latest.pth")
    assert info["config"]["quantizer"] == "vq" and bool(model.quantizer.initialised)


@pytest.fixture(scope="module")
def sample272(tmp_path_factory):
    from conftest import run_mtk

    root = tmp_path_factory.mktemp("tok") / "sample272"
    done = run_mtk("sample", root, "--layout", "smpl272", "--count", "10")
    assert done.code == 0, done.stderr
    return root


def test_cli_train_then_eval(sample272, tmp_path, mtk_cli):
    run = tmp_path / "run"
    done = mtk_cli("tokenizer", "train", sample272, "--out", run, "--preset", "tiny", "--iters", "2",
                   "--batch-size", "2", "--window", "16", "--eval-every", "2", "--workers", "0", "--json")
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["iter"] == 2 and result["eval"]["codebook_size"] == 1000
    done = mtk_cli("tokenizer", "eval", sample272, "--ckpt", run / "net_latest.pth", "--split", "test", "--json")
    assert done.code == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["motions"] >= 1 and metrics["mpjpe_mm"] > 0 and metrics["units"] == "mm"
    assert 0 < metrics["usage"] <= 1 and metrics["perplexity"] >= 1


def test_cli_errors_are_one_line(sample272, tmp_path, mtk_cli):
    done = mtk_cli("tokenizer", "eval", sample272, "--ckpt", tmp_path / "missing.pth")
    assert done.code == 2 and done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith(f"mtk: error: {tmp_path / 'missing.pth'}: no such checkpoint file")
    done = mtk_cli("tokenizer", "train", sample272, "--out", tmp_path / "r", "--resume")
    assert done.code == 2 and "nothing to resume" in done.stderr and not (tmp_path / "r").exists()
