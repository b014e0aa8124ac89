"""BVH motion capture files: a reader for any skeleton and a writer for SMPL-22 motions.

The reader parses the HIERARCHY (joints, parents, offsets, channel orders; End Sites are kept apart) and
the MOTION block, turns each joint's Euler channels into a parent-relative rotation matrix (channels are
intrinsic, R = R_first @ R_second @ R_third, in degrees) and takes the frame rate from ``Frame Time``.
A root with position channels is placed at those values (its OFFSET is then only the rest pose); any other
joint with position channels uses them in place of its OFFSET. ``scale`` multiplies every length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtk.analysis.finite import require_bounded
from mtk.analysis.length import require_frames
from mtk.errors import BadInputError, MtkError
from mtk.features import layouts, skeleton_for_joints
from mtk.formats.registry import register_format
from mtk.io.atomic import atomic_file
from mtk.mocap.maps import closest_map
from mtk.schemas import SMPL22

#: the frame times a BVH may declare: 1000 fps down to one frame a minute (0, NaN or 1e-300 would make a rate of
#: nothing or of 10^300 frames a second)
FRAME_TIME_RANGE = (1e-3, 60.0)
#: the largest magnitude of an OFFSET or channel value: centimetres up to 100 km, degrees up to 27,000 turns;
#: beyond it forward kinematics' sums overflow (an OFFSET of 1e308 gave joints of Inf)
VALUE_LIMIT = 1e7
_ROTATION_CHANNELS = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
_POSITION_CHANNELS = {"xposition": 0, "yposition": 1, "zposition": 2}


@dataclass
class BvhMotion:
    """A BVH motion: skeleton, per-frame local rotations and root positions (lengths already scaled)."""

    joint_names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3)
    local_rotations: np.ndarray  # (T, J, 3, 3) float64, parent-relative
    root_positions: np.ndarray  # (T, 3)
    fps: float
    #: per-frame translations (T, J, 3) of joints whose channels include positions (root excluded), else None
    joint_translations: np.ndarray | None = None
    #: End Site offsets as (parent joint index, offset (3,))
    end_sites: list[tuple[int, np.ndarray]] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def _fk(self) -> tuple[np.ndarray, np.ndarray]:
        from mtk.maths.kinematics import forward_kinematics

        offsets: np.ndarray = self.offsets
        if self.joint_translations is not None:
            # (J, T, 3): forward_kinematics indexes offsets[j] and broadcasts it over the frames
            offsets = np.swapaxes(self.joint_translations, 0, 1)
        return forward_kinematics(self.local_rotations, self.root_positions, offsets, self.parents)

    def positions(self) -> np.ndarray:
        """Global joint positions (T, J, 3)."""
        return self._fk()[0]

    def global_rotations(self) -> np.ndarray:
        """Global joint rotations (T, J, 3, 3)."""
        return self._fk()[1]


@dataclass
class _Joint:
    name: str
    parent: int
    offset: list[float]
    channels: list[str]


class _Tokens:
    """A cursor over the whitespace-separated words of the HIERARCHY section."""

    def __init__(self, words: list[str], path: str):
        self.words, self.index, self.path = words, 0, path

    def next(self) -> str:
        if self.index >= len(self.words):
            raise BadInputError(self.path, "ends inside the HIERARCHY section", "the file is truncated")
        word = self.words[self.index]
        self.index += 1
        return word

    def expect(self, expected: str) -> None:
        word = self.next()
        if word != expected:
            raise BadInputError(self.path, f"has {word!r} where the BVH hierarchy needs {expected!r}")

    def floats(self, count: int) -> list[float]:
        try:
            return [float(self.next()) for _ in range(count)]
        except ValueError:
            raise BadInputError(self.path, "has a non-numeric OFFSET in its hierarchy") from None


def _parse_hierarchy(tokens: _Tokens) -> tuple[list[_Joint], list[tuple[int, list[float]]]]:
    joints: list[_Joint] = []
    end_sites: list[tuple[int, list[float]]] = []
    stack: list[int] = []  # indices of the joints whose blocks are open
    tokens.expect("HIERARCHY")
    while True:
        word = tokens.next()
        if word in ("ROOT", "JOINT"):
            if word == "ROOT" and joints:
                raise BadInputError(tokens.path, "has more than one ROOT", "mtk reads single-skeleton BVH files")
            name = tokens.next()
            tokens.expect("{")
            parent = stack[-1] if stack else -1
            tokens.expect("OFFSET")
            offset = tokens.floats(3)
            tokens.expect("CHANNELS")
            try:
                count = int(tokens.next())
            except ValueError:
                raise BadInputError(tokens.path, f"joint {name} has a bad CHANNELS count") from None
            channels = [tokens.next().lower() for _ in range(count)]
            unknown = [c for c in channels if c not in _ROTATION_CHANNELS and c not in _POSITION_CHANNELS]
            if unknown:
                raise BadInputError(tokens.path, f"joint {name} has unknown channels {unknown}")
            joints.append(_Joint(name, parent, offset, channels))
            stack.append(len(joints) - 1)
        elif word == "End":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            end_sites.append((stack[-1], tokens.floats(3)))
            tokens.expect("}")
        elif word == "}":
            if not stack:
                raise BadInputError(tokens.path, "has an unbalanced '}' in its hierarchy")
            stack.pop()
            if not stack:
                return joints, end_sites
        else:
            raise BadInputError(tokens.path, f"has an unexpected word {word!r} in its hierarchy")


def _frame_rate(frame_time: float) -> float:
    """1 / Frame Time, snapped to a whole number when the file's rounding is the only difference."""
    fps = 1.0 / frame_time
    nearest = round(fps)
    return float(nearest) if nearest > 0 and abs(fps - nearest) < 1e-3 * fps else fps


