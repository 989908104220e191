"""Texts per second and memory of a sentiment backend on this machine.

    python benchmarks/sentiment_speed.py --data ../shared/sentiment [--backend offline] [--model PATH]

Classifies every ``*_text.txt`` line under ``--data`` (recursively) in batches, after one warm-up
call so the one-off language-detector build is reported separately as start-up time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sentiment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--backend", default="offline")
    parser.add_argument("--model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=5000, help="texts to classify at most")
    args = parser.parse_args()

    texts = [line for f in sorted(args.data.rglob("*_text.txt")) for line in f.read_text("utf-8").split("\n")]
    texts = texts[: args.limit]
    options = {"batch_size": args.batch_size, **({"model": args.model} if args.model else {})}
    classifier, stats = measure(args.backend, texts, **options)
    print(json.dumps({"backend": classifier.name, "version": classifier.version, **stats}))


def measure(backend: str, texts: list[str], **options: object) -> tuple[sentiment.Classifier, dict[str, object]]:
    """Load a backend and classify ``texts``: start-up (warm-up call included) apart from throughput."""
    started = time.perf_counter()
    classifier = sentiment.load(backend, **options)
    classifier.classify(["warm-up: the language detector and the model's first call"])
    startup = time.perf_counter() - started
    started = time.perf_counter()
    verdicts = classifier.classify(texts)
    seconds = time.perf_counter() - started
    assert len(verdicts) == len(texts)
    return classifier, {
        "texts": len(texts),
        "batch_size": options.get("batch_size"),
        "startup_seconds": round(startup, 2),
        "texts_per_second": round(len(texts) / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    main()
