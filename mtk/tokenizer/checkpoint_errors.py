"""Why a checkpoint file did not load, in mtk's words (torch's own messages advise unsafe loading)."""

from __future__ import annotations

from pathlib import Path

from mtk.errors import BadInputError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL = b"\x80"

TRAINED = "pass the .pth written by `mtk tokenizer train`, or MotionMillion's checkpoint"


def load_failure(path: Path) -> BadInputError:
    """The one-line error for a file ``torch.load(weights_only=True)`` refused, judged from its first bytes."""
    with open(path, "rb") as file:
        head = file.read(8)
    if head.startswith(NPY_MAGIC):
        return BadInputError(path, "is a .npy array, not a tokenizer checkpoint", TRAINED)
    if not (head.startswith(ZIP_MAGIC) or head.startswith(PICKLE_PROTOCOL)):
        return BadInputError(path, "is not a torch checkpoint", TRAINED)
    return BadInputError(path, "is damaged or holds objects other than tensors and plain containers",
                         "mtk never unpickles arbitrary objects; save plain tensors and dicts")
