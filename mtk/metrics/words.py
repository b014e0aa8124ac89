"""GloVe word vectors and part-of-speech one-hots for Guo et al.'s text encoder.

The released GloVe subset is three files in one folder: ``our_vab_data.npy`` (words × 300 float32),
``our_vab_words.pkl`` (the words) and ``our_vab_idx.pkl`` (word -> row). The pickles are read with
:func:`mtk.io.safe_pickle.safe_load` (plain data only, nothing is run). HumanML3D and KIT-ML text lines carry
their tokens already tagged, ``caption#word/POS word/POS ...#start#end``; the tags come from spaCy's
lemmatiser and tagger when the dataset was built, so the evaluator sees the same tokens as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError

#: the part-of-speech classes of the one-hot, in the evaluator's order
POS_CLASSES = ("VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
               "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER")

#: words whose class replaces their tag (locations, body parts, objects, actions, manners)
VIP_WORDS: dict[str, tuple[str, ...]] = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back", "backward",
                "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee", "shoulder",
                 "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball", "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance", "jump",
                "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel", "stroll", "rub",
                "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin", "spread", "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad", "happily",
                 "angrily", "sadly"),
}
_VIP_CLASS = {word: cls for cls, words in VIP_WORDS.items() for word in words}

#: tokens the text encoder sees around and after a caption
START, END, PAD = "sos/OTHER", "eos/OTHER", "unk/OTHER"
#: captions are cut to this many tokens before START and END are added
MAX_TOKENS = 20

GLOVE_FILES = ("our_vab_data.npy", "our_vab_words.pkl", "our_vab_idx.pkl")


@dataclass(frozen=True)
class Caption:
    """One text line of HumanML3D / KIT-ML: the caption, its tagged tokens, and the seconds it covers
    (``start == end == 0``: the whole motion)."""

    text: str
    tokens: tuple[str, ...]
    start: float = 0.0
    end: float = 0.0

    @property
    def whole_motion(self) -> bool:
        return self.start == 0.0 and self.end == 0.0


def parse_caption(line: str) -> Caption:
    """Split a ``caption#word/POS ...#start#end`` line; a line without tokens gives an empty token tuple. NaN
    times count as 0, as in the original loaders."""
    parts = line.strip().split("#")
    tokens = tuple(t for t in parts[1].split(" ") if t) if len(parts) > 1 else ()

    def seconds(i: int) -> float:
        try:
            value = float(parts[i])
        except (IndexError, ValueError):
            return 0.0
        return 0.0 if np.isnan(value) else value

    return Caption(parts[0], tokens, seconds(2), seconds(3))


def encoder_tokens(tokens: tuple[str, ...]) -> tuple[list[str], int]:
    """The token sequence the text encoder reads (``MAX_TOKENS + 2`` long: start, at most 20 caption tokens,
    end, then padding) and its length before padding."""
    body = list(tokens[:MAX_TOKENS])
    sequence = [START, *body, END]
    return sequence + [PAD] * (MAX_TOKENS + 2 - len(sequence)), len(sequence)


class WordVectors:
    """The GloVe subset: ``vectors(tokens)`` gives word vectors and POS one-hots for ``word/POS`` tokens."""

    def __init__(self, vectors: np.ndarray, index: dict[str, int], words: list[str]):
        self.dim = vectors.shape[1]
        self._vectors = {word: vectors[index[word]] for word in words}
        if "unk" not in self._vectors:
            raise ValueError("the vocabulary has no 'unk' entry")

    @classmethod
    def load(cls, folder: str | Path) -> WordVectors:
        """Read the three ``our_vab_*`` files of ``folder``."""
        from mtk.formats.arrays import load_npy
        from mtk.io.safe_pickle import safe_load

        folder = Path(folder)
        missing = [name for name in GLOVE_FILES if not (folder / name).is_file()]
        if missing:
            raise MtkError(folder, f"has no {', '.join(missing)}",
                           "pass the folder of the released GloVe subset (our_vab_data.npy, our_vab_words.pkl, "
                           "our_vab_idx.pkl) with --glove")
        data_path = folder / GLOVE_FILES[0]
        vectors = load_npy(data_path)
        words, index = safe_load(folder / GLOVE_FILES[1]), safe_load(folder / GLOVE_FILES[2])
        if vectors.ndim != 2 or vectors.dtype.kind != "f" or not np.isfinite(vectors).all():
            raise BadInputError(data_path, f"holds a {vectors.dtype} array of shape {vectors.shape}",
                                "expected finite word vectors (words, dim)")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise BadInputError(folder / GLOVE_FILES[1], "is not a list of words", "download it again")
        if not isinstance(index, dict) or not all(isinstance(i, int) and 0 <= i < len(vectors)
                                                  for i in index.values()):
            raise BadInputError(folder / GLOVE_FILES[2], f"is not a word -> row map into {len(vectors)} rows",
                                "download it again")
        try:
            return cls(vectors.astype(np.float32), index, words)
        except (KeyError, ValueError) as err:
            raise BadInputError(folder, f"GloVe files do not agree: {err}", "download them again") from None

    def lookup(self, token: str) -> tuple[np.ndarray, int]:
        """The vector and POS class index of one ``word/POS`` token (unknown words: ``unk`` and OTHER)."""
        word, _, pos = token.partition("/")
        vector = self._vectors.get(word)
        if vector is None:
            return self._vectors["unk"], POS_CLASSES.index("OTHER")
        cls = _VIP_CLASS.get(word, pos)
        return vector, POS_CLASSES.index(cls) if cls in POS_CLASSES else POS_CLASSES.index("OTHER")

    def encode(self, tokens: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, int]:
        """Word vectors ``(22, dim)``, POS one-hots ``(22, 15)`` and the length of one caption's tokens."""
        sequence, length = encoder_tokens(tokens)
        words = np.zeros((len(sequence), self.dim), np.float32)
        pos = np.zeros((len(sequence), len(POS_CLASSES)), np.float32)
        for i, token in enumerate(sequence):
            words[i], cls = self.lookup(token)
            pos[i, cls] = 1.0
        return words, pos, length
