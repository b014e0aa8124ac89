"""Tokenizer checkpoints: mtk's own and MotionMillion's ``{'net': state_dict}``.

An mtk checkpoint is a plain dict readable with ``torch.load(weights_only=True)``::

    net        state dict with the reference's keys (``vqvae.encoder.model.1.weight`` ...)
    config     the model config (mtk.tokenizer.model.model_config)
    mean, std  the dataset's normalisation vectors, float32 tensors (D,)
    layout     the feature layout name (smpl272, hml263, kit251)
    nb_iter    optimizer steps done (as in MotionMillion)
    optimizer, scheduler, metrics   when saved by training

MotionMillion checkpoints carry only ``net`` (plus optimizer/scheduler/nb_iter), often with a ``module.``
prefix from DDP; their config is inferred from the tensor shapes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mtk.errors import BadInputError, MtkError
from mtk.schemas import layout_for_dim
from mtk.tokenizer.checkpoint_errors import load_failure
from mtk.tokenizer.fsq import FSQ_LEVELS
from mtk.tokenizer.model import STRIDE, TokenizerModel, model_config

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
ARCH_KEYS = ("input_dim", "quantizer", "levels", "codebook_size", "width", "code_dim", "down_t", "stride_t",
             "depth", "dilation_growth_rate")


def clean_state_dict(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Strip DDP's ``module.`` and torch.compile's ``_orig_mod.`` prefixes from every key."""
    cleaned = {}
    for key, value in state.items():
        for prefix in WRAPPER_PREFIXES:
            key = key.replace(prefix, "")
        cleaned[key] = value
    return cleaned


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)`` with one-line errors; returns the checkpoint dict."""
    path = Path(path)
    if not path.is_file():
        raise MtkError(path, "no such checkpoint file", "give the .pth written by `mtk tokenizer train`")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # noqa: BLE001 - torch raises many types for foreign or broken files
        raise load_failure(path) from None
    if not isinstance(ckpt, dict):
        raise BadInputError(path, f"checkpoint holds a {type(ckpt).__name__}, not a dict",
                            "expected {'net': state_dict, ...}")
    if "net" not in ckpt and ckpt and all(isinstance(v, Tensor) for v in ckpt.values()):
        ckpt = {"net": ckpt}
    if not isinstance(ckpt.get("net"), dict):
        raise BadInputError(path, "checkpoint has no 'net' state dict", "expected {'net': state_dict, ...}")
    ckpt["net"] = clean_state_dict(ckpt["net"])
    return ckpt


def _levels_for_dim(dim: int, codebook_size: int | None, path: Path) -> list[int]:
    candidates = [levels for size, levels in FSQ_LEVELS.items()
                  if len(levels) == dim and codebook_size in (None, size, int(np.prod(levels)))]
    if len(candidates) != 1:
        raise BadInputError(path, f"cannot tell the FSQ levels from a {dim}-channel projection "
                                  f"({len(candidates)} table entries fit)", "pass codebook_size")
    return list(candidates[0])


def infer_config(state: dict[str, Tensor], path: str | Path = "", codebook_size: int | None = None) -> dict:
    """The model config implied by a state dict's shapes (for checkpoints saved without one)."""
    path = Path(path)
    first = state.get("vqvae.encoder.model.1.weight")
    if first is None:
        raise BadInputError(path, "state dict has no vqvae.encoder.model.1.weight",
                            "not a MotionMillion/mtk tokenizer checkpoint")
    width, input_dim = int(first.shape[0]), int(first.shape[1])
    down_t = sum(1 for key, value in state.items()
                 if re.fullmatch(r"vqvae\.encoder\.model\.\d+\.0\.weight", key) and value.shape[-1] == 2 * STRIDE)
    depth = len({m.group(1) for key in state
                 if (m := re.fullmatch(r"vqvae\.encoder\.model\.3\.1\.model\.(\d+)\.conv1\.weight", key))})
    code_dim = int(state[f"vqvae.encoder.model.{3 + down_t}.weight"].shape[0])
    layout = layout_for_dim(input_dim)
    config = {"mtk_tokenizer": 1, "preset": "custom", "input_dim": input_dim,
              "layout": layout.name if layout else None, "width": width, "code_dim": code_dim,
              "down_t": down_t, "stride_t": STRIDE, "depth": depth, "dilation_growth_rate": 3}
    if "vqvae.quantizer.codebook" in state:
        config.update(quantizer="vq", levels=None, codebook_size=int(state["vqvae.quantizer.codebook"].shape[0]))
    else:
        projection = state.get("vqvae.quantizer.project_in.weight")
        dim = int(projection.shape[0]) if projection is not None else code_dim
        levels = _levels_for_dim(dim, codebook_size, path)
        config.update(quantizer="fsq", levels=levels, codebook_size=int(np.prod(levels)))
    mm = model_config("mm64k", input_dim)
    if all(config[k] == mm[k] for k in ARCH_KEYS):
        config["preset"] = "mm64k"
    return config


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(map(str, t.shape)) + ")"


