"""The ``mtk convert --to pfnn`` options, as one decorator so the shared convert command stays small."""

from __future__ import annotations

from collections.abc import Callable

import click

from mtk.schemas import PFNN31
from mtk.schemas.pfnn import PRESETS

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
    click.option("--gait-from", "gait_from", metavar="speed|FILE", default=None,
                 help="[pfnn] Gait from root speed, or a .gait file / folder of <name>.gait "
                      "(default: a BVH's .gait sibling, else speed)."),
)


def pfnn_options(command: Callable) -> Callable:
    """Add the PFNN export options; they reach the target function as keyword arguments when given."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
