"""Shared CLI helpers: JSON output, rich console, progress bars, report rendering."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from mtk.cli.numbers import FPS
from mtk.features import layout_names, layouts
from mtk.io.processes import is_main_process
from mtk.schemas import one_of

if TYPE_CHECKING:
    from mtk.analysis.inspection import Report

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
layout_option = click.option("--layout", "layout", metavar="L", default=None,
                             help=f"Feature layout: {layout_names()} (default: detected from the width).")
_LAYOUT_RATES = one_of([f"{spec.fps:g}" for spec in layouts().values()])
fps_option = click.option("--fps", type=FPS, default=None, metavar="F",
                          help=f"Frame rate (default: the layout's: {_LAYOUT_RATES}).")


_as_dataset_option = click.option(
    "--as-dataset", is_flag=True,
    help="Read a folder tree of feature .npy files as a dataset (names: paths without .npy; texts in texts/ or "
         "beside; split lists at the root). --layout given on such a folder does the same.")
_splits_option = click.option("--splits", "splits", metavar="DIR", default=None,
                              help="Folder of split lists (train.txt, ...) for a tree of .npy files.")


def tree_options(command: Callable) -> Callable:
    """``--as-dataset`` and ``--splits DIR``: read a plain folder tree of ``.npy`` files as a dataset. The
    command calls :func:`tree_layout` to turn them into the layout every reader of the tree is opened with."""
    return _as_dataset_option(_splits_option(command))


def tree_layout(dataset: str, layout: str | None, as_dataset: bool, splits: str | None) -> str | None:
    """The ``layout`` to open DATASET with: for a tree (``--as-dataset`` or ``--splits``) the one its
    features have, so that every reader (worker processes too) opens the tree the same way."""
    if not (as_dataset or splits):
        return layout
    from mtk.formats.datasets import tree_layout as detected

    return detected(dataset, layout)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    """Print one JSON document (NaN/Inf become null)."""
    click.echo(json.dumps(_jsonable(document), indent=2))


def console(stderr: bool = False):
    """A rich console on stdout (or stderr); when that stream is not a terminal, lines are never wrapped."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=10_000)


def quiet_given() -> bool:
    """Whether ``-q/--quiet`` was given (anywhere on the command line)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))


def is_quiet() -> bool:
    """Whether progress bars stay hidden: ``-q`` given, stderr is not a terminal, or this is not the main
    process of a launch (``torchrun``, ``accelerate launch``: the main process reports for all)."""
    return quiet_given() or not sys.stderr.isatty() or not is_main_process()


def print_summary(summary: object) -> None:
    """Print a command's result summary ("wrote ...") on stdout, unless ``-q`` was given or this is not the
    main process of a launch."""
    if not quiet_given() and is_main_process():
        console().print(summary, markup=False)


def print_note(message: str) -> None:
    """Print a note (``mtk: note: ...``) on stderr, unless ``-q`` was given or this is not the main process."""
    if not quiet_given() and is_main_process():
        console(stderr=True).print(f"mtk: note: {message}", markup=False)


class Advance:
    """``advance(n)`` moves a progress bar on; ``advance.set_total(n)`` gives it the total a job learnt
    (:func:`mtk.io.progress.announce_total`). Without a bar (piped, ``-q``) both do nothing."""

    def __init__(self, progress: Any = None, task: Any = None):
        self.progress, self.task = progress, task

    def __call__(self, n: int = 1) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def set_total(self, total: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=total)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Advance]:
    """A rich progress bar with the time remaining on stderr (silent when piped or --quiet); yields
    :class:`Advance`."""
    if is_quiet():
        yield Advance()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console(stderr=True), transient=False) as progress:
        yield Advance(progress, progress.add_task(description, total=total))


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}"


def print_report(report: Report) -> None:
    """Render an inspect report as a header, a block table and findings."""
    from rich.table import Table

    out = console()
    head = [f"[bold]{report.path}[/bold]", f"kind: {report.kind}"]
    fps = report.fps if report.fps is None or not report.fps_source else f"{report.fps} ({report.fps_source})"
    for label, value in (("layout", report.layout), ("frames", report.frames), ("dim", report.dim),
                         ("fps", fps), ("duration", f"{report.duration_s:.2f} s" if report.duration_s else None),
                         ("dtype", report.dtype)):
        if value is not None:
            head.append(f"{label}: {value}")
    out.print("  ".join(head))
    for key, value in report.details.items():
        flat = isinstance(value, dict) and not any(isinstance(v, dict | list) for v in value.values())
        if flat and len(str(value)) > 100:
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, dict | list) and len(str(value)) > 100:
            continue
        out.print(f"  {key}: {value}")
    if report.blocks:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("block", "cols", "min", "max", "mean", "std"):
            table.add_column(column, justify="left" if column in ("block", "cols") else "right")
        for b in report.blocks:
            table.add_row(b.name, f"{b.start}:{b.stop}", _fmt(b.min), _fmt(b.max), _fmt(b.mean), _fmt(b.std))
        out.print(table)
    if report.findings:
        colours = {"error": "red", "warning": "yellow", "info": "cyan"}
        for f in report.findings:
            out.print(f"[{colours[f.level]}]{f.level}[/]: {f.code}: {f.message}")
    else:
        out.print("[green]no findings[/green]")


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices are read from a registry when first needed (not at import, so
    ``mtk --help`` does not load every format)."""

    def __init__(self, choices: Callable[[], list[str]]):
        super().__init__([])
        self._load = choices
        self._loaded: list[str] | None = None

    @property
    def choices(self) -> list[str]:
        if self._loaded is None:
            self._loaded = list(self._load())
        return self._loaded

    @choices.setter
    def choices(self, value) -> None:
        """click sets the (empty) list at construction; the registry's list replaces it on first read."""