def _motion_values(text: str, path: str) -> tuple[int, float, np.ndarray]:
    lines = text.split("\n", 2)
    try:
        frames = int(lines[0].split(":", 1)[1]) if lines[0].strip().startswith("Frames") else None
        frame_time = float(lines[1].split(":", 1)[1]) if lines[1].strip().startswith("Frame Time") else None
    except (IndexError, ValueError):
        frames = frame_time = None
    if frames is None or frame_time is None:
        raise BadInputError(path, "has no valid 'Frames:' / 'Frame Time:' lines after MOTION")
    require_frames(frames, path)  # before the values are parsed
    low, high = FRAME_TIME_RANGE
    if not low <= frame_time <= high:  # NaN fails too
        raise BadInputError(path, f"has Frame Time {frame_time!r}, outside [{low:g}, {high:g}] seconds",
                            "the frame time is the seconds per frame, e.g. 0.0333333 for 30 fps")
    try:
        values = np.array(lines[2].split() if len(lines) > 2 else [], dtype=np.float64)
    except ValueError:
        raise BadInputError(path, "has non-numeric values in its MOTION block") from None
    return frames, frame_time, values


def read_bvh(path: str | Path, scale: float = 1.0) -> BvhMotion:
    """Read a BVH file; ``scale`` multiplies offsets and positions (e.g. 0.01 for centimetres -> metres)."""
    path = str(path)
    if not Path(path).is_file():
        raise MtkError(path, "no such file", "check the path")
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise BadInputError(path, f"cannot be read: {err.strerror}") from None
    head, sep, motion = text.partition("MOTION")
    if not sep:
        raise BadInputError(path, "is not a BVH file (no MOTION section)")
    joints, end_sites = _parse_hierarchy(_Tokens(head.split(), path))
    require_bounded(np.array([j.offset for j in joints] + [offset for _, offset in end_sites]), VALUE_LIMIT, path,
                    "the HIERARCHY's OFFSETs must be finite lengths", "OFFSETs")
    frames, frame_time, values = _motion_values(motion.strip(), path)
    width = sum(len(j.channels) for j in joints)
    if width == 0:
        raise BadInputError(path, f"declares {frames} frames but no channels", "a BVH motion needs channels")
    if frames <= 0 or values.size < frames * width:
        raise BadInputError(path, f"declares {frames} frames of {width} channels but holds {values.size} values",
                            "the file is truncated")
    values = require_bounded(values[: frames * width].reshape(frames, width), VALUE_LIMIT, path,
                             "the MOTION block must hold finite channel values", "channel values")

    count = len(joints)
    rotations = np.broadcast_to(np.eye(3), (frames, count, 3, 3)).copy()
    offsets = np.array([j.offset for j in joints], dtype=np.float64) * scale
    root_positions = np.broadcast_to(offsets[0], (frames, 3)).copy()
    translations: np.ndarray | None = None
    column = 0
    from mtk.maths.rotations import euler_to_matrix

    for index, joint in enumerate(joints):
        order = "".join(_ROTATION_CHANNELS.get(c, "") for c in joint.channels)
        rot_columns = [column + k for k, c in enumerate(joint.channels) if c in _ROTATION_CHANNELS]
        if rot_columns:
            rotations[:, index] = euler_to_matrix(np.radians(values[:, rot_columns]), order)
        pos = {_POSITION_CHANNELS[c]: column + k for k, c in enumerate(joint.channels) if c in _POSITION_CHANNELS}
        if pos:
            target = root_positions if index == 0 else None
            if target is None:
                if translations is None:
                    translations = np.broadcast_to(offsets, (frames, count, 3)).copy()
                target = translations[:, index]
            for axis, col in pos.items():
                target[:, axis] = values[:, col] * scale
        column += len(joint.channels)
    return BvhMotion(
        joint_names=[j.name for j in joints], parents=[j.parent for j in joints], offsets=offsets,
        local_rotations=rotations, root_positions=root_positions, fps=_frame_rate(frame_time),
        joint_translations=translations,
        end_sites=[(parent, np.asarray(offset) * scale) for parent, offset in end_sites],
    )


