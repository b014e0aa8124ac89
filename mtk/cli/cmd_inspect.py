"""``mtk inspect``."""

from __future__ import annotations

import click

from mtk.cli.common import emit_json, fps_option, json_option, layout_option, print_report


@click.command("inspect")
@click.argument("path")
@layout_option
@fps_option
@json_option
def inspect_command(path: str, layout: str | None, fps: float | None, as_json: bool) -> int:
    """Say what PATH is and whether it looks sane.

    PATH may be a feature file (T, D), a joints file (T, J, 3), a mean/std vector, a dataset folder,
    a Zarr store, an HDF5 file, a BVH file, a PFNN database or tokens. Exits 1 when the data has
    error-level findings.

    \b
    Examples:
      mtk inspect new_joint_vecs/012314.npy
      mtk inspect Std.npy                 # which layout, grouped or per-dim?
      mtk inspect motion.npy --json | jq .findings
    """
    from mtk.formats.registry import inspect

    report = inspect(path, layout=layout, fps=fps)
    if as_json:
        emit_json(report.to_dict())
    else:
        print_report(report)
    return 1 if report.has_errors else 0
