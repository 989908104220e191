"""Did a change to the classifier change its answers? Macro-F1 per language and label agreement.

    python benchmarks/sentiment_agreement.py --data ../shared/sentiment --save /tmp/before.json
    # ... change the code ...
    python benchmarks/sentiment_agreement.py --data ../shared/sentiment --against /tmp/before.json

Classifies each language's ``val`` split with the default backend and prints its macro-F1. With
``--save`` the verdicts (label, scores, is_complaint, intent, language) are written to a file
outside the project; with ``--against`` they are compared with such a file: the share of tweets
whose label, complaint flag, intent and language are unchanged, and the largest score difference.
Speed work must leave these at 100 % (or explain every difference); rule work reports them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sentiment  # noqa: E402
from sentiment import dataset  # noqa: E402
from sentiment.metrics import CLASS_NAMES, score  # noqa: E402

FOLDERS = {"english": "en", "italian": "it", "spanish": "es", "french": "fr", "german": "de", "portuguese": "pt"}
COMPARED = ("label", "is_complaint", "intent", "language")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", help="offline model file (default: the packaged one)")
    parser.add_argument("--save", type=Path, help="write the verdicts here (keep it outside the project)")
    parser.add_argument("--against", type=Path, help="compare with verdicts saved earlier by --save")
    args = parser.parse_args()

    classifier = sentiment.load("offline", **({"model": args.model} if args.model else {}))
    found: dict[str, list[dict[str, object]]] = {}
    report: dict[str, dict[str, object]] = {}
    for folder, code in FOLDERS.items():
        (split,) = [s for s in dataset.read_folder(args.data / folder) if s.name == args.split]
        verdicts = classifier.classify(split.texts)
        assert len(verdicts) == len(split.texts)
        found[code] = [
            {k: v for k, v in verdict.to_json().items() if k in (*COMPARED, "scores")} for verdict in verdicts
        ]
        macro = score(split.labels, [CLASS_NAMES.index(v.label.value) for v in verdicts]).macro_f1
        report[code] = {"texts": len(verdicts), "macro_f1": round(macro, 4)}
    if args.against:
        before = json.loads(args.against.read_text("utf-8"))
        for code, rows in found.items():
            old = before[code]
            assert len(old) == len(rows), f"{code}: {len(old)} saved verdicts, {len(rows)} now"
            for key in COMPARED:
                same = sum(a[key] == b[key] for a, b in zip(old, rows, strict=True))
                report[code][f"same_{key}"] = round(same / len(rows), 4)
            report[code]["max_score_change"] = max(
                abs(a["scores"][k] - b["scores"][k]) for a, b in zip(old, rows, strict=True) for k in CLASS_NAMES
            )
    for code, row in report.items():
        print(code, " ".join(f"{k}={v}" for k, v in row.items()))
    if args.save:
        args.save.write_text(json.dumps(found), "utf-8")
    print(json.dumps({"backend": classifier.name, "version": classifier.version, "split": args.split, **report}))


if __name__ == "__main__":
    main()
