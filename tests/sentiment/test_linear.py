"""The numpy sparse algebra and trainer behind `sentiment train` agree with dense arithmetic."""

from __future__ import annotations

import math
import zlib

import numpy as np

from sentiment.features import Featurizer, SparseRows
from sentiment.lexicon import lexicon
from sentiment.linear import train
from sentiment.metrics import score
from sentiment.text import normalise, tokens


def _sparse(dense: np.ndarray) -> SparseRows:
    indptr, indices, values = [0], [], []
    for row in dense:
        nz = np.flatnonzero(row)
        indices += nz.tolist()
        values += row[nz].tolist()
        indptr.append(len(indices))
    return SparseRows(np.array(indptr), np.array(indices, dtype=np.int64), np.array(values), dense.shape[1])


def test_products_match_dense_including_empty_rows() -> None:
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(7, 11)) * (rng.random((7, 11)) < 0.3)
    dense[[0, 3, 6]] = 0.0
    rows = _sparse(dense)
    weights, grad = rng.normal(size=(11, 3)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(rows.dot(weights), dense @ weights)
    np.testing.assert_allclose(rows.tdot(grad), dense.T @ grad)


def test_trainer_learns_words_and_cues() -> None:
    texts = ["love it", "great stuff", "awful thing", "hate it", "the box", "a table"] * 5
    labels = np.array([2, 2, 0, 0, 1, 1] * 5)
    f = Featurizer(bits=12)
    model = train(f.sparse(texts), f.cues(texts), labels, epochs=100, learning_rate=0.1)
    predicted = model.predict_proba(f.sparse(texts), f.cues(texts)).argmax(axis=1)
    assert score(labels.tolist(), predicted.tolist()).macro_f1 == 1.0


def test_hashing_is_stable_across_processes() -> None:
    # CRC-32, not Python's salted hash(): the same text maps to the same buckets in every process
    rows = Featurizer(bits=10).sparse(["grazie mille"])
    assert rows.indices.tolist() == Featurizer(bits=10).sparse(["grazie mille"]).indices.tolist()
    assert int(rows.indices.min()) >= 0 and int(rows.indices.max()) < 1024


def test_metrics_macro_f1_and_confusion() -> None:
    result = score([0, 0, 1, 2], [0, 1, 1, 2])
    assert result.confusion == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert result.recall == {"negative": 0.5, "neutral": 1.0, "positive": 1.0}
    assert round(result.macro_f1, 4) == round((2 / 3 + 2 / 3 + 1) / 3, 4)


def test_language_copies_let_one_word_mean_different_things() -> None:
    texts, languages = ["bravo", "bravo"] * 10, ["it", "es"] * 10
    labels = np.array([2, 0] * 10)
    by_language = Featurizer(bits=12, by_language=True)
    model = train(by_language.sparse(texts, languages), by_language.cues(texts), labels, epochs=100)
    found = model.predict_proba(by_language.sparse(["bravo", "bravo"], ["it", "es"]), by_language.cues(["bravo"] * 2))
    assert found.argmax(axis=1).tolist() == [2, 0]

    pooled = Featurizer(bits=12)
    assert pooled.sparse(texts, languages).indices.tolist() == pooled.sparse(texts).indices.tolist()


def test_unknown_language_uses_only_the_shared_features() -> None:
    shared = Featurizer(bits=12).sparse(["non funziona"])
    unknown = Featurizer(bits=12, by_language=True).sparse(["non funziona"], [None])
    tagged = Featurizer(bits=12, by_language=True).sparse(["non funziona"], ["it"])
    assert unknown.indices.tolist() == shared.indices.tolist()
    assert set(shared.indices.tolist()) < set(tagged.indices.tolist())


def _reference_row(featurizer: Featurizer, text: str, language: str | None) -> dict[int, float]:
    """The per-n-gram definition of a row, straight from zlib: what the vectorised hashing must reproduce."""
    toks = tokens(normalise(text))
    negated = lexicon().negated(toks) if toks else []
    words = [f"w:{t}" for t in toks]
    words += [f"b:{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    words += [f"n:{t}" for t, neg in zip(toks, negated, strict=True) if neg]
    seeds = (0, zlib.crc32(f"lang:{language}".encode())) if language else (0,)
    row: dict[int, float] = {}
    for seed in seeds:
        chars = [
            f"c:{padded[i : i + n]}"
            for padded in (f" {t} " for t in toks)
            for n in range(featurizer.char_min, featurizer.char_max + 1)
            for i in range(len(padded) - n + 1)
        ]
        for block in (words, chars):
            counts: dict[int, float] = {}
            for feature in block:
                code = zlib.crc32(feature.encode("utf-8", "replace"), seed)
                counts[code & (featurizer.width - 1)] = counts.get(code & (featurizer.width - 1), 0.0) + (
                    1.0 if code & 0x80000000 else -1.0
                )
            scaled = {k: math.copysign(1.0 + math.log(abs(v)), v) for k, v in counts.items() if v}
            norm = math.sqrt(sum(v * v for v in scaled.values())) or 1.0
            for k, v in scaled.items():
                row[k] = row.get(k, 0.0) + v / norm
    return row


def test_vectorised_hashing_matches_the_per_ngram_definition() -> None:
    # accents, emoji, a 4-byte letter, CJK, a lone surrogate, a token longer than the shift table, repeats
    texts = [
        "Non è arrivato!! il pacco, non è arrivato 😡",
        "¿Dónde está mi pedido? No funciona nada",
        "Das ist nicht gut, gar nicht gut. Straße 𝔘 ok",
        "配達がまだです",
        "bad \ud800 text",
        "abcdefghij" * 30 + " y",
        "",
        "a",
    ]
    languages = ["it", "es", "de", None, "en", "fr", None, "pt"]
    featurizer = Featurizer(bits=12, by_language=True)
    rows = featurizer.sparse(texts, languages)
    for i, (text, language) in enumerate(zip(texts, languages, strict=True)):
        span = slice(rows.indptr[i], rows.indptr[i + 1])
        found = dict(zip(rows.indices[span].tolist(), rows.values[span].tolist(), strict=True))
        expected = _reference_row(featurizer, text, language)
        assert found.keys() == expected.keys(), text
        for bucket, value in expected.items():
            assert abs(found[bucket] - value) < 1e-12, text
