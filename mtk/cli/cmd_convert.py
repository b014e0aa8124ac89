"""``mtk convert``: one command, many targets; each target is a function in a format module."""

from __future__ import annotations

import importlib

import click

from mtk.cli.common import fps_option, layout_option
from mtk.cli.pfnn_options import pfnn_options

#: --to value -> "module:function"; each takes (src, dst, **options) and returns a short summary string
TARGETS: dict[str, str] = {
    "joints": "mtk.jobs.convert_joints:convert_to_joints",
    "pfnn": "mtk.formats.pfnn:convert_to_pfnn",
    "zarr": "mtk.jobs.convert_dataset:convert_to_zarr",
    "hdf5": "mtk.jobs.convert_dataset:convert_to_hdf5",
    "npy": "mtk.jobs.convert_dataset:convert_to_npy",
    "smpl272": "mtk.jobs.convert_motion:convert_to_smpl272",
    "hml263": "mtk.jobs.convert_motion:convert_to_hml263",
    "kit251": "mtk.jobs.convert_motion:convert_to_kit251",
    "bvh": "mtk.jobs.convert_motion:convert_to_bvh",
}


@click.command("convert")
@click.argument("src")
@click.argument("dst")
@click.option("--to", "target", type=click.Choice(sorted(TARGETS)), default=None,
              help="Output format (default: guessed from DST's extension).")
@layout_option
@fps_option
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N", help="Worker processes.")
@click.option("--resume", is_flag=True, default=None, help="Finish an interrupted conversion to DST (zarr/hdf5/npy).")
@click.option("--skip-bad", is_flag=True, default=None,
              help="Skip unreadable source motions and list them at the end (zarr/hdf5/npy).")
@click.option("--fix-quirks", is_flag=True, default=None,
              help="hml263/kit251: fix the released data's IK quirks (hip sign, frame-0 heading, arcsin branch); "
                   "the default reproduces them, as trained models expect.")
@pfnn_options
def convert_command(src: str, dst: str, target: str | None, layout: str | None, fps: float | None,
                    overwrite: bool, **target_options) -> int:
    """Convert SRC into DST.

    \b
    Examples:
      mtk convert new_joint_vecs/012314.npy joints.npy --to joints
      mtk convert HumanML3D humanml3d.zarr --workers 4    # npy folder -> Zarr v3 store (.h5: HDF5)
      mtk convert humanml3d.zarr HumanML3D_copy --to npy --resume
      mtk convert LocomotionFlat04_000.bvh pfnn_db --to pfnn     # uses .phase/.gait/_footsteps.txt siblings
      mtk convert walk.bvh walk272.npy --to smpl272        # SMPL-22 BVH -> 272 at 30 fps (--fps F)
      mtk convert motion272.npy motion.bvh                 # features -> SMPL-22 BVH
    """
    from mtk.cli.common import console, progress_bar
    from mtk.errors import MtkError

    if target is None:
        from mtk.formats.datasets import format_for_path

        target = format_for_path(dst) or ("bvh" if dst.lower().endswith(".bvh") else None)
    if target is None:
        raise MtkError(dst, "cannot guess the output format", f"pass --to ({', '.join(sorted(TARGETS))})")
    module, function = TARGETS[target].split(":")
    options = {key: value for key, value in target_options.items() if value is not None}
    with progress_bar(f"converting to {target}", None) as advance:
        summary = getattr(importlib.import_module(module), function)(src, dst, layout=layout, fps=fps,
                                                                      overwrite=overwrite, on_progress=advance,
                                                                      **options)
    console(stderr=True).print(summary)
    return 0
