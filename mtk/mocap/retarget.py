"""Any skeleton's motion onto SMPL-22, and from SMPL-22 joints to the features of every layout.

1. **Map** (:mod:`mtk.mocap.maps`): the source joints give the 22 SMPL joints' positions.
2. **Place** (:mod:`mtk.mocap.placement`): metres, y up.
3. **Retarget**: HumanML3D's uniform skeleton, as its pipeline puts every motion on one body: each bone keeps
   its direction and takes SMPL-22's length, and the root path is scaled by the ratio of the legs.
4. **Features** (:func:`features_from_joints`): 263 straight from the joints (its generator retargets the same
   way); 251 from the MMM joints placed on the SMPL body (:data:`mtk.mocap.maps.SMPL_TO_KIT`, in KIT's
   millimetres); 272 from rotations solved by inverse kinematics (:mod:`mtk.mocap.ik`) relative to SMPL's
   rest pose, with the joints their forward kinematics, so that rotations and positions agree as in the
   272 pipeline's own files, where the body model makes the joints from the rotations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtk.errors import MtkError, MtkWarning
from mtk.features import family_of
from mtk.features.hml import branch_flips, leg_scale, uniform_skeleton
from mtk.mocap.ik import IkSolution, solve_rotations
from mtk.mocap.maps import SMPL_TO_KIT, JointMap, check_bones, check_sources, find_map, load_joint_map
from mtk.mocap.placement import placement
from mtk.schemas import KIT21, SMPL22, Layout, Skeleton

#: root speed (m/s) that no human motion reaches between two frames (sprinters peak near 12)
_MAX_ROOT_SPEED = 15.0
#: skeleton name -> the map from SMPL-22 onto it and its layouts' units per metre (KIT-ML: millimetres)
OTHER_SKELETONS: dict[str, tuple[JointMap, float]] = {KIT21.name: (SMPL_TO_KIT, 1000.0)}


@dataclass
class SmplMotion:
    """A motion as SMPL-22 joint positions (T, 22, 3) in metres, y up, and how it got there."""

    joints: np.ndarray
    notes: list[str] = field(default_factory=list)


def map_skeleton(positions: np.ndarray, joint_names: list[str], path: str | Path, joint_map: str | None = None,
                 unit: str | None = None, up: str | None = None) -> SmplMotion:
    """SMPL-22 joints from the positions (T, J, 3) of any named skeleton: through the built-in map its names
    fit, or the JSON map ``joint_map``; unit and up axis detected unless given."""
    chosen = load_joint_map(joint_map) if joint_map else find_map(joint_names, path)
    check_sources(chosen, joint_names, path)
    joints = chosen.apply(np.asarray(positions, dtype=np.float64), joint_names)
    check_bones(joints, SMPL22, path, f"map {chosen.name}",
                'map those joints to distinct points (--joint-map with "between")')
    place = placement(joints, str(path), unit, up)
    return SmplMotion(place.apply(joints), [f"{chosen.name} map of {len(joint_names)} joints", place.describe()])


def warn_on_jumps(joints: np.ndarray, fps: float, path: str | Path, first_frame: int = 0) -> None:
    """Warn when the root of SMPL-22 ``joints`` (T, 22, 3) in metres moves faster than a human can between
    two frames: takes often begin or end with frames that do not belong to them (a rest pose at the origin).
    The warning names the longest stretch without such a jump, as the ``--trim`` that keeps it."""
    if len(joints) < 2:
        return
    speed = np.linalg.norm(np.diff(joints[:, 0], axis=0), axis=-1) * fps
    jumps = np.flatnonzero(speed > _MAX_ROOT_SPEED)
    if jumps.size == 0:
        return
    first = int(jumps[0])
    bounds = [0, *(jumps + 1).tolist(), len(joints)]
    start, stop = max(zip(bounds[:-1], bounds[1:]), key=lambda span: span[1] - span[0])
    warnings.warn(f"{path}: the root jumps {speed[first] / fps:.2f} m between frames {first + first_frame} and "
                  f"{first + first_frame + 1} ({speed[first]:.0f} m/s; {jumps.size} such jumps): frames that do not "
                  f"belong to the take? The longest stretch without one is --trim {start + first_frame}:"
                  f"{stop + first_frame}", MtkWarning, stacklevel=2)


def place_joints(joints: np.ndarray, path: str | Path, unit: str | None = None, up: str | None = None) -> SmplMotion:
    """SMPL-22 joints from a joints array: metres and y up unless ``unit`` or ``up`` say otherwise."""
    check_bones(joints, SMPL22, path)
    place = placement(joints, str(path), unit, up, assume=True)
    return SmplMotion(place.apply(joints), [place.describe()])


def solve_smpl(joints: np.ndarray) -> IkSolution:
    """SMPL rotations for SMPL-22 joints (T, 22, 3) in metres, y up: retargeted onto SMPL-22's bone lengths,
    then solved relative to SMPL's rest pose."""
    return solve_rotations(uniform_skeleton(joints, SMPL22), SMPL22)


def joints_on(skeleton: Skeleton, joints: np.ndarray) -> np.ndarray:
    """The joints of ``skeleton`` (in its layouts' units) placed on SMPL-22 joints (T, 22, 3) in metres."""
    if skeleton is SMPL22:
        return joints
    if skeleton.name not in OTHER_SKELETONS:
        raise MtkError(None, f"mtk has no map from SMPL-22 onto the {skeleton.name} skeleton",
                       f"features are made on {', '.join([SMPL22.name, *OTHER_SKELETONS])}")
    joint_map, units_per_metre = OTHER_SKELETONS[skeleton.name]
    return joint_map.apply(joints, list(SMPL22.joint_names)) * units_per_metre


def features_from_joints(joints: np.ndarray, layout: Layout, reproduce_quirks: bool = True) -> tuple[np.ndarray, str]:
    """Features of any layout from SMPL-22 joints (T, 22, 3) in metres, y up, at the layout's rate, and a
    note on how they were made."""
    family = family_of(layout)
    scale = f"root path x{leg_scale(joints, SMPL22):.3f}"
    if family.needs_rotations:
        solved = solve_smpl(joints)
        features = family.extract(solved.positions, solved.rotations, layout)
        return features, (f"on SMPL-22 bone lengths ({scale}); SMPL rotations solved by inverse kinematics, not "
                          f"captured, and joints posed by them ({solved.residual.mean() * 1000:.1f} mm mean from "
                          "the retargeted joints)")
    placed = joints_on(layout.skeleton, joints)
    features = family.extract(placed, None, layout, reproduce_quirks=reproduce_quirks)
    how = (f"on SMPL-22 bone lengths ({scale})" if layout.skeleton is SMPL22
           else f"{layout.skeleton.name} joints placed on the SMPL-22 body (no retargeting)")
    flips = branch_flips(placed, layout.skeleton) if family.has_quirks and reproduce_quirks else ()
    if len(flips):
        how += (f"; the heading crosses 180 degrees at {len(flips)} rows (first {flips[0]}), which the released "
                "data's quirk P4 turns the wrong way (--fix-quirks keeps the path)")
    return features, how
