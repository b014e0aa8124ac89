"""A Zarr v3 tokens store: every motion's codes in one array, cut by offsets.

::

    tokens.zarr/     attributes: mtk_format=1, kind="tokens", codebook_size, unit_length, layout, fps,
                                 count, total_tokens, codes_per_step, end_token, pad_token, created_by
      codes    (total_tokens,) uint16 when codebook_size + 2 <= 65536, else int32;
               (total_tokens, Q) when the tokenizer makes Q codes per step (codes_per_step; absent means 1)
      offsets  (count + 1,) int64       motion i = codes[offsets[i]:offsets[i+1]]
      names    (count,) str
      texts    (count,) str             a motion's text lines joined by "\\n"
      counts   (codebook_size + 2,) int64   code frequencies, end token counted once per motion, pad 0
      stats/mean, stats/std  (D,) float32   the normalisation used when encoding (when known)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mtk.errors import DECODE_ERRORS, BadInputError, MtkError, damaged_input
from mtk.formats.base import TokenReader, TokenWriter
from mtk.formats.model import Stats
from mtk.formats.ragged_store import TEXT_CHUNKS_ATTR, created_by, join_texts, split_texts
from mtk.formats.registry import register_format
from mtk.formats.tokens import MAX_CODEBOOK, TokenSet, as_codes
from mtk.formats.zarr_store import first_missing_shard, missing_shard, open_store, refuse_oversized
from mtk.io.destination import is_url
from mtk.io.names import check_names
from mtk.io.small_text import read_small_text

KIND = "tokens"
CODE_CHUNK = 1 << 20
NAME_CHUNK = 1 << 16


def code_dtype(codebook_size: int) -> np.dtype:
    """uint16 when every token including end and pad fits, else int32."""
    return np.dtype(np.uint16 if codebook_size + 2 <= 65536 else np.int32)


def detect(path: str) -> bool:
    """A Zarr group (local path or fsspec URL) whose attributes say ``kind: tokens``."""
    text = str(path).rstrip("/")
    try:
        if is_url(text):
            import fsspec

            with fsspec.open(f"{text}/zarr.json", "rb") as handle:
                meta = json.loads(handle.read())
        else:
            content = read_small_text(Path(text) / "zarr.json", missing_ok=True)
            if content is None:
                return False
            meta = json.loads(content)
    except (OSError, ValueError, ImportError, MtkError):  # ImportError: no fsspec backend for the URL's protocol
        return False
    return isinstance(meta, dict) and isinstance(meta.get("attributes"), dict) and meta["attributes"].get("kind") == KIND


def write(path: str | Path, tokens: TokenSet, overwrite: bool = False) -> str:
    """Write ``tokens`` as a tokens store at ``path`` (atomically: a temporary sibling, then a rename)."""
    import zarr

    from mtk.io.destination import prepare

    if tokens.codebook_size is None:
        raise MtkError(path, "cannot write tokens without a codebook size")
    counts = tokens.frequencies()
    lengths = tokens.lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    dtype = code_dtype(tokens.codebook_size)
    per_step = tokens.codes_per_step
    step = () if per_step == 1 else (per_step,)
    codes = (np.concatenate([np.asarray(c) for c in tokens.codes]).astype(dtype) if len(tokens)
             else np.zeros((0, *step), dtype))
    with prepare(path, overwrite=overwrite, urls=True) as dest:
        group = zarr.open_group(dest.partial, mode="w")
        group.create_array("codes", data=codes, chunks=(max(CODE_CHUNK // per_step, 1), *step))
        group.create_array("offsets", data=offsets, chunks=(max(len(offsets), 1),))
        group.create_array("counts", data=counts, chunks=(len(counts),))
        for key, values in (("names", tokens.names), ("texts", [join_texts(t) for t in tokens.texts])):
            array = group.create_array(key, shape=(len(values),), dtype=str, chunks=(NAME_CHUNK,),
                                       config={"write_empty_chunks": True})  # every chunk: see TEXT_CHUNKS_ATTR
            if values:
                array[:] = np.array(values, dtype=object)
        if tokens.stats is not None:
            for key in ("mean", "std"):
                group.create_array(f"stats/{key}", data=np.asarray(getattr(tokens.stats, key), dtype=np.float32))
        group.attrs.update({
            "mtk_format": 1, "kind": KIND, "codebook_size": tokens.codebook_size,
            "unit_length": tokens.unit_length, "layout": tokens.layout, "fps": tokens.fps,
            "count": len(tokens), "total_tokens": int(lengths.sum()), "codes_per_step": per_step,
            "end_token": tokens.codebook_size,
            "pad_token": tokens.codebook_size + 1, "created_by": created_by(), TEXT_CHUNKS_ATTR: True,
        })
    return f"wrote {len(tokens)} motions ({int(lengths.sum())} tokens, {dtype}) to {path}"


def read(path: str | Path) -> TokenSet:
    """Read a tokens store written by :func:`write`."""
    try:
        group, tree = open_store(str(path))
        attrs = dict(group.attrs)

        def whole(key: str) -> np.ndarray:
            refuse_oversized(group[key], tree, key)
            return group[key][:]

        for key in ("codes", "offsets", "names", *(("texts",) if attrs.get(TEXT_CHUNKS_ATTR) else ())):
            if missing := first_missing_shard(group[key], tree, key):
                raise missing_shard(f"{path}/{key}/{missing}", f"{key} declares more rows than its files hold")
        codes = whole("codes")
        offsets = whole("offsets").astype(np.int64)
        names = [str(n) for n in whole("names")]
        texts = [split_texts(str(t)) for t in whole("texts")]
        stats = None
        if "stats" in group:
            stats = Stats(np.asarray(whole("stats/mean")), np.asarray(whole("stats/std")))
    except DECODE_ERRORS as err:
        raise BadInputError(path, f"is not a readable tokens store: {err}", "it may be incomplete") from None
    if len(offsets) != len(names) + 1 or offsets[0] != 0 or offsets[-1] != len(codes) or (np.diff(offsets) < 0).any():
        raise BadInputError(path, "has offsets that do not cut codes into one run per name")
    check_names(names, path)
    if len(texts) != len(names):
        raise BadInputError(path, f"has {len(texts)} texts for {len(names)} names")
    for key, top in (("codebook_size", MAX_CODEBOOK), ("unit_length", 2**16), ("codes_per_step", 2**8)):
        value = attrs.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top):
            raise BadInputError(path, f"has attribute {key}={value!r}; expected an integer in [1, {top}]")
    codes = as_codes(codes, path, per_step=attrs.get("codes_per_step") or 1)
    return TokenSet(names, [codes[a:b] for a, b in zip(offsets[:-1], offsets[1:])], texts,
                    codebook_size=attrs.get("codebook_size"), unit_length=attrs.get("unit_length"),
                    layout=attrs.get("layout"), fps=attrs.get("fps"), stats=stats)


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Describe a tokens store, checking its stored counts against its codes."""
    from mtk.analysis.codebook import code_counts, describe_tokens

    tokens = read(path)
    size = tokens.codebook_size or 0
    report = describe_tokens(str(path), tokens.lengths, code_counts(tokens.codes, size), tokens.codebook_size,
                             tokens.unit_length)
    report.details["format"] = "zarr"
    report.details["codes_per_step"] = tokens.codes_per_step
    report.layout, report.fps = tokens.layout, tokens.fps
    if tokens.codebook_size and not report.has_errors:
        with damaged_input(path):
            group, tree = open_store(str(path))
            refuse_oversized(group["counts"], tree, "counts")
            stored = group["counts"][:]
        if not np.array_equal(stored, tokens.frequencies()):
            report.add("error", "counts_mismatch", "the stored counts do not match the codes")
    return report


class ZarrTokens(TokenReader, TokenWriter):
    """The tokens store behind the :class:`TokenReader` / :class:`TokenWriter` contracts."""

    read = staticmethod(read)
    write = staticmethod(write)
    writes_urls = True
    writes_several_codes = True


register_format("zarr", "tokens", "a Zarr tokens store (codes, offsets, names, texts, counts)", "a tokens .zarr",
                detect, suffixes=(".zarr",), reader=ZarrTokens(), writer=ZarrTokens(), inspect=inspect, order=10)
