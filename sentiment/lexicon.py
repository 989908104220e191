"""Hand-written cue words (``lexicon.json``) turned into a few dense features per text.

Twitter sentiment corpora are small; a lexicon carries prior knowledge no 2,000-tweet split can
teach, and negation scope ("non è buono", "nicht gut") is something bag-of-n-grams only half
sees. The trained model decides how much each cue is worth.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np

__all__ = ["LEXICON_FEATURES", "Lexicon", "lexicon"]

LEXICON_FEATURES = (
    "positive",
    "negative",
    "negated_positive",
    "negated_negative",
    "intense_positive",
    "intense_negative",
    "emoji_positive",
    "emoji_negative",
    "exclamations",
    "questions",
    "valence_positive",
    "valence_negative",
    "valence_max",
    "valence_min",
)
NEGATION_SCOPE = 3
"""Tokens after a negator whose polarity flips: "not at all good", "non è per niente buono"."""
NEGATED_VALENCE = -0.74
"""VADER's own factor for a valence under negation ("not great" is mildly negative, not -great)."""
MEMO_SIZE = 200_000
"""Tokens whose lexicon look-ups are remembered: words repeat, and prefix matching is the slow part."""


class _WordSet:
    """Exact words plus ``stem*`` prefixes, matched in O(number of distinct stem lengths)."""

    def __init__(self, entries: list[str]) -> None:
        self.exact = {e for e in entries if not e.endswith("*")}
        self.prefixes: dict[int, set[str]] = {}
        for entry in entries:
            if entry.endswith("*"):
                stem = entry[:-1]
                self.prefixes.setdefault(len(stem), set()).add(stem)

    def __contains__(self, token: str) -> bool:
        if token in self.exact:
            return True
        for n, stems in self.prefixes.items():
            if token[:n] in stems and len(token) >= n:
                return True
        return False


class _Token(NamedTuple):
    valence: float
    kind: str
    """``emoji_positive``, ``emoji_negative``, ``punctuation`` (a run of ! and ?) or empty."""
    negator: bool
    """The word, hashtag sign removed, is a negator (as the lexicon counts see it)."""
    token_negator: bool
    """The token itself is a negator (as the ``NOT_`` n-gram marks see it)."""
    alpha: bool
    polarity: str
    intensifier: bool


@dataclass(frozen=True)
class Lexicon:
    positive: _WordSet
    negative: _WordSet
    negators: _WordSet
    intensifiers: _WordSet
    emoji_positive: frozenset[str]
    emoji_negative: frozenset[str]
    valence: dict[str, float]
    """VADER's 7,500 rated English words and emoticons (-4..4): English turns up in tweets of every language."""
    _memo: dict[str, _Token] = field(default_factory=dict, compare=False, repr=False)

    def _token(self, tok: str) -> _Token:
        """Everything the features need to know about one token, looked up once (see :data:`MEMO_SIZE`)."""
        info = self._memo.get(tok)
        if info is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            word = tok.lstrip("#")
            kind = (
                "emoji_positive"
                if tok in self.emoji_positive
                else "emoji_negative"
                if tok in self.emoji_negative
                else "punctuation"
                if tok[0] in "!?"
                else ""
            )
            polarity = "positive" if word in self.positive else "negative" if word in self.negative else ""
            info = _Token(
                self.valence.get(word, 0.0),
                kind,
                word in self.negators,
                tok in self.negators,
                tok[0].isalpha(),
                polarity,
                word in self.intensifiers,
            )
            self._memo[tok] = info
        return info

    def negated(self, tokens: list[str]) -> list[bool]:
        """Which tokens sit inside a negation scope, for ``NOT_word`` n-gram features."""
        return self.analyse(tokens)[1]

    def features(self, tokens: list[str]) -> np.ndarray:
        """The :data:`LEXICON_FEATURES` counts, log-scaled so one long rant does not dominate."""
        return self.analyse(tokens)[0]

    def analyse(self, tokens: list[str]) -> tuple[np.ndarray, list[bool]]:
        """:meth:`features` and :meth:`negated` in one pass over the tokens."""
        counts = dict.fromkeys(LEXICON_FEATURES[:-4], 0.0)
        valences = [0.0]
        flags: list[bool] = []
        negated_until = -1  # as the counts see negators (a hashtag sign removed)
        marked_until = -1  # as the NOT_ marks see them (the token itself)
        intense_next = False
        for i, tok in enumerate(tokens):
            info = self._token(tok)
            if info.token_negator:
                marked_until = i + NEGATION_SCOPE
                flags.append(False)
            else:
                flags.append(i <= marked_until and info.alpha)
            if info.valence:
                valences.append(info.valence * NEGATED_VALENCE if i <= negated_until else info.valence)
            if info.kind == "punctuation":
                counts["exclamations"] += tok.count("!")
                counts["questions"] += tok.count("?")
                continue
            if info.kind:
                counts[info.kind] += 1
                continue
            if info.negator:
                negated_until = i + NEGATION_SCOPE
                continue
            if info.polarity:
                flipped = i <= negated_until
                key = f"negated_{info.polarity}" if flipped else info.polarity
                counts[key] += 1
                if intense_next:
                    counts[f"intense_{info.polarity}"] += 1
            intense_next = info.intensifier
        counts["valence_positive"] = sum(v for v in valences if v > 0)
        counts["valence_negative"] = -sum(v for v in valences if v < 0)
        scaled = [math.log1p(v) for v in counts.values()]
        return np.array([*scaled, max(valences), -min(valences)], dtype=np.float32), flags


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The packaged lexicon, read once per process."""
    raw = json.loads(resources.files(__package__).joinpath("lexicon.json").read_text("utf-8"))
    return Lexicon(
        positive=_WordSet(raw["positive"]),
        negative=_WordSet(raw["negative"]),
        negators=_WordSet(raw["negators"]),
        intensifiers=_WordSet(raw["intensifiers"]),
        emoji_positive=frozenset(raw["emoji_positive"]),
        emoji_negative=frozenset(raw["emoji_negative"]),
        valence=_vader(),
    )


def _vader() -> dict[str, float]:
    """Token -> mean valence from VADER's lexicon (C.J. Hutto, MIT: ``VADER-LICENSE.txt``), vendored
    as ``vader_valence.txt`` so the default backend needs no extra package."""
    text = resources.files(__package__).joinpath("vader_valence.txt").read_text("utf-8")
    valence = {}
    for line in text.splitlines():
        token, _, value = line.rpartition("\t")
        if token:
            valence[token] = float(value)
    return valence
