"""MotionMillion's tokens layout, as written by its get-codes script and read by its T2M data loader.

::

    ROOT/CODES/<name>.npy   int32 (1, L) codes of one motion, no end token (``/`` in names makes subfolders)
    ROOT/CODES_prob.npy     torch.save of a float32 tensor (K+2,): code frequencies, the end token K counted
                            once per motion, pad K+1 zero (a torch pickle despite the .npy name)
    ROOT/all_data.pkl       {"text_data": {name: [lines with "\\n"]}, "code_data": {name: int32 (1, L)},
                             "file_names": [names]}

``all_data.pkl`` is read back only through :mod:`mtk.io.safe_pickle`, the prob file only with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line
from mtk.formats.base import TokenReader, TokenWriter
from mtk.formats.registry import register_format
from mtk.formats.tokens import MAX_CODEBOOK, TokenSet, as_codes
from mtk.io.contained import Root
from mtk.io.names import check_name, check_names, output_path

PICKLE_NAME = "all_data.pkl"
PROB_SUFFIX = "_prob.npy"


def prob_path(folder: str | Path) -> Path:
    """``ROOT/CODES`` -> ``ROOT/CODES_prob.npy``."""
    folder = Path(folder)
    return folder.with_name(folder.name + PROB_SUFFIX)


def pickle_path(folder: str | Path) -> Path:
    """``ROOT/CODES`` -> ``ROOT/all_data.pkl``, where MotionMillion's loader looks for it."""
    return Path(folder).parent / PICKLE_NAME


class _Numpy1Pickler(pickle._Pickler):
    """A pickler that names numpy's array reconstructor by its numpy 1.x path, ``numpy.core.multiarray``.

    numpy 2 writes ``numpy._core.multiarray``, which numpy 1.x (MotionMillion pins 1.22) cannot import; the
    1.x path still loads under numpy 2.
    """

    def save_global(self, obj, name=None):
        if obj is np._core.multiarray._reconstruct:
            self.save("numpy.core.multiarray")
            self.save("_reconstruct")
            self.write(pickle.STACK_GLOBAL)
            self.memoize(obj)
            return
        super().save_global(obj, name)


def detect(path: str) -> bool:
    """A code folder with its ``_prob.npy`` sibling, that prob file, or a ``.pkl`` file."""
    p = Path(path)
    if p.is_dir():
        return prob_path(p).is_file()
    if p.is_file() and p.suffix == ".pkl":
        return True
    return p.is_file() and p.name.endswith(PROB_SUFFIX) and (p.parent / p.name[:-len(PROB_SUFFIX)]).is_dir()


# ---------------------------------------------------------------------------------------------------- writing


def refuse_shared_pickle(folder: Path) -> None:
    """Refuse a code folder whose parent holds another code folder (a ``<name>_prob.npy`` beside its
    ``<name>/``): the one ``all_data.pkl`` beside them, which MotionMillion's loader reads, would describe
    only the last one written."""
    for prob in sorted(folder.parent.glob(f"*{PROB_SUFFIX}")):
        other = prob.with_name(prob.name[:-len(PROB_SUFFIX)])
        if other != folder and other.is_dir():
            raise MtkError(pickle_path(folder), f"would be shared by the code folders {other.name} and "
                           f"{folder.name} (one all_data.pkl per folder, as MotionMillion's loader reads it)",
                           f"write {folder.name} into a folder of its own")


