"""Locomotion phase: from foot contacts, from footstep annotations, and its per-frame increment.

Phase is in cycles, [0, 1): 0 at a right heel strike, 0.5 at a left heel strike, linear in time between
strikes (PFNN's convention; docs/pfnn.md, "The algorithm", step 6).
"""

from __future__ import annotations

import numpy as np


def heel_strikes(contact: np.ndarray, min_gap: int = 1, min_swing: int = 1) -> np.ndarray:
    """Frames where a foot's contact switches on (0 -> 1) after at least ``min_swing`` frames off the ground;
    strikes closer than ``min_gap`` frames to the previous kept one are dropped (contact flicker)."""
    contact = np.asarray(contact).astype(bool)
    off = np.concatenate([[0], np.cumsum(~contact)])  # off[f] = frames before f that are not in contact
    starts = np.flatnonzero(contact[1:] & ~contact[:-1]) + 1
    kept: list[int] = []
    for frame in starts:
        swung = off[frame] - off[max(0, frame - min_swing)] == min(min_swing, frame)
        if swung and (not kept or frame - kept[-1] >= min_gap):
            kept.append(int(frame))
    return np.asarray(kept, dtype=np.int64)


def unwrapped_phase(events: list[tuple[int, float]], frames: int, idle_rate: float) -> np.ndarray:
    """Continuous phase (cycles, increasing) through events ``(frame, phase mod 1)``, linear between them and
    continued at the nearest segment's rate before the first and after the last event.

    Each event's value is the smallest value above the previous one with the required fraction, so a missed
    strike makes one longer segment instead of a backwards step. With fewer than two events the phase runs
    at ``idle_rate`` cycles per frame (through the event, if there is one).
    """
    t = np.arange(frames, dtype=np.float64)
    if not events:
        return t * idle_rate
    events = sorted(events)
    times = [float(events[0][0])]
    values = [float(events[0][1]) % 1.0]
    for frame, fraction in events[1:]:
        if frame <= times[-1]:
            continue
        value = np.floor(values[-1]) + fraction % 1.0
        while value <= values[-1]:
            value += 1.0
        times.append(float(frame))
        values.append(value)
    if len(times) == 1:
        return values[0] + (t - times[0]) * idle_rate
    phase = np.interp(t, times, values)
    first_rate = (values[1] - values[0]) / (times[1] - times[0])
    last_rate = (values[-1] - values[-2]) / (times[-1] - times[-2])
    before, after = t < times[0], t > times[-1]
    phase[before] = values[0] + (t[before] - times[0]) * first_rate
    phase[after] = values[-1] + (t[after] - times[-1]) * last_rate
    return phase


def phase_from_contacts(heel_left: np.ndarray, heel_right: np.ndarray, fps: float,
                        min_step_s: float = 0.25, idle_hz: float = 1.0,
                        min_alternate_s: float = 0.15, min_swing_s: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Phase in [0, 1) per frame from the heel contacts, and the unwrapped phase.

    Right heel strikes are phase 0, left heel strikes 0.5; a strike less than ``min_step_s`` after the same
    foot's previous strike is contact flicker and ignored, and one less than ``min_alternate_s`` after the
    other foot's strike is a two-footed landing (a jump, feet settling while standing), not a step: it is
    ignored too, instead of advancing the phase half a cycle in a frame or two. A strike ends a swing: the heel
    must have been moving for ``min_swing_s`` before it (a heel that pauses just after lifting off has not
    stepped). Motions with fewer than two strikes (standing, idling) get a constant-rate phase of ``idle_hz``
    cycles per second.
    """
    gap = max(1, int(round(min_step_s * fps)))
    swing = max(1, int(round(min_swing_s * fps)))
    strikes = sorted([(int(f), 0.0) for f in heel_strikes(heel_right, gap, swing)]
                     + [(int(f), 0.5) for f in heel_strikes(heel_left, gap, swing)])
    events: list[tuple[int, float]] = []
    for frame, value in strikes:
        if events and events[-1][1] != value and frame - events[-1][0] < min_alternate_s * fps:
            continue
        events.append((frame, value))
    unwrapped = unwrapped_phase(events, len(heel_left), idle_hz / fps)
    return np.mod(unwrapped, 1.0), unwrapped


def phase_from_footsteps(steps: list[tuple[int, int]], frames: int) -> np.ndarray:
    """The ``.phase`` curve from footstep pairs (right contact, left contact), 0-based frames: 0 at each right
    contact, 0.5 at the left one, linear between, 1 on the last right contact; 0 before the first step and
    after the last. The last pair only contributes its right contact."""
    phase = np.zeros(frames)
    for (right, left), (next_right, _) in zip(steps[:-1], steps[1:], strict=True):
        a = np.arange(right, min(left, frames))
        phase[a] = 0.5 * (a - right) / (left - right)
        b = np.arange(left, min(next_right, frames))
        phase[b] = 0.5 + 0.5 * (b - left) / (next_right - left)
    if len(steps) > 1 and steps[-1][0] < frames:
        phase[steps[-1][0]] = 1.0  # the last contact closes the last cycle
    return phase


def phase_increment(phase: np.ndarray) -> np.ndarray:
    """PFNN's dphase (T-1,): ``p[t+1] - p[t]``, or ``1 - p[t] + p[t+1]`` where the phase wrapped."""
    delta = phase[1:] - phase[:-1]
    return np.where(delta < 0, 1.0 - phase[:-1] + phase[1:], delta)
