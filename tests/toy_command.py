"""A complete command, as docs/architecture.md's "Add a command" recipe makes it: ``mtk count DATASET``
prints how many motions and frames a dataset (any format) has, per split, optionally as a JSON file.

The recipe puts the job in ``mtk/jobs/count.py`` and the command in ``mtk/cli/cmd_count.py``; this toy keeps
both in one test module. ``tests/test_cli_commands.py`` adds its one line to the command table.
"""

from __future__ import annotations

import json

import click

from mtk.errors import MtkError


def count_motions(dataset: str, *, split: str | None = None) -> dict[str, int]:
    """The job: motions and frames of ``dataset`` (of ``split``); a one-line error for an unknown split."""
    from mtk.formats.datasets import open_dataset

    reader = open_dataset(dataset)
    try:
        names = reader.info.split_names(split) if split else reader.names
    except KeyError as err:
        raise MtkError(dataset, str(err.args[0]), "pass --split with one of them") from None
    return {"motions": len(names), "frames": sum(reader.length(name) for name in names)}


@click.command("count")
@click.argument("dataset")
@click.option("--split", default=None, metavar="S", help="Count only this split.")
@click.option("--out", default=None, metavar="FILE", help="Also write the counts as JSON.")
@click.option("--overwrite", is_flag=True, help="Replace FILE.")
def count_command(dataset: str, split: str | None, out: str | None, overwrite: bool) -> int:
    """Count the motions and frames of DATASET."""
    from mtk.cli.common import print_summary
    from mtk.io.atomic import atomic_file, refuse_existing

    counts = count_motions(dataset, split=split)
    if out:
        refuse_existing(out, overwrite, sources=[dataset])
        with atomic_file(out) as tmp:
            tmp.write_text(json.dumps(counts))
    print_summary(f"{counts['motions']} motions, {counts['frames']} frames")
    return 0
