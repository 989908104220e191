"""Rebuild the packaged offline model from the public XLM-T tweet splits.

    python -m sentiment.train_default --data ../shared/sentiment

Trains one model on the ``train`` split of all six languages pooled (shared emoji, hashtags and
names help the smaller languages), then scores each language's ``val`` split through the full
classifier. The data is read in place and never copied into the project; only weights and the
numbers are written. ``--folds 5`` instead reports k-fold cross-validation over train+val (each
language's tweets stratified by label), the numbers least touched by our tuning choices.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from . import dataset
from .base import Classifier
from .metrics import CLASS_NAMES, score
from .offline import DEFAULT_MODEL, OfflineClassifier
from .training import L2, fit_and_save

LANGUAGES = {"english": "en", "italian": "it", "spanish": "es", "french": "fr", "german": "de", "portuguese": "pt"}
VERSION = "1.2"
SOURCE = "cardiffnlp/xlm-t data/sentiment, commit 874214d64d96599eb869a033c22ec2cc57d19256, train splits"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with one subfolder per language")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(DEFAULT_MODEL))
    parser.add_argument("--folds", type=int, default=0, help="cross-validate instead of training the shipped model")
    parser.add_argument("--l2", type=float, default=L2, help=f"regularisation strength (default {L2})")
    args = parser.parse_args(argv)
    if args.folds:
        cross_validate(args.data, args.folds, args.l2)
        return

    texts: list[str] = []
    labels: list[int] = []
    held: dict[str, list[dataset.Split]] = {}
    for folder, code in LANGUAGES.items():
        splits = dataset.read_folder(args.data / folder)
        for split in dataset.training(splits):
            texts += split.texts
            labels += split.labels
        held[code] = dataset.held_out(splits)
    fit_and_save(texts, labels, args.out, {"version": VERSION, "trained_on": SOURCE}, l2=args.l2)

    classifier = OfflineClassifier(args.out)
    results = {}
    for code, splits in held.items():
        truth = [y for s in splits for y in s.labels]
        results[code] = _score(classifier, [t for s in splits for t in s.texts], truth)
        print(f"{code}: macro-F1 {results[code]['macro_f1']:.3f}  recall {results[code]['recall']}")
    print(json.dumps({"model": str(args.out), "val": results}))


def _score(classifier: Classifier, texts: list[str], truth: list[int]) -> dict[str, object]:
    predicted = [CLASS_NAMES.index(v.label.value) for v in classifier.classify(texts)]
    return score(truth, predicted).to_json()


def cross_validate(root: Path, folds: int, l2: float = L2) -> None:
    """k-fold CV over all six languages' train+val tweets, folds stratified by language and label."""
    texts: list[str] = []
    labels: list[int] = []
    langs: list[str] = []
    for folder, code in LANGUAGES.items():
        for split in dataset.read_folder(root / folder):
            texts += split.texts
            labels += split.labels
            langs += [code] * len(split.texts)
    y, lang = np.asarray(labels), np.asarray(langs)
    fold = np.zeros(len(texts), dtype=np.int64)
    rng = np.random.default_rng(0)
    for key in set(zip(langs, labels, strict=True)):
        members = np.flatnonzero((lang == key[0]) & (y == key[1]))
        fold[rng.permutation(members)] = np.arange(len(members)) % folds
    predicted = np.zeros(len(texts), dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            out = Path(tmp) / f"fold{k}.npz"
            fit_and_save([texts[i] for i in train_idx], y[train_idx].tolist(), out, {"version": f"cv{k}"}, l2=l2)
            found = OfflineClassifier(out).classify([texts[i] for i in test_idx])
            predicted[test_idx] = [CLASS_NAMES.index(v.label.value) for v in found]
            print(f"fold {k + 1}/{folds} done", flush=True)
    results = {
        code: score(y[lang == code].tolist(), predicted[lang == code].tolist()).to_json() for code in LANGUAGES.values()
    }
    for code, r in results.items():
        print(f"{code}: {folds}-fold CV macro-F1 {r['macro_f1']:.3f}  recall {r['recall']}")
    print(json.dumps({"cv_folds": folds, "results": results}))


if __name__ == "__main__":
    main()
