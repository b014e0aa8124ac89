"""benchmarks/quantizer_study.py plumbing at toy settings: every figure lands in the JSON, tables and plots."""

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


def test_codebook_sizes_follow_fsq_table_and_lfq_bits(study):
    assert [study.codebook_size("fsq", e) for e in (8, 10, 12, 14, 16)] == [240, 1000, 4375, 15360, 64000]
    assert study.codebook_size("vqvae", 16) == 64000 and study.codebook_size("lfq", 16) == 65536


def test_toy_study_writes_every_figure(study, tmp_path):
    settings = study.StudySettings(motions=12, iters=2, batch_size=2, window=16, warmup=1, sizes=(8,),
                                   quantizers=("fsq", "vq"), seeds=(0,), sweep_size=8, sweep_weights=(0.5,),
                                   timing_steps=1)
    lines: list[str] = []
    study.run_study(settings, tmp_path / "out", None, "toy", log=lines.append)
    assert len(lines) == 3 and lines[-1].startswith("[3/3] vq_2^8_s0_c0.5")
    saved = json.loads((tmp_path / "out" / study.RESULTS).read_text())
    assert saved["command"] == "toy" and saved["data"]["train_motions"] == 10
    assert [(r["quantizer"], r["codebook_size"]) for r in saved["runs"]] == [("fsq", 240), ("vq", 240)]
    assert [r["commitment"] for r in saved["sweep"]] == [0.5]
    for run in saved["runs"]:
        tokens = run["train_tokens"]
        frames, motions = saved["data"]["train_frames"], saved["data"]["train_motions"]
        assert (frames - motions) // 2 <= tokens["tokens"] <= frames // 2  # every token of the training split
        assert tokens["usage_bound"] == min(1.0, tokens["tokens"] / run["codebook_size"])
        assert tokens["dead_codes"] == run["codebook_size"] - tokens["codes_used"]
        assert run["test"]["usage"] <= run["test"]["usage_bound"] and math.isfinite(run["test"]["mpjpe_mm"])
        assert run["step_ms_fixed_batch"] > 0 and run["encode_us_per_token"] > 0
        assert len(run["batch_usage"]) == 2 and [e["iter"] for e in run["val_usage"]] == [0, 1, 2]
    fsq, vq = saved["runs"]
    assert fsq["codes_reseeded"] is None and isinstance(vq["codes_reseeded"], int)
    row = next(r for r in saved["summary"] if r["quantizer"] == "vq")
    assert row["test_mpjpe_mm"]["mean"] == vq["test"]["mpjpe_mm"] and row["seeds"] == 1
    text = study.table(saved)
    assert f"| vq | 240 | {vq['test']['mpjpe_mm']:.1f} |" in text and "| vq | 240 | 0.5 | 0 |" in text
    for name in ("usage_vs_size.png", "perplexity_vs_size.png", "mpjpe_vs_size.png", "time_vs_size.png",
                 "usage_during_training.png"):
        assert (tmp_path / "out" / name).read_bytes()[:4] == b"\x89PNG"


def test_mm64k_costs_count_the_distance_matrix_and_the_all_reduce(study):
    costs = study.mm64k_costs()
    assert costs["nearest_code_gflop_per_step"] == 2 * 64 * 48 * 64000 * 512 / 1e9
    assert costs["ema_all_reduce_mb_per_step"] == (64000 * 512 + 64000) * 4 / 1e6
    assert 100 < costs["conv_net_gflop_per_step"] < 1000  # 11.35 M parameters over 64 x 96 frames, fwd + bwd
