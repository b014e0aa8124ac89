"""benchmarks/quantizer_study.py: the plan (rate sweep, edge extension, priority order), one real run at toy
settings with every figure, the statistics over seeds, and the report."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quantizer_study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("quantizer_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def settings(study, **changes):
    base = dict(motions=12, iters=2, batch_size=2, window=16, warmup=1, rates=(1e-3, 2e-3, 4e-3), sweep_sizes=(10, 16),
                sweep_seeds=(0, 1), sizes=(8, 10, 12, 14, 16), seeds=(0, 1, 2), variants=("fsq", "vq", "lfq"), evals=1)
    return study.StudySettings(**{**base, **changes})


def fake_done(study, s, variant, val_by_rate):
    """Sweep results for ``variant``: val MPJPE per rate (same at every size and seed)."""
    return {spec.key: {"val": {"mpjpe_mm": val_by_rate[spec.lr]}}
            for spec in study.sweep_specs(variant, tuple(val_by_rate), s)}


def test_variants_come_from_the_registry(study):
    variants = study.all_variants()
    assert list(variants)[:2] == ["fsq", "lfq"] and variants["vqvae/data"] == ("vqvae", {"codebook_init": "data"})
    assert [study.codebook_size("fsq", e) for e in (8, 10, 12, 14, 16)] == [240, 1000, 4375, 15360, 64000]
    assert study.codebook_size("vqvae", 16) == 64000 and study.codebook_size("lfq", 16) == 65536


def test_the_rate_is_chosen_on_validation_and_extended_at_the_edge(study):
    s = settings(study)
    assert study.chosen_rate("fsq", s, {}) == (None, (1e-3, 2e-3, 4e-3))
    done = fake_done(study, s, "fsq", {1e-3: 30.0, 2e-3: 20.0, 4e-3: 25.0})
    assert study.chosen_rate("fsq", s, done) == (2e-3, (1e-3, 2e-3, 4e-3))
    done = fake_done(study, s, "vq", {1e-3: 30.0, 2e-3: 20.0, 4e-3: 15.0})  # best at the top edge: try 8e-3
    assert study.chosen_rate("vq", s, done) == (None, (1e-3, 2e-3, 4e-3, 8e-3))
    done.update(fake_done(study, s, "vq", {1e-3: 30.0, 2e-3: 20.0, 4e-3: 15.0, 8e-3: 10.0}))
    assert study.chosen_rate("vq", s, done) == (8e-3, (1e-3, 2e-3, 4e-3, 8e-3))  # extended once only


def test_the_plan_runs_the_sweep_then_fsq_and_vq_then_the_rest(study):
    s = settings(study)
    todo, waiting = study.plan(s, {})
    assert waiting and len(todo) == 3 * 3 * 2 * 2 and {spec.exponent for spec in todo} == {10, 16}
    done = {}
    for variant in ("fsq", "vq", "lfq"):
        done.update(fake_done(study, s, variant, {1e-3: 30.0, 2e-3: 20.0, 4e-3: 25.0}))
    todo, waiting = study.plan(s, done)
    assert not waiting
    order = [(spec.variant, spec.exponent) for spec in todo]
    first_lfq = order.index(("lfq", 8))
    assert {v for v, _ in order[:first_lfq]} == {"fsq", "vq"} and len(order[:first_lfq]) == 2 * (3 * 5 - 4)
    assert order[first_lfq:] == [("lfq", e) for e in (8, 8, 8, 12, 12, 12, 16, 10, 14, 14, 14)]
    assert all(spec.lr == 2e-3 for spec in todo)  # the sweep's seeds 0 and 1 at the chosen rate are reused


def test_rank_test_and_bootstrap(study):
    low = [10.0, 11.0, 12.0, 13.0, 14.0]
    high = [20.0, 21.0, 22.0, 23.0, 24.0]
    assert study.rank_test(low, high) == pytest.approx(2 / 252)  # the most extreme of 252 splits, both sides
    assert study.rank_test([1.0, 4.0, 5.0], [2.0, 3.0, 6.0]) == pytest.approx(1.0)
    assert study.rank_test([1.0] * 5, [2.0] * 5) == pytest.approx(2 / 252)  # ties share a rank
    assert study.rank_test([1.0, 2.0], [1.0, 2.0]) == pytest.approx(1.0)
    lo, hi = study.bootstrap_difference(low, high)
    assert -14 <= lo <= hi <= -6


def test_one_run_measures_every_figure(study, tmp_path):
    from mtk.jobs.sample import write_sample_dataset

    s = settings(study, variants=("fsq",))
    folder = tmp_path / "study"
    (folder / "runs").mkdir(parents=True)
    write_sample_dataset(str(tmp_path / "data"), layout="smpl272", count=20, seed=0)
    study.pack(folder, tmp_path / "data")
    record = study.run_one(folder, study.RunSpec("fsq", 8, 1e-3, 0), s, tmp_path / "data")
    assert record["codebook_size"] == 240 and record["lr"] == 1e-3 and record["iters"] == 2
    for split in ("val", "test"):
        for key in ("mpjpe_mm", "pose_mpjpe_mm", "accel_error_mm", "accel_max_mm", "feature_rmse", "perplexity"):
            assert math.isfinite(record[split][key])
    tokens = record["train_tokens"]
    assert tokens["dead_codes"] == 240 - tokens["codes_used"] and tokens["usage_bound"] == min(1.0, tokens["tokens"] / 240)
    assert len(tokens["fsq_saturated_share"]) == 3 and all(0 <= v <= 1 for v in tokens["fsq_saturated_share"])
    assert all(1 <= used <= level for used, level in zip(tokens["fsq_levels_used"], (8, 6, 5), strict=True))
    assert not (folder / "work" / record["key"]).exists()
    timed = study.time_one(s, "vq", 8)
    assert timed["codebook_size"] == 240 and timed["step_ms"] > 0 and timed["peak_rss_mb"] > 0


def test_the_report_compares_fsq_with_the_best_vq_over_seeds(study, tmp_path):
    s = settings(study, variants=("fsq", "vq"), rates=(1e-3,), sweep_sizes=(8,), sweep_seeds=(0,), sizes=(8,),
                 seeds=(0, 1, 2, 3, 4))
    folder = tmp_path / "study"
    (folder / "runs").mkdir(parents=True)
    for variant, base in (("fsq", 20.0), ("vq", 30.0)):
        for seed in range(5):
            spec = study.RunSpec(variant, 8, 1e-3, seed)
            metrics = {"mpjpe_mm": base + seed, "pose_mpjpe_mm": base / 2, "feature_rmse": 0.1}
            run = {"key": spec.key, "variant": variant, "quantizer": variant, "exponent": 8, "codebook_size": 240,
                   "seed": seed, "lr": 1e-3, "val": metrics, "test": metrics,
                   "train_tokens": {"usage": 0.5, "perplexity": 100.0, "dead_codes": 120}}
            (folder / "runs" / f"{spec.key}.json").write_text(json.dumps(run))
    results = study.report(folder, s, {"command": "toy"})
    assert results["chosen_rates"] == {"fsq": 1e-3, "vq": 1e-3}
    comparison, pose = results["comparisons"]
    assert comparison["metric"] == "test_mpjpe_mm" and pose["metric"] == "test_pose_mpjpe_mm"
    assert comparison["best_vq"] == "vq" and comparison["differs"] and comparison["rank_test_p"] < 0.05
    assert comparison["fsq_median"] == 22.0 and comparison["vq_median"] == 32.0
    assert pose["fsq_median"] == 10.0 and pose["vq_median"] == 15.0 and pose["difference_ci95"] == [-5.0, -5.0]
    row = next(r for r in results["summary"] if r["variant"] == "fsq")
    assert row["test_mpjpe_mm"] == {"median": 22.0, "min": 20.0, "max": 24.0, "n": 5, "mean": 22.0}
    text = study.table(results)
    assert "| fsq | 0.001 **chosen** | 1 |" in text and "| 2^8 | MPJPE | 22.0 (5) | vq | 32.0 (5) |" in text
    assert "| 2^8 | pose MPJPE | 10.0 (5) | vq | 15.0 (5) | -5.0 … -5.0 | 0.008 | yes |" in text
    for name in ("quality_vs_size.png", "usage_vs_size.png", "lr_sweep.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"


def test_mm64k_costs_count_the_distance_matrix_and_the_all_reduce(study):
    costs = study.mm64k_costs()
    assert costs["nearest_code_gflop_per_step"] == 2 * 64 * 48 * 64000 * 512 / 1e9
    assert costs["ema_all_reduce_mb_per_step"] == (64000 * 512 + 64000) * 4 / 1e6
    assert 100 < costs["conv_net_gflop_per_step"] < 1000  # 11.35 M parameters over 64 x 96 frames, fwd + bwd
