"""Progress callbacks: ``on_progress(n)`` after each piece of work, and the total when a job learns it."""

from __future__ import annotations

from collections.abc import Callable


def announce_total(on_progress: Callable[[int], None] | None, total: int) -> None:
    """Tell ``on_progress`` how much work there is, when it can take it (a ``set_total`` method, as the
    CLI's progress bars have), so the bar shows a total and the time remaining."""
    set_total = getattr(on_progress, "set_total", None)
    if set_total is not None:
        set_total(total)