def fit_problem(model: TokenizerModel, state: dict[str, Tensor]) -> str | None:
    """A one-line description of how ``state`` does not fit ``model`` (None when it fits exactly)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and expected[k].shape != state[k].shape]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} shape(s) differ, e.g. {k} is {_shape(state[k])} in the checkpoint "
                     f"but {_shape(expected[k])} in the model")
    if missing:
        parts.append(f"{len(missing)} key(s) missing, e.g. {missing[0]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
    return "; ".join(parts)


def config_differences(stored: dict, requested: dict) -> list[str]:
    """Architecture fields that differ, as ``"width 64 (checkpoint) vs 256"`` strings."""
    return [f"{k} {stored.get(k)} (checkpoint) vs {requested.get(k)}" for k in ARCH_KEYS
            if stored.get(k) != requested.get(k)]


def model_from_state(state: dict[str, Tensor], config: dict, path: str | Path) -> TokenizerModel:
    """Build the model of ``config`` and load ``state`` strictly, with a one-line error when it does not fit."""
    try:
        model = TokenizerModel(config)
    except (KeyError, TypeError, ValueError) as err:
        raise BadInputError(path, f"checkpoint config is not usable: {err}", "re-train or re-save it") from None
    problem = fit_problem(model, state)
    if problem:
        raise BadInputError(path, f"checkpoint does not fit the {config.get('preset')} "
                                  f"{config.get('quantizer')} model: {problem}",
                            "check --preset/--quantizer/--codebook-size and the feature width")
    model.load_state_dict(state, strict=True)
    return model


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu",
                    codebook_size: int | None = None) -> tuple[TokenizerModel, dict[str, Any]]:
    """Load an mtk or MotionMillion checkpoint as ``(model in eval mode, info)``.

    ``info``: path, format ("mtk" or "motionmillion"), config, iteration, layout (name or None),
    mean/std (float32 numpy arrays or None), metrics.
    """
    ckpt = read_checkpoint(path, map_location)
    state = ckpt["net"]
    stored = ckpt.get("config")
    config = dict(stored) if isinstance(stored, dict) else infer_config(state, path, codebook_size)
    model = model_from_state(state, config, path).to(map_location).eval()

    def vector(key: str) -> np.ndarray | None:
        value = ckpt.get(key)
        return None if value is None else np.asarray(torch.as_tensor(value).cpu(), dtype=np.float32)

    info = {
        "path": str(path), "format": "mtk" if isinstance(stored, dict) else "motionmillion", "config": config,
        "iteration": int(ckpt.get("nb_iter", 0) or 0), "layout": ckpt.get("layout") or config.get("layout"),
        "mean": vector("mean"), "std": vector("std"), "metrics": ckpt.get("metrics") or {},
    }
    return model, info


def save_checkpoint(path: str | Path, model: TokenizerModel, *, iteration: int = 0,
                    mean: np.ndarray | None = None, std: np.ndarray | None = None,
                    layout: str | None = None, **extra: Any) -> None:
    """Write an mtk checkpoint atomically (temporary sibling, then rename).

    ``extra`` adds entries such as ``optimizer``, ``scheduler`` (state dicts) or ``metrics``.
    """
    path = Path(path)
    ckpt: dict[str, Any] = {"net": model.state_dict(), "config": dict(model.config), "nb_iter": int(iteration),
                            "layout": layout or model.config.get("layout")}
    for key, value in (("mean", mean), ("std", std)):
        if value is not None:
            ckpt[key] = torch.as_tensor(np.asarray(value, dtype=np.float32))
    ckpt.update(extra)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
