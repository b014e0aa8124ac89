"""The ``mtk convert --to pfnn`` options, as one decorator so the shared convert command stays small."""

from __future__ import annotations

from collections.abc import Callable

import click

from mtk.pfnn.gait import LOCOMOTION
from mtk.pfnn.schema import PRESETS
from mtk.pfnn.sources import GAIT_MODES
from mtk.schemas import PFNN31

_OPTIONS = (
    click.option("--skeleton", type=click.Choice(list(PRESETS)), default=None,
                 help=f"[pfnn] Skeleton preset (default: detected; {PFNN31.name} reproduces PFNN's own generator)."),
    click.option("--rotations", type=click.Choice(["logquat", "6d"]), default=None,
                 help="[pfnn] Joint rotations in Y: log-quaternion with w >= 0 (PFNN's) or 6D. Default logquat."),
    click.option("--terrain", type=click.Choice(["zero", "none"]), default=None,
                 help="[pfnn] Terrain heights in X: 36 zeros (flat ground, PFNN's 342) or dropped. Default zero."),
    click.option("--phase-from", "phase_from", metavar="contacts|FILE", default=None,
                 help="[pfnn] Phase from foot contacts, or a .phase file / folder of <name>.phase "
                      "(default: a BVH's .phase or _footsteps.txt sibling, else contacts)."),
    click.option("--gait", type=click.Choice(list(GAIT_MODES)), default=None,
                 help="[pfnn] Gait labels: from the motion (jumps, crouches, speed, side/back steps), the texts, "
                      "both (the motion's, walk vs jog settled by the texts), a PFNN .gait file, or the root speed "
                      "alone. Default: file for a BVH with a .gait sibling or with --gait-from FILE, else both."),
    click.option("--gait-from", "gait_from", metavar="FILE|speed", default=None,
                 help="[pfnn] The .gait file or folder of <name>.gait for --gait file ('speed' is --gait speed)."),
    click.option("--select", type=click.Choice(["all", "locomotion"]), default=None,
                 help="[pfnn] Rows from all frames (default), or only locomotion: motions whose texts name only "
                      "other activities and frames that glide, sit or move in place are dropped."),
    click.option("--keep", metavar="LABELS", default=None,
                 help=f"[pfnn] With --select locomotion: the gait labels to keep, comma-separated, of "
                      f"{','.join(LOCOMOTION)} (default: all of them)."),
)


def pfnn_options(command: Callable) -> Callable:
    """Add the PFNN export options; they reach the target function as keyword arguments when given."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