def write(path: str | Path, tokens: TokenSet, overwrite: bool = False) -> str:
    """Write the code folder ``path``, its prob file and ``all_data.pkl`` beside it, each atomically."""
    import torch

    from mtk.io.atomic import refuse_existing, torch_save, write_together

    folder = Path(path).absolute()
    targets = (folder, prob_path(folder), pickle_path(folder))
    for target in targets:
        refuse_existing(target, overwrite)
    refuse_shared_pickle(folder)
    check_names(tokens.names, folder)
    counts = tokens.frequencies()
    code_arrays = [np.asarray(c, dtype=np.int32)[None, :] for c in tokens.codes]

    def write_codes(staged: Path) -> None:
        for name, array in zip(tokens.names, code_arrays, strict=True):
            file = output_path(staged, name, ".npy")
            file.parent.mkdir(parents=True, exist_ok=True)
            np.save(file, array, allow_pickle=False)

    def write_prob(staged: Path) -> None:
        torch_save(torch.from_numpy(counts).float() / max(int(counts.sum()), 1), staged)

    def write_pickle(staged: Path) -> None:
        document = {"text_data": {n: [f"{line}\n" for line in t] for n, t in zip(tokens.names, tokens.texts)},
                    "code_data": dict(zip(tokens.names, code_arrays)), "file_names": list(tokens.names)}
        with open(staged, "wb") as handle:
            _Numpy1Pickler(handle, protocol=4).dump(document)

    write_together(folder, dict(zip(targets, (write_codes, write_prob, write_pickle))), folders=(folder,))
    return (f"wrote {len(tokens)} code files ({int(tokens.lengths.sum())} tokens) to {path}, "
            f"{targets[1].name} and {targets[2].name}")


# ---------------------------------------------------------------------------------------------------- reading


def read_prob(path: str | Path) -> np.ndarray:
    """The frequency vector (K+2,) of a ``_prob.npy`` file, loaded with ``torch.load(weights_only=True)``."""
    import torch

    from mtk.formats.limits import refuse_zip_bomb

    refuse_zip_bomb(path)
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad or unsafe file
        first = first_line(err)
        raise BadInputError(path, f"is not a readable frequency file: {first}",
                            "expected torch.save of a float tensor (K+2,)") from None
    if not isinstance(value, torch.Tensor) or value.ndim != 1 or not value.is_floating_point() \
            or not 3 <= len(value) <= MAX_CODEBOOK + 2:
        raise BadInputError(path, "does not hold a 1-D float tensor of code frequencies (K+2 values)")
    return value.double().numpy()


def _text_lines(lines: object, where: Path) -> list[str]:
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise BadInputError(where, "has text_data entries that are not lists of str")
    return [line[:-1] if line.endswith("\n") else line for line in lines]


def read_pickle(path: str | Path) -> tuple[list[str], dict[str, np.ndarray], dict[str, list[str]]]:
    """(file_names, code_data, text_data with line endings removed) of an ``all_data.pkl``."""
    from mtk.io.safe_pickle import safe_load

    path = Path(path)
    data = safe_load(path)
    if not isinstance(data, dict) or not {"code_data", "file_names"} <= set(data):
        raise BadInputError(path, "is not a MotionMillion all_data.pkl",
                            "expected a dict with text_data, code_data and file_names")
    names, code_data, text_data = data["file_names"], data["code_data"], data.get("text_data", {})
    if not isinstance(names, list) or not isinstance(code_data, dict) or not isinstance(text_data, dict):
        raise BadInputError(path, "has file_names, code_data or text_data of the wrong type")
    names = check_names(names, path)
    codes = {check_name(n, path): as_codes(c, f"{path} [{n}]") for n, c in code_data.items()}
    texts = {check_name(n, path): _text_lines(t, path) for n, t in text_data.items()}
    return names, codes, texts


def _folder_names(folder: Path, guard: Root) -> list[str]:
    """The motion names of a code folder's ``.npy`` files (hidden ones skipped, links leaving it refused)."""
    from mtk.formats.npy_folder import scan_names

    return scan_names(folder, recursive=True, guard=guard)


def _codebook_size_near(pkl: Path) -> int | None:
    """K from the one ``*_prob.npy`` beside a pickle (None when there is none or several)."""
    probs = sorted(pkl.parent.glob(f"*{PROB_SUFFIX}"))
    return len(read_prob(probs[0])) - 2 if len(probs) == 1 else None


