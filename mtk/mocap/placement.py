"""Units and up axis of motion capture: detected from the body, or given, and said in the summary.

Every feature layout wants metres and y up. A file's unit is the one that gives the mapped body a human leg
(hip to ankle about 0.85 m); its up axis is the one the body stands along (ankles to neck, over the take).
Both can be given instead (``--unit``, ``--up``); a ``.npy`` of joints is taken as metres and y up unless
told otherwise (and warned about when its content disagrees).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mtk.errors import MtkError, MtkWarning
from mtk.schemas import SMPL22

#: unit name -> metres per unit (``cmu``: the CMU motion capture database's 1/0.45 inch)
UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048, "cmu": 0.0254 / 0.45}
#: metres per unit a number given as ``--unit`` may say (a micrometre to a kilometre; beyond, coordinates overflow)
METRES_PER_UNIT = (1e-6, 1e3)
#: the leg (hip to ankle) of an adult, in metres; detection picks the unit closest to it
_LEG = 0.85
#: a detected unit must give a leg within these bounds (metres), or the unit must be given
_LEG_RANGE = (0.3, 1.6)

#: up axis name -> the proper rotation taking that axis to +y
UP_AXES: dict[str, np.ndarray] = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
    "x": np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]),
    "-y": np.diag([1.0, -1, -1]),
    "-z": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
    "-x": np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]]),
}

_LEFT_HIP, _RIGHT_HIP = SMPL22.roles["hip_left"], SMPL22.roles["hip_right"]
_ANKLES = (SMPL22.roles["heel_left"], SMPL22.roles["heel_right"])
_TOES = (SMPL22.roles["toe_left"], SMPL22.roles["toe_right"])
_NECK = SMPL22.index("neck")


@dataclass(frozen=True)
class Placement:
    """How source coordinates become metres, y up: the unit, the up axis, and where each choice came from."""

    unit: str
    metres_per_unit: float
    unit_source: str  # "detected", "given" or "assumed"
    up: str
    up_source: str

    def describe(self) -> str:
        named = self.unit in UNITS and self.unit != "m"
        unit = f"{self.unit} = {self.metres_per_unit:.4g} m" if named else self.unit
        return f"unit {unit} ({self.unit_source}), {self.up} up ({self.up_source})"

    def apply(self, positions: np.ndarray) -> np.ndarray:
        """``positions`` (..., 3) in metres with y up."""
        return (np.asarray(positions, dtype=np.float64) * self.metres_per_unit) @ UP_AXES[self.up].T


def parse_unit(text: str) -> tuple[str, float]:
    """``--unit``: a unit name (``m``, ``cm``, ``mm``, ``in``, ``ft``, ``cmu``) or metres per unit."""
    name = text.strip().lower()
    if name in UNITS:
        return name, UNITS[name]
    try:
        value = float(name)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not METRES_PER_UNIT[0] <= value <= METRES_PER_UNIT[1]:
        raise MtkError(None, f"--unit {text!r} is no unit", f"give one of {', '.join(UNITS)} or metres per unit, "
                       f"{METRES_PER_UNIT[0]:g} to {METRES_PER_UNIT[1]:g}")
    return f"{value:g} m", value


def leg_length(joints: np.ndarray) -> float:
    """The median hip-knee-ankle length (mean of both legs) of SMPL-22 ``joints`` (T, 22, 3), in their units."""
    parents = SMPL22.parents
    total = 0.0
    for ankle in _ANKLES:
        knee = parents[ankle]
        hip = parents[knee]
        total += np.linalg.norm(joints[:, ankle] - joints[:, knee], axis=-1)
        total += np.linalg.norm(joints[:, knee] - joints[:, hip], axis=-1)
    return float(np.median(total / 2))


def detect_unit(joints: np.ndarray, path: str) -> tuple[str, float]:
    """The unit that gives SMPL-22 ``joints`` a human leg; a one-line error when none does."""
    leg = leg_length(joints)
    if not math.isfinite(leg) or leg <= 0:
        raise MtkError(path, "has no leg length to tell its unit from", "pass --unit")
    name = min(UNITS, key=lambda unit: abs(math.log(leg * UNITS[unit] / _LEG)))
    metres = leg * UNITS[name]
    if not _LEG_RANGE[0] <= metres <= _LEG_RANGE[1]:
        raise MtkError(path, f"has legs of {leg:.4g} units, a human leg in no unit mtk knows",
                       f"pass --unit ({', '.join(UNITS)} or metres per unit)")
    return name, UNITS[name]


def detect_up(joints: np.ndarray) -> str:
    """The axis SMPL-22 ``joints`` stand along: from the ankles to the neck, on average over the take."""
    ankles = joints[:, list(_ANKLES)].mean(1)
    direction = (joints[:, _NECK] - ankles).mean(0)
    axis = int(np.argmax(np.abs(direction)))
    return ("" if direction[axis] > 0 else "-") + "xyz"[axis]


def facing_sign(joints: np.ndarray) -> float:
    """+1 when the labelled left hip is on the body's left (up x forward, forward from the heels to the
    toes) in y-up ``joints`` (T, 22, 3), -1 when on its right (a left-handed file or swapped labels)."""
    up = np.array([0.0, 1.0, 0.0])
    forward = (joints[:, list(_TOES)] - joints[:, list(_ANKLES)]).mean(1)
    left = np.cross(up, forward)
    across = joints[:, _LEFT_HIP] - joints[:, _RIGHT_HIP]
    return 1.0 if float((left * across).sum()) >= 0 else -1.0


def _warn_if_other_unit(joints: np.ndarray, path: str) -> None:
    """Warn when joints taken to be in metres have legs no human has in metres."""
    leg = leg_length(joints)
    if _LEG_RANGE[0] <= leg <= _LEG_RANGE[1]:
        return
    try:
        name, _ = detect_unit(joints, path)
        hint = f"pass --unit {name} if so"
    except MtkError:
        hint = "pass --unit"
    warnings.warn(f"{path}: the legs measure {leg:.4g} units, no human's in metres: {hint}", MtkWarning,
                  stacklevel=3)


def placement(joints: np.ndarray, path: str, unit: str | None = None, up: str | None = None,
              assume: bool = False) -> Placement:
    """The placement of SMPL-22 ``joints`` (T, 22, 3): ``unit`` and ``up`` when given, else detected (or,
    with ``assume``, metres and y up, with a warning when the content suggests otherwise)."""
    if up is not None and up not in UP_AXES:
        raise MtkError(None, f"--up {up!r} is no axis", f"give one of {', '.join(UP_AXES)}")
    found_up = detect_up(joints)
    if up is None and assume:
        up, up_source = "y", "assumed"
        if found_up != "y":
            warnings.warn(f"{path}: the body stands along {found_up}, not y: pass --up {found_up} if so", MtkWarning,
                          stacklevel=2)
    else:
        up, up_source = (up, "given") if up is not None else (found_up, "detected")
    if unit is not None:
        name, metres = parse_unit(unit)
        unit_source = "given"
    elif assume:
        name, metres, unit_source = "m", 1.0, "assumed"
        _warn_if_other_unit(joints, path)
    else:
        (name, metres), unit_source = detect_unit(joints, path), "detected"
    result = Placement(name, metres, unit_source, up, up_source)
    if up == found_up and facing_sign(result.apply(joints)) < 0:
        warnings.warn(f"{path}: the joints labelled left are on the body's right (a left-handed file, or "
                      "swapped labels); features follow the labels", MtkWarning, stacklevel=2)
    return result
