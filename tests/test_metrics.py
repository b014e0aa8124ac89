"""The paper metrics: statistics and Guo et al.'s evaluator against numbers from the original code, the
protocol, and the ``mtk metrics`` / ``mtk tokenizer eval --metrics`` commands.

Reference numbers come from running T2M-GPT's ``utils/eval_trans.py`` (metric functions), its
``models/modules.py`` and ``evaluator_wrapper.get_co_embeddings`` with ``utils/word_vectorizer.py`` and the
token handling of ``dataset/dataset_TM_eval.py`` (Mael-zys/T2M-GPT) outside this repository, on the inputs and
seeded checkpoints the tests below rebuild (``tests/metrics_factories.py`` states the seeding rule).
"""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import torch

from mtk.errors import BadInputError, MtkError
from mtk.metrics import statistics as S
from mtk.metrics.words import POS_CLASSES, WordVectors, encoder_tokens, parse_caption
from mtk.cli import main
from mtk.cli.metrics_options import print_table
from tests.metrics_factories import write_glove, write_t2m_evaluator


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.exit_code, self.output, self.stderr = code, out, err


@pytest.fixture
def run_cli(capsys):
    """``mtk ARGS`` in this process: exit code, stdout (``output``), stderr."""

    def run(args: list[str]) -> Result:
        with pytest.raises(SystemExit) as done:
            main(["-q", *map(str, args)])
        captured = capsys.readouterr()
        return Result(done.value.code, captured.out + captured.err, captured.err)

    return run


def test_statistics_equal_t2m_gpt_on_seeded_embeddings():
    rs = np.random.RandomState(0)
    a = rs.standard_normal((64, 16))
    b = rs.standard_normal((64, 16)) * 1.3 + 0.2
    counts, matching = S.r_precision_counts(a[:32], b[:32])
    assert counts.tolist() == [0, 3, 3]
    assert matching == pytest.approx(195.8078644837148, rel=1e-12)
    assert S.fid(a, b) == pytest.approx(5.457436068964, rel=1e-10)
    assert S.fid(a, a) == pytest.approx(0.0, abs=1e-10)
    assert S.diversity(a, 10, np.random.RandomState(3)) == pytest.approx(5.622891404581177, rel=1e-12)
    act = rs.standard_normal((8, 30, 16))
    assert S.multimodality(act, 10, np.random.RandomState(5)) == pytest.approx(4.3489141162828435, rel=1e-12)
    c = rs.standard_normal((600, 32))
    d = rs.standard_normal((600, 32)) * 0.9
    assert S.diversity(c, 300, np.random.RandomState(7)) == pytest.approx(7.836800894261945, rel=1e-12)
    assert S.fid(c, d) == pytest.approx(1.181940472185829, rel=1e-10)


def test_fid_is_real_and_exact_with_fewer_samples_than_dimensions():
    rs = np.random.RandomState(1)
    a, b = rs.standard_normal((20, 64)), rs.standard_normal((20, 64)) + 0.5
    value = S.fid(a, b)
    assert np.isfinite(value) and value > 0
    assert S.fid(a, a) == pytest.approx(0.0, abs=1e-8)
    # scaling both sets by k scales FID by k^2
    assert S.fid(2 * a, 2 * b) == pytest.approx(4 * value, rel=1e-9)


def test_r_precision_of_matching_pairs_is_one():
    x = np.diag(np.arange(1.0, 33.0))
    counts, matching = S.r_precision_counts(x, x)
    assert counts.tolist() == [32, 32, 32] and matching == 0.0
    assert S.confidence_interval(np.array([1.0, 3.0])) == pytest.approx(1.96 * 1.0 / np.sqrt(2))


REF_LINES = [
    "a person walks forward and turns left.#a/DET person/NOUN walk/VERB forward/ADV and/CCONJ turn/VERB left/ADV#0.0#0.0",
    "a person jumps slowly#a/DET person/NOUN jump/VERB slowly/ADV#0.0#0.0",
    "someone dances#someone/PRON dance/VERB#0.0#0.0",
    "a person walks forward and turns left and walks forward and turns left and walks forward and turns left and "
    "walks again#" + " ".join(["a/DET", "person/NOUN", "walks/VERB", "forward/ADV", "and/CCONJ", "turns/VERB",
                               "left/ADV"] * 3 + ["walks/VERB", "again/ADV"]) + "#0.0#0.0",
]
#: T2M-GPT's get_co_embeddings on the batch (m3, m0, m1, m2) of crops (0..64, 0..196, 0..160, 0..120)
REF_TEXT = [[0.564876437, 0.390434325, -0.254624903, -0.551654398, 0.395302176, -0.387615263],
            [0.558744013, 0.456024468, -0.263120353, -0.560743511, 0.425205827, -0.382805407],
            [0.570528746, 0.437263548, -0.237401098, -0.641248882, 0.44514361, -0.445966125],
            [0.537105799, 0.365365922, -0.198390216, -0.712917328, 0.544148505, -0.52243638]]
