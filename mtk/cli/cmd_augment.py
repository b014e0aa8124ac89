"""``mtk augment``: a dataset with augmented copies of its motions beside the originals (``--mirror``)."""

from __future__ import annotations

import click

from mtk.cli import numbers
from mtk.cli.common import RegistryChoice, layout_option, tree_layout, tree_options


@click.command("augment")
@click.argument("src")
@click.argument("dst")
@click.option("--mirror", is_flag=True,
              help="Add every motion's mirror image as MNAME (HumanML3D's M copies): features mirrored left to right, "
                   "left/right (clockwise/counterclockwise, ...) swapped in its texts, splits extended.")
@click.option("--to", "to", type=RegistryChoice(lambda: _dataset_formats()), default=None,
              help="Output format (default: DST's suffix, else the source's; a tree of .npy files gives an npy folder).")
@layout_option
@tree_options
@click.option("--workers", type=numbers.WORKERS, default=None, metavar="N", help="Reader threads.")
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
def augment_command(src: str, dst: str, mirror: bool, to: str | None, layout: str | None, as_dataset: bool,
                    splits: str | None, workers: int | None, overwrite: bool) -> int:
    """Write the dataset SRC to DST with augmented copies of its motions.

    Any dataset mtk reads (npy folder, Zarr, HDF5, a tree of feature .npy files with --as-dataset) of any
    layout (263, 251, 272). Mirroring is exact and its own inverse: augmenting the output again adds nothing,
    and mirroring an M copy gives back its original. Mean/std are not copied (they describe the data before
    augmenting): run `mtk stats DST` for the augmented data's.

    \b
    Examples:
      mtk augment HumanML3D HumanML3D_mirrored --mirror     # 000001 + M000001, ... texts and splits too
      mtk augment mm.zarr mm_mirrored.zarr --mirror
    """
    from mtk.cli.common import print_note, print_summary, progress_bar
    from mtk.jobs.augment import augment_dataset

    layout = tree_layout(src, layout, as_dataset, splits)
    with progress_bar("augmenting", None) as advance:
        result = augment_dataset(src, dst, mirror=mirror, to=to, layout=layout, workers=workers,
                                 overwrite=overwrite, on_progress=advance, splits=splits)
    print_summary(result.summary())
    print_note(f"mean/std were not copied: run mtk stats {dst} for the augmented data's")
    return 0


def _dataset_formats() -> list[str]:
    from mtk.formats import registry

    return registry.names("dataset", writable=True)
