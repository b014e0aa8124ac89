"""Driving scripts for the controller: ``walk:3,turn-left:90,jog:4,stand:2`` -> one command per frame.

``walk:S``, ``jog:S``, ``stand:S`` hold that gait for S seconds along the current heading; ``turn-left:D`` /
``turn-right:D`` turn the heading by D degrees at 90 degrees per second, keeping the gait (left is the
character's +x). Speeds are the network's gait speeds (the training data's median, or PFNN's demo speeds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.analysis.length import require_frames
from mtk.errors import MtkError

GAITS = ("walk", "jog", "stand")
TURNS = {"turn-left": 1.0, "turn-right": -1.0}
TURN_RATE_DEG_S = 90.0


@dataclass(frozen=True)
class Segment:
    action: str
    amount: float


@dataclass
class Command:
    """One frame's request: world velocity (units per 1/60 s, xz), facing (None: along the velocity), gait."""

    velocity: np.ndarray
    direction: np.ndarray | None
    gait: str


def parse_path(spec: str) -> list[Segment]:
    """``'walk:3,turn-left:90'`` -> segments; one-line errors for anything else."""
    segments = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        action, _, amount = part.partition(":")
        if action not in GAITS and action not in TURNS:
            raise MtkError(None, f"--path: unknown action {action!r}",
                           f"use {', '.join(GAITS)} (seconds) or turn-left/turn-right (degrees)")
        try:
            value = float(amount)
        except ValueError:
            raise MtkError(None, f"--path: {part!r} needs a number, e.g. {action}:2") from None
        if not np.isfinite(value) or value < 0:
            raise MtkError(None, f"--path: {part!r} needs a finite amount >= 0")
        segments.append(Segment(action, value))
    if not segments:
        raise MtkError(None, "--path is empty", "e.g. --path 'walk:3,turn-left:90,jog:4,stand:2'")
    return segments


def _frames(segment: Segment, fps: float) -> int:
    """The frames one segment lasts: a turn at the controller's turn rate, anything else its seconds."""
    if segment.action in TURNS:
        return max(1, int(round(segment.amount / TURN_RATE_DEG_S * fps)))
    return int(round(segment.amount * fps))


def path_commands(segments: list[Segment], fps: float, speeds: dict[str, float],
                  seconds: float | None = None) -> list[Command]:
    """One command per frame; ``seconds`` truncates the script or holds its last command. A play longer than
    :data:`~mtk.analysis.length.MAX_FRAMES` frames is refused before any command is made."""
    planned = sum(_frames(segment, fps) for segment in segments)
    require_frames(planned if seconds is None else int(round(seconds * fps)), "--path/--seconds", work="plays",
                   hint="play a shorter path")
    commands: list[Command] = []
    yaw, gait = 0.0, "walk"
    for segment in segments:
        frames = _frames(segment, fps)
        if segment.action in TURNS:
            step = np.radians(segment.amount) * TURNS[segment.action] / frames
        else:
            gait, step = segment.action, 0.0
        for _ in range(frames):
            yaw += step
            heading = np.array([np.sin(yaw), np.cos(yaw)])
            commands.append(Command(heading * speeds.get(gait, 0.0), heading, gait))
    if seconds is not None:
        total = int(round(seconds * fps))
        commands = commands[:total] + [commands[-1]] * max(0, total - len(commands)) if commands else []
    return commands


def follow_command(root: np.ndarray, facing: np.ndarray, t: int, position: np.ndarray, fps: float,
                   speeds: dict[str, float]) -> Command:
    """The command at frame ``t`` that follows a clip's root path (T, 2) and facing (T, 2) from the
    character's ``position``: head for where the clip's root is one second later (so drift is corrected),
    face where the clip faces half a second later; jog above the midpoint of the walk and jog speeds."""
    frames = len(root)
    ahead = max(1, int(round(fps)))
    end = min(frames - 1, t + ahead)
    steps = max(1, end - t)
    velocity = (root[end] - position) / steps / (60.0 / fps)
    jog_from = 0.5 * (speeds.get("walk", 0.0) + speeds.get("jog", 0.0))
    gait = "jog" if np.linalg.norm(velocity) > jog_from else "walk"
    return Command(velocity, facing[min(frames - 1, t + ahead // 2)], gait)
