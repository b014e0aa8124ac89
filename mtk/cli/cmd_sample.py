"""``mtk sample``: the built-in procedural dataset."""

from __future__ import annotations

import click

from mtk.cli.numbers import SAMPLE_COUNT, SEED
from mtk.features import layouts_on
from mtk.schemas import SMPL22

#: the layouts of the procedural skeleton (as :data:`mtk.sample.procedural.SAMPLE_LAYOUTS`, without loading it)
LAYOUTS = [spec.name for spec in layouts_on(SMPL22)]


@click.command("sample")
@click.argument("out")
@click.option("--layout", type=click.Choice(LAYOUTS), default=LAYOUTS[0], show_default=True,
              help="Feature layout; also picks the folder layout (HumanML3D or MotionMillion).")
@click.option("--count", type=SAMPLE_COUNT, default=200, show_default=True, help="Number of motions.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Random seed (same seed, same data).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def sample_command(out: str, layout: str, count: int, seed: int, overwrite: bool) -> int:
    """Write a procedural dataset to OUT: walking, running, turning, side-stepping, jumping and idling
    motions (2-10 s) on the SMPL-22 skeleton, with texts, train/val/test splits and mean/std.

    \b
    Examples:
      mtk sample data/sample263
      mtk sample data/sample272 --layout smpl272 --count 500 --seed 1
    """
    from mtk.cli.common import print_summary, progress_bar
    from mtk.jobs.sample import write_sample_dataset

    with progress_bar("generating", count) as advance:
        summary = write_sample_dataset(out, layout=layout, count=count, seed=seed, overwrite=overwrite,
                                       on_progress=advance)
    print_summary(summary)
    return 0
