"""``mtk convert``'s targets: for each ``--to`` value, the job that makes it and the options it takes.

Targets come from the format registry (every writable dataset format, every motion-file format, and every
format that declares its own convert job, such as the PFNN database) and from the layouts (``--to <layout>`` makes features; ``--to joints`` joint positions), so a new
format or layout is a new target without an edit here. A target refuses command-line options it does not
take (``--resume --to bvh`` is an error, not silently ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from mtk.errors import MtkError
from mtk.features import family_of, layouts
from mtk.formats import registry

#: options every target takes
_ALWAYS = frozenset({"overwrite"})


@dataclass(frozen=True)
class Target:
    """One ``--to`` value: its job ``(src, dst, **options) -> summary line``, the command-line options it
    takes, and whether it reports progress (``on_progress(n)``)."""

    name: str
    help: str
    job: Callable[..., str]
    options: frozenset[str] = field(default_factory=frozenset)
    suffixes: tuple[str, ...] = ()
    reports_progress: bool = False

    def run(self, src: str, dst: str, on_progress: Callable[[int], None] | None = None, **options) -> str:
        """Run the job with ``options``; a one-line error naming any option this target does not take."""
        refused = sorted(set(options) - self.options - _ALWAYS)
        if refused:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in refused)
            takers = sorted(t.name for t in targets().values() if set(refused) <= t.options)
            hint = f"it applies to --to {', '.join(takers)}" if takers else "drop it"
            raise MtkError(None, f"{flags} {'does' if len(refused) == 1 else 'do'} not apply to --to {self.name}",
                           hint)
        if self.reports_progress:
            options["on_progress"] = on_progress
        return self.job(src, dst, **options)


def _dataset_target(entry: registry.Format) -> Target:
    from mtk.jobs.convert_dataset import convert_to_dataset

    return Target(entry.name, entry.description, partial(convert_to_dataset, to=entry.name),
                  frozenset({"layout", "fps", "workers", "resume", "skip_bad", "splits"}), entry.suffixes,
                  reports_progress=True)


def _motion_target(entry: registry.Format) -> Target:
    from mtk.jobs.convert_motion import convert_to_bvh

    return Target(entry.name, entry.description, convert_to_bvh, frozenset({"layout", "fps"}), entry.suffixes)


#: format kind -> the target its writable formats get
_KIND_TARGETS: dict[str, Callable[[registry.Format], Target]] = {
    "dataset": _dataset_target, "motion": _motion_target,
}


def _feature_targets() -> list[Target]:
    from mtk.jobs.convert_joints import convert_to_joints
    from mtk.jobs.convert_motion import convert_to_features

    found = [Target("joints", "joint positions (T, J, 3) .npy from features (floor- and origin-aligned, as the "
                    "layouts define them: floor at y = 0, frame-0 root above the origin) or a BVH file",
                    convert_to_joints,
                    frozenset({"layout", "fps"}))]
    for spec in layouts().values():
        options = {"fps", "joint_map", "unit", "up", "trim", "source_fps"} | ({"fix_quirks"} if family_of(spec).has_quirks else set())
        found.append(Target(spec.name, f"{spec.title} features .npy", partial(convert_to_features, layout=spec.name),
                            frozenset(options)))
    return found


def _format_target(entry: registry.Format) -> Target:
    """A writable format's target: the convert job it declares (the PFNN database), else its kind's."""
    own = entry.convert
    if own is not None:
        return Target(entry.name, entry.description, own.job, own.options, entry.suffixes, own.reports_progress)
    return _KIND_TARGETS[entry.kind](entry)


def targets() -> dict[str, Target]:
    """Every ``--to`` value, by name."""
    found = [_format_target(f) for f in registry.formats(writable=True) if f.convert or f.kind in _KIND_TARGETS]
    return {t.name: t for t in sorted(found + _feature_targets(), key=lambda t: t.name)}


def target_for(dst: str, to: str | None) -> Target:
    """The target ``to``, else the one DST's suffix names; a one-line error when neither says, or when DST's
    suffix names another format than ``to`` (``out.h5 --to zarr`` would write a Zarr folder named .h5)."""
    found = targets()
    path = Path(dst.rstrip("/"))
    suffix = path.suffix.lower()
    named = next((t.name for t in found.values() if suffix and suffix in t.suffixes), None)
    if to is None:
        to = named
    if to is None:
        raise MtkError(dst, "cannot guess the output format", f"pass --to ({', '.join(found)})")
    if to not in found:
        raise MtkError(None, f"unknown output format {to!r}", f"pass --to ({', '.join(found)})")
    if named is not None and named != to:
        better = path.with_suffix(found[to].suffixes[0] if found[to].suffixes else "").name
        raise MtkError(dst, f"the suffix {suffix} names {named} but --to {to} was given",
                       f"name it {better}, or drop --to")
    return found[to]
