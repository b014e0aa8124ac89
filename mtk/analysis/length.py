"""How long a motion may be for the computations that hold all of it at once.

Recovering joints, converting, rendering, exporting PFNN rows and encoding with the tokenizer take memory in
proportion to a motion's frames (2 to 26 KB per frame, docs/formats.md "Safety"). A motion longer than
:data:`MAX_FRAMES` is refused before it is read, with the limit named, rather than exhausting memory: 32,768
frames is 18 minutes at 30 fps, 4.5 minutes at 120 fps (HumanML3D's longest motion has 200 frames, PFNN's
capture takes a few thousand). ``mtk inspect`` reads features in windows instead, at any length.
"""

from __future__ import annotations

from pathlib import Path

from mtk.errors import BadInputError

MAX_FRAMES = 32_768
#: the tokenizer (encode, decode, evaluate) pads batches to their longest motion: half the bound
MAX_ENCODE_FRAMES = MAX_FRAMES // 2


def require_frames(frames: int, what: str | Path, limit: int = MAX_FRAMES, work: str = "computes on",
                   hint: str = "split it into shorter motions") -> int:
    """``frames`` when it is at most ``limit``; else a one-line error naming ``what`` and the limit."""
    if frames > limit:
        raise BadInputError(what, f"is {frames:,} frames long; mtk {work} motions of at most {limit:,} frames "
                            "(memory grows with the frames)", hint)
    return frames
