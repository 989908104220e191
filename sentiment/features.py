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

Speed: character n-grams are most of the work (about 350 per tweet and language copy), so their
CRC-32 is computed with numpy for a whole batch at once, position by position, and the counting,
sublinear scaling and normalisation are array operations too. The codes are bit for bit those of
``zlib.crc32(b"c:" + n-gram, seed)``, so models trained before keep working unchanged.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import intents
from .base import Intent
from .lexicon import LEXICON_FEATURES, lexicon
from .text import normalise, tokens

__all__ = ["CUE_NAMES", "Featurizer", "SparseRows"]

CUE_NAMES = (*LEXICON_FEATURES, *(f"intent_{i.value}" for i in intents.PRECEDENCE))
CHUNK = 2048
"""Texts hashed together: big enough that numpy's per-call cost vanishes, small enough to bound memory."""
BLOCKS = 4
"""Blocks normalised separately per text: shared words, shared characters, tagged words, tagged characters."""
_BLOCK_BITS = 2
SHIFT_BYTES = 256
"""Feature lengths (bytes) whose language-copy correction is tabulated; longer ones are computed one by one."""
WORD_MEMO = 200_000
"""Distinct tokens whose word codes are remembered; the memo starts again when full."""


def _crc32_table() -> np.ndarray:
    """zlib's CRC-32 lookup table (reflected polynomial 0xEDB88320) as 256 uint32."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc32_table()
_ONES = np.uint32(0xFFFFFFFF)
_LEAD = np.array([0, 0, 0xC0, 0xE0, 0xF0], dtype=np.uint32)


def _seed(language: str | None) -> int:
    """Starting value of CRC-32 for a language's own copy of the features (0 is the shared copy)."""
    return zlib.crc32(f"lang:{language}".encode()) if language else 0


def _shift(seed: int, length: int) -> int:
    """``crc32(x, seed) ^ crc32(x)`` for any ``x`` of ``length`` bytes: CRC-32 is affine in its input,
    so the difference does not depend on what the bytes are, only on how many."""
    zeros = bytes(length)
    return zlib.crc32(zeros, seed) ^ zlib.crc32(zeros)


@lru_cache(maxsize=64)
def _shifts(seed: int) -> np.ndarray:
    """:func:`_shift` for every length below :data:`SHIFT_BYTES`, as a lookup table."""
    return np.array([_shift(seed, n) for n in range(SHIFT_BYTES)], dtype=np.int64)


class _Word(NamedTuple):
    """A token's shared feature codes, so that each distinct token is hashed once per process (bounded)."""

    word: int
    word_length: int
    negated: int
    negated_length: int
    bigram: int
    """CRC-32 of ``b:token``: the CRC of a bigram ``b:token next`` continues from here over :attr:`tail`."""
    bigram_length: int
    tail: bytes
    """`` next`` as the second word of a bigram: a space and the token."""


_WORDS: dict[str, _Word] = {}


def _word(token: str) -> _Word:
    info = _WORDS.get(token)
    if info is None:
        if len(_WORDS) >= WORD_MEMO:
            _WORDS.clear()
        raw = token.encode("utf-8", "replace")
        info = _Word(
            zlib.crc32(b"w:" + raw),
            len(raw) + 2,
            zlib.crc32(b"n:" + raw),
            len(raw) + 2,
            zlib.crc32(b"b:" + raw),
            len(raw) + 2,
            b" " + raw,
        )
        _WORDS[token] = info
    return info


