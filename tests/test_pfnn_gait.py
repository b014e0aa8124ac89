"""Gait labels from the motion and from texts, how they combine, the locomotion selection, and what the export
summary and layout.json say about both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from factories import bent_legs_pose

from mtk.errors import MtkError
from mtk.pfnn import gait
from mtk.pfnn.gait import LABELS, combine, motion_labels, text_labels
from mtk.pfnn.rows import facing_directions, preset_contacts
from mtk.pfnn.schema import FACING_SIGMA_S, GAIT_CLASSES, get_preset
from mtk.pfnn.selection import Selection, runs

PRESET = get_preset("smpl22")
FPS = 30.0


def _labels(joints: np.ndarray, fps: float = FPS) -> gait.FrameLabels:
    forward = facing_directions(joints, PRESET.facing_joints, FACING_SIGMA_S * fps)
    return motion_labels(gait.measure(joints, PRESET, fps, forward, preset_contacts(joints, PRESET, fps)), fps)


def _procedural(action: str, seconds: float, seed: int = 1, **kwargs) -> np.ndarray:
    from mtk.sample.procedural import Segment, build_motion

    return build_motion([Segment(action, seconds, **kwargs)], FPS, np.random.default_rng(seed))[1]


@pytest.mark.parametrize("action, kwargs, label", [
    ("walk", {"speed": 1.0}, "walk"),
    ("walk", {"speed": 1.7}, "walk"),
    ("run", {"speed": 3.0}, "jog"),
    ("sidestep", {"speed": 0.7}, "sidestep"),
    ("idle", {}, "stand"),
])
def test_steady_motions_get_their_label(action: str, kwargs: dict, label: str):
    """The procedural generator's steady segments, after the first second (the speed is smoothed over 1/3 s)."""
    found = _labels(_procedural(action, 6.0, **kwargs)).names()[int(FPS):-int(FPS)]
    share = found.count(label) / len(found)
    assert share >= 0.95, (label, {name: found.count(name) for name in set(found)})


def test_jumps_are_airborne_phases_not_walking():
    """A forward jump at 1.2 m/s: its flight and the 0.3 s around it are 'jump' (PFNN class jump, weight 1);
    after landing the generator slides the body on without steps: 'glide'. Speed alone called all of it walk."""
    joints = _procedural("jump", 2.0, speed=1.2, jump_height=0.3)
    labels = _labels(joints)
    feet = joints[:, list(PRESET.contact_joints), 1]
    airborne = (feet - feet.min(0) > gait.FOOT_DOWN_M).all(-1)
    assert airborne.sum() >= gait.JUMP_MIN_FLIGHT_S * FPS
    jump = np.array(labels.names()) == "jump"
    assert jump[airborne].all()
    assert (labels.gait[jump, GAIT_CLASSES.index("jump")] == 1.0).all()
    assert "glide" in labels.names()[int(1.5 * FPS):]
    speed_only = gait.gait_from_speed(joints[:, 0], FPS, 1.0)
    assert speed_only[airborne, GAIT_CLASSES.index("walk")].mean() > 0.9  # what the earlier rule said


def _posed(hip_deg: float, knee_deg: float, frames: int = 60, speed: float = 0.0) -> np.ndarray:
    return bent_legs_pose(hip_deg, knee_deg, frames, speed, FPS)[0]


def test_crouch_and_backsteps_from_geometry():
    """A walk replayed backwards is a back-step; a body whose knees are bent so that the pelvis is ~70 % of its
    standing height is crouching (crouch weight above 0.5); far lower and still, it sits; carried along with no
    foot planted, it glides."""
    walk = _procedural("walk", 5.0, speed=1.0)
    names = _labels(walk[::-1].copy()).names()[int(FPS):-int(FPS)]
    assert names.count("backstep") / len(names) > 0.95
    assert set(_labels(_posed(0, 0)).names()) == {"stand"}
    labels = _labels(_posed(50, 90))
    assert set(labels.names()) == {"crouch"} and (labels.gait[:, GAIT_CLASSES.index("crouch")] > 0.5).all()
    assert set(_labels(_posed(80, 140)).names()) == {"sit"}
    moved = _labels(_posed(50, 90, frames=90, speed=1.0)).names()[int(FPS):-int(FPS)]
    assert set(moved) == {"glide"}  # carried along without a single step: not locomotion


def test_standing_busy_or_low_is_not_locomotion():
    idle = _procedural("idle", 4.0)
    waving = idle.copy()
    t = np.arange(len(idle)) / FPS
    for joint in (12, 15, 16, 17, 18, 19, 20, 21):  # head and arms swaying twice a second: dancing in place
        waving[:, joint, 0] += 0.3 * np.sin(2 * np.pi * 2.0 * t)
    assert _labels(waving).names()[int(FPS):-int(FPS)].count("in place") > 0.8 * (len(idle) - 2 * FPS)


def test_text_vocabulary():
    said = text_labels(["a person jumps forward then walks#a/DET person/NOUN#0.0#0.0",
                        "someone hops in place and runs off", "the figure side-steps to the left"])
    assert said.named == {"jump", "walk", "jog", "sidestep"} and not said.says_not_locomotion
    sitting = text_labels(["a man sits down on a chair", "someone is seated"])
    assert sitting.says_not_locomotion and not sitting.named
    assert not text_labels(["a person walks to a chair and sits down"]).says_not_locomotion
    assert text_labels(["crouches low", "walks backwards slowly"]).named == {"crouch", "walk", "backstep"}


