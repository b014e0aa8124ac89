"""``mtk demo --quick`` end to end: every step runs, the report links real files, OUT rules hold."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mtk.demo import DEFAULT_QUANTIZERS, SIZES, codebook_figures, quantizer_verdict, run_demo
from mtk.errors import DestinationExistsError

STEPS = ["sample", "validate", "stats", "convert", "train fsq", "train vq", "eval fsq", "eval vq", "fid",
         "tokenize fsq", "tokenize vq", "pfnn", "render", "report"]


@pytest.fixture(scope="module")
def demo(quick_demo):
    """(output folder, result, step names) of the session's one ``mtk demo --quick``."""
    return quick_demo[:3]


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
    assert all(figures["fid"][f"{q} FID (random evaluator)"] >= 0 for q in DEFAULT_QUANTIZERS)
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
    for q in DEFAULT_QUANTIZERS:
        assert (out / "runs" / q / "net_best.pth").is_file()
        assert (out / "tokens" / q / "codes").is_dir()
    assert result.verdict in text
    assert "Reconstruction FID (seeded random evaluator)" in text and "random weights" in text


def test_usage_figures_match_the_tokens_on_disk(demo):
    from mtk.analysis.codebook import code_counts
    from mtk.formats.tokens import read_tokens

    out, result, _ = demo
    figures = {s.name: s.figures for s in result.steps}
    for q in DEFAULT_QUANTIZERS:
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


def test_verdict_names_the_winner_honestly():
    def figures(used: int) -> dict:
        return codebook_figures(np.array([5] * used + [0] * (100 - used)))

    evals = {"fsq": {"mpjpe_mm": 20.0}, "vq": {"mpjpe_mm": 30.0}}
    fsq_wins = quantizer_verdict({"fsq": figures(60), "vq": figures(40)}, evals)
    assert "FSQ used 60 of 100 codes (60.0 %" in fsq_wins and "test MPJPE 20.0 mm" in fsq_wins
    assert "In this run FSQ used the most of its codebook and FSQ reconstructed best." in fsq_wins
    assert "this short run on a few hundred motions differs" in fsq_wins  # against the study's ordering
    evals = {"fsq": {"mpjpe_mm": 30.0}, "vq": {"mpjpe_mm": 20.0}}
    vq_wins = quantizer_verdict({"fsq": figures(40), "vq": figures(60)}, evals, {"fsq": (2.0, 20.0), "vq": (1.0, 30.0)})
    assert "In this run VQ used the most of its codebook and VQ reconstructed best." in vq_wins
    assert "finds the same ordering" in vq_wins and "differs" not in vq_wins
    assert "per batch 2.0 % -> 20.0 % over training" in vq_wins and "per batch 1.0 % -> 30.0 %" in vq_wins


def test_verdict_covers_any_registered_quantizers():
    usage = {q: codebook_figures(np.array([5] * n + [0] * (100 - n))) for q, n in (("lfq", 70), ("vqvae", 10))}
    text = quantizer_verdict(usage, {"lfq": {"mpjpe_mm": 12.0}, "vqvae": {"mpjpe_mm": 9.0}})
    assert "LFQ used 70 of 100 codes" in text and "VQVAE used 10 of 100 codes" in text
    assert "LFQ used the most of its codebook and VQVAE reconstructed best" in text
    assert "quantizer study" not in text  # the study's FSQ-vs-VQ reading only when both ran


def test_unknown_quantizer_is_one_line(mtk_cli, tmp_path):
    result = mtk_cli("demo", str(tmp_path / "d"), "--quick", "--quantizer", "nope")
    assert result.code == 2 and "nope" in result.stderr and "fsq" in result.stderr
    assert not (tmp_path / "d").exists()


def test_usage_trend_comes_from_the_training_log(demo):
    from mtk.demo import batch_usage_trend, read_log

    out, result, _ = demo
    records = [r for r in read_log(out / "runs" / "fsq") if r["event"] == "train"]
    first, last = batch_usage_trend(out / "runs" / "fsq")
    assert (first, last) == (100 * records[0]["batch_usage"], 100 * records[-1]["batch_usage"])
    assert f"per batch {first:.1f} % -> {last:.1f} % over training" in result.verdict


def test_report_pieces_take_any_number_of_quantizers(tmp_path):
    from mtk.demo import Demo, comparison_table, plot_usage

    demo = Demo(tmp_path / "d", SIZES["quick"], quantizers=("fsq", "lfq", "vqvae", "lfq"))
    assert demo.quantizers == ("fsq", "lfq", "vqvae")
    for k, q in enumerate(demo.quantizers):
        demo.usage[q] = codebook_figures(np.array([3] * (10 + k) + [0] * 90))
        demo.evals[q] = {"mpjpe_mm": 10.0 + k, "root_error_mm": 50.0, "usage": 0.1 + k / 100}
    table = comparison_table(demo).splitlines()
    assert table[0] == "| | FSQ | LFQ | VQVAE |" and table[1] == "|---|---:|---:|---:|"
    assert "| test MPJPE (mm, pelvis-aligned) | 10.0 | 11.0 | 12.0 |" in table
    plot_usage(demo.usage, tmp_path / "usage.png")
    assert (tmp_path / "usage.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_quick_demo_writes_to_mtk_demo_by_default_and_prints_the_summary(quick_demo):
    out, _, _, cli = quick_demo
    assert out.name == "mtk-demo" and (out / "report" / "report.md").is_file()
    for step in STEPS:
        assert step in cli.stdout and f"done {step}" in cli.stderr
    assert "report: mtk-demo/report/report.md" in cli.stdout.replace("\n", "")  # as the README shows it


class _Stop(Exception):
    pass


def test_overwrite_reruns_in_place(demo, tmp_path):
    """``--overwrite`` over a finished demo: each step writes over its own output (the first four here: the
    training, tokenizing and rendering writers' --overwrite are tested with them), with the same sample data."""
    import shutil

    from factories import checksums

    out, first, _ = demo
    again = tmp_path / "mtk-demo"
    shutil.copytree(out, again)
    sample = checksums(again / "data" / "sample")
    steps = []

    def stop_after_convert(step):
        steps.append(step)
        if step.name == "convert":
            raise _Stop

    with pytest.raises(_Stop):
        run_demo(again, quick=True, overwrite=True, on_step=stop_after_convert)
    assert [s.name for s in steps] == STEPS[:4]
    assert [s.figures for s in steps] == [s.figures for s in first.steps[:4]]  # the same seed, the same data
    assert checksums(again / "data" / "sample") == sample
