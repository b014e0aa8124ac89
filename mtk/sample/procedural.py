"""Procedural motions on the SMPL-22 skeleton: the built-in sample data every command can run on.

A motion is one to three segments (walk, run, turn, side-step, jump, idle) at varied speeds, 2-10 s long.
Joint angles come from a gait phase (hip and arm swing, knee flexion, a flat stance foot), segment
parameters are blended smoothly, the pelvis height keeps the lowest foot on the floor, and positions come
from forward kinematics on ``SMPL22.offsets()``. Each motion has HumanML3D-style text lines
(``caption#word/POS ...#0.0#0.0``). Everything is deterministic for a seed and a motion index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.features import family_of, layouts_on
from mtk.maths.kinematics import forward_kinematics
from mtk.maths.rotations import euler_to_matrix
from mtk.maths.smoothing import gaussian_smooth
from mtk.schemas import SMPL22, Layout

#: the layouts the procedural motions (SMPL-22) can make
SAMPLE_LAYOUTS = tuple(spec.name for spec in layouts_on(SMPL22))
ACTIONS = ("walk", "run", "turn", "sidestep", "jump", "idle")
_LEG = 0.82  # hip to floor, metres, for stride geometry
_JUMP_SECONDS = 1.0  # shortest jump segment; the jump itself takes its first second


@dataclass
class Segment:
    action: str
    seconds: float
    speed: float = 0.0  # m/s, forward (walk, run, turn) or sideways (sidestep, + = left)
    turn_rate: float = 0.0  # rad/s, + = left
    jump_height: float = 0.0


@dataclass
class ProceduralMotion:
    """SMPL-22 local rotations (T, 22, 3, 3), joint positions (T, 22, 3) in metres, text lines."""

    rotations: np.ndarray
    joints: np.ndarray
    texts: list[str]
    actions: list[str]
    fps: float


def _random_segment(rng: np.random.Generator, action: str, seconds: float) -> Segment:
    side = rng.choice([-1.0, 1.0])
    if action == "walk":
        return Segment(action, seconds, speed=rng.uniform(0.5, 1.8))
    if action == "run":
        return Segment(action, seconds, speed=rng.uniform(2.2, 3.8))
    if action == "turn":
        return Segment(action, seconds, speed=rng.uniform(0.0, 1.3), turn_rate=side * rng.uniform(0.8, 1.8))
    if action == "sidestep":
        return Segment(action, seconds, speed=side * rng.uniform(0.4, 0.9))
    if action == "jump":
        return Segment(action, seconds, speed=rng.choice([0.0, rng.uniform(0.8, 1.6)]),
                       jump_height=rng.uniform(0.15, 0.4))
    return Segment("idle", seconds)


def random_plan(rng: np.random.Generator) -> list[Segment]:
    """One to three segments, 2-10 s in all (a jump segment lasts at least 1 s)."""
    total = rng.triangular(2.0, 6.5, 10.0)
    count = int(rng.integers(1, 4 if total > 4 else 2))
    actions = [str(rng.choice(ACTIONS)) for _ in range(count)]
    least = np.array([_JUMP_SECONDS if a == "jump" else 0.6 for a in actions])
    seconds = least + rng.dirichlet(np.ones(count)) * max(total - least.sum(), 0.0)
    return [_random_segment(rng, a, float(s)) for a, s in zip(actions, seconds, strict=True)]


def _per_frame(plan: list[Segment], fps: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-frame parameter tracks (piecewise constant, then smoothed) and the jump clock (-1 outside jumps)."""
    bounds = np.round(np.cumsum([0.0] + [s.seconds for s in plan]) * fps).astype(int)
    frames = int(bounds[-1]) + 1
    tracks = {k: np.zeros(frames) for k in ("forward", "side", "turn", "gait", "run")}
    jump_clock = np.full(frames, -1.0)
    for segment, start, stop in zip(plan, bounds[:-1], bounds[1:], strict=True):
        span = slice(start, stop + 1)
        lateral = segment.action == "sidestep"
        tracks["side" if lateral else "forward"][span] = segment.speed
        tracks["turn"][span] = segment.turn_rate
        tracks["gait"][span] = 0.0 if segment.action in ("idle", "jump") else 1.0
        tracks["run"][span] = 1.0 if segment.action == "run" else 0.0
        if segment.action == "jump":
            jump_clock[span] = np.arange(stop + 1 - start) / fps
    sigma = 0.15 * fps
    return {k: gaussian_smooth(v, sigma) for k, v in tracks.items()}, jump_clock


