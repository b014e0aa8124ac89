"""``mtk demo``: the whole toolkit on built-in sample data, ending with a summary table and a report."""

from __future__ import annotations

import click

from mtk.cli.cmd_tokenizer import QuantizerChoice


def _shown(path) -> str:
    """``path`` relative to the working folder when it lies inside it (as the user named OUT), else as is."""
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@click.command("demo")
@click.argument("out", default="mtk-demo", required=False)
@click.option("--quick", is_flag=True, help="Tiny sizes (a few seconds; for tests): the numbers mean nothing.")
@click.option("--overwrite", is_flag=True, help="Run in a non-empty OUT, replacing the demo's files there.")
@click.option("--quantizer", "quantizers", type=QuantizerChoice(), multiple=True,
              help="A quantizer to train and compare (repeat the option for several; default: fsq and vq). "
                   "Any registered quantizer, including one you added as a module.")
def demo_command(out: str, quick: bool, overwrite: bool, quantizers: tuple[str, ...]) -> int:
    """Run the whole toolkit on the built-in procedural dataset and write a report to OUT (./mtk-demo).

    sample -> validate -> stats -> convert to Zarr -> train one tiny tokenizer per quantizer (FSQ and VQ
    unless --quantizer says otherwise; same codebook size) -> evaluate each -> tokenize -> PFNN export ->
    render. About 4 minutes on 2 idle CPU cores (about 1 more per extra quantizer). OUT/report/report.md
    links the loss curves, the codebook usage histograms and a GIF.

    \b
    Examples:
      mtk demo
      mtk demo /tmp/demo --overwrite
      mtk demo /tmp/demo4 --quantizer fsq --quantizer vq --quantizer vqvae --quantizer lfq
    """
    from rich.table import Table

    from mtk.cli.common import console, progress_bar
    from mtk.demo import DEFAULT_QUANTIZERS, run_demo

    err = console(stderr=True)

    def on_step(step) -> None:
        err.print(f"[green]done[/] {step.name:<12} {step.seconds:6.1f} s  {step.figures_text()}")

    result = run_demo(out, quick=quick, overwrite=overwrite, progress=progress_bar, on_step=on_step,
                      quantizers=quantizers or DEFAULT_QUANTIZERS)
    table = Table(title=f"mtk demo: {_shown(result.out)}", show_edge=False, pad_edge=False)
    for column, justify in (("step", "left"), ("seconds", "right"), ("key figures", "left")):
        table.add_column(column, justify=justify)
    for step in result.steps:
        table.add_row(step.name, f"{step.seconds:.1f}", step.figures_text())
    table.add_row("total", f"{result.seconds:.1f}", "")
    out_console = console()
    out_console.print(table)
    out_console.print(result.verdict)
    out_console.print(f"report: {_shown(result.report)}")
    return 0