REF_MOTION = [[-0.259730965, 0.333904922, -0.640483081, -0.997747183, 0.0853053778, 0.233166412],
              [-0.106559902, 0.679694176, -0.664028227, -0.837501347, 0.239614949, 0.275178432],
              [0.0713450313, 0.507835805, -0.608957589, -0.285739481, 0.174310043, 0.573480487],
              [-0.031203866, 0.706108451, -0.748596907, -0.746262729, 0.29585427, 0.374975175]]


@pytest.fixture
def t2m(tmp_path):
    return write_t2m_evaluator(tmp_path / "checkpoints"), write_glove(tmp_path / "glove")


def test_t2m_evaluator_embeddings_equal_the_original_modules(t2m):
    from mtk.metrics.load import load_evaluator

    evaluator = load_evaluator(t2m[0], "hml263", glove=t2m[1])
    lengths = [196, 160, 120, 64]
    rs = np.random.RandomState(31)
    motions = [rs.standard_normal((n, 263)).astype(np.float32) for n in lengths]
    order = [3, 0, 1, 2]  # the original batch, sorted by caption length
    batch = torch.zeros(4, 196, 263)
    for k, i in enumerate(order):
        batch[k, : lengths[i]] = torch.from_numpy(motions[i])
    motion = evaluator.embed_motions(batch, torch.tensor([lengths[i] for i in order]))
    text = evaluator.embed_texts([REF_LINES[i] for i in order])
    np.testing.assert_allclose(motion, REF_MOTION, atol=2e-6)
    np.testing.assert_allclose(text, REF_TEXT, atol=2e-6)
    # the evaluator loads from finest.tar itself and from text_mot_match/ too, and the batch order is free
    same = load_evaluator(t2m[0] / "text_mot_match" / "model" / "finest.tar", "hml263", glove=t2m[1])
    np.testing.assert_allclose(same.embed_texts([REF_LINES[i] for i in (2, 1)]), np.array(REF_TEXT)[[3, 2]],
                               atol=2e-6)


def test_caption_tokens_and_pos_classes(tmp_path):
    words = WordVectors.load(write_glove(tmp_path / "g"))
    caption = parse_caption(REF_LINES[0])
    assert caption.whole_motion and caption.tokens[2] == "walk/VERB"
    sequence, length = encoder_tokens(caption.tokens)
    assert length == 9 and len(sequence) == 22 and sequence[0] == "sos/OTHER" and sequence[-1] == "unk/OTHER"
    assert encoder_tokens(parse_caption(REF_LINES[3]).tokens)[1] == 22  # 23 tokens cut to 20
    vectors, pos, n = words.encode(caption.tokens)
    assert n == 9 and vectors.shape == (22, 8) and pos.sum(axis=1).tolist() == [1.0] * 22
    assert POS_CLASSES[pos[4].argmax()] == "Loc_VIP"  # "forward" overrides its ADV tag
    assert POS_CLASSES[pos[3].argmax()] == "OTHER"  # "walk" is not in the vocabulary: unk
    assert parse_caption("x#a/DET#1.5#nan").start == 1.5 and parse_caption("x#a/DET#1.5#nan").end == 0.0


def test_glove_pickles_are_read_safely(tmp_path):
    folder = write_glove(tmp_path / "g")

    class Hostile:
        def __reduce__(self):
            return (print, ("ran",))

    (folder / "our_vab_words.pkl").write_bytes(pickle.dumps(Hostile()))
    with pytest.raises(BadInputError, match="refuses"):
        WordVectors.load(folder)
    shutil.rmtree(folder)
    with pytest.raises(MtkError, match="our_vab_data.npy"):
        WordVectors.load(folder)