def smpl22_motion(motion: BvhMotion, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-22 local rotations (T, 22, 3, 3) and joint positions (T, 22, 3), in SMPL joint order.

    Extra joints (hands, fingers) are dropped; the rotations are SMPL rotations only if the BVH rest pose
    is SMPL's (as in SMPL/AMASS exports such as the 272 pipeline's and MotionMillion's).
    """
    indices = SMPL22.indices_in(motion.joint_names)
    if indices is None:
        raise BadInputError(path, f"has {motion.num_joints} joints ({', '.join(motion.joint_names[:4])}, ...), "
                            "not the 22 SMPL body joints", "expected names like Pelvis, Left_hip, Spine1, ...")
    parents = [motion.parents[i] for i in indices]
    expected = [-1] + [indices[p] for p in SMPL22.parents[1:]]
    if parents != expected:
        raise BadInputError(path, "has the SMPL joint names in another hierarchy than SMPL-22's")
    return motion.local_rotations[:, indices], motion.positions()[:, indices]


def bvh_joint_name(name: str) -> str:
    """SMPL-style BVH names: ``left_hip`` -> ``Left_hip`` (as the 272 pipeline and MotionMillion write)."""
    return name[:1].upper() + name[1:]


def write_bvh(path: str | Path, joint_names: Sequence[str], parents: Sequence[int], offsets: np.ndarray,
              local_rotations: np.ndarray, root_positions: np.ndarray, fps: float) -> None:
    """Write a BVH file atomically: ZYX Euler channels (degrees), root position channels, root OFFSET 0.

    Joints are written depth-first in index order among siblings; every leaf gets a zero End Site.
    The root's position channels hold its absolute position, so importers that add the root OFFSET and
    importers that ignore it agree.
    """
    from mtk.maths.kinematics import children as joint_children
    from mtk.maths.rotations import matrix_to_euler

    children = joint_children(parents)
    order: list[int] = []
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        order.append(j)
        offset = np.zeros(3) if parents[j] < 0 else offsets[j]
        lines.append(f"{pad}{'ROOT' if parents[j] < 0 else 'JOINT'} {joint_names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
        channels = "6 Xposition Yposition Zposition" if parents[j] < 0 else "3"
        lines.append(f"{pad}\tCHANNELS {channels} Zrotation Yrotation Xrotation")
        for child in children[j]:
            emit(child, depth + 1)
        if not children[j]:
            end = f"{pad}\t\tOFFSET 0.000000 0.000000 0.000000"
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", end, f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    roots = [j for j, p in enumerate(parents) if p < 0]
    if len(roots) != 1:
        raise ValueError(f"a BVH skeleton needs exactly one root, got {len(roots)}")
    emit(roots[0], 0)
    frames = local_rotations.shape[0]
    euler = np.degrees(matrix_to_euler(local_rotations[:, order], "ZYX")).reshape(frames, -1)
    values = np.concatenate([root_positions, euler], axis=1)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.8f}"]
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in values)
    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + body + "\n", encoding="utf-8")


def detect(path: str) -> bool:
    """A file ending in .bvh."""
    return str(path).lower().endswith(".bvh") and Path(path).is_file()


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Report on a BVH file: skeleton, rate, duration, position ranges."""
    from mtk.analysis.inspection import describe_joints

    motion = read_bvh(path)
    report = describe_joints(motion.positions(), path, fps or motion.fps, fps_source="--fps" if fps else "file")
    report.kind = "bvh"
    skeleton = skeleton_for_joints(motion.joint_names)
    report.details["skeleton"] = skeleton.name if skeleton else None
    report.details["joint_names"] = motion.joint_names
    report.details["frame_time"] = 1.0 / motion.fps
    joint_map, unmapped = closest_map(motion.joint_names)
    report.details["smpl22_map"] = None if unmapped else joint_map.name
    report.findings = [f for f in report.findings if f.code != "unknown_skeleton"]
    if unmapped:
        report.add("info", "unknown_skeleton", f"{motion.num_joints} joints fit no built-in SMPL-22 map (the "
                   f"closest, {joint_map.name}, has no source for {', '.join(unmapped[:6])}"
                   f"{', ...' if len(unmapped) > 6 else ''}): --to joints works, --to "
                   f"{'/'.join(layouts())} need --joint-map FILE")
    return report


register_format("bvh", "motion", "a BVH motion capture file (any skeleton)", "a .bvh file", detect,
                suffixes=(".bvh",), reader=read_bvh, writer=write_bvh, inspect=inspect, order=70)