def _utf8(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Per character of ``text``: its UTF-8 bytes (4, n) and how many there are, as ``encode("utf-8", "replace")``."""
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint32)
    cp = np.where((cp >= 0xD800) & (cp <= 0xDFFF), np.uint32(ord("?")), cp)
    count = 1 + (cp >= 0x80).astype(np.uint32) + (cp >= 0x800) + (cp >= 0x10000)
    out = np.zeros((4, len(cp)), dtype=np.uint32)
    for k in range(4):
        shift = 6 * (count.astype(np.int64) - 1 - k)
        part = cp >> np.clip(shift, 0, 24).astype(np.uint32)
        out[k] = np.where(k == 0, _LEAD[count] | part, np.uint32(0x80) | (part & 0x3F))
    return out, count


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
        gathered = np.take(weights, self.indices, axis=0)  # three times faster than weights[self.indices]
        gathered *= self.values[:, None]
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

    @staticmethod
    def concat(parts: Sequence[SparseRows], width: int) -> SparseRows:
        """The rows of several chunks, one chunk after the other."""
        if not parts:
            return SparseRows(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), width)
        offsets = np.cumsum([0, *(len(p.indices) for p in parts[:-1])])
        indptr = np.concatenate([[0], *(p.indptr[1:] + off for p, off in zip(parts, offsets, strict=True))])
        return SparseRows(
            indptr.astype(np.int64),
            np.concatenate([p.indices for p in parts]),
            np.concatenate([p.values for p in parts]),
            width,
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

    def transform(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None] | None = None,
        normalised: Sequence[str] | None = None,
        found: Sequence[tuple[Intent, ...]] | None = None,
    ) -> tuple[SparseRows, np.ndarray]:
        """:meth:`sparse` and :meth:`cues` together, tokenising and reading the lexicon once per text."""
        norms = list(normalised) if normalised is not None else [normalise(t) for t in texts]
        toks = [tokens(n) for n in norms]
        lex = lexicon()
        lexical = [lex.analyse(words) if words else (None, []) for words in toks]
        return (
            self._sparse(toks, languages, [negated for _, negated in lexical]),
            self._cues(toks, norms, found, [counts for counts, _ in lexical]),
        )

    def sparse(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None] | None = None,
        normalised: Sequence[str] | None = None,
    ) -> SparseRows:
        """Hashed rows; ``languages`` (one ISO code or ``None`` per text) is used when ``by_language``.

        ``normalised`` (the texts through :func:`normalise`) saves doing that again.
        """
        norms = normalised if normalised is not None else [normalise(t) for t in texts]
        toks = [tokens(n) for n in norms]
        return self._sparse(toks, languages, [lexicon().negated(words) if words else [] for words in toks])

    def cues(
        self,
        texts: Sequence[str],
        normalised: Sequence[str] | None = None,
        found: Sequence[tuple[Intent, ...]] | None = None,
    ) -> np.ndarray:
        """Dense (n, len(CUE_NAMES)) lexicon counts and intent flags; ``found`` saves detecting intents again."""
        norms = list(normalised) if normalised is not None else [normalise(t) for t in texts]
        return self._cues([tokens(n) for n in norms], norms, found)

    def _sparse(
        self, toks: Sequence[list[str]], languages: Sequence[str | None] | None, negated: Sequence[list[bool]]
    ) -> SparseRows:
        tags: Sequence[str | None] = languages if self.by_language and languages is not None else [None] * len(toks)
        if len(tags) != len(toks):
            raise ValueError(f"{len(toks)} texts but {len(tags)} languages")
        parts = [
            self._rows(toks[start : start + CHUNK], tags[start : start + CHUNK], negated[start : start + CHUNK])
            for start in range(0, len(toks), CHUNK)
        ]
        return SparseRows.concat(parts, self.width)

    def _cues(
        self,
        toks: Sequence[list[str]],
        norms: Sequence[str],
        found: Sequence[tuple[Intent, ...]] | None,
        lexical: Sequence[np.ndarray | None] | None = None,
    ) -> np.ndarray:
        lex = lexicon()
        out = np.zeros((len(toks), len(CUE_NAMES)), dtype=np.float64)
        for i, words in enumerate(toks):
            if words:
                out[i, : len(LEXICON_FEATURES)] = lexical[i] if lexical is not None else lex.features(words)
            present = found[i] if found is not None else intents.detect(norms[i])
            for j, intent in enumerate(intents.PRECEDENCE):
                out[i, len(LEXICON_FEATURES) + j] = intent in present
        return out

    def _rows(
        self, toks: Sequence[list[str]], languages: Sequence[str | None], negated: Sequence[list[bool]]
    ) -> SparseRows:
        """Hash, count, scale and normalise one chunk of tokenised texts (see the module docstring).

        Codes are computed for the shared copy only; a language's copy is the shared code XOR a
        value that depends only on the language and the feature's length (:func:`_shifts`).
        """
        word_codes, word_lengths, word_rows = self._word_codes(toks, negated)
        char_codes, char_lengths, char_rows = self._char_codes(toks)
        keys = [
            (word_rows * BLOCKS) << 32 | word_codes,
            (char_rows * BLOCKS + 1) << 32 | char_codes,
        ]
        tagged = sorted({lang for lang in languages if lang})
        if tagged:
            table = np.stack([_shifts(_seed(lang)) for lang in tagged])
            index = np.array([tagged.index(lang) if lang else -1 for lang in languages], dtype=np.int64)
            for part, codes, lengths, rows in (
                (2, word_codes, word_lengths, word_rows),
                (3, char_codes, char_lengths, char_rows),
            ):
                chosen = index[rows] >= 0
                rows, codes, lengths = rows[chosen], codes[chosen], lengths[chosen]
                which = index[rows]
                shift = table[which, np.minimum(lengths, SHIFT_BYTES - 1)].astype(np.int64)
                for i in np.flatnonzero(lengths >= SHIFT_BYTES):
                    shift[i] = _shift(_seed(tagged[which[i]]), int(lengths[i]))
                keys.append((rows * BLOCKS + part) << 32 | (codes ^ shift))
        return self._aggregate(np.concatenate(keys), len(toks))

    def _word_codes(
        self, toks: Sequence[list[str]], negated: Sequence[list[bool]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shared CRC-32, byte length and text index of every word, bigram and ``NOT_`` feature of a chunk."""
        codes: list[int] = []
        lengths: list[int] = []
        per_text: list[int] = []
        for words, marks in zip(toks, negated, strict=True):
            before = len(codes)
            if words:
                infos = [_word(t) for t in words]
                codes += [w.word for w in infos]
                lengths += [w.word_length for w in infos]
                codes += [zlib.crc32(b.tail, a.bigram) for a, b in zip(infos, infos[1:], strict=False)]
                lengths += [a.bigram_length + len(b.tail) for a, b in zip(infos, infos[1:], strict=False)]
                marked = [w for w, neg in zip(infos, marks, strict=True) if neg]
                codes += [w.negated for w in marked]
                lengths += [w.negated_length for w in marked]
            per_text.append(len(codes) - before)
        rows = np.repeat(np.arange(len(toks), dtype=np.int64), per_text)
        return np.array(codes, dtype=np.int64), np.array(lengths, dtype=np.int64), rows

    def _char_codes(self, toks: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shared ``crc32(b"c:" + n-gram)``, byte length and text index of every character n-gram, vectorised.

        The tokens are laid end to end, each padded with a space on both sides as in ``" word "``; an
        n-gram starts at every position with at least ``char_min`` characters left in its token, and
        its CRC-32 is advanced one character (one to four UTF-8 bytes) at a time for all of them.
        """
        flat = [t for words in toks for t in words]
        if not flat:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        token_rows = np.repeat(np.arange(len(toks), dtype=np.int64), [len(words) for words in toks])
        padded_len = np.array([len(t) + 2 for t in flat], dtype=np.int64)
        data, count = _utf8(" " + "  ".join(flat) + " ")
        owner = np.repeat(np.arange(len(flat)), padded_len)
        left = np.cumsum(padded_len)[owner] - np.arange(len(owner))
        starts = np.flatnonzero(left >= self.char_min)
        rows = token_rows[owner[starts]]
        left = left[starts]
        state = np.full(len(starts), zlib.crc32(b"c:") ^ 0xFFFFFFFF, dtype=np.uint32)
        length = np.full(len(starts), 2, dtype=np.int64)
        codes, lengths, code_rows = [], [], []
        for j in range(self.char_max):
            chars = starts + j
            nbytes = count[chars]
            length += nbytes
            state = _TABLE[(state ^ data[0, chars]) & 0xFF] ^ (state >> 8)
            for k in range(1, 4):
                more = np.flatnonzero(nbytes > k)
                if not len(more):
                    break
                s = state[more]
                state[more] = _TABLE[(s ^ data[k, chars[more]]) & 0xFF] ^ (s >> 8)
            if j + 1 >= self.char_min:
                codes.append(state ^ _ONES)
                lengths.append(length.copy())
                code_rows.append(rows)
            keep = left > j + 1
            starts, left, state, length, rows = starts[keep], left[keep], state[keep], length[keep], rows[keep]
            if not len(starts):
                break
        return np.concatenate(codes).astype(np.int64), np.concatenate(lengths), np.concatenate(code_rows)

    def _aggregate(self, keyed: np.ndarray, n: int) -> SparseRows:
        """Signed counts per (text, block, bucket), then ``sign * (1 + log|count|)``, L2 per block, blocks summed.

        The sign of a code is its top bit, as in the reference implementation; sorting by
        (text, bucket, block, sign) makes every group contiguous and sums the blocks in order.
        """
        if not len(keyed):
            return SparseRows(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0), self.width)
        block = keyed >> 32  # text * BLOCKS + block within the text
        row_bucket = (block >> _BLOCK_BITS) << self.bits | (keyed & (self.width - 1))
        key = np.sort((row_bucket << _BLOCK_BITS | (block & (BLOCKS - 1))) << 1 | (keyed >> 31 & 1))
        group = key >> 1
        first = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
        sizes = np.diff(np.append(first, len(key)))
        counts = (2 * np.add.reduceat(key & 1, first) - sizes).astype(np.float64)
        group = group[first]
        nonzero = counts != 0
        counts, group = counts[nonzero], group[nonzero]
        scaled = np.copysign(1.0 + np.log(np.abs(counts)), counts)
        row_bucket = group >> _BLOCK_BITS
        block_id = (row_bucket >> self.bits) << _BLOCK_BITS | (group & (BLOCKS - 1))
        norms = np.sqrt(np.bincount(block_id, weights=scaled * scaled, minlength=n * BLOCKS))
        values = scaled / np.where(norms > 0, norms, 1.0)[block_id]
        cell = np.flatnonzero(np.concatenate([[True], row_bucket[1:] != row_bucket[:-1]]))
        cells = row_bucket[cell]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cells >> self.bits, minlength=n), out=indptr[1:])
        return SparseRows(indptr, cells & (self.width - 1), np.add.reduceat(values, cell), self.width)
