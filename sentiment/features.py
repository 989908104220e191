"""Text -> features for the linear model: hashed word and character n-grams plus dense cues.

Hashing (a stable CRC-32, not Python's salted ``hash``) keeps the model a fixed-size array with
no vocabulary to ship, so a team's own ``train`` run produces a file of the same shape. Character
n-grams inside words cope with Italian and Portuguese inflection and with tweet spelling
("graziee", "pessimooo"); word bigrams and ``NOT_`` marks keep "non funziona" apart from
"funziona". Dense cues (lexicon counts, intent flags) carry knowledge the small corpora lack.

With ``by_language`` every n-gram is counted twice: once shared by all languages and once tagged
with the message's language. The shared copy lets emoji, names and cognates learnt in one
language help the others; the tagged copy lets "no" or "bravo" weigh differently in Spanish and
Italian. In cross-validation on the shared splits this beat one pooled model in all six languages
and matched six separate per-language models on average, in one file (see ``MODEL_CARD.md``).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import intents
from .lexicon import LEXICON_FEATURES, lexicon
from .text import normalise, tokens

__all__ = ["CUE_NAMES", "Featurizer", "SparseRows"]

CUE_NAMES = (*LEXICON_FEATURES, *(f"intent_{i.value}" for i in intents.PRECEDENCE))


@lru_cache(maxsize=100_000)
def _char_codes(token: str, low: int, high: int, seed: int) -> tuple[int, ...]:
    """CRC-32 of the token's character n-grams (with word-boundary spaces); tokens repeat, so cached."""
    padded = f" {token} "
    return tuple(
        zlib.crc32(f"c:{padded[i : i + n]}".encode("utf-8", "replace"), seed)
        for n in range(low, high + 1)
        for i in range(len(padded) - n + 1)
    )


def _seed(language: str | None) -> int:
    """Starting value of CRC-32 for a language's own copy of the features (0 is the shared copy)."""
    return zlib.crc32(f"lang:{language}".encode()) if language else 0


@dataclass(frozen=True)
class SparseRows:
    """Rows in CSR form (``indptr``, ``indices``, ``values``), the only sparse operations we need."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``rows @ weights`` for a dense (width, k) matrix."""
        out = np.zeros((len(self), weights.shape[1]), dtype=np.float64)
        if len(self.indices) == 0:
            return out
        gathered = weights[self.indices] * self.values[:, None]
        starts = self.indptr[:-1]
        nonempty = starts < self.indptr[1:]
        out[nonempty] = np.add.reduceat(gathered, starts[nonempty], axis=0)
        return out

    def tdot(self, grad: np.ndarray) -> np.ndarray:
        """``rows.T @ grad`` for a dense (n, k) matrix: the gradient of the weights."""
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        contrib = grad[rows] * self.values[:, None]
        return np.stack(
            [np.bincount(self.indices, weights=contrib[:, j], minlength=self.width) for j in range(grad.shape[1])],
            axis=1,
        )


@dataclass(frozen=True)
class Featurizer:
    """Settings of the feature space; stored beside the weights so a model always reads its own."""

    bits: int = 18
    char_min: int = 2
    char_max: int = 5
    by_language: bool = False

    @property
    def width(self) -> int:
        return 1 << self.bits

    def sparse(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> SparseRows:
        """Hashed rows; ``languages`` (one ISO code or ``None`` per text) is used when ``by_language``."""
        indptr = [0]
        indices: list[int] = []
        values: list[float] = []
        tags: Sequence[str | None] = languages if self.by_language and languages is not None else [None] * len(texts)
        for text, language in zip(texts, tags, strict=True):
            row = self._row(normalise(text), language)
            indices.extend(row)
            values.extend(row.values())
            indptr.append(len(indices))
        return SparseRows(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
            self.width,
        )

    def cues(self, texts: Sequence[str]) -> np.ndarray:
        """Dense (n, len(CUE_NAMES)) lexicon counts and intent flags."""
        lex = lexicon()
        out = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float64)
        for i, text in enumerate(texts):
            norm = normalise(text)
            toks = tokens(norm)
            if toks:
                out[i, : len(LEXICON_FEATURES)] = lex.features(toks)
            found = intents.detect(norm)
            for j, intent in enumerate(intents.PRECEDENCE):
                out[i, len(LEXICON_FEATURES) + j] = intent in found
        return out

    def _row(self, norm: str, language: str | None) -> dict[int, float]:
        toks = tokens(norm)
        negated = lexicon().negated(toks) if toks else []
        words = [f"w:{t}" for t in toks]
        words += [f"b:{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
        words += [f"n:{t}" for t, neg in zip(toks, negated, strict=True) if neg]
        encoded = [f.encode("utf-8", "replace") for f in words]
        blocks = []
        for seed in (0, _seed(language)) if language else (0,):
            blocks.append([zlib.crc32(f, seed) for f in encoded])
            blocks.append([c for tok in toks for c in _char_codes(tok, self.char_min, self.char_max, seed)])
        mask = self.width - 1
        row: dict[int, float] = {}
        for block in blocks:
            counts: dict[int, float] = {}
            for code in block:
                index = code & mask
                counts[index] = counts.get(index, 0.0) + (1.0 if code & 0x80000000 else -1.0)
            scaled = {k: math.copysign(1.0 + math.log(abs(v)), v) for k, v in counts.items() if v}
            norm_ = math.sqrt(sum(v * v for v in scaled.values())) or 1.0
            for k, v in scaled.items():
                row[k] = row.get(k, 0.0) + v / norm_
        return row
