"""``mtk demo --quick`` end to end: every step runs, the report links real files, OUT rules hold."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mtk.demo import QUANTIZERS, SIZES, codebook_figures, fsq_vs_vq_verdict, run_demo
from mtk.errors import DestinationExistsError

STEPS = ["sample", "validate", "stats", "convert", "train fsq", "train vq", "eval fsq", "eval vq", "fid",
         "tokenize fsq", "tokenize vq", "pfnn", "render", "report"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    seen: list[str] = []
    result = run_demo(out, quick=True, on_step=lambda step: seen.append(step.name))
    return out, result, seen


def test_every_step_runs_in_order_and_reports_figures(demo):
    out, result, seen = demo
    assert seen == STEPS == [s.name for s in result.steps]
    figures = {s.name: s.figures for s in result.steps}
    assert figures["sample"]["motions"] == SIZES["quick"].motions
    assert figures["convert"]["motions"] == SIZES["quick"].motions
    assert figures["stats"]["convention"]
    assert figures["train fsq"]["iters"] == figures["train vq"]["iters"] == SIZES["quick"].iters
    assert figures["tokenize fsq"]["tokens"] == figures["tokenize vq"]["tokens"] > 0
    assert figures["pfnn"]["PFNN rows"] > 0
    assert all(figures["fid"][f"{q} FID (random evaluator)"] >= 0 for q in QUANTIZERS)
    assert all(s.seconds >= 0 for s in result.steps)


def test_outputs_exist_and_report_links_them(demo):
    out, result, _ = demo
    report = out / "report" / "report.md"
    assert result.report == report
    text = report.read_text()
    for link in re.findall(r"\]\(([^)]+)\)", text):
        assert (report.parent / link).is_file(), link
    for name in ("codebook_usage.png", "training_curves.png", "motion.gif"):
        assert (out / "report" / name).read_bytes()[:4] in (b"\x89PNG", b"GIF8")
    assert (out / "data" / "sample.zarr").is_dir()
    assert (out / "pfnn" / "database.npz").is_file()
    for q in QUANTIZERS:
        assert (out / "runs" / q / "net_best.pth").is_file()
        assert (out / "tokens" / q / "codes").is_dir()
    assert result.verdict in text
    assert "Reconstruction FID (seeded random evaluator)" in text and "random weights" in text


def test_usage_figures_match_the_tokens_on_disk(demo):
    from mtk.analysis.codebook import code_counts
    from mtk.formats.tokens import read_tokens

    out, result, _ = demo
    figures = {s.name: s.figures for s in result.steps}
    for q in QUANTIZERS:
        tokens = read_tokens(out / "tokens" / q / "codes")
        counts = code_counts(tokens.codes, tokens.codebook_size)
        assert figures[f"tokenize {q}"]["usage %"] == round(100 * (counts > 0).mean(), 1)
        assert tokens.codebook_size == 1000  # same codebook size for FSQ and VQ


def test_existing_non_empty_out_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(DestinationExistsError, match="not empty"):
        run_demo(tmp_path, quick=True)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_cli_refuses_existing_out_with_one_line(mtk_cli, tmp_path):
    (tmp_path / "x").write_text("")
    result = mtk_cli("demo", tmp_path, "--quick")
    assert result.code == 2
    assert result.stderr.startswith(f"mtk: error: {tmp_path}") and result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_cli_quick_demo_writes_to_mtk_demo_by_default_and_prints_the_summary(mtk_cli, tmp_path):
    result = mtk_cli("demo", "--quick", cwd=tmp_path)
    assert result.code == 0, result.stderr
    for step in STEPS:
        assert step in result.stdout and f"done {step}" in result.stderr
    report = tmp_path / "mtk-demo" / "report" / "report.md"
    assert "report: mtk-demo/report/report.md" in result.stdout.replace("\n", "")  # as the README shows it
    assert report.is_file()


def test_overwrite_reruns_in_place(demo):
    out, first, _ = demo
    second = run_demo(out, quick=True, overwrite=True)
    assert [s.name for s in second.steps] == STEPS
    assert second.steps[0].figures == first.steps[0].figures  # the same seed, the same sample data


def test_verdict_names_the_winner_honestly():
    def figures(used: int) -> dict:
        return codebook_figures(np.array([5] * used + [0] * (100 - used)))

    evals = {"fsq": {"mpjpe_mm": 20.0}, "vq": {"mpjpe_mm": 30.0}}
    fsq_wins = fsq_vs_vq_verdict({"fsq": figures(60), "vq": figures(40)}, evals)
    assert "FSQ spreads the tokens over more" in fsq_wins and "(60.0 %" in fsq_wins
    assert "20.0 mm (FSQ) vs 30.0 mm (VQ)" in fsq_wins
    vq_wins = fsq_vs_vq_verdict({"fsq": figures(40), "vq": figures(60)}, evals, {"fsq": (2.0, 20.0), "vq": (1.0, 30.0)})
    assert "Here VQ uses more of its codebook than FSQ" in vq_wins
    assert "FSQ's usage went from 2.0 % to 20.0 % over training and VQ's from 1.0 % to 30.0 %" in vq_wins


def test_usage_trend_comes_from_the_training_log(demo):
    from mtk.demo import batch_usage_trend, read_log

    out, result, _ = demo
    records = [r for r in read_log(out / "runs" / "fsq") if r["event"] == "train"]
    first, last = batch_usage_trend(out / "runs" / "fsq")
    assert (first, last) == (100 * records[0]["batch_usage"], 100 * records[-1]["batch_usage"])
    assert f"FSQ's usage went from {first:.1f} % to {last:.1f} %" in result.verdict
