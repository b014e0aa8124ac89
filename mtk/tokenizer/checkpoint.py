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

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mtk.errors import BadInputError, MtkError
from mtk.features import layout_for_dim
from mtk.formats.limits import refuse_zip_bomb
from mtk.io.atomic import atomic_file, torch_save
from mtk.tokenizer.checkpoint_checks import check_config_fits, encoder_config
from mtk.tokenizer.checkpoint_errors import load_failure
from mtk.tokenizer.model import TokenizerModel, model_config
from mtk.tokenizer.quantizers import QUANTIZERS

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
QUANTIZER_PREFIX = "vqvae.quantizer."
#: config entries that shape the state dict whatever the quantizer; each quantizer adds its ``arch_keys``
ARCH_KEYS = ("input_dim", "quantizer", "width", "code_dim", "down_t", "stride_t", "depth", "dilation_growth_rate")


def arch_keys(config: dict) -> tuple[str, ...]:
    """The architecture entries of ``config``: the common ones plus its quantizer's."""
    quantizer = QUANTIZERS.get(str(config.get("quantizer")))
    return ARCH_KEYS + (quantizer.arch_keys if quantizer else ())


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
    refuse_zip_bomb(path)
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
    _refuse_non_finite(ckpt["net"], path)
    return ckpt


def _refuse_non_finite(state: dict[str, Any], path: Path) -> None:
    """A one-line error naming the first weight with NaN or Inf values (a diverged run's checkpoint)."""
    for key, value in state.items():
        if isinstance(value, Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise BadInputError(path, f"holds NaN or Inf weights ({key})",
                                "the run diverged before this save; use an earlier checkpoint")


def _quantizer_config(state: dict[str, Tensor], code_dim: int, codebook_size: int | None, path: Path) -> dict:
    """The one registered quantizer that recognises the ``vqvae.quantizer.*`` part of ``state``, with its config."""
    own = {k[len(QUANTIZER_PREFIX):]: v for k, v in state.items() if k.startswith(QUANTIZER_PREFIX)}
    found = {name: config for name, cls in QUANTIZERS.items()
             if (config := cls.config_from_state(own, code_dim, codebook_size, path)) is not None}
    if len(found) != 1:
        keys = ", ".join(sorted(own)[:4]) or "none"
        raise BadInputError(path, f"{len(found)} quantizers ({', '.join(found) or 'none'}) recognise the "
                                  f"quantizer weights ({keys})", "re-save the checkpoint with its config")
    name, config = next(iter(found.items()))
    return {"quantizer": name, **config}


def infer_config(state: dict[str, Tensor], path: str | Path = "", codebook_size: int | None = None) -> dict:
    """The model config implied by a state dict's shapes (for checkpoints saved without one)."""
    path = Path(path)
    encoder = encoder_config(state, path)
    input_dim, code_dim = encoder["input_dim"], encoder["code_dim"]
    layout = layout_for_dim(input_dim)
    config = {"mtk_tokenizer": 1, "preset": "custom", "layout": layout.name if layout else None, **encoder,
              "dilation_growth_rate": 3}
    config.update(_quantizer_config(state, code_dim, codebook_size, path))
    mm = model_config("mm64k", input_dim)
    if all(config.get(k) == mm.get(k) for k in arch_keys(mm)):
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
    keys = dict.fromkeys(arch_keys(stored) + arch_keys(requested))
    return [f"{k} {stored.get(k)} (checkpoint) vs {requested.get(k)}" for k in keys
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
    if isinstance(stored, dict):
        check_config_fits(stored, state, path)
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
    with atomic_file(path) as tmp:
        torch_save(ckpt, tmp)
