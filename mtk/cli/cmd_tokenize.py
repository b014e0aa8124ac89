"""``mtk tokenize`` and ``mtk detokenize``."""

from __future__ import annotations

from functools import partial

import click

from mtk.cli.numbers import BATCH
from mtk.cli.common import RegistryChoice, layout_option, print_summary, progress_bar, tree_layout, tree_options


def format_names(kind: str, writable: bool = False) -> list[str]:
    """The registered formats of ``kind``: the ``--format`` choices."""
    from mtk.formats import registry

    return registry.names(kind, writable)  # type: ignore[arg-type]

ckpt_option = click.option("--ckpt", required=True, metavar="CKPT",
                           help="Tokenizer checkpoint: mtk's, or MotionMillion's {'net': ...} as it is.")
mean_option = click.option("--mean", metavar="MEAN.npy", default=None, help="Normalisation mean (with --std).")
std_option = click.option("--std", metavar="STD.npy", default=None, help="Normalisation std (with --mean).")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace existing outputs.")


@click.command("tokenize")
@click.argument("dataset")
@ckpt_option
@click.option("--out", required=True, metavar="DIR", help="Code folder (motionmillion) or tokens store (zarr).")
@click.option("--split", default="all", show_default=True, help="Which motions: all, train, val, test ...")
@click.option("--format", "format", type=RegistryChoice(partial(format_names, "tokens")), default="motionmillion",
              show_default=True, help="Tokens format.")
@click.option("--batch-size", type=BATCH, default=64, show_default=True,
              help="Motions encoded together (similar lengths are batched; codes equal one-at-a-time).")
@mean_option
@std_option
@layout_option
@tree_options
@overwrite_option
@click.option("--resume", is_flag=True,
              help="Continue a killed run: reuse the batches it journaled (same dataset, checkpoint and options).")
def tokenize_command(dataset: str, ckpt: str, out: str, split: str, format: str, batch_size: int,
                     mean: str | None, std: str | None, layout: str | None, as_dataset: bool, splits: str | None,
                     overwrite: bool, resume: bool) -> int:
    """Encode every motion of DATASET into tokens with a tokenizer checkpoint.

    Motions are normalised with --mean/--std, else the checkpoint's stats (as `mtk tokenizer eval`), else the
    dataset's (MotionMillion checkpoints carry none), and cropped from their start to a multiple of the
    model's unit length. --split all (the default) takes every motion of DATASET.

    \b
    --format motionmillion writes what MotionMillion's get-codes script writes:
      DIR/<name>.npy         int32 (1, L) codes, no end token
      DIR_prob.npy           code frequencies (torch.save, K+2 values, end token counted once per motion)
      all_data.pkl           beside DIR: texts, codes and names for the T2M training loader
    --format zarr writes one tokens store (codes, offsets, names, texts, counts).

    \b
    Examples:
      mtk tokenize data/MotionMillion --ckpt fsq_net_6000000.pth --out data/MotionMillion/VQVAE_codebook_65536_FSQ_all
      mtk tokenize sample.zarr --ckpt run/best.pt --out tokens.zarr --format zarr
      mtk tokenize sample.zarr --ckpt run/best.pt --out tokens.zarr --format zarr --resume   # after a kill
      mtk tokenize release/ --layout smpl272 --ckpt fsq.pth --out release_codes   # a tree of .npy files
      accelerate launch --multi_gpu --num_processes 4 -m mtk tokenize big.zarr --ckpt run/best.pt \\
          --out tokens.zarr --format zarr       # one shard per process, merged by the main one
    """
    from mtk.tokenizer.tokenize import tokenize_dataset

    with progress_bar("encoding", None) as advance:
        summary = tokenize_dataset(dataset, ckpt, out, format=format, split=split, batch_size=batch_size,
                                   mean=mean, std=std, overwrite=overwrite, resume=resume, on_progress=advance,
                                   layout=tree_layout(dataset, layout, as_dataset, splits), splits=splits)
    print_summary(summary)
    return 0


@click.command("detokenize")
@click.argument("tokens")
@ckpt_option
@click.option("--out", required=True, metavar="DST", help="Dataset to write: a folder, a .zarr store or an .h5 file.")
@click.option("--format", "format", type=RegistryChoice(partial(format_names, "dataset", writable=True)), default=None,
              help="Dataset format (default: from DST's suffix, else an npy folder).")
@mean_option
@std_option
@overwrite_option
def detokenize_command(tokens: str, ckpt: str, out: str, format: str | None, mean: str | None, std: str | None,
                       overwrite: bool) -> int:
    """Decode TOKENS back to features: a code folder, an all_data.pkl or a tokens .zarr store.

    De-normalises with --mean/--std, else the stats stored with the tokens, else the checkpoint's.

    \b
    Examples:
      mtk detokenize tokens.zarr --ckpt run/best.pt --out decoded.zarr
      mtk detokenize MotionMillion/VQVAE_codebook_65536_FSQ_all --ckpt fsq.pth --out decoded --mean m.npy --std s.npy
    """
    from mtk.tokenizer.tokenize import detokenize

    with progress_bar("decoding", None) as advance:
        summary = detokenize(tokens, ckpt, out, format=format, mean=mean, std=std, overwrite=overwrite,
                             on_progress=advance)
    print_summary(summary)
    return 0
