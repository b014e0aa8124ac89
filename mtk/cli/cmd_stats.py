"""``mtk stats``: dataset mean/std in each ecosystem's convention, and ``--check`` of existing files."""

from __future__ import annotations

from dataclasses import asdict

import click

from mtk.cli.numbers import FEAT_BIAS, WORKERS
from mtk.cli.common import emit_json, json_option, layout_option, tree_layout, tree_options


@click.command("stats")
@click.argument("dataset", required=False)
@click.option("--split", default=None, metavar="S",
              help="Split to compute over (default: train when the dataset has one, else all; 'all' = every motion).")
@click.option("--groups", type=click.Choice(["layout", "none"]), default="layout", show_default=True,
              help="layout: std averaged per layout group (HumanML3D 7 groups, 272 5 groups); none: per-dim std.")
@click.option("--feat-bias", type=FEAT_BIAS, default=1.0, show_default=True, metavar="F",
              help="Divide the root and contact groups' std by F, as text-to-motion training does (usually 5).")
@click.option("--out", "out_dir", default=None, metavar="DIR",
              help="Write the stats here in the dataset family's names and dtype (Mean.npy/Std.npy; with --feat-bias "
                   "on HumanML3D/KIT: text-to-motion's mean.npy/std.npy), plus stats.json.")
@click.option("--check", nargs=2, default=None, metavar="MEAN STD",
              help="Identify the convention of existing stats files (against DATASET's motions when given).")
@click.option("--workers", type=WORKERS, default=None, metavar="N",
              help="Worker processes (default: the CPU count, at most 8).")
@click.option("--strict", is_flag=True, help="Fail on a motion with NaN/Inf instead of skipping it.")
@click.option("--overwrite", is_flag=True, help="Replace existing files under --out.")
@click.option("--resume", is_flag=True,
              help="Continue a killed run with --out: reuse the runs of motions it finished (same options).")
@layout_option
@tree_options
@json_option
def stats_command(dataset: str | None, split: str | None, groups: str, feat_bias: float, out_dir: str | None,
                  check: tuple[str, str] | None, workers: int | None, strict: bool, overwrite: bool,
                  resume: bool, layout: str | None, as_dataset: bool, splits: str | None, as_json: bool) -> int:
    """Compute a dataset's mean/std in one streaming pass, or identify the convention of stats files.

    DATASET is an npy folder (HumanML3D/KIT or MotionMillion layout), a Zarr store, an HDF5 file, or any
    folder tree of feature .npy files with --as-dataset (or --layout).

    \b
    Examples:
      mtk stats HumanML3D --split all --out stats/     # Mean.npy/Std.npy as shipped (7 groups)
      mtk stats HumanML3D --split all --feat-bias 5 --out meta/   # text-to-motion meta/{mean,std}.npy
      mtk stats data.zarr --groups none --split all --json
      mtk stats --check Mean.npy Std.npy               # which convention? (from the files alone)
      mtk stats HumanML3D --check Mean.npy Std.npy     # ... and from which split?
      mtk stats big.zarr --out stats/ --resume         # continue a killed run (same options)
    """
    from mtk.cli.common import progress_bar
    from mtk.errors import MtkError
    from mtk.jobs import stats as ds

    if check is None and dataset is None:
        raise MtkError(None, "missing DATASET", "give a dataset, or --check MEAN STD")
    if resume and not out_dir:
        raise MtkError(None, "--resume needs --out", "it continues a killed run that writes to --out DIR")
    written: list = []
    if dataset is not None:
        layout = tree_layout(dataset, layout, as_dataset, splits)
    with progress_bar("stats", None) as advance:
        options = {"split": split, "groups": groups, "feat_bias": feat_bias, "layout": layout, "workers": workers,
                   "strict": strict, "on_progress": advance, "splits": splits}
        if check is not None:
            result = ds.check_stats(check[0], check[1], dataset, split=split, layout=layout, workers=workers,
                                    on_progress=advance)
        elif out_dir:
            result, written = ds.stats_to_dir(dataset, out_dir, overwrite=overwrite, resume=resume, **options)
        else:
            result = ds.dataset_stats(dataset, **options)
    if check is not None:
        emit_json(asdict(result)) if as_json else _print_check(result)
        return 0
    written = [str(p) for p in written]
    if as_json:
        emit_json(result.sidecar() | {"written": written, "mean": result.stats.mean, "std": result.stats.std})
    else:
        _print_stats(result, written)
    return 0


def _print_stats(result, written: list[str]) -> None:
    from rich.table import Table

    from mtk.cli.common import console

    out, err = console(), console(stderr=True)
    s = result.stats
    out.print(f"[bold]{result.path}[/bold]  layout: {result.layout.name}  split: {result.split}  "
              f"motions: {len(result.used)}  frames: {s.frames}  convention: {s.convention}")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("group", "cols", "mean min", "mean max", "std min", "std max"):
        table.add_column(column, justify="left" if column in ("group", "cols") else "right")
    for label, slices in result.layout.std_group_slices():
        cols = [i for sl in slices for i in range(sl.start, sl.stop)]
        m, d = s.mean[cols], s.std[cols]
        table.add_row(label, ",".join(f"{sl.start}:{sl.stop}" for sl in slices),
                      f"{m.min():.6g}", f"{m.max():.6g}", f"{d.min():.6g}", f"{d.max():.6g}")
    out.print(table)
    if result.skipped:
        listed = ", ".join(f"{k.name} ({k.reason})" for k in result.skipped[:10])
        more = f" and {len(result.skipped) - 10} more" if len(result.skipped) > 10 else ""
        err.print(f"[yellow]warning[/]: skipped {len(result.skipped)} motions: {listed}{more}")
    if result.missing:
        err.print(f"[yellow]warning[/]: {len(result.missing)} names of split {result.split} have no motion "
                  f"in the dataset (first: {result.missing[0]})")
    if s.zero_dims:
        err.print(f"[yellow]warning[/]: std is zero (constant) in dims {s.zero_dims}; set to 1")
    for path in written:
        out.print(f"wrote {path}")


def _print_check(result) -> None:
    from rich.table import Table

    from mtk.cli.common import console

    out, c = console(), result.check
    out.print(f"[bold]{result.std_path}[/bold]  layout: {c.layout}")
    out.print(f"convention: [bold]{c.convention}[/bold]: {c.description}")
    out.print(f"feat_bias: {c.feat_bias:g} ({c.feat_bias_basis})")
    if result.dataset is not None:
        verdict = (f"equal to the stats recomputed from split {result.matched_split}" if result.matched_split
                   else "not equal to the stats of any split")
        out.print(f"against {result.dataset}: {verdict}")
    table = Table(show_edge=False, pad_edge=False)
    columns = ["group", "cols", "bias", "file std", "grouping"]
    if c.matches_data is not None:
        columns += ["ratio", "mean err"]
    for column in columns:
        table.add_column(column)
    for g in c.groups:
        row = [g.label, g.columns, "yes" if g.feat_bias_group else "", f"{g.file_std:.6g}", g.grouping]
        if c.matches_data is not None:
            row += [f"{g.ratio:.6f}" if g.ratio is not None else "-", f"{g.mean_error:.2g}"]
        table.add_row(*row)
    out.print(table)
    if c.matches_data is not None:
        out.print("ratio: file std / recomputed std; mean err: max |file mean - recomputed| in std units")
    for note in c.notes:
        out.print(f"note: {note}")