def test_texts_settle_walk_against_jog_and_disagreements_are_counted():
    walk = _labels(_procedural("walk", 4.0, speed=1.7))  # a brisk walk: the speed bands call part of it jog
    assert walk.gait[:, GAIT_CLASSES.index("jog")].max() > 0.2
    said = combine(walk, text_labels(["a person walks forward quickly"]), FPS)
    moving = np.isin(said.labels.names(), ["walk", "jog"])
    assert (said.labels.gait[moving, GAIT_CLASSES.index("jog")] == 0).all()
    assert set(np.array(said.labels.names())[moving]) == {"walk"} and said.disagreements == []
    run = _labels(_procedural("run", 4.0, speed=3.0))
    odd = combine(run, text_labels(["a person walks and then jumps"]), FPS)
    assert odd.disagreements == ["jump", "walk"]  # no jump in the motion; it runs, far past the walk band
    assert odd.labels.names().count("walk") > 0.9 * len(run.label)  # the text still settles the style
    assert combine(run, text_labels([]), FPS).labels.names() == run.names()


def test_selection_options_and_runs():
    assert Selection.parse(None, None) == Selection("all")
    assert Selection.parse(None, "walk, jog") == Selection("locomotion", ("walk", "jog"))
    for mode, keep, message in (("dance", None, "unknown selection"), ("locomotion", "walk,fly", "fly"),
                                ("all", "walk", "--keep needs --select locomotion"), ("locomotion", " , ", "none")):
        with pytest.raises(MtkError, match=message):
            Selection.parse(mode, keep)
    frames = np.array([3, 4, 5, 6, 9, 10, 11, 12])
    assert runs(frames, np.array([1, 1, 0, 1, 1, 1, 1, 0], bool)) == [(0, 2), (3, 4), (4, 7)]


def test_selection_drops_by_label_text_and_short_runs():
    names = ["walk"] * 30 + ["jump"] * 10 + ["walk"] * 5 + ["glide"] * 10 + ["walk"] * 30
    labels = gait.FrameLabels(np.array([LABELS.index(n) for n in names]), np.zeros((len(names), 6)))
    frames = np.arange(len(names))
    keep, dropped = Selection("locomotion", ("stand", "walk", "jog")).rows_to_keep(
        frames, labels, text_labels(["a person walks"]), 30.0)
    assert keep.sum() == 60 and dropped == {"gait: jump": 10, "motion: glide": 10, "runs under 0.5 s": 5}
    keep, dropped = Selection("locomotion").rows_to_keep(frames, labels, text_labels(["a person dances"]), 30.0)
    assert not keep.any() and dropped == {"texts: dances": len(names)}
    keep, dropped = Selection("all").rows_to_keep(frames, labels, text_labels(["a person dances"]), 30.0)
    assert keep.all() and not dropped


def test_export_summary_states_label_sources_and_selection(tmp_path: Path, mtk_cli):
    from mtk.pfnn.database import read_database

    src = tmp_path / "sample"
    assert mtk_cli("sample", src, "--layout", "smpl272", "--count", "12").code == 0
    done = mtk_cli("convert", src, tmp_path / "db", "--to", "pfnn", "--select", "locomotion", "--keep",
                   "stand,walk,jog")
    assert done.code == 0, done.stderr
    line = done.stdout
    assert "gait: motion+text" in line and "text vs motion disagreements in 12 motions with texts" in line
    assert "selection: locomotion (stand, walk, jog), kept" in line and "dropped:" in line
    db = read_database(tmp_path / "db")
    labels = db.layout.labels
    assert labels["gait"]["sources"] == {"motion+text": 12} and labels["selection"]["keep"] == ["stand", "walk", "jog"]
    assert set(labels["gait"]["rows_per_label"]) <= {"stand", "walk", "jog"}
    assert labels["selection"]["rows"]["kept"] == len(db.X)
    assert sum(labels["selection"]["dropped"].values()) == labels["selection"]["rows"]["dropped"] > 0
    # a motion cut into runs keeps its name on every run, and the validation split keeps its runs together
    names = [name for name, _, _ in db.clips()]
    assert len(names) > len(set(names))
    from mtk.pfnn.database import clip_split

    train, val, held = clip_split(db.clips(), 0.3, seed=0)
    for name, start, stop in db.clips():
        assert (name in held) == np.isin(np.arange(start, stop), val).all()
    assert len(train) + len(val) == len(db.X)
    shown = mtk_cli("inspect", tmp_path / "db", "--json")
    assert json.loads(shown.stdout)["details"]["labels"] in line  # the same summary, read back from layout.json
    everything = mtk_cli("convert", src, tmp_path / "all", "--to", "pfnn", "--gait", "motion")
    assert everything.code == 0 and "gait: motion;" in everything.stdout and "selection: all frames" in everything.stdout
    assert json.loads((tmp_path / "all" / "layout.json").read_text())["options"]["gait"] == "motion"


def test_gait_option_errors(tmp_path: Path, mtk_cli, data_dir: Path):
    src = data_dir / "humanml3d/new_joint_vecs/012314.npy"
    done = mtk_cli("convert", src, tmp_path / "a", "--to", "pfnn", "--gait", "file")
    assert done.code == 2 and "--gait file needs a .gait file" in done.stderr
    done = mtk_cli("convert", src, tmp_path / "b", "--to", "pfnn", "--gait", "motion", "--gait-from", "speed")
    assert done.code == 2 and "contradicts" in done.stderr
    done = mtk_cli("convert", src, tmp_path / "c", "--to", "pfnn", "--keep", "fly")
    assert done.code == 2 and "unknown gait label" in done.stderr
    assert not any((tmp_path / name).exists() for name in "abc")
    done = mtk_cli("convert", src, tmp_path / "d", "--to", "pfnn", "--gait", "text")
    assert done.code == 0 and "gait: motion (no gait word)" in done.stdout  # a file has no texts
