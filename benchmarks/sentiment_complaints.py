"""How many unhappy messages does ``is_complaint`` catch, and how many false alarms, at each threshold?

    python benchmarks/sentiment_complaints.py --data ../shared/sentiment \\
        --replay ../shared/replay/twcs-sample.csv --replay-labels benchmarks/sentiment_replay_labels.csv

Four parts, each scored on its own (negative = what the complaint flag should catch):

- val, even lines: general tweets of the six languages, label 0 = negative; the complaint model
  was fitted here and the default threshold chosen here too;
- val, odd lines: the same kind of tweets, held out;
- replay, tuning part: customer tweets to brands (Kaggle's 93-row sample of "Customer Support on
  Twitter", its inbound tweets), labelled by hand in ``sentiment_replay_labels.csv`` (how: see
  the model card); the threshold had to catch the target share of negatives here too;
- replay, held-out part: other customers' tweets, never used for a choice.

For each threshold: recall (share of negatives flagged), precision (share of flagged that are
negative) and the share of all messages flagged; ``rule`` is the fixed rule the transformers
backend uses (negative label, or a complaint, refund or urgent phrase). A negative is one
message: a part of 25 tweets moves by 0.04 per tweet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment import verdicts  # noqa: E402
from sentiment.complaints import trade_off  # noqa: E402
from sentiment.offline import OfflineClassifier  # noqa: E402
from sentiment.train_default import Part, replay_parts, val_parts  # noqa: E402

THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


def rule(part: Part) -> np.ndarray:
    """The flag without calibration, as :func:`sentiment.verdicts.build` sets it for a backend without one."""
    found = verdicts.build(part.texts, part.probs, "rule", "", [None] * len(part.texts), part.found)
    return np.array([v.is_complaint for v in found], dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--replay", type=Path)
    parser.add_argument("--replay-labels", type=Path)
    parser.add_argument("--model", help="offline model file (default: the packaged one)")
    args = parser.parse_args()

    classifier = OfflineClassifier(args.model)
    assert classifier.complaints is not None, "this model has no complaint calibration"
    default = classifier.complaints.threshold
    parts = list(val_parts(classifier, args.data))
    if args.replay and args.replay_labels:
        parts += list(replay_parts(classifier, args.replay, args.replay_labels))
    report: dict[str, object] = {"version": classifier.version, "default_threshold": default, "parts": {}}
    header = f"{'threshold':>10}" + "".join(f" | {p.name[:30]:>30}" for p in parts)
    print(f"complaint model of {classifier.version}, default threshold {default}")
    print(f"{'':>10}" + "".join(f" | {'recall  precision  flagged':>30}" for _ in parts))
    print(header)
    rows: dict[str, list[dict[str, float]]] = {p.name: [] for p in parts}
    for threshold in sorted({*THRESHOLDS, default}):
        cells = []
        for part in parts:
            found = trade_off(part.probability(classifier.complaints), part.negative, threshold)
            rows[part.name].append(found)
            cells.append(f"{found['recall']:6.2f} {found['precision']:9.2f} {found['flagged']:8.2f}")
        mark = "*" if threshold == default else " "
        print(f"{threshold:>9.4g}{mark}" + "".join(f" | {c:>30}" for c in cells))
    cells = []
    for part in parts:
        found = trade_off(rule(part), part.negative, 0.5)
        rows[part.name].append({**found, "threshold": "rule"})  # type: ignore[dict-item]
        cells.append(f"{found['recall']:6.2f} {found['precision']:9.2f} {found['flagged']:8.2f}")
    print(f"{'rule':>10}" + "".join(f" | {c:>30}" for c in cells))
    for part in parts:
        report["parts"][part.name] = {  # type: ignore[index]
            "messages": len(part.negative),
            "negative": int(part.negative.sum()),
            "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows[part.name]],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
