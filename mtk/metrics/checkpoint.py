"""Reading evaluator checkpoints without running anything they name.

Every checkpoint is read with ``torch.load(weights_only=True)``. PyTorch Lightning checkpoints (the 272
evaluators') also pickle training bookkeeping next to ``state_dict`` (hyper-parameters as OmegaConf objects,
callback states). Those globals are found first (``torch.serialization.get_unsafe_globals_in_checkpoint``) and
each is stood in for by :class:`Opaque`, an inert placeholder: nothing a checkpoint names is imported or
called, and only tensors are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtk.errors import BadInputError, MtkError, first_line


class Opaque:
    """What an object of a class outside torch's safe list becomes: it keeps nothing and runs nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Opaque:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque()


def read_weights(path: str | Path) -> dict[str, Any]:
    """The checkpoint at ``path`` as a dict, tensors on the CPU; one-line errors for anything else."""
    import torch

    from mtk.formats.limits import refuse_zip_bomb

    path = Path(path)
    if not path.is_file():
        raise MtkError(path, "no such file", "check the path")
    refuse_zip_bomb(path)
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        stand_ins = [(Opaque, name) for name in unsafe]
        with torch.serialization.safe_globals(stand_ins):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds on damaged files
        raise BadInputError(path, f"is not a readable torch checkpoint: {first_line(err)}",
                            "the file may be truncated or not a checkpoint") from None
    if not isinstance(ckpt, dict):
        raise BadInputError(path, f"holds a {type(ckpt).__name__}, not a checkpoint dict",
                            "expected a checkpoint saved with torch.save({...})")
    return ckpt


def sub_state(state: dict[str, Any], prefix: str, path: str | Path) -> dict[str, Any]:
    """The tensors of ``state`` under ``prefix.``, with the prefix removed; refused when there are none."""
    import torch

    found = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")
             and isinstance(v, torch.Tensor)}
    if not found:
        raise BadInputError(path, f"has no '{prefix}.*' weights", "is this the evaluator's checkpoint?")
    return found


def load_strict(module, state: dict[str, Any], path: str | Path, what: str) -> None:
    """``module.load_state_dict(state, strict=True)`` with a one-line error naming the first mismatch."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        detail = (f"{len(missing)} missing (e.g. {missing[0]})" if missing else
                  f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else
                  f"{wrong[0]} is {tuple(state[wrong[0]].shape)} but the model has {tuple(expected[wrong[0]].shape)}")
        raise BadInputError(path, f"the {what} weights do not fit: {detail}", "is this the evaluator's checkpoint?")
    bad = next((k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()), None)
    if bad is not None:
        raise BadInputError(path, f"weight {bad} holds NaN or infinite values", "the checkpoint is damaged")
    module.load_state_dict(state, strict=True)
