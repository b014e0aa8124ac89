"""``mtk convert``: one command, many targets; the targets (and their help) come from :mod:`mtk.jobs.convert`."""

from __future__ import annotations

import click

from mtk.cli.common import RegistryChoice, fps_option, layout_option, tree_layout, tree_options
from mtk.cli.numbers import FPS, WORKERS, Unit
from mtk.cli.pfnn_options import pfnn_options


def _targets_module():
    from mtk.jobs import convert

    return convert


def _targets():
    return _targets_module().targets()


def _taken(target) -> str:
    flags = sorted(f"--{name.replace('_', '-')}" for name in target.options)
    return f" [{', '.join(flags)}]" if flags else ""


class ConvertCommand(click.Command):
    """``mtk convert``, whose help ends with the registered targets."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Targets (--to)"):
            formatter.write_dl([(t.name, t.help + _taken(t)) for t in _targets().values()])


@click.command("convert", cls=ConvertCommand)
@click.argument("src")
@click.argument("dst")
@click.option("--to", "target", type=RegistryChoice(lambda: list(_targets())), default=None,
              help="Output format (default: guessed from DST's extension; see the list of targets below).")
@layout_option
@tree_options
@fps_option
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@click.option("--workers", type=WORKERS, default=None, metavar="N", help="Worker processes.")
@click.option("--resume", is_flag=True, default=None, help="Finish an interrupted conversion to DST (dataset targets).")
@click.option("--skip-bad", is_flag=True, default=None,
              help="Skip unreadable source motions and list them at the end (dataset targets).")
@click.option("--fix-quirks", is_flag=True, default=None,
              help="HumanML3D-generator layouts: fix the released data's IK quirks (hip sign, frame-0 heading, "
                   "arcsin branch); the default reproduces them, as trained models expect.")
@click.option("--joint-map", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="BVH -> features: a JSON map of the 22 SMPL joints onto the file's joints (each a joint name or "
                   '{"between": ["A", "B"], "at": 0.5}); default: a built-in map found from the joint names '
                   "(SMPL, Mixamo, LaFAN1, CMU/PFNN).")
@click.option("--unit", type=Unit(), default=None, metavar="UNIT",
              help="Joints/BVH -> features: the input's length unit (m, cm, mm, in, ft, cmu, or metres per unit); "
                   "default: detected from a BVH's legs, metres for a joints .npy.")
@click.option("--up", type=click.Choice(["y", "z", "x", "-y", "-z", "-x"]), default=None,
              help="Joints/BVH -> features: the input's up axis; default: detected from a BVH's body, y for a "
                   "joints .npy.")
@click.option("--source-fps", type=FPS, default=None, metavar="F",
              help="Joints .npy -> features: the joints' frame rate (they carry none); they are resampled to the output "
                   "rate. Default: taken to be at the output rate.")
@click.option("--trim", default=None, metavar="START:END",
              help="Joints/BVH -> features: keep these source frames (END excluded; 120: or :2332 also work).")
@pfnn_options
def convert_command(src: str, dst: str, target: str | None, layout: str | None, as_dataset: bool, fps: float | None,
                    overwrite: bool, **target_options) -> int:
    """Convert SRC into DST. Each target below lists the options it takes; others are refused.

    \b
    Examples:
      mtk convert new_joint_vecs/012314.npy joints.npy --to joints
      mtk convert HumanML3D humanml3d.zarr --workers 4    # npy folder -> Zarr v3 store (.h5: HDF5)
      mtk convert humanml3d.zarr HumanML3D_copy --to npy --resume
      mtk convert release/ mm.zarr --as-dataset   # any tree of feature .npy files (texts/, split lists)
      mtk convert mm.zarr MotionMillion --to npy  # 272: motion_data/vector_272/, texts/, split/version1/
      mtk convert LocomotionFlat04_000.bvh pfnn_db --to pfnn     # uses .phase/.gait/_footsteps.txt siblings
      mtk convert walk.bvh walk272.npy --to smpl272        # SMPL-22 BVH -> 272 at 30 fps (--fps F)
      mtk convert take.bvh take263.npy --to hml263         # any mapped skeleton (CMU, Mixamo, LaFAN1, ...)
      mtk convert joints.npy j272.npy --to smpl272 --source-fps 20   # HumanML3D joints -> 272 at 30 fps (IK)
      mtk convert motion272.npy motion.bvh                 # features -> SMPL-22 BVH
    """
    from mtk.cli.common import print_summary, progress_bar

    chosen = _targets_module().target_for(dst, target)
    layout = tree_layout(src, layout, as_dataset, target_options["splits"])
    options = {key: value for key, value in dict(target_options, layout=layout, fps=fps).items() if value is not None}
    with progress_bar(f"converting to {chosen.name}", None) as advance:
        summary = chosen.run(src, dst, overwrite=overwrite, on_progress=advance, **options)
    print_summary(summary)
    return 0
