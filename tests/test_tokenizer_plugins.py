"""A quantizer is one module file: dropped into mtk/tokenizer/quantizers/ of a copy of the package (never
imported or registered by the test), it is trained, tokenizes, and its several codes per step travel as
``(L, Q)`` code arrays through the tokens store and back through the decoder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from mtk.formats.tokens import read_tokens

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = r"""
import json, sys

import numpy as np
import torch

from mtk.testing import run_cli

def run(*args):
    done = run_cli(*args)
    return [done.code, done.stdout, done.stderr]

work = sys.argv[1]
runs = {
    "help": run("tokenizer", "train", "--help"),
    "sample": run("sample", f"{work}/data", "--count", "12", "--seed", "0"),
    "train": run("tokenizer", "train", f"{work}/data", "--out", f"{work}/run", "--preset", "tiny", "--quantizer",
                 "rvq", "--stages", "3", "--codebook-size", "32", "--iters", "4", "--eval-every", "4",
                 "--save-every", "4", "--batch-size", "4", "--window", "32", "--warmup", "1", "--workers", "0"),
    "tokenize": run("tokenize", f"{work}/data", "--ckpt", f"{work}/run/net_latest.pth", "--out",
                    f"{work}/tokens.zarr", "--format", "zarr"),
    "one_code_format": run("tokenize", f"{work}/data", "--ckpt", f"{work}/run/net_latest.pth", "--out",
                           f"{work}/codes"),
    "inspect": run("inspect", f"{work}/tokens.zarr", "--json"),
    "detokenize": run("detokenize", f"{work}/tokens.zarr", "--ckpt", f"{work}/run/net_latest.pth", "--out",
                      f"{work}/decoded"),
}

from mtk.formats.datasets import open_dataset
from mtk.formats.tokens import read_tokens
from mtk.tokenizer import load_checkpoint
from mtk.tokenizer.encode import cropped_frames, normalize

model, _ = load_checkpoint(f"{work}/run/net_latest.pth")
tokens = read_tokens(f"{work}/tokens.zarr")
motion = open_dataset(f"{work}/data").read(tokens.names[0])
frames = cropped_frames(len(motion.features), model.unit_length)
x = normalize(motion.features[:frames], tokens.stats.mean, tokens.stats.std)
with torch.inference_mode():
    alone = model.encode(torch.from_numpy(x)[None])[0].numpy()
    decoded = model.decode(torch.from_numpy(tokens.codes[0].astype(np.int64))[None])[0].numpy()
stored = open_dataset(f"{work}/decoded").read(tokens.names[0]).features
from mtk.testing import check_quantizer

check_quantizer("rvq", work)  # the kit a plugin's author runs
runs["checks"] = {"codes_equal_alone": bool(np.array_equal(alone, tokens.codes[0])),
                  "decoded_max_error": float(np.abs(decoded * tokens.stats.std + tokens.stats.mean - stored).max()),
                  "quantizer": type(model.quantizer).__name__, "codes_per_step": model.codes_per_step}
print(json.dumps(runs))
"""


def test_a_quantizer_file_dropped_into_the_package_trains_and_tokenizes(tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(ROOT / "mtk", package / "mtk", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests" / "toy_residual.py", package / "mtk" / "tokenizer" / "quantizers" / "rvq.py")
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(work)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(package), "PATH": "", "ACCELERATE_USE_CPU": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    checks = runs.pop("checks")
    refused = runs.pop("one_code_format")
    for step, (code, _, err) in runs.items():
        assert code == 0, f"{step}: {err}"
    assert "rvq: residual VQ" in runs["help"][1] and "--stages" in runs["help"][1]
    assert refused[0] == 2 and "use --format zarr" in refused[2] and len(refused[2].splitlines()) == 1

    tokens = read_tokens(work / "tokens.zarr")  # this process knows no rvq: the store alone carries (L, Q)
    assert tokens.codes_per_step == 3 and len(tokens) == 12
    assert all(c.ndim == 2 and c.shape[1] == 3 and c.max() < 32 for c in tokens.codes)
    assert json.loads(runs["inspect"][1])["details"]["codes_per_step"] == 3
    assert checks == {"codes_equal_alone": True, "decoded_max_error": checks["decoded_max_error"],
                      "quantizer": "ResidualVQ", "codes_per_step": 3}
    assert checks["decoded_max_error"] < 1e-4
    np.testing.assert_array_equal(read_tokens(work / "tokens.zarr").lengths, tokens.lengths)
