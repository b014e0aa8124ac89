"""Stick-figure pictures of a motion with matplotlib (imported lazily, Agg canvas, no pyplot state).

The world is y-up; the plot is z-up, so a point (x, y, z) is drawn at (x, -z, y), a proper rotation that
keeps left and right where they are. Left limbs are blue, right limbs red, the rest dark grey; the camera
follows the root over a world-fixed floor grid that carries the root's trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_LEFT, _RIGHT, _CENTRE = "#1f5fbf", "#c8322d", "#333333"


@dataclass
class Scene:
    """What to draw: joints (T, J, 3) in world units, the tree, joint names, a title."""

    joints: np.ndarray
    parents: Sequence[int]
    names: Sequence[str]
    title: str = ""


def _plot(points: np.ndarray) -> np.ndarray:
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], -1)


def _side(name: str) -> str:
    lower = name.lower()
    if lower.startswith("left") or lower.startswith("l_") or (len(name) > 1 and name[0] == "L" and name[1].isupper()):
        return _LEFT
    if lower.startswith("right") or lower.startswith("r_") or (len(name) > 1 and name[0] == "R" and name[1].isupper()):
        return _RIGHT
    return _CENTRE


def _polyline(pieces: list[np.ndarray]) -> np.ndarray:
    """Pieces (n_i, D) joined into one (N, D) polyline with NaN rows between them."""
    gap = np.full((1, pieces[0].shape[1]), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)][:-1])


def _nice_step(span: float) -> float:
    """A round grid spacing giving a handful of lines over ``span``."""
    raw = span / 4
    power = 10 ** np.floor(np.log10(raw))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * power - raw)) * power)


class _Axes:
    """One 3D axes following the root: a world-fixed floor grid, the root trajectory and the bones."""

    def __init__(self, ax, scene: Scene):
        self.ax, self.scene = ax, scene
        points = _plot(scene.joints)
        self.half = max(0.6 * float(points[..., 2].max()), 1e-6)
        ax.set_zlim(0, 1.5 * self.half)
        ax.set_box_aspect((1, 1, 0.75))
        ax.view_init(elev=15, azim=-70)
        ax.set_axis_off()
        self.step = _nice_step(2 * self.half)
        # the floor grid is world-fixed but drawn only around the root, each frame (its cost follows the view,
        # not the length of the walk: a grid over a kilometre of trajectory held 10^8 points)
        self.grid = ax.plot([], [], [], color="#cccccc", lw=0.6, axlim_clip=True)[0]
        root = points[:, 0]
        ax.plot(root[:, 0], root[:, 1], np.zeros(len(root)), color="#e69f00", lw=1.2, axlim_clip=True)
        colours = [_side(scene.names[j]) for j in range(len(scene.parents))]
        self.groups = []
        for colour in (_CENTRE, _LEFT, _RIGHT):
            bones = [(j, p) for j, p in enumerate(scene.parents) if p >= 0 and colours[j] == colour]
            if bones:
                line = ax.plot([], [], [], color=colour, lw=2.2, solid_capstyle="round")[0]
                self.groups.append((np.array(bones), line))
        self.marker = ax.plot([], [], [], "o", color="#e69f00", ms=3)[0]

    def _draw_grid(self, centre: np.ndarray) -> None:
        """Grid lines at multiples of ``step`` covering the view around ``centre``; clipping drops whole
        segments with an end outside the view, so lines are drawn in short NaN-separated pieces (one artist)."""
        step = self.step
        lo, hi = centre[:2] - self.half, centre[:2] + self.half
        xs = np.arange(np.floor(lo[0] / step), np.ceil(hi[0] / step) + 1) * step
        ys = np.arange(np.floor(lo[1] / step), np.ceil(hi[1] / step) + 1) * step
        fine_x = np.linspace(xs[0], xs[-1], 10 * len(xs))
        fine_y = np.linspace(ys[0], ys[-1], 10 * len(ys))
        grid = _polyline([np.stack([np.full_like(fine_y, x), fine_y], -1) for x in xs]
                         + [np.stack([fine_x, np.full_like(fine_x, y)], -1) for y in ys])
        self.grid.set_data_3d(grid[:, 0], grid[:, 1], np.zeros(len(grid)))

    def draw(self, frame: int) -> None:
        points = _plot(self.scene.joints[frame])
        centre = points[0]
        self.ax.set_xlim(centre[0] - self.half, centre[0] + self.half)
        self.ax.set_ylim(centre[1] - self.half, centre[1] + self.half)
        self._draw_grid(centre)
        for bones, line in self.groups:
            segments = _polyline([points[[p, j]] for j, p in bones])
            line.set_data_3d(segments[:, 0], segments[:, 1], segments[:, 2])
        self.marker.set_data_3d([centre[0]], [centre[1]], [0.0])


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=72)
    FigureCanvasAgg(figure)
    return figure


def animation(scene: Scene, frames: Sequence[int], fps: float):
    """A matplotlib ``FuncAnimation`` showing ``frames`` (indices into the scene) at ``fps``."""
    from matplotlib.animation import FuncAnimation

    figure = _figure(4.5, 4.5)
    axes = _Axes(figure.add_subplot(projection="3d"), scene)
    figure.subplots_adjust(0, 0, 1, 0.94)
    title = figure.suptitle(scene.title, fontsize=9)

    def update(k: int):
        axes.draw(frames[k])
        title.set_text(f"{scene.title}  frame {frames[k]}/{len(scene.joints)}")
        return []

    return FuncAnimation(figure, update, frames=len(frames), interval=1000.0 / fps, blit=False)


def key_frames(scene: Scene, count: int = 6):
    """A figure with ``count`` evenly spaced frames side by side (a quick look as one PNG)."""
    total = scene.joints.shape[0]
    picks = np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))
    figure = _figure(2.6 * len(picks), 3.0)
    for k, frame in enumerate(picks):
        axes = _Axes(figure.add_subplot(1, len(picks), k + 1, projection="3d"), scene)
        axes.draw(int(frame))
        axes.ax.set_title(f"frame {frame}", fontsize=8)
    figure.suptitle(scene.title, fontsize=9)
    figure.subplots_adjust(0, 0, 1, 0.88, wspace=0)
    return figure
