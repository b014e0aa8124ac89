"""Texts of mirrored motions: left and right swapped word by word, case kept.

``a person turns Left, then walks counterclockwise#a/DET person/NOUN turn/VERB left/ADV ...`` becomes
``a person turns Right, then walks clockwise#a/DET person/NOUN turn/VERB right/ADV ...``: whole words only
(``leftover`` stays), inside hyphenated words too (``left-handed`` -> ``right-handed``), in the caption and
in HumanML3D's ``word/TAG`` tokens alike. ``right`` meaning "just" or "correct" is kept where the phrase
says so (``right away``, ``right now``, ``right here``, ``right there``, ``right then``, ``all right``).
Swapping twice gives the text back, except that ``counter-clockwise``, ``anticlockwise`` and
``anti-clockwise`` come back as ``counterclockwise``.
"""

from __future__ import annotations

import re

#: each side word and its mirror image (lower case)
SIDE_WORDS: dict[str, str] = {
    "left": "right", "right": "left",
    "leftward": "rightward", "rightward": "leftward", "leftwards": "rightwards", "rightwards": "leftwards",
    "leftmost": "rightmost", "rightmost": "leftmost",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise", "counter-clockwise": "clockwise",
    "anticlockwise": "clockwise", "anti-clockwise": "clockwise",
}
#: a HumanML3D token's tag (``left/ADV``) between a word and what follows it
_TAG = r"(?:/[A-Za-z]+)?"
_WORD = re.compile(r"(?<!\w)(" + "|".join(sorted((re.escape(w) for w in SIDE_WORDS), key=len, reverse=True))
                   + r")(?![\w])", re.IGNORECASE)
_JUST_AFTER = re.compile(_TAG + r"\s+(?:away|now|here|there|then)\b", re.IGNORECASE)
_JUST_BEFORE = re.compile(r"\ball" + _TAG + r"\s+$", re.IGNORECASE)


def _same_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _swap(match: re.Match) -> str:
    word = match.group(1)
    if word.lower() == "right":
        text = match.string
        if _JUST_AFTER.match(text, match.end()) or _JUST_BEFORE.search(text[:match.start()]):
            return word
    return _same_case(SIDE_WORDS[word.lower()], word)


def swap_sides(text: str) -> str:
    """``text`` with left and right swapped (see the module notes)."""
    return _WORD.sub(_swap, text)
