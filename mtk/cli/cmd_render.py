"""``mtk render``: a stick-figure animation or key-frame strip of any motion."""

from __future__ import annotations

import click

from mtk.cli.common import layout_option
from mtk.cli.numbers import FPS, KEY_FRAMES


@click.command("render")
@click.argument("path")
@click.option("--out", required=True, metavar="FILE", help="anim.gif, anim.mp4 (needs ffmpeg) or frames.png.")
@click.option("--fps", type=FPS, default=None, metavar="F",
              help="Frame rate of the picture (default: the motion's, at most 30; joints .npy play at 20).")
@layout_option
@click.option("--frames", type=KEY_FRAMES, default=6, show_default=True,
              help="Key frames in a .png strip.")
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
def render_command(path: str, out: str, fps: float | None, layout: str | None, frames: int,
                   overwrite: bool) -> int:
    """Draw PATH (features, joints or BVH) as a stick figure with floor grid and root trajectory.

    \b
    Examples:
      mtk render new_joint_vecs/012314.npy --out walk.gif
      mtk render motion.bvh --out motion.mp4 --fps 30
      mtk render sample/new_joint_vecs/000003.npy --out peek.png
    """
    from mtk.cli.common import print_summary
    from mtk.jobs.render import render_file

    print_summary(render_file(path, out, fps=fps, layout=layout, overwrite=overwrite, frames=frames))
    return 0
