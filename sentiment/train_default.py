"""Rebuild the packaged offline model from the public XLM-T tweet splits.

    python -m sentiment.train_default --data ../shared/sentiment

Trains one model on the ``train`` split of all six languages pooled (shared emoji, hashtags and
names help the smaller languages), then scores each language's ``val`` split through the full
classifier. The data is read in place and never copied into the project; only weights and the
numbers are written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import dataset
from .metrics import score
from .offline import DEFAULT_MODEL, OfflineClassifier
from .training import fit_and_save

LANGUAGES = {"english": "en", "italian": "it", "spanish": "es", "french": "fr", "german": "de", "portuguese": "pt"}
VERSION = "1.1"
SOURCE = "cardiffnlp/xlm-t data/sentiment, commit 874214d64d96599eb869a033c22ec2cc57d19256, train splits"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with one subfolder per language")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("models") / DEFAULT_MODEL)
    args = parser.parse_args(argv)

    texts: list[str] = []
    labels: list[int] = []
    held: dict[str, list[dataset.Split]] = {}
    for folder, code in LANGUAGES.items():
        splits = dataset.read_folder(args.data / folder)
        for split in dataset.training(splits):
            texts += split.texts
            labels += split.labels
        held[code] = dataset.held_out(splits)
    fit_and_save(texts, labels, args.out, {"version": VERSION, "trained_on": SOURCE})

    classifier = OfflineClassifier(args.out)
    results = {}
    for code, splits in held.items():
        truth = [y for s in splits for y in s.labels]
        found = classifier.classify([t for s in splits for t in s.texts])
        predicted = [("negative", "neutral", "positive").index(v.label.value) for v in found]
        results[code] = score(truth, predicted).to_json()
        print(f"{code}: macro-F1 {results[code]['macro_f1']:.3f}  recall {results[code]['recall']}")
    print(json.dumps({"model": str(args.out), "val": results}))


if __name__ == "__main__":
    main()
