"""``mtk metrics``: generated motion against a reference split (FID, R-precision, MM-Dist, diversity,
multimodality), with the papers' evaluators and protocol."""

from __future__ import annotations

import click

from mtk.cli.common import emit_json, json_option, layout_option, progress_bar, tree_layout, tree_options
from mtk.cli.metrics_options import EVALUATOR_METRICS, evaluator_options, print_table, selected

GENERATED_METRICS = (*EVALUATOR_METRICS, "multimodality")


@click.command("metrics")
@click.argument("generated")
@click.argument("reference")
@click.option("--split", default="test", show_default=True, help="The reference split.")
@click.option("--metrics", "metrics", default="all", show_default=True, metavar="LIST",
              help=f"Comma-separated: {', '.join(GENERATED_METRICS)}, or all.")
@evaluator_options
@click.option("--generated-layout", metavar="L", default=None,
              help="Read GENERATED as a plain tree of .npy files of this layout (default: detected).")
@layout_option
@tree_options
@json_option
def metrics_command(generated: str, reference: str, split: str, metrics: str, evaluator: str | None,
                    glove: str | None, text_model: str | None, replications: int, seed: int,
                    generated_layout: str | None, layout: str | None, as_dataset: bool, splits: str | None,
                    as_json: bool) -> None:
    """Measure GENERATED motion against the REFERENCE split as text-to-motion papers do.

    \b
    GENERATED is a dataset of denormalized features in the reference's layout (a folder of .npy files with
    texts/<name>.txt, or any store mtk reads). Each motion's first text line is the prompt it was
    generated from: a HumanML3D line (caption#word/POS ...#0.0#0.0), or the plain caption of a reference
    text. Several motions with the same prompt are repeated generations (multimodality needs more than 10
    per prompt; the papers use 30 for 100 prompts).

    \b
    Examples:
      mtk metrics gen/ HumanML3D/ --evaluator checkpoints/t2m --glove glove/
      mtk metrics gen.zarr mm.zarr --evaluator evaluator_272/ --text-model distilbert-base-uncased/
      mtk metrics gen/ HumanML3D/ --evaluator checkpoints/t2m --glove glove/ --metrics fid,diversity --json

    Replication r shuffles the reference into batches of 32, draws a caption and a crop for each reference
    motion and reorders the generations, with RandomState(seed + r); figures are the mean and
    1.96·std/sqrt(replications) over replications. See docs/metrics.md.
    """
    from mtk.metrics.generated import evaluate_generated
    from mtk.metrics.protocol import parse_metrics

    chosen = parse_metrics(metrics, GENERATED_METRICS)
    if evaluator is None:
        raise click.UsageError("give --evaluator DIR (docs/metrics.md says what to download)")
    with_text = bool({"rprecision", "mmdist"} & set(chosen))
    with progress_bar("replications", replications) as advance:
        result = evaluate_generated(generated, reference, evaluator, split=split, glove=glove, text_model=text_model,
                                    replications=replications, seed=seed, with_text=with_text,
                                    layout=tree_layout(reference, layout, as_dataset, splits), splits=splits,
                                    generated_layout=generated_layout, on_progress=advance)
    if as_json:
        emit_json(selected(result, chosen))
        return
    from mtk.cli.common import console

    console().print(f"[bold]{generated}[/bold]: {result['generated_motions']} generated motions vs {reference} "
                    f"({split}, {result['reference_motions']} motions)")
    if "multimodality" in chosen and not result["multimodality_prompts"]:
        console().print("  multimodality: no prompt has more than 10 generations")
    print_table(result, chosen, "generated")
