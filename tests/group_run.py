"""What tests/test_processes.py runs under ``torchrun --nproc_per_node 2`` (a real gloo group on the CPU).

``python group_run.py SPEC.json``: SPEC names the data and an output folder. Every process runs the same mtk
commands in turn, through the CLI's own entry point (one-line errors, exit codes), with its stdout and
stderr saved per command and process; then it checks the quantizers' collectives directly. The test compares
everything with one process's results.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import torch


def mtk(out: Path, rank: int, name: str, *args: object) -> int:
    """``mtk ARGS`` in this process; stdout/stderr land in ``out/NAME.RANK.{out,err}``."""
    from mtk.cli import main

    with open(out / f"{name}.{rank}.out", "w") as stdout, open(out / f"{name}.{rank}.err", "w") as stderr, \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main([str(a) for a in args])
        except SystemExit as done:
            return int(done.code or 0)
    return 0


def quantizer_batches(steps: int, batch: int, dim: int, tokens: int) -> list[torch.Tensor]:
    """The global batches (2 x ``batch``, dim, tokens) the collective checks feed, the same everywhere."""
    return [torch.randn(2 * batch, dim, tokens, generator=torch.Generator().manual_seed(step)) for step in range(steps)]


QUANTIZER_CHECK = {"steps": 6, "batch": 4, "dim": 8, "tokens": 6, "codebook": 32, "bits": 5}


def run_quantizers(rank: int, world: int) -> dict[str, object]:
    """VQ fed its share of each global batch (EMA, resets), VQ-VAE's data-initialised codebook and LFQ's
    gradient on its share, on this process (``world`` 1: the whole batch). Returns the VQ state, its reset
    count, the VQ-VAE codebook and LFQ's averaged gradient."""
    from mtk.tokenizer.quantizers import LFQ, VQ, PlainVQ

    c = QUANTIZER_CHECK
    torch.manual_seed(0)
    vq = VQ(c["codebook"], c["dim"], decay=0.5).train()
    share = slice(rank * c["batch"] * 2 // world, (rank + 1) * c["batch"] * 2 // world)
    for batch in quantizer_batches(c["steps"], c["batch"], c["dim"], c["tokens"]):
        vq(batch[share] * (1 + 3 * (torch.arange(c["dim"]) < 2)[:, None]))  # uneven spread: codes die, are re-seeded
    torch.manual_seed(0)
    plain = PlainVQ(c["codebook"] * 4, c["dim"], codebook_init="data").train()  # more codes than rows: jitter
    plain(quantizer_batches(1, c["batch"], c["dim"], c["tokens"])[0][share])
    torch.manual_seed(0)
    lfq = LFQ(c["bits"], c["dim"])
    z = quantizer_batches(1, c["batch"], c["dim"], c["tokens"])[0][share]
    _, _, aux = lfq(z)
    aux.backward()
    grad = lfq.project_in.weight.grad.clone()
    if world > 1:  # DDP's average
        torch.distributed.all_reduce(grad)
        grad /= world
    return {"vq": {k: v.clone() for k, v in vq.state_dict().items()}, "reseeded": vq.codes_reseeded,
            "vqvae": plain.embedding.weight.detach().clone(), "lfq_grad": grad}


def check_quantizers(out: Path, rank: int, world: int) -> None:
    """Run :func:`run_quantizers` under the group; save rank 0's result and whether every process ended
    with the very same VQ state."""
    result = run_quantizers(rank, world)
    same = True
    for value in [*result["vq"].values(), result["vqvae"]]:
        copies = [torch.empty_like(value) for _ in range(world)]
        torch.distributed.all_gather(copies, value.contiguous())
        same &= all(torch.equal(copies[0], copy) for copy in copies)
    if rank == 0:
        torch.save({**result, "identical_on_every_process": same}, out / "quantizers.pt")


def main() -> None:
    from mtk.io.processes import start_group

    spec = json.loads(Path(sys.argv[1]).read_text())
    out = Path(spec["out"])
    group = start_group()  # the group every command below finds formed
    codes = {}
    for name, args in spec["commands"]:
        codes[name] = mtk(out, group.process_index, name, *args)
        group.wait_for_everyone()  # the next command may read what the main process just wrote
    check_quantizers(out, group.process_index, group.num_processes)
    (out / f"codes.{group.process_index}.json").write_text(json.dumps(codes))


if __name__ == "__main__":
    main()
