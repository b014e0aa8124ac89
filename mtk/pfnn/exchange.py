"""PFNN's demo folder (``demo/network/pfnn/``): ``Xmean/Xstd/Ymean/Ystd.bin`` and the phase samples
``W0_NNN.bin`` ... ``b2_NNN.bin`` at phase NNN/50, raw little-endian float32, matrices (out, in) row-major.

Export evaluates the phase function at the 50 phases. Import solves the four control sets from the samples
present (four or more, least squares) and refuses samples that are not one Catmull-Rom blend of four
controls. Every file is untrusted: sizes are checked against the widths before anything is read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError
from mtk.pfnn.meta import NetworkMeta
from mtk.pfnn.phase_function import CONTROLS, DEMO_SAMPLES, control_weights, sample_phases
from mtk.pfnn.weights import NORM_NAMES, PARAM_NAMES, PfnnWeights, param_shapes

SAMPLE_FILE = re.compile(r"^(W0|W1|W2|b0|b1|b2)_(\d{3})\.bin$")
#: samples must agree with one blend of four controls to this relative residual
MAX_RESIDUAL = 1e-5
#: widths beyond this are refused before anything is read (PFNN's are 342 / 512 / 311): a hidden width of
#: 8192 already makes every W1 file 256 MiB
MAX_WIDTH = 8192
#: what mtk knows about the network (skeleton, frame rate, gait speeds), beside the .bin files; PFNN ignores it
SIDECAR = "mtk_network.json"
#: the meta entries the sidecar carries
SIDECAR_KEYS = ("skeleton", "rotations", "terrain", "fps", "gait_speeds", "root_height", "data_figures")
MAX_SIDECAR_BYTES = 1 << 20
FLOAT = np.dtype("<f4")


def is_demo_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "Xmean.bin").is_file() and any(SAMPLE_FILE.match(f.name) for f in p.iterdir())


def export_demo(weights: PfnnWeights, out: str | Path) -> list[Path]:
    """Write the 50 phase samples and the normalisation into the (existing, empty) folder ``out``."""
    out = Path(out)
    written = []
    meta = weights.meta.document()
    sidecar = out / SIDECAR
    sidecar.write_text(json.dumps({"mtk_pfnn": 1, "meta": {k: meta[k] for k in SIDECAR_KEYS}}, indent=1))
    written.append(sidecar)
    for name in NORM_NAMES:
        written.append(_write(out / f"{name}.bin", weights.norm[name]))
    for index, phase in enumerate(sample_phases()):
        for name, values in weights.at_phase(float(phase)).items():
            written.append(_write(out / f"{name}_{index:03d}.bin", values))
    return written


def export_demo_folder(weights: PfnnWeights, out: str | Path, overwrite: bool = False) -> list[str]:
    """:func:`export_demo` into a new folder ``out``, which appears complete or not at all; returns the names
    of the files written."""
    from mtk.io.destination import prepare

    with prepare(str(out), overwrite=overwrite) as dest:
        Path(dest.partial).mkdir(parents=True)
        written = export_demo(weights, dest.partial)
    return [path.name for path in written]


def _write(path: Path, values: np.ndarray) -> Path:
    np.ascontiguousarray(values, dtype=FLOAT).tofile(path)
    return path


def _width(path: Path) -> int:
    """The number of float32 values in ``path``, checked to be a whole, sane count."""
    if not path.is_file():
        raise BadInputError(path, "is missing", "a PFNN network folder holds Xmean/Xstd/Ymean/Ystd.bin")
    size = path.stat().st_size
    if size == 0 or size % FLOAT.itemsize or size // FLOAT.itemsize > MAX_WIDTH:
        raise BadInputError(path, f"has {size} bytes, not a float32 vector of 1 to {MAX_WIDTH} values")
    return size // FLOAT.itemsize


def _read(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    expected = int(np.prod(shape)) * FLOAT.itemsize
    size = path.stat().st_size
    if size != expected:
        raise BadInputError(path, f"has {size} bytes, expected {expected} for float32 {shape}",
                            "the folder's widths must agree (Xmean, Ymean and b0 set X, Y and the hidden width)")
    values = np.fromfile(path, dtype=FLOAT).reshape(shape)
    if not np.isfinite(values).all():
        raise BadInputError(path, "holds NaN or Inf values")
    return values


def _samples(folder: Path) -> dict[int, dict[str, Path]]:
    found: dict[int, dict[str, Path]] = {}
    for entry in folder.iterdir():
        match = SAMPLE_FILE.match(entry.name)
        if match and entry.is_file():
            index = int(match.group(2))
            if index >= DEMO_SAMPLES:
                raise BadInputError(entry, f"is sample {index}; PFNN's demo has samples 000 to {DEMO_SAMPLES - 1:03d}")
            found.setdefault(index, {})[match.group(1)] = entry
    for index, files in sorted(found.items()):
        missing = [n for n in PARAM_NAMES if n not in files]
        if missing:
            lacking = ", ".join(f"{m}_{index:03d}.bin" for m in missing)
            raise BadInputError(folder, f"sample {index:03d} lacks {lacking}")
    if len(found) < CONTROLS:
        raise BadInputError(folder, f"holds {len(found)} complete phase sample(s); four or more are needed",
                            "export all 50 with `mtk pfnn export` or PFNN's train_pfnn.py")
    return found


def solve_controls(phases: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares controls (4, ...) with ``control_weights(phases) @ controls ~ samples`` (n, ...), and
    the relative residual ||blend - samples|| / ||samples||."""
    A = control_weights(phases)
    flat = samples.reshape(len(samples), -1).astype(np.float64)
    if np.linalg.matrix_rank(A) < CONTROLS:
        raise ValueError("the samples' phases do not determine four controls")
    controls, *_ = np.linalg.lstsq(A, flat, rcond=None)
    scale = np.linalg.norm(flat)
    residual = float(np.linalg.norm(A @ controls - flat) / scale) if scale > 0 else 0.0
    return controls.reshape(CONTROLS, *samples.shape[1:]), residual