def read(path: str | Path) -> TokenSet:
    """Tokens from a code folder (texts from ``all_data.pkl`` beside it when it matches), its prob file,
    or an ``all_data.pkl``."""
    from mtk.formats.arrays import load_npy

    p = Path(path)
    if p.is_file() and p.suffix == ".pkl":
        names, codes, texts = read_pickle(p)
        missing = [n for n in names if n not in codes]
        if missing:
            raise BadInputError(p, f"lists {len(missing)} file_names without code_data (e.g. {missing[0]!r})")
        return TokenSet(names, [codes[n] for n in names], [texts.get(n, []) for n in names],
                        codebook_size=_codebook_size_near(p))
    folder = p.parent / p.name[:-len(PROB_SUFFIX)] if p.name.endswith(PROB_SUFFIX) else p
    if not folder.is_dir():
        raise MtkError(folder, "no such folder", "check the path")
    guard, beside = Root(folder, "the code folder"), Root(folder.parent, "the code folder's parent")
    names = _folder_names(folder, guard)
    texts: dict[str, list[str]] = {}
    pkl = beside.check(pickle_path(folder))
    if pkl.is_file():
        pkl_names, _, texts = read_pickle(pkl)
        if set(pkl_names) == set(names):
            names = pkl_names
    codes = [as_codes(load_npy(guard.check(folder / f"{n}.npy")), folder / f"{n}.npy") for n in names]
    prob = beside.check(prob_path(folder))
    size = len(read_prob(prob)) - 2 if prob.is_file() else None
    return TokenSet(names, codes, [texts.get(n, []) for n in names], codebook_size=size)


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Describe tokens: motions, token counts, codebook usage, perplexity, most frequent codes; check the
    prob file and pickle against the codes."""
    from mtk.analysis.codebook import code_counts, describe_tokens

    tokens = read(path)
    size = tokens.codebook_size or 0
    report = describe_tokens(str(path), tokens.lengths, code_counts(tokens.codes, size), tokens.codebook_size)
    report.details["format"] = "motionmillion"
    p = Path(path)
    folder = None if p.suffix == ".pkl" else (p.parent / p.name[:-len(PROB_SUFFIX)] if p.is_file() else p)
    if folder is not None and tokens.codebook_size and not report.has_errors:
        stored = read_prob(prob_path(folder))
        counts = tokens.frequencies()
        expected = counts / max(int(counts.sum()), 1)
        if stored.shape != expected.shape or not np.allclose(stored, expected, rtol=1e-5, atol=1e-9):
            report.add("error", "prob_mismatch", f"{prob_path(folder).name} does not match the code files' "
                       "frequencies (re-run mtk tokenize)")
    untexted = sum(1 for t in tokens.texts if not any(line.strip() for line in t))
    if untexted:
        report.add("warning", "no_text", f"{untexted} motion(s) have no text; MotionMillion's T2M loader skips them")
    return report


class MotionMillionTokens(TokenReader, TokenWriter):
    """MotionMillion's layout behind the :class:`TokenReader` / :class:`TokenWriter` contracts."""

    read = staticmethod(read)
    write = staticmethod(write)

    def outputs(self, path: str | Path) -> list[Path]:
        """The code folder, its ``_prob.npy`` and the ``all_data.pkl`` beside it."""
        return [Path(path), prob_path(path), pickle_path(path)]

    def check(self, path: str | Path, overwrite: bool = False) -> None:
        """Existing outputs need ``overwrite``; another code folder beside this one is refused
        (:func:`refuse_shared_pickle`)."""
        super().check(path, overwrite)
        refuse_shared_pickle(Path(path).absolute())


register_format("motionmillion", "tokens", "MotionMillion tokens: a code folder with <folder>_prob.npy beside it, "
                "that file, or all_data.pkl", "a code folder with a <folder>_prob.npy beside it or an all_data.pkl",
                detect, reader=MotionMillionTokens(), writer=MotionMillionTokens(),
                inspect=inspect, order=20)