def test_damaged_evaluator_checkpoint_is_one_line(t2m):
    ckpt = t2m[0] / "text_mot_match" / "model" / "finest.tar"
    state = torch.load(ckpt, weights_only=True)
    state["motion_encoder"]["input_emb.weight"][0, 0] = float("nan")
    torch.save(state, ckpt)
    from mtk.metrics.load import load_evaluator

    with pytest.raises(BadInputError, match="NaN"):
        load_evaluator(t2m[0], "hml263", glove=t2m[1])
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(BadInputError, match="not a readable torch checkpoint"):
        load_evaluator(t2m[0], "hml263", glove=t2m[1])


# ---- protocol and commands on procedural HumanML3D data


@pytest.fixture(scope="module")
def sample263(tmp_path_factory):
    from mtk.jobs.sample import write_sample_dataset

    out = tmp_path_factory.mktemp("s263") / "data"
    write_sample_dataset(str(out), layout="hml263", count=48)
    return out


def test_reconstruction_protocol_with_a_perfect_reconstruction(t2m, sample263):
    from mtk.formats.datasets import open_dataset
    from mtk.metrics.load import load_evaluator
    from mtk.metrics.protocol import reconstruction_replication, reference_items

    evaluator = load_evaluator(t2m[0], "hml263", glove=t2m[1])
    reader = open_dataset(sample263)
    items = reference_items(reader.iter(None), evaluator, 20.0)
    assert 32 <= len(items) <= 48 and all(40 <= len(i.motion) < 200 for i in items)
    result = reconstruction_replication(items, evaluator, lambda raw, lengths: (raw, lengths), seed=0)
    assert result["evaluated"]["fid"] == pytest.approx(0.0, abs=1e-6)
    for key in ("top1", "top2", "top3", "mmdist"):
        assert result["evaluated"][key] == pytest.approx(result["reference"][key])
    assert 0 <= result["reference"]["top1"] <= result["reference"]["top3"] <= 1
    noisy = reconstruction_replication(items, evaluator, lambda raw, lengths: (raw + 0.5, lengths), seed=0)
    assert noisy["evaluated"]["fid"] > 1e-3
    again = reconstruction_replication(items, evaluator, lambda raw, lengths: (raw + 0.5, lengths), seed=0)
    assert json.dumps(again) == json.dumps(noisy)  # seeded: the same crops, captions and batches (NaN too)


def test_text_timed_captions_make_clips():
    from mtk.formats.model import Motion
    from mtk.metrics.evaluator import Protocol
    from mtk.metrics.protocol import reference_items

    class Stub:
        protocol = Protocol(4, 196, 40, 200)

    motion = Motion("m", np.zeros((150, 263), np.float32),
                    ["walks#a/DET#0.0#0.0", "turns#a/DET#1.0#4.0", "short#a/DET#1.0#2.0", "late#a/DET#6#9"])  # 30 frames left: dropped
    items = reference_items(iter([motion]), Stub(), 20.0)
    assert [(i.name, len(i.motion), i.texts[0].split("#")[0]) for i in items] == [("m#1", 60, "turns"),
                                                                                   ("m", 150, "walks")]


def _tokenizer_ckpt(path, data):
    from mtk.tokenizer import build_model
    from mtk.tokenizer.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model("tiny", input_dim=263)
    save_checkpoint(path, model, mean=np.load(data / "Mean.npy"), std=np.load(data / "Std.npy"), layout="hml263")
    return path


def test_tokenizer_eval_reports_paper_metrics(t2m, sample263, tmp_path, run_cli, capsys):
    ckpt = _tokenizer_ckpt(tmp_path / "net.pth", sample263)
    args = ["tokenizer", "eval", str(sample263), "--ckpt", str(ckpt), "--split", "all", "--metrics",
            "mpjpe,fid,rprecision,diversity", "--evaluator", str(t2m[0]), "--glove", str(t2m[1]),
            "--replications", "2", "--json"]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["mpjpe_mm"] > 0
    paper = document["paper_metrics"]
    assert paper["evaluator"] == "t2m" and paper["replications"] == 2
    assert set(paper["evaluated"]) == {"fid", "top1", "top2", "top3", "diversity"}
    assert paper["evaluated"]["fid"]["mean"] > 0 and len(paper["evaluated"]["fid"]["values"]) == 2
    assert "mmdist" not in paper["evaluated"]
    print_table(paper, ("fid", "rprecision", "mmdist"), "reconstructed")
    table = capsys.readouterr().out
    assert "FID" in table and "R-precision top-3" in table and "MM-Dist" not in table and "±" in table


