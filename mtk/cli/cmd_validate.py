"""``mtk validate``."""

from __future__ import annotations

import click

from mtk.cli.numbers import WINDOW
from mtk.cli.common import emit_json, json_option, layout_option, print_report, tree_layout, tree_options


@click.command("validate")
@click.argument("dataset")
@layout_option
@tree_options
@click.option("--window", type=WINDOW, default=None, metavar="W",
              help="Training window in frames; shorter motions are reported (default 64).")
@json_option
def validate_command(dataset: str, layout: str | None, as_dataset: bool, splits: str | None, window: int | None,
                     as_json: bool) -> int:
    """Check every motion of DATASET (npy folder, .zarr store, .h5 file or URL).

    Reports split names without a motion, motions without text, wrong widths, NaN/Inf, motions too short
    for the training window, duplicate names and mean/std of the wrong size. Exits 1 on error-level
    findings.

    \b
    Examples:
      mtk validate HumanML3D
      mtk validate motionmillion.zarr --window 96 --json | jq .findings
      mtk validate release/ --as-dataset             # any folder tree of feature .npy files
    """
    from mtk.cli.common import progress_bar
    from mtk.jobs.validate import validate_dataset

    with progress_bar("validating", None) as advance:
        report = validate_dataset(dataset, layout=tree_layout(dataset, layout, as_dataset, splits), splits=splits,
                                  window=window, on_progress=advance)
    if as_json:
        emit_json(report.to_dict())
    else:
        print_report(report)
    return 1 if report.has_errors else 0
