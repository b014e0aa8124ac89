"""``mtk render``: read any motion (features, joints, BVH) and write a GIF, an MP4 or a PNG strip.

The frame rate of the picture is ``fps`` (default: the source's, at most 30); frames are picked by time.
Joints ``.npy`` files carry no rate: they are taken to be at ``fps`` (default 20).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from mtk.analysis.finite import require_finite
from mtk.errors import BadInputError, MtkError
from mtk.features import recover_joints, skeleton_for_joints, skeletons
from mtk.formats.arrays import array_kind, load_motion, resolve_layout
from mtk.io.atomic import atomic_file, refuse_existing
from mtk.maths.resample import sample_times
from mtk.render.stick_figure import Scene, animation, key_frames

OUTPUTS = (".gif", ".mp4", ".png")
#: the most frames a picture may hold: a GIF is assembled in memory (~420 KB a frame: 1,200 frames ~500 MB),
#: an MP4 is streamed to ffmpeg (bounded by time: ~20 minutes of drawing)
PICTURE_FRAMES = {".gif": 1_200, ".mp4": 36_000}
_JOINTS_FPS = 20.0


def load_scene(path: str, layout: str | None = None) -> tuple[Scene, float | None]:
    """The joints, tree and names of a feature/joints ``.npy`` or a BVH file, and its frame rate if known."""
    name = Path(path).name
    if path.lower().endswith(".bvh"):
        from mtk.formats.bvh import read_bvh

        motion = read_bvh(path)
        return Scene(motion.positions(), motion.parents, motion.joint_names, f"{name} (BVH)"), motion.fps
    array = require_finite(load_motion(path), path)
    kind = array_kind(array, path)
    if kind == "features":
        found = resolve_layout(array.shape[1], layout, path)
        if found is None:
            raise BadInputError(path, f"has {array.shape[1]} columns, which matches no known layout")
        joints = recover_joints(array.astype(np.float64), found)
        skeleton = found.skeleton
        return Scene(joints, skeleton.parents, skeleton.joint_names, f"{name} ({found.name})"), found.fps
    if kind == "joints":
        skeleton = skeleton_for_joints(int(array.shape[1]))
        if skeleton is None:
            counts = ", ".join(str(s.num_joints) for s in skeletons())
            raise BadInputError(path, f"has {array.shape[1]} joints, which matches no known skeleton ({counts})",
                                "render a BVH file, which names its own tree")
        return Scene(array.astype(np.float64), skeleton.parents, skeleton.joint_names, f"{name} (joints)"), None
    raise BadInputError(path, f"is a vector of {array.shape[0]} values, not a motion")


def _writer(out: Path, fps: float):
    from matplotlib.animation import FFMpegWriter, PillowWriter

    if out.suffix == ".gif":
        return PillowWriter(fps=fps)
    if not shutil.which("ffmpeg"):
        raise MtkError(out, "writing MP4 needs ffmpeg, which is not installed here",
                       f"install ffmpeg, or write a GIF: --out {out.with_suffix('.gif').name}")
    return FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])


def _refuse_long_picture(out: str, suffix: str, frames: int, fps: float) -> None:
    """A one-line error when a picture would hold more than :data:`PICTURE_FRAMES` frames."""
    limit = PICTURE_FRAMES[suffix]
    if frames > limit:
        slower = math.floor(limit * fps / frames * 1000) / 1000
        other = "" if suffix == ".mp4" else ", or write an .mp4"
        raise MtkError(out, f"would hold {frames:,} frames; a {suffix} holds at most {limit:,}",
                       f"pass --fps {slower:g} or less{other}")


def render_file(path: str, out: str, *, fps: float | None = None, layout: str | None = None,
                overwrite: bool = False, frames: int = 6) -> str:
    """Render ``path`` to ``out`` (.gif, .mp4, or .png for a strip of ``frames`` key frames)."""
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in OUTPUTS:
        raise MtkError(out, f"cannot render to {suffix or 'a file without extension'}", "use .gif, .mp4 or .png")
    refuse_existing(out, overwrite, sources=[path])
    scene, source_fps = load_scene(path, layout)
    with atomic_file(target, suffix) as tmp:
        if suffix == ".png":
            key_frames(scene, frames).savefig(tmp)
            summary = f"wrote {out}: {min(frames, len(scene.joints))} key frames of {len(scene.joints)}"
        else:
            source_fps = source_fps or fps or _JOINTS_FPS
            out_fps = fps or min(source_fps, 30.0)
            picks = np.round(sample_times(len(scene.joints), source_fps, out_fps)).astype(int)
            _refuse_long_picture(out, suffix, len(picks), out_fps)
            writer = _writer(target, out_fps)
            animation(scene, picks.tolist(), out_fps).save(tmp, writer=writer)
            summary = (f"wrote {out}: {len(picks)} frames at {out_fps:g} fps ({len(picks) / out_fps:.1f} s) of a "
                       f"{len(scene.joints)}-frame motion at {source_fps:g} fps")
    return summary
