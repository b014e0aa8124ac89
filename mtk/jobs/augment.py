"""``mtk augment SRC DST --mirror``: a dataset with every motion's mirror image beside it.

For each motion ``NAME`` the output holds ``NAME`` and ``MNAME`` (HumanML3D's convention; ``a/b/NAME``
gets ``a/b/MNAME``): the features mirrored exactly (:meth:`mtk.features.Family.mirror`), the texts
with left and right swapped (:func:`mtk.mocap.sides.swap_sides`). Each split lists its motions and then
their mirror images, as HumanML3D's split files do. A motion whose mirror image the source already holds
(an ``M`` pair) is copied as it is. Mean and std are not copied: they describe the data before augmenting
(``mtk stats DST`` computes them anew). Any dataset mtk reads can be augmented into any it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath

from mtk.errors import MtkError
from mtk.features import family_of
from mtk.formats import registry
from mtk.formats.datasets import format_for_path, open_dataset, reader_format
from mtk.formats.model import Motion
from mtk.jobs.convert_dataset import ConvertResult, Derivation, convert_dataset
from mtk.mocap.sides import swap_sides
from mtk.schemas import Layout


def mirrored_name(name: str) -> str:
    """HumanML3D's name for a motion's mirror image: ``M`` before the last part (``a/b/012314`` ->
    ``a/b/M012314``)."""
    path = PurePosixPath(name)
    return str(path.with_name("M" + path.name))


def mirror_motion(motion: Motion, layout: Layout) -> Motion:
    """The mirror image of ``motion``: ``M``-prefixed name, mirrored features, sides swapped in its texts."""
    features = family_of(layout).mirror(motion.features, layout)
    return replace(motion, name=mirrored_name(motion.name), features=features,
                   texts=[swap_sides(text) for text in motion.texts])


def mirror_derivation(names: list[str], layout: Layout) -> tuple[Derivation, int]:
    """The mirror images to add to a dataset of ``names``, and how many motions already have theirs."""
    present = set(names)
    images = {mirrored_name(name) for name in names}
    paired = {name for name in names if mirrored_name(name) in present or name in images}
    originals = [name for name in names if name not in paired]
    to_mirror = set(originals)

    def motions(motion: Motion) -> list[Motion]:
        return [mirror_motion(motion, layout)] if motion.name in to_mirror else []

    def splits(given: dict[str, list[str]]) -> dict[str, list[str]]:
        return {split: members + [mirrored_name(n) for n in members if n in to_mirror]
                for split, members in given.items()}

    return Derivation(motions, splits, "mirrored M copies"), len(paired)


def _writable_format(reader) -> str:
    """The source's format when mtk writes it, else an npy folder (a tree of .npy files is read, not written)."""
    source = reader_format(reader)
    return source if registry.get("dataset", source).writer is not None else "npy"


def augment_dataset(src: str, dst: str, mirror: bool = False, to: str | None = None, layout: str | None = None,
                    workers: int | None = None, overwrite: bool = False,
                    on_progress: Callable[[int], None] | None = None, splits: str | None = None) -> ConvertResult:
    """Write ``src`` and its augmentations (``mirror``: every motion's mirror image) to ``dst``, in format
    ``to`` (default: DST's suffix, else the source's format)."""
    if not mirror:
        raise MtkError(None, "no augmentation chosen", "pass --mirror")
    reader = open_dataset(src, layout=layout, splits=splits)
    info = reader.info
    if info.layout is None:
        raise MtkError(src, "holds features of no known layout", "pass --layout")
    derivation, paired = mirror_derivation(info.names, info.layout)
    result = convert_dataset(src, dst, to or format_for_path(dst) or _writable_format(reader), layout=layout,
                             workers=workers, overwrite=overwrite, on_progress=on_progress, splits=splits,
                             derive=derivation)
    reader.close()
    result.derived_label += f"; {paired} motions already had their mirror image" if paired else ""
    return result