def test_metric_errors_are_one_line(t2m, sample263, tmp_path, run_cli):
    ckpt = _tokenizer_ckpt(tmp_path / "net.pth", sample263)
    base = ["tokenizer", "eval", str(sample263), "--ckpt", str(ckpt), "--split", "all"]
    result = run_cli(base + ["--metrics", "fid"])
    assert result.exit_code == 2 and "needs --evaluator" in result.output
    result = run_cli(base + ["--metrics", "fdi"])
    assert result.exit_code == 2 and "unknown metric fdi" in result.output
    result = run_cli(base + ["--metrics", "fid", "--evaluator", str(t2m[0])])
    assert result.exit_code == 2 and "--glove" in result.output
    result = run_cli(base + ["--metrics", "fid", "--evaluator", str(tmp_path), "--glove", str(t2m[1])])
    assert result.exit_code == 2 and "text_mot_match" in result.output and ".ckpt" in result.output
    assert len(result.output.strip().splitlines()) == 1


def _generated(sample263, out, repeats=12):
    """Generated motions: copies of reference motions with their first caption as the prompt, plus
    ``repeats`` noisy generations of one plain-caption prompt."""
    from mtk.formats.datasets import open_dataset

    reader = open_dataset(sample263)
    (out / "texts").mkdir(parents=True)
    (out / "new_joint_vecs").mkdir()
    motions = list(reader.iter(reader.info.resolve_split("train")))
    rs = np.random.RandomState(0)
    for m in motions:  # three generations per reference text: more than the 100 diversity pairs
        for suffix, noise in (("", 0.0), ("_b", 0.02), ("_c", 0.04)):
            moved = m.features + noise * rs.standard_normal(m.features.shape)
            np.save(out / "new_joint_vecs" / f"{m.name}{suffix}.npy", moved.astype(np.float32))
            (out / "texts" / f"{m.name}{suffix}.txt").write_text(m.texts[0] + "\n")
    prompt = motions[0].texts[0].split("#")[0]
    for r in range(repeats):
        noisy = motions[0].features + 0.05 * rs.standard_normal(motions[0].features.shape)
        np.save(out / "new_joint_vecs" / f"rep{r}.npy", noisy.astype(np.float32))
        (out / "texts" / f"rep{r}.txt").write_text(prompt + "\n")
    return out


def test_mtk_metrics_on_generated_motion(t2m, sample263, tmp_path, run_cli, capsys):
    generated = _generated(sample263, tmp_path / "gen")
    args = ["metrics", str(generated), str(sample263), "--split", "train", "--evaluator", str(t2m[0]),
            "--glove", str(t2m[1]), "--replications", "2", "--json"]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    # the 12 noisy generations (and copies) of one prompt; procedural captions may repeat across motions too
    assert document["multimodality_prompts"] >= 1 and document["multimodality_repeats"] >= 11
    evaluated = document["evaluated"]
    assert {"fid", "top1", "mmdist", "diversity", "multimodality"} <= set(evaluated)
    assert evaluated["multimodality"]["mean"] < evaluated["diversity"]["mean"]
    assert evaluated["fid"]["mean"] >= 0
    assert document["generated_motions"] > 100  # so diversity draws its 300 pairs
    print_table(document, ("fid", "multimodality"), "generated")
    assert "multimodality" in capsys.readouterr().out


def test_mtk_metrics_refuses_untagged_unknown_prompts(t2m, sample263, tmp_path, run_cli):
    generated = _generated(sample263, tmp_path / "gen", repeats=0)
    first = sorted((generated / "texts").glob("*.txt"))[0]
    first.write_text("a prompt nobody wrote\n")
    result = run_cli(["metrics", str(generated), str(sample263), "--split", "train", "--evaluator", str(t2m[0]),
                      "--glove", str(t2m[1]), "--replications", "1"])
    assert result.exit_code == 2 and "word/POS" in result.output


def test_kit_evaluator_and_a_mismatched_one(tmp_path):
    from mtk.metrics.load import load_evaluator

    kit = write_t2m_evaluator(tmp_path / "checkpoints", dim_pose=251, name="kit")
    glove = write_glove(tmp_path / "glove")
    evaluator = load_evaluator(kit, "kit251", glove=glove)
    assert evaluator.name == "kit" and evaluator.dim == 251 and evaluator.protocol.min_source_frames == 24
    batch = torch.from_numpy(np.random.RandomState(0).standard_normal((2, 48, 251)).astype(np.float32))
    assert evaluator.embed_motions(batch, torch.tensor([48, 24])).shape == (2, 6)
    with pytest.raises(BadInputError, match="reads 251-dim features, not 263"):
        load_evaluator(kit, "hml263", glove=glove)
