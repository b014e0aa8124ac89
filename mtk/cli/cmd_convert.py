"""``mtk convert``: one command, many targets; each target is a function in a format module."""

from __future__ import annotations

import importlib

import click

from mtk.cli.common import fps_option, layout_option

#: --to value -> "module:function"; each takes (src, dst, **options) and returns a short summary string
TARGETS: dict[str, str] = {
    "joints": "mtk.formats.joints_export:convert_to_joints",
}


@click.command("convert")
@click.argument("src")
@click.argument("dst")
@click.option("--to", "target", type=click.Choice(sorted(TARGETS)), default=None,
              help="Output format (default: guessed from DST's extension).")
@layout_option
@fps_option
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
def convert_command(src: str, dst: str, target: str | None, layout: str | None, fps: float | None,
                    overwrite: bool) -> int:
    """Convert SRC into DST.

    \b
    Examples:
      mtk convert new_joint_vecs/012314.npy joints.npy --to joints
    """
    from mtk.cli.common import console
    from mtk.errors import MtkError

    if target is None:
        raise MtkError(dst, "cannot guess the output format", f"pass --to ({', '.join(sorted(TARGETS))})")
    module, function = TARGETS[target].split(":")
    summary = getattr(importlib.import_module(module), function)(src, dst, layout=layout, fps=fps,
                                                                  overwrite=overwrite)
    console(stderr=True).print(summary)
    return 0
