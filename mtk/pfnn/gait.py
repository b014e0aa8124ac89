"""Gait labels for PFNN's gait inputs: from what the motion does, from its texts, or both.

Every frame gets one **label** (what a locomotion controller would call it) and PFNN's six **gait weights**
(stand, walk, jog, crouch, jump, bump). From the motion (docs/pfnn.md, "Gait labels"):

* **jump**: an airborne phase -- no heel or toe within :data:`FOOT_DOWN_M` of its lowest height in the clip --
  lasting at least :data:`JUMP_MIN_FLIGHT_S` (a running stride's flight is shorter), widened by
  :data:`JUMP_MARGIN_S` on each side for the take-off and the landing;
* **crouch**: the pelvis low against the standing height (hip-to-pelvis height plus thigh and shin, the legs
  straight): crouch weight 0 at :data:`CROUCH_RATIO` [0] of it, 1 at [1] and below (PFNN adds it to the other
  weights, as its own head-height rule does);
* **stand / walk / jog**: the smoothed root speed, cross-faded over PFNN's speed bands (``GAIT_SPEED_BANDS``);
* **sidestep / backstep**: moving frames whose root velocity points more than 45 degrees / 135 degrees away from
  the facing (PFNN feeds them as walk or jog: its trajectory inputs carry the direction);
* **glide**: moving with no foot planted (PFNN's contact rule) within :data:`PLANTED_WINDOW_S`, not airborne:
  the body slides, nobody steps -- not locomotion;
* **sit**: the pelvis below :data:`SIT_RATIO` of the standing height and not moving (sitting, lying, kneeling);
* **in place**: standing, while the joints move about the root faster than :data:`IN_PLACE_M_S` on average
  (dancing, waving, exercising in place).

From texts: words name gaits (``walk``, ``run``, ``jump``, ``crouch``, ``side-step`` ...) and activities that
are not locomotion (``sit``, ``dance``, ``wave`` ...): :func:`text_labels`. :func:`combine` states how the two
sources meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from mtk.pfnn.schema import FACING_SIGMA_S, GAIT_CLASSES, GAIT_SPEED_BANDS, PfnnPreset
from mtk.maths.smoothing import gaussian_smooth

#: what a frame is, for selection (``--keep``); the first seven are locomotion
LOCOMOTION = ("stand", "walk", "jog", "crouch", "jump", "sidestep", "backstep")
NOT_LOCOMOTION = ("glide", "sit", "in place")
LABELS = LOCOMOTION + NOT_LOCOMOTION
#: a foot joint within this height (m) of its lowest height in the clip is down
FOOT_DOWN_M = 0.05
#: the shortest airborne phase (s) that is a jump
JUMP_MIN_FLIGHT_S = 0.2
#: a jump's label reaches this far (s) before take-off and after landing
JUMP_MARGIN_S = 0.3
#: pelvis height / standing height: crouch weight 0 at the first, 1 at the second and below
CROUCH_RATIO = (0.85, 0.65)
#: pelvis height / standing height below which a still body sits, lies or kneels
SIT_RATIO = 0.55
#: moving frames need a planted foot within +- half this window (s)
PLANTED_WINDOW_S = 0.5
#: mean joint speed about the root (m/s) above which a standing body is busy in place
IN_PLACE_M_S = 0.5
#: degrees between the root's motion and the facing beyond which a step is sideways, backwards
SIDE_DEG, BACK_DEG = 45.0, 135.0
#: gait weights are smoothed with this sigma (s) so that labels fade in and out
GAIT_SMOOTH_S = 0.1

_CLASS = {name: i for i, name in enumerate(GAIT_CLASSES)}

#: text words (regular expressions over lower-case captions) -> the label they name
TEXT_GAITS: dict[str, str] = {
    r"\b(jump|jumps|jumping|jumped|hop|hops|hopping|hopped|leap|leaps|leaping|leapt)\b": "jump",
    r"\b(crouch\w*|squat\w*|crawl\w*|sneak\w*)\b": "crouch",
    r"\b(run|runs|running|ran|jog|jogs|jogging|jogged|sprint\w*|dash|dashes|dashing)\b": "jog",
    r"\b(walk\w*|stroll\w*|march\w*|strid\w*|wander\w*)\b|\bsteps? (forward|ahead)\b": "walk",
    r"\b(side-?steps?|side-?stepping|sideways|shuffl\w*|strafe\w*)\b": "sidestep",
    r"\b(backwards?|back up|backs up|backing up)\b": "backstep",
    r"\b(stands?|standing|still|waits?|waiting|idle\w*|stationary)\b": "stand",
}
#: text words naming activities that are not locomotion
TEXT_NOT_LOCOMOTION = (
    r"\b(sit|sits|sitting|sat|seated|lie|lies|lying|lay|lays|kneel\w*|dance\w*|dancing|wave|waves|waving|clap\w*|"
    r"throw\w*|threw|kick\w*|punch\w*|box|boxing|fight\w*|stretch\w*|yoga|exercis\w*|swim\w*|climb\w*|"
    r"cartwheel\w*|flip\w*|eat\w*|drink\w*|juggl\w*|guitar|violin|drum\w*|bow|bows|bowing|pray\w*|spin\w*|"
    r"twirl\w*|push-?ups?|sit-?ups?)\b")


@dataclass
class FrameLabels:
    """Per-frame labels of one motion: ``label`` (T,) indices into :data:`LABELS`, ``gait`` (T, 6) weights."""

    label: np.ndarray
    gait: np.ndarray

    def names(self) -> list[str]:
        return [LABELS[i] for i in self.label]

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.label, minlength=len(LABELS))
        return {name: int(n) for name, n in zip(LABELS, found, strict=True) if n}


@dataclass
class TextLabels:
    """What a motion's texts say: the labels they name and whether they name activities that are not
    locomotion."""

    named: set[str] = field(default_factory=set)
    not_locomotion: set[str] = field(default_factory=set)

    @property
    def says_not_locomotion(self) -> bool:
        """Only non-locomotion activities are named (``a person sits down``), no gait."""
        return bool(self.not_locomotion) and not self.named


def captions(texts: Iterable[str]) -> list[str]:
    """The caption of each text line (HumanML3D lines are ``caption#tokens#start#end``)."""
    return [line.split("#", 1)[0].strip().lower() for line in texts if line.strip()]


def text_labels(texts: Iterable[str]) -> TextLabels:
    """The gait labels and the non-locomotion activities a motion's texts name."""
    found = TextLabels()
    for caption in captions(texts):
        for pattern, label in TEXT_GAITS.items():
            if re.search(pattern, caption):
                found.named.add(label)
        found.not_locomotion.update(m.group(0) for m in re.finditer(TEXT_NOT_LOCOMOTION, caption))
    return found


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _widen(mask: np.ndarray, frames: int) -> np.ndarray:
    """``mask`` with every run grown by ``frames`` on each side."""
    out = np.zeros_like(mask)
    for start, stop in true_runs(mask):
        out[max(0, start - frames):stop + frames] = True
    return out


def root_velocity(root: np.ndarray, fps: float) -> np.ndarray:
    """The root's horizontal velocity (T, 2) per second, Gaussian-smoothed like the facing (sigma 1/3 s)."""
    xz = root[:, [0, 2]]
    velocity = np.gradient(xz, axis=0) * fps if len(xz) > 1 else np.zeros_like(xz)
    return gaussian_smooth(velocity, FACING_SIGMA_S * fps)


def speed_weights(speed: np.ndarray) -> np.ndarray:
    """(T, 3) stand / walk / jog from the speed (m/s), cross-faded over ``GAIT_SPEED_BANDS``."""
    (s0, s1), (w0, w1) = GAIT_SPEED_BANDS
    moving = np.clip((speed - s0) / (s1 - s0), 0, 1)
    jog = np.clip((speed - w0) / (w1 - w0), 0, 1)
    return np.stack([1 - moving, moving - jog, jog], -1)


def gait_from_speed(root: np.ndarray, fps: float, metres_per_unit: float) -> np.ndarray:
    """(T, 6) gait weights from the root speed alone (``--gait speed``, the export's earlier rule): stand /
    walk / jog cross-faded over ``GAIT_SPEED_BANDS``; crouch, jump and bump are 0."""
    gait = np.zeros((len(root), len(GAIT_CLASSES)))
    speed = np.linalg.norm(root_velocity(root, fps), axis=-1) * metres_per_unit
    gait[:, [_CLASS["stand"], _CLASS["walk"], _CLASS["jog"]]] = speed_weights(speed)
    return gait


@dataclass
class MotionMeasures:
    """What the labels are read from, per frame (SI units)."""

    speed: np.ndarray  # smoothed horizontal root speed, m/s
    heading_deg: np.ndarray  # angle between the root's motion and the facing, degrees in [0, 180]
    airborne: np.ndarray  # no foot joint down
    planted: np.ndarray  # some foot joint in contact (PFNN's rule) within the planted window
    pelvis_ratio: np.ndarray  # pelvis height above the feet / standing height
    busy: np.ndarray  # mean joint speed about the root, m/s


def measure(positions: np.ndarray, preset: PfnnPreset, fps: float, forward: np.ndarray,
            contacts: np.ndarray) -> MotionMeasures:
    """:class:`MotionMeasures` of one motion: global joints (T, J, 3) in the preset's unit, its facing (T, 3)
    and contacts (T-1, 4) heel L, toe L, heel R, toe R."""
    metres = preset.metres_per_unit
    p = np.asarray(positions, dtype=np.float64) * metres
    frames = len(p)
    root = p[:, 0]
    velocity = root_velocity(root, fps)
    speed = np.linalg.norm(velocity, axis=-1)
    facing = forward[:, [0, 2]]
    heading = np.degrees(np.abs(np.arctan2(facing[:, 0] * velocity[:, 1] - facing[:, 1] * velocity[:, 0],
                                           (facing * velocity).sum(-1))))
    feet = list(preset.contact_joints)
    heights = p[:, feet, 1]
    airborne = (heights - np.percentile(heights, 5, axis=0) > FOOT_DOWN_M).all(-1)
    in_contact = np.concatenate([contacts, contacts[-1:]], 0).any(-1) if len(contacts) else np.zeros(frames, bool)
    planted = _widen(in_contact, int(round(PLANTED_WINDOW_S / 2 * fps)))
    pelvis_ratio = _pelvis_ratio(p, preset)
    local = p - root[:, None]
    busy = np.linalg.norm(np.gradient(local, axis=0), axis=-1).mean(-1) * fps if frames > 1 else np.zeros(frames)
    busy = gaussian_smooth(busy, 0.25 * fps)
    return MotionMeasures(speed, heading, airborne, planted, pelvis_ratio, busy)


def _pelvis_ratio(p: np.ndarray, preset: PfnnPreset) -> np.ndarray:
    """Pelvis height above the heels' lowest height, over the standing height (legs straight)."""
    parents = preset.skeleton.parents
    ratios = []
    for side in ("left", "right"):
        hip, heel = preset.role(f"hip_{side}"), preset.role(f"heel_{side}")
        knee = parents[heel]
        thigh = np.linalg.norm(p[:, knee] - p[:, hip], axis=-1)
        shin = np.linalg.norm(p[:, heel] - p[:, knee], axis=-1)
        drop = p[:, 0, 1] - p[:, hip, 1]  # pelvis above the hip joint
        standing = np.median(thigh + shin + drop)
        above = p[:, 0, 1] - np.percentile(p[:, heel, 1], 5)
        ratios.append(above / max(standing, 1e-6))
    return np.mean(ratios, axis=0)


def motion_labels(measures: MotionMeasures, fps: float) -> FrameLabels:
    """Labels and PFNN gait weights from the motion alone (module docstring)."""
    m = measures
    frames = len(m.speed)
    weights = np.zeros((frames, len(GAIT_CLASSES)))
    weights[:, [_CLASS["stand"], _CLASS["walk"], _CLASS["jog"]]] = speed_weights(m.speed)
    low, high = CROUCH_RATIO
    weights[:, _CLASS["crouch"]] = np.clip((low - m.pelvis_ratio) / (low - high), 0, 1)
    jump = np.zeros(frames, bool)
    for start, stop in true_runs(m.airborne):
        if stop - start >= JUMP_MIN_FLIGHT_S * fps:
            jump[start:stop] = True
    jump = _widen(jump, int(round(JUMP_MARGIN_S * fps)))
    weights[jump] = 0.0
    weights[jump, _CLASS["jump"]] = 1.0

    label = np.full(frames, LABELS.index("stand"))
    moving = m.speed >= GAIT_SPEED_BANDS[0][1] * 0.5 + GAIT_SPEED_BANDS[0][0] * 0.5  # where walk outweighs stand
    style = np.where(weights[:, _CLASS["jog"]] > weights[:, _CLASS["walk"]], LABELS.index("jog"), LABELS.index("walk"))
    label[moving] = style[moving]
    label[moving & (m.heading_deg > SIDE_DEG)] = LABELS.index("sidestep")
    label[moving & (m.heading_deg > BACK_DEG)] = LABELS.index("backstep")
    label[weights[:, _CLASS["crouch"]] >= 0.5] = LABELS.index("crouch")
    label[~moving & (m.busy > IN_PLACE_M_S)] = LABELS.index("in place")
    label[~moving & (m.pelvis_ratio < SIT_RATIO)] = LABELS.index("sit")
    label[moving & ~m.planted & ~jump] = LABELS.index("glide")
    label[jump] = LABELS.index("jump")
    return FrameLabels(label, weights)


def text_gait(text: TextLabels, frames: int) -> np.ndarray | None:
    """(T, 6) gait weights from the texts alone: the PFNN classes they name, shared equally on every frame
    (side- and back-steps count as walk); None when they name no gait."""
    classes = {"sidestep": "walk", "backstep": "walk"}
    named = sorted({classes.get(label, label) for label in text.named})
    if not named:
        return None
    weights = np.zeros((frames, len(GAIT_CLASSES)))
    weights[:, [_CLASS[name] for name in named]] = 1.0 / len(named)
    return weights


@dataclass
class Combined:
    """The labels of one motion and the ways its texts and its motion disagree (one entry per kind)."""

    labels: FrameLabels
    disagreements: list[str] = field(default_factory=list)


def combine(motion: FrameLabels, text: TextLabels, fps: float) -> Combined:
    """Motion and text labels together, by the stated rule:

    * events the body shows are the motion's: jumps, crouches, standing, side- and back-steps, gliding;
    * the texts settle walk against jog -- the speeds of a brisk walk and a slow jog overlap -- when they name
      exactly one of the two: the motion's forward walking and jogging frames take the named gait;
    * a disagreement is counted per motion and kind: ``jump`` / ``crouch`` / ``sidestep`` / ``backstep`` when
      the texts name it and the motion never shows it (for a quarter second) or the other way round, ``walk``
      / ``jog`` when the texts name only that gait and most forward walking / jogging frames are clearly the
      other one (past the far end of the walk-jog band).
    """
    labels = FrameLabels(motion.label.copy(), motion.gait.copy())
    if not text.named and not text.not_locomotion:
        return Combined(labels)
    disagreements = []
    least = max(1, int(round(0.25 * fps)))
    counts = motion.counts()
    for kind in ("jump", "crouch", "sidestep", "backstep"):
        if (kind in text.named) != (counts.get(kind, 0) >= least):
            disagreements.append(kind)
    styles = {"walk", "jog"} & text.named
    if len(styles) == 1:
        named = styles.pop()
        gait = labels.gait
        forward = np.isin(labels.label, [LABELS.index("walk"), LABELS.index("jog")])
        jog = gait[forward, _CLASS["jog"]]
        clearly_other = jog >= 1.0 if named == "walk" else jog <= 0.0
        if forward.any() and clearly_other.mean() > 0.5:
            disagreements.append(named)
        total = gait[forward, _CLASS["walk"]] + jog
        gait[forward, _CLASS["walk"]] = total if named == "walk" else 0.0
        gait[forward, _CLASS["jog"]] = total if named == "jog" else 0.0
        labels.label[forward] = LABELS.index(named)
    return Combined(labels, disagreements)


def smooth_gait(gait: np.ndarray, fps: float) -> np.ndarray:
    """Gait weights faded in and out over :data:`GAIT_SMOOTH_S`."""
    return gaussian_smooth(gait, GAIT_SMOOTH_S * fps) if len(gait) > 1 else gait
