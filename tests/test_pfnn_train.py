"""``mtk pfnn train``: clip-wise validation split, the schedule, resume, run files and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.pfnn.database import clip_split, read_database


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """12 procedural 272 motions exported for PFNN (smpl22, 30 fps)."""
    from mtk.pfnn.export import convert_to_pfnn
    from mtk.jobs.sample import write_sample_dataset

    root = tmp_path_factory.mktemp("pfnn_train")
    write_sample_dataset(str(root / "sample"), layout="smpl272", count=12, seed=3)
    convert_to_pfnn(str(root / "sample"), str(root / "db"))
    return root / "db"


def test_clip_split_never_cuts_a_clip():
    clips = [(f"c{i}", start, stop) for i, (start, stop) in enumerate(zip(range(0, 1000, 100), range(100, 1001, 100)))]
    clips[3] = ("c3", 300, 350)
    clips[4] = ("c4", 350, 500)
    train, val, names = clip_split(clips, 0.25, seed=7)
    assert len(train) + len(val) == 1000 and not set(train) & set(val)
    assert len(val) >= 250 and len(names) >= 2
    for name, start, stop in clips:
        inside = np.isin(np.arange(start, stop), val)
        assert inside.all() or not inside.any(), name
        assert inside.all() == (name in names)
    assert clip_split(clips, 0.25, seed=7)[2] == names  # deterministic
    assert clip_split(clips, 0.25, seed=8)[2] != names
    train, val, names = clip_split([("only", 0, 50)], 0.5, seed=0)
    assert len(train) == 50 and len(val) == 0 and names == []


def test_database_clips_come_from_layout(small_db: Path):
    db = read_database(small_db)
    clips = db.clips()
    assert len(clips) == 12 and clips[0][1] == 0 and clips[-1][2] == len(db.X)
    layout = json.loads((small_db / "layout.json").read_text())
    assert [c[0] for c in clips] == [c["name"] for c in layout["clips"]]


def _config(db: Path, out: Path, **extra):
    from mtk.pfnn.train import TrainConfig

    return TrainConfig(str(db), str(out), **{"epochs": 0.05, "hidden": 32, "evals": 2, "log_every": 5,
                                            "val_fraction": 0.2, **extra})


def test_train_writes_a_run_and_holds_out_clips(small_db: Path, tmp_path: Path):
    from mtk.pfnn.netfile import load_network
    from mtk.pfnn.train import train

    result = train(_config(small_db, tmp_path / "run", epochs=1.0))
    run = tmp_path / "run"
    for name in ("net_latest.pth", "net_best.pth", "log.jsonl", "training_curve.png", "config.json"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    db = read_database(small_db)
    held = [c for c in db.clips() if c[0] in config["val_clips"]]
    assert held and result["val_rows"] == sum(stop - start for _, start, stop in held)
    assert result["train_rows"] + result["val_rows"] == len(db.X)
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["event"] == "eval"]
    assert len(evals) == 2 and evals[-1]["rows"] == result["val_rows"]
    assert evals[-1]["normalized_rmse"] < evals[-1]["mean_predictor_normalized_rmse"]
    weights = load_network(run)
    assert weights.hidden == 32 and weights.meta.skeleton == "smpl22" and weights.meta.fps == 30.0
    assert weights.meta.val_clips == config["val_clips"]


class Interrupt(Exception):
    pass


def test_resume_continues_the_same_schedule(small_db: Path, tmp_path: Path):
    import torch

    from mtk.pfnn.netfile import read_document
    from mtk.pfnn.train import train

    whole = train(_config(small_db, tmp_path / "whole", epochs=0.1))
    half = -(-whole["steps"] // 2)  # evals=2: net_latest is saved after step ceil(steps / 2)
    done = []

    def stop_after_the_save(n: int) -> None:
        done.append(n)
        if len(done) == half + 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(_config(small_db, tmp_path / "cut", epochs=0.1), on_progress=stop_after_the_save)
    assert read_document(tmp_path / "cut" / "net_latest.pth")["step"] == half
    resumed = train(_config(small_db, tmp_path / "cut", epochs=99.0, resume=True))  # settings: the run's own
    assert resumed["steps"] == whole["steps"] and resumed["settings"]["epochs"] == 0.1
    a = read_document(tmp_path / "whole" / "net_latest.pth")
    b = read_document(tmp_path / "cut" / "net_latest.pth")
    for name in a["controls"]:
        assert torch.equal(a["controls"][name], b["controls"][name]), name
    with pytest.raises(Exception, match="nothing to resume"):
        train(_config(small_db, tmp_path / "empty", resume=True))


def test_existing_run_needs_resume_or_overwrite(small_db: Path, tmp_path: Path, mtk_cli):
    run = tmp_path / "run"
    done = mtk_cli("pfnn", "train", small_db, "--out", run, "--epochs", "0.02", "--hidden", "16", "--evals", "1",
                   "--json")
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["steps"] == result["total_steps"] >= 1
    done = mtk_cli("pfnn", "train", small_db, "--out", run, "--epochs", "0.02")
    assert done.code == 2 and "already holds a training run" in done.stderr
    done = mtk_cli("pfnn", "train", tmp_path / "missing", "--out", tmp_path / "r2")
    assert done.code == 2 and done.stderr.startswith("mtk: error: ")
