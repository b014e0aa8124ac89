"""mtk's PFNN network file (``.pth``, loadable with ``torch.load(weights_only=True)``) and the NETWORK
argument every command takes: a training run folder, such a file, or PFNN's demo ``.bin`` folder.

File contents: ``mtk_pfnn`` (format version), ``controls`` {W0, W1, W2, b0, b1, b2: float32 tensors
(4, out, in) / (4, out)}, ``norm`` {Xmean, Xstd, Ymean, Ystd: float64 tensors}, ``meta`` (a plain dict:
:meth:`mtk.pfnn.meta.NetworkMeta.document`). A training checkpoint adds ``optimizer``, ``step``, ``train``
and ``metrics``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line
from mtk.formats.limits import refuse_zip_bomb
from mtk.pfnn.meta import NetworkMeta
from mtk.pfnn.weights import NORM_NAMES, PARAM_NAMES, PfnnWeights

FORMAT_VERSION = 1
LATEST = "net_latest.pth"
BEST = "net_best.pth"


def network_document(weights: PfnnWeights, **extra: Any) -> dict[str, Any]:
    """The dict a network file holds (tensors for arrays)."""
    import torch

    return {"mtk_pfnn": FORMAT_VERSION,
            "controls": {n: torch.as_tensor(np.asarray(weights.controls[n], dtype=np.float32)) for n in PARAM_NAMES},
            "norm": {n: torch.as_tensor(np.asarray(weights.norm[n], dtype=np.float64)) for n in NORM_NAMES},
            "meta": weights.meta.document(), **extra}


def save_network(path: str | Path, weights: PfnnWeights, **extra: Any) -> None:
    """Write a network file atomically (temporary sibling, then rename)."""
    from mtk.io.atomic import atomic_file, torch_save

    path = Path(path)
    with atomic_file(path) as tmp:
        torch_save(network_document(weights, **extra), tmp)


def read_document(path: str | Path) -> dict[str, Any]:
    """A network file's dict, loaded weights-only (nothing is unpickled), with one-line errors."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise MtkError(path, "no such network file", "give a run folder, a .pth from `mtk pfnn train`/`import` "
                       "or a folder of PFNN .bin files")
    refuse_zip_bomb(path)
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for foreign or broken files
        raise BadInputError(path, f"is not a weights-only torch file: {first_line(err)[:200]}") from None
    if not isinstance(document, dict) or document.get("mtk_pfnn") != FORMAT_VERSION:
        raise BadInputError(path, "is not an mtk PFNN network file", "write one with `mtk pfnn train` or `import`")
    return document


def weights_from_document(document: dict[str, Any], path: str | Path) -> PfnnWeights:
    try:
        controls = {n: document["controls"][n].detach().cpu().numpy() for n in PARAM_NAMES}
        norm = {n: document["norm"][n].detach().cpu().numpy().astype(np.float64) for n in NORM_NAMES}
        x_dim, y_dim = controls["W0"].shape[-1], controls["W2"].shape[-2]
        weights = PfnnWeights(controls, norm, NetworkMeta.from_document(document.get("meta"), x_dim, y_dim, str(path)))
        weights.check()
    except (KeyError, AttributeError, TypeError, ValueError) as err:
        raise BadInputError(path, f"is not a usable PFNN network: {first_line(err)}") from None
    return weights


def run_network(folder: Path) -> Path:
    """The network of a run folder: net_best.pth, else net_latest.pth."""
    for name in (BEST, LATEST):
        if (folder / name).is_file():
            return folder / name
    raise MtkError(folder, f"holds no {BEST} or {LATEST}", "train into it with `mtk pfnn train`")


def load_network(path: str | Path) -> PfnnWeights:
    """A NETWORK argument: a run folder, an mtk network file, or PFNN's demo .bin folder."""
    from mtk.pfnn.exchange import import_demo, is_demo_folder

    path = Path(path)
    if path.is_dir():
        if is_demo_folder(path):
            return import_demo(path)
        path = run_network(path)
    return weights_from_document(read_document(path), path)