def _jump_profile(clock: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """Crouch amount (0-1) and flight height (m) over a jump's clock (seconds; -1 outside the jump)."""
    flight = max(2 * np.sqrt(2 * height / 9.81), 1e-6)
    takeoff, recover = 0.3, 0.35
    land = takeoff + flight
    t = clock
    crouch = np.where((t >= 0) & (t < takeoff), np.sin(np.pi * t / takeoff) ** 2, 0.0)
    crouch = np.where((t > land) & (t < land + recover), np.sin(np.pi * (t - land) / recover) ** 2, crouch)
    u = np.clip((t - takeoff) / flight, 0, 1)
    lift = np.where((t >= takeoff) & (t <= land), 4 * height * u * (1 - u), 0.0)
    return crouch, lift


def _leg_cycle(phase: np.ndarray, stance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foot placement g in [-1, 1] (+1 = front) and swing lift in [0, 1] over one gait cycle.

    During stance (the first ``stance`` fraction of the cycle) g falls linearly, so a planted foot moves
    back at a constant speed that matches the body's; during swing it returns smoothly and the knee lifts.
    """
    p = np.mod(phase / (2 * np.pi), 1.0)
    u = np.clip((p - stance) / (1 - stance), 0, 1)
    in_stance = p < stance
    g = np.where(in_stance, 1 - 2 * p / stance, -np.cos(np.pi * u))
    lift = np.where(in_stance, 0.0, np.sin(np.pi * u))
    return g, lift


def _angles(tracks: dict[str, np.ndarray], crouch: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Euler angles (T, 22, 3) in radians, applied as Rz @ Ry @ Rx (the pelvis's are used separately)."""
    frames = crouch.shape[0]
    run = np.clip(tracks["run"], 0, 1)
    gait = np.clip(tracks["gait"], 0, 1)
    cadence = gaussian_smooth(0.9 + 0.5 * run + 0.06 * np.hypot(tracks["forward"], tracks["side"]), 0.15 * fps)
    stance = 0.6 - 0.2 * run
    phase = 2 * np.pi * np.cumsum(cadence) / fps + rng.uniform(0, 2 * np.pi)
    # a planted foot moves back at v: L * step * 2 / (stance / cadence) = v
    step = np.clip(tracks["forward"] * stance / (2 * _LEG * cadence), -0.6, 0.6) * gait
    lateral = np.clip(tracks["side"] * stance / (2 * _LEG * cadence), -0.4, 0.4) * gait
    a = np.zeros((frames, 22, 3))
    knee_amp = np.radians(40 + 50 * run) * gait
    cycles = {}
    for leg, sign, offset in ((1, 1.0, 0.0), (2, -1.0, np.pi)):  # left hip (+x side), right hip
        g, lift = _leg_cycle(phase + offset, stance)
        cycles[leg] = g
        knee, ankle = leg + 3, leg + 6
        a[:, leg, 0] = -np.arcsin(step * g) - np.radians(55) * crouch
        a[:, leg, 2] = np.arcsin(lateral * g) + sign * np.radians(3)
        a[:, knee, 0] = knee_amp * lift + np.radians(4) + np.radians(85) * crouch
        a[:, ankle, 0] = -(a[:, leg, 0] + a[:, knee, 0]) * (1 - 0.3 * lift)
    lean = np.radians(3) + np.radians(10) * run + np.radians(20) * crouch
    for spine in (3, 6, 9):
        a[:, spine, 0] = lean / 3
        a[:, spine, 1] = -np.radians(5) * step * cycles[1]
    a[:, 12, 0] = -np.radians(50) - lean / 2  # neck: the head bone points up and slightly forward
    elbow = np.radians(15) + np.radians(65) * run
    for collar, shoulder, elbow_j, sign, other in ((13, 16, 18, 1.0, 2), (14, 17, 19, -1.0, 1)):
        a[:, collar, 2] = sign * np.radians(90)
        a[:, shoulder, 2] = -sign * (np.radians(78) - np.radians(50) * crouch)
        a[:, shoulder, 0] = -(0.8 + 0.6 * run) * np.arcsin(step * cycles[other]) - np.radians(30) * crouch
        a[:, elbow_j, 0] = -elbow
    idle = 1 - gait
    a[:, 0, 2] = np.radians(2) * np.sin(0.4 * 2 * np.pi * np.arange(frames) / fps) * idle
    a[:, 0, 0] = lean / 2
    return a


def _root_yaw(tracks: dict[str, np.ndarray], fps: float, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-np.pi, np.pi) + np.cumsum(tracks["turn"]) / fps


def build_motion(plan: list[Segment], fps: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations (T, 22, 3, 3) and joint positions (T, 22, 3) for a plan, sampled at ``fps``."""
    tracks, jump_clock = _per_frame(plan, fps)
    height = max((s.jump_height for s in plan if s.action == "jump"), default=0.0)
    crouch, lift = _jump_profile(jump_clock, height)
    angles = _angles(tracks, crouch, fps, rng)
    yaw = _root_yaw(tracks, fps, rng)
    rotations = euler_to_matrix(angles[..., ::-1], "ZYX")  # angles are (x, y, z); R = Rz @ Ry @ Rx
    pelvis = euler_to_matrix(np.stack([yaw, angles[:, 0, 0], angles[:, 0, 2]], -1), "YXZ")
    rotations[:, 0] = pelvis
    offsets = SMPL22.offsets()
    zero_root = np.zeros((rotations.shape[0], 3))
    joints, _ = forward_kinematics(rotations, zero_root, offsets, SMPL22.parents)
    feet = list(SMPL22.roles["feet_left"] + SMPL22.roles["feet_right"])
    ground = -joints[:, feet, 1].min(axis=1) + 0.02
    heading = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1)
    left = np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], -1)
    velocity = tracks["forward"][:, None] * heading + tracks["side"][:, None] * left
    root = np.cumsum(velocity, axis=0) / fps
    root[:, 1] = ground + lift
    return rotations, joints + root[:, None, :]


_ADVERB = {"walk": ((0.9, "slowly"), (1.4, ""), (9, "quickly")), "run": ((2.8, "at an easy pace"), (9, "fast"))}
_PHRASES = {
    "walk": ("walks forward {adv}", "moves ahead {adv}", "takes a few steps forward {adv}"),
    "run": ("runs forward {adv}", "runs ahead {adv}", "dashes straight ahead {adv}"),
    "turn": ("turns {side}", "walks in a curve to the {side}", "turns around to the {side}"),
    "sidestep": ("side-steps to the {side}", "shuffles sideways to the {side}", "steps sideways to the {side}"),
    "jump": ("jumps {where}", "hops {where}", "leaps {where}"),
    "idle": ("stands still", "waits in place", "stands and shifts weight"),
}
_POS = {
    "a": "DET", "the": "DET", "person": "NOUN", "someone": "PRON", "man": "NOUN", "figure": "NOUN",
    "forward": "ADV", "ahead": "ADV", "slowly": "ADV", "quickly": "ADV", "fast": "ADV", "then": "ADV",
    "still": "ADV", "sideways": "ADV", "straight": "ADV", "around": "ADV", "up": "ADV", "and": "CCONJ",
    "to": "ADP", "in": "ADP", "at": "ADP", "left": "NOUN", "right": "NOUN", "few": "ADJ", "place": "NOUN",
    "curve": "NOUN", "pace": "NOUN", "easy": "ADJ", "an": "DET", "weight": "NOUN",
}
_LEMMA = {"walks": "walk", "runs": "run", "jogs": "jog", "turns": "turn", "jumps": "jump", "hops": "hop",
          "leaps": "leap", "dashes": "dash", "stands": "stand", "waits": "wait", "moves": "move", "takes": "take",
          "shuffles": "shuffle", "shifts": "shift", "steps": "step", "side-steps": "side-step"}
_SUBJECTS = ("a person", "someone", "the figure")


def _phrase(segment: Segment, variant: int) -> str:
    side = "left" if (segment.turn_rate or segment.speed) > 0 else "right"
    adverb = next((word for limit, word in _ADVERB.get(segment.action, ((9, ""),)) if abs(segment.speed) < limit), "")
    where = "forward" if segment.speed > 0 else "in place"
    text = _PHRASES[segment.action][variant].format(adv=adverb, side=side, where=where)
    return " ".join(text.split())


def _tokens(caption: str) -> str:
    out = []
    for word in caption.replace(",", " ").split():
        if word in _LEMMA:
            out.append(f"{_LEMMA[word]}/VERB")
        else:
            out.append(f"{word}/{_POS.get(word, 'NOUN')}")
    return " ".join(out)


def describe(plan: list[Segment]) -> list[str]:
    """Three HumanML3D-style text lines for a plan."""
    lines = []
    for variant, subject in enumerate(_SUBJECTS):
        caption = f"{subject} " + " then ".join(_phrase(s, (variant + k) % 3) for k, s in enumerate(plan))
        lines.append(f"{caption}#{_tokens(caption)}#0.0#0.0")
    return lines


def procedural_motion(seed: int, index: int, fps: float) -> ProceduralMotion:
    """Motion ``index`` of the sample set for ``seed``, sampled at ``fps`` (deterministic)."""
    rng = np.random.default_rng([seed, index])
    plan = random_plan(rng)
    rotations, joints = build_motion(plan, fps, rng)
    return ProceduralMotion(rotations, joints, describe(plan), [s.action for s in plan], fps)


def motion_features(motion: ProceduralMotion, layout: Layout) -> np.ndarray:
    """Features of a procedural motion in ``layout`` (from its rotations or its joints, as the family makes them)."""
    if layout.num_joints != SMPL22.num_joints:
        raise ValueError(f"procedural motions use the SMPL-22 skeleton; layout {layout.name} does not")
    return family_of(layout).extract(motion.joints, motion.rotations, layout)


def split_names(names: list[str], seed: int) -> dict[str, list[str]]:
    """A seeded 80/10/10 train/val/test split (at least one motion in val and test when there are 3+)."""
    order = list(np.random.default_rng([seed, 1_000_003]).permutation(len(names)))
    n_val = max(1, len(names) // 10) if len(names) >= 3 else 0
    n_test = n_val
    val, test, train = order[:n_val], order[n_val:n_val + n_test], order[n_val + n_test:]
    return {split: sorted(names[i] for i in members) for split, members in
            (("train", train), ("val", val), ("test", test))}
