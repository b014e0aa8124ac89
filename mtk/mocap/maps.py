"""Skeleton maps: where each joint of a target skeleton (SMPL-22, or KIT-21 from SMPL-22) lies in a source one.

A target joint comes from one source joint, or from a point on the line through two (``at`` of the way from
the first to the second: 0.5 is the midpoint), for skeletons whose joints do not sit where the target's do
(CMU's clavicle joint sits on the spine, so SMPL's collar is halfway out to the shoulder).

Built-in maps cover the common namings and are found from a file's joint names: SMPL / SMPL-X spellings
(``Pelvis``, ``L_Hip``, ``left_hip``, ``m_avg_L_Hip``), Mixamo (``mixamorig:Hips``; any ``namespace:``
prefix is ignored), LaFAN1 / Ubisoft (``LeftToe``) and CMU (the cgspeed BVH conversions, PFNN's takes:
``LHipJoint``, ``LowerBack``, ``Neck1``). Anything else takes a JSON file (:func:`load_joint_map`)::

    {"pelvis": "Hips", "left_hip": "LeftUpLeg", "spine2": {"between": ["Spine", "Spine1"], "at": 0.65}, ...}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError
from mtk.io.small_text import read_small_text
from mtk.schemas import KIT21, SMPL22, Skeleton, joint_key

#: how far two mapped joints joined by a bone must at least be apart, as a fraction of all bones' lengths
_MIN_BONE = 0.002


@dataclass(frozen=True)
class JointSource:
    """A point of the source skeleton: joint ``joint``, or ``at`` of the way from it to joint ``toward``."""

    joint: str
    toward: str | None = None
    at: float = 0.0

    def names(self) -> tuple[str, ...]:
        return (self.joint,) if self.toward is None else (self.joint, self.toward)


@dataclass(frozen=True)
class JointMap:
    """Where each joint of ``target`` lies among the joints of a source skeleton."""

    name: str
    target: Skeleton
    sources: tuple[JointSource, ...]  # one per target joint, in the target's order

    def missing(self, joint_names: list[str]) -> list[str]:
        """The target joints whose source joints ``joint_names`` lacks."""
        found = _NameIndex(joint_names)
        return [target for target, source in zip(self.target.joint_names, self.sources)
                if any(found.get(name) is None for name in source.names())]

    def apply(self, positions: np.ndarray, joint_names: list[str]) -> np.ndarray:
        """Target joint positions (..., J_target, 3) from source positions (..., J_source, 3)."""
        index = _NameIndex(joint_names)
        out = []
        for source in self.sources:
            point = positions[..., index[source.joint], :]
            if source.toward is not None:
                point = point + source.at * (positions[..., index[source.toward], :] - point)
            out.append(point)
        return np.stack(out, -2)


class _NameIndex:
    """Source joints by exact name, else by loose key (:func:`loose_key`) when that is unambiguous."""

    def __init__(self, joint_names: list[str]):
        self.exact = {name: i for i, name in enumerate(joint_names)}
        keys: dict[str, list[int]] = {}
        for i, name in enumerate(joint_names):
            keys.setdefault(loose_key(name), []).append(i)
        self.loose = {key: found[0] for key, found in keys.items() if len(found) == 1}

    def get(self, name: str) -> int | None:
        return self.exact.get(name, self.loose.get(loose_key(name)))

    def __getitem__(self, name: str) -> int:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found


def loose_key(name: str) -> str:
    """A joint name without its ``namespace:`` and SMPL export (``m_avg_``, ``f_avg_``) prefixes, compared
    loosely (:func:`mtk.schemas.joint_key`)."""
    bare = name.rsplit(":", 1)[-1]
    for prefix in ("m_avg_", "f_avg_"):
        if bare.lower().startswith(prefix):
            bare = bare[len(prefix):]
    return joint_key(bare)


def _point(spec: str | tuple[str, str, float]) -> JointSource:
    return JointSource(spec) if isinstance(spec, str) else JointSource(spec[0], spec[1], spec[2])


def _smpl_map(name: str, table: dict[str, str | tuple[str, str, float]]) -> JointMap:
    return JointMap(name, SMPL22, tuple(_point(table[joint]) for joint in SMPL22.joint_names))


def _with_right_side(table: dict[str, str | tuple[str, str, float]]) -> dict[str, str | tuple[str, str, float]]:
    """``table`` for the middle and the left side, plus the right side (``Left`` -> ``Right`` in every name)."""
    out = dict(table)
    for joint, spec in table.items():
        if joint.startswith("left_"):
            right = (spec.replace("Left", "Right") if isinstance(spec, str)
                     else (spec[0].replace("Left", "Right"), spec[1].replace("Left", "Right"), spec[2]))
            out["right_" + joint[5:]] = right
    return out


_MIXAMO_BODY = {
    "pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck", "head": "Head",
    "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
    "left_collar": "LeftShoulder", "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
}

#: the built-in maps, tried in this order (the first whose joints a file has all of is used)
BUILTIN_MAPS: tuple[JointMap, ...] = (
    JointMap("smpl", SMPL22, tuple(JointSource(joint) for joint in SMPL22.joint_names)),
    _smpl_map("mixamo", _with_right_side({**_MIXAMO_BODY, "left_foot": "LeftToeBase"})),
    _smpl_map("lafan1", _with_right_side({**_MIXAMO_BODY, "left_foot": "LeftToe"})),
    _smpl_map("cmu", _with_right_side({
        "pelvis": "Hips", "spine1": "Spine", "spine2": ("Spine", "Spine1", 0.65), "spine3": "Spine1",
        "neck": "Neck1", "head": "Head",
        "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot", "left_foot": "LeftToeBase",
        "left_collar": ("LeftShoulder", "LeftArm", 0.5), "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm",
        "left_wrist": "LeftHand",
    })),
)

#: SMPL-22 -> KIT-21 (the MMM joints of KIT-ML, left at +x as mtk's KIT skeleton has it): the body joints one
#: to one; MMM's foot has a joint at the ball of the foot (``LMrot``) and one at the toe tip (``LF``), SMPL's
#: only the first, so the tip is placed 0.4 of the ankle-to-ball length beyond it
SMPL_TO_KIT = JointMap(f"{SMPL22.name} to {KIT21.name}", KIT21, tuple(_point(spec) for spec in (
    "pelvis", "spine1", "spine3", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
    "left_hip", "left_knee", "left_ankle", "left_foot", ("left_ankle", "left_foot", 1.4),
    "right_hip", "right_knee", "right_ankle", "right_foot", ("right_ankle", "right_foot", 1.4),
)))


def builtin_map(name: str) -> JointMap:
    """The built-in map ``name`` (``smpl``, ``mixamo``, ``lafan1``, ``cmu``)."""
    for joint_map in BUILTIN_MAPS:
        if joint_map.name == name:
            return joint_map
    raise KeyError(f"no built-in joint map {name!r}; known: {', '.join(m.name for m in BUILTIN_MAPS)}")


def closest_map(joint_names: list[str]) -> tuple[JointMap, list[str]]:
    """The built-in map that places the most SMPL joints from ``joint_names`` (the first, among equals), and
    the SMPL joints it cannot place (none: it fits)."""
    missing = [(joint_map, joint_map.missing(joint_names)) for joint_map in BUILTIN_MAPS]
    return min(missing, key=lambda found: len(found[1]))


def find_map(joint_names: list[str], path: str | Path) -> JointMap:
    """The first built-in map whose source joints ``joint_names`` has; a one-line error naming the target
    joints the closest map cannot place otherwise."""
    closest, missing = closest_map(joint_names)
    if not missing:
        return closest
    shown = ", ".join(joint_names[:4]) + (", ..." if len(joint_names) > 4 else "")
    raise BadInputError(path, f"has {len(joint_names)} joints ({shown}) that no built-in skeleton map fits; the "
                        f"closest ({closest.name}) has no source for SMPL joints {', '.join(missing)}",
                        "pass --joint-map FILE: a JSON object of SMPL-22 joint -> source joint, see docs/motion.md")


def _parse_source(target: str, spec: object, path: str) -> JointSource:
    if isinstance(spec, str):
        return JointSource(spec)
    between = spec.get("between") if isinstance(spec, dict) else None
    at = spec.get("at", 0.5) if isinstance(spec, dict) else None
    unknown = set(spec) - {"between", "at"} if isinstance(spec, dict) else set()
    if (not isinstance(between, list) or len(between) != 2 or not all(isinstance(n, str) for n in between)
            or isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or unknown):
        raise BadInputError(path, f"maps {target} to {json.dumps(spec)[:80]}",
                            'give a joint name or {"between": ["A", "B"], "at": 0.5}')
    return JointSource(between[0], between[1], float(at))


def load_joint_map(path: str | Path, target: Skeleton = SMPL22) -> JointMap:
    """A joint map from a JSON file: an object with one entry per ``target`` joint (any spelling
    :func:`mtk.schemas.joint_key` equates), each a source joint name or ``{"between": [A, B], "at": t}``."""
    path = str(path)
    try:
        table = json.loads(read_small_text(path))
    except json.JSONDecodeError as err:
        raise BadInputError(path, f"is not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(table, dict):
        raise BadInputError(path, "holds no JSON object", "write {\"pelvis\": \"Hips\", ...}")
    keys = {joint_key(name): name for name in target.joint_names}
    sources: dict[str, JointSource] = {}
    for given, spec in table.items():
        joint = keys.get(joint_key(given))
        if joint is None:
            raise BadInputError(path, f"maps {given!r}, which is no {target.name} joint",
                                f"the joints are {', '.join(target.joint_names)}")
        sources[joint] = _parse_source(joint, spec, path)
    missing = [name for name in target.joint_names if name not in sources]
    if missing:
        raise BadInputError(path, f"leaves SMPL joints {', '.join(missing)} unmapped",
                            "map every one of the 22, to a joint or a point between two")
    return JointMap(Path(path).name, target, tuple(sources[name] for name in target.joint_names))


def check_sources(joint_map: JointMap, joint_names: list[str], path: str | Path) -> None:
    """A one-line error naming the source joints of ``joint_map`` that ``joint_names`` lacks."""
    index = _NameIndex(joint_names)
    absent = sorted({name for source in joint_map.sources for name in source.names() if index.get(name) is None})
    if absent:
        shown = ", ".join(joint_names[:6]) + (", ..." if len(joint_names) > 6 else "")
        raise BadInputError(path, f"has no joints {', '.join(absent)} (map {joint_map.name}); its joints are "
                            f"{shown}", "fix the names in the joint map")


def check_bones(joints: np.ndarray, skeleton: Skeleton, path: str | Path, placed_by: str = "the joints",
                hint: str = "check them with mtk inspect; a joints file must hold distinct joints") -> None:
    """A one-line error when two joints joined by a bone of ``skeleton`` coincide in some frame (the bone has
    no direction to retarget); ``placed_by`` says what put them there (``map cmu``)."""
    parents = np.array(skeleton.parents)
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1)
    short = lengths.min(0) <= _MIN_BONE * float(np.median(lengths.sum(-1)))
    if short.any():
        pairs = [f"{skeleton.joint_names[parents[j + 1]]}-{skeleton.joint_names[j + 1]}" for j in np.flatnonzero(short)]
        raise BadInputError(path, f"{placed_by} put the ends of bones {', '.join(pairs[:6])}"
                            f"{', ...' if len(pairs) > 6 else ''} at one point", hint)
