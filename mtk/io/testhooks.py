"""Pause points for the kill tests: a no-op unless ``MTK_TEST_PAUSE_AT`` names the point.

``MTK_TEST_PAUSE_AT=piece`` pauses after the first piece of resumable work is durable; ``commit:K`` after K
filesystem steps of a commit (0: before anything old is touched). At the point the process writes the point's
name to ``MTK_TEST_PAUSE_FILE`` and waits for a signal (a kill, or Ctrl-C which raises as usual).
"""

from __future__ import annotations

import os
import signal


def pause_point(name: str) -> None:
    """Block here when the tests asked to pause at ``name``."""
    if os.environ.get("MTK_TEST_PAUSE_AT") != name:
        return
    report = os.environ.get("MTK_TEST_PAUSE_FILE")
    if report:
        with open(report, "w", encoding="ascii") as handle:
            handle.write(name + "\n")
    while True:
        signal.pause()