def _meta(folder: Path, x_dim: int, y_dim: int) -> NetworkMeta:
    """The sidecar's meta when ``mtk pfnn export`` wrote one (only :data:`SIDECAR_KEYS` are taken), else what
    the widths imply."""
    sidecar = folder / SIDECAR
    if not sidecar.is_file():
        return NetworkMeta.for_widths(x_dim, y_dim, str(folder))
    if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
        raise BadInputError(sidecar, f"is larger than {MAX_SIDECAR_BYTES} bytes")
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BadInputError(sidecar, f"is not valid JSON: {err}") from None
    meta = document.get("meta") if isinstance(document, dict) else None
    if isinstance(meta, dict):
        meta = {k: meta[k] for k in SIDECAR_KEYS if k in meta}
    found = NetworkMeta.from_document(meta, x_dim, y_dim, str(sidecar))
    found.source = str(folder)
    return found


def import_demo(folder: str | Path) -> PfnnWeights:
    """The network PFNN's demo folder holds (widths from Xmean.bin, Ymean.bin and b0; all sizes checked)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(folder, "is not a folder",
                            "give PFNN's demo/network/pfnn folder or `mtk pfnn export` output")
    x_dim, y_dim = _width(folder / "Xmean.bin"), _width(folder / "Ymean.bin")
    found = _samples(folder)
    hidden = _width(next(iter(found.values()))["b0"])
    shapes = param_shapes(x_dim, y_dim, hidden)
    norm = {name: _read(folder / f"{name}.bin", (x_dim if name[0] == "X" else y_dim,)).astype(np.float64)
            for name in NORM_NAMES}
    indices = sorted(found)
    phases = sample_phases(indices)
    controls = {}
    for name in PARAM_NAMES:
        stacked = np.stack([_read(found[i][name], shapes[name]) for i in indices])
        try:
            controls[name], residual = solve_controls(phases, stacked)
        except ValueError as err:
            raise BadInputError(folder, str(err)) from None
        if residual > MAX_RESIDUAL:
            raise BadInputError(folder, f"{name}'s samples are not one Catmull-Rom blend of four controls "
                                f"(relative residual {residual:.2e} > {MAX_RESIDUAL:g})",
                                "the samples must come from one PFNN network")
    weights = PfnnWeights(controls, norm, _meta(folder, x_dim, y_dim))
    try:
        weights.check()
    except ValueError as err:
        raise BadInputError(folder, str(err)) from None
    weights.meta.imported_samples = indices
    return weights

