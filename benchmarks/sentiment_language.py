"""Language-detection accuracy per language on labelled tweet folders.

    python benchmarks/sentiment_language.py --data ../shared/sentiment [--split val]

Expects one subfolder per language named as in the XLM-T splits (english, italian, ...). A tweet
counts as right only when the detector returns that language; ``None`` (too little text) is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment.language import detect_languages  # noqa: E402

FOLDERS = {"english": "en", "italian": "it", "spanish": "es", "french": "fr", "german": "de", "portuguese": "pt"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    results = {}
    for folder, code in FOLDERS.items():
        texts = (args.data / folder / f"{args.split}_text.txt").read_text("utf-8").split("\n")
        found = detect_languages(texts)
        wrong: dict[str, int] = {}
        for guess in found:
            if guess != code:
                wrong[str(guess)] = wrong.get(str(guess), 0) + 1
        results[code] = {
            "texts": len(texts),
            "accuracy": round(1 - sum(wrong.values()) / len(texts), 4),
            "wrong": wrong,
        }
        print(f"{code}: {results[code]['accuracy']:.1%} of {len(texts)}  mistaken for {wrong}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
