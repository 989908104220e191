"""Macro-F1, per-class recall and the confusion matrix, without scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CLASS_NAMES", "Scores", "score"]

CLASS_NAMES = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Scores:
    count: int
    macro_f1: float
    accuracy: float
    recall: dict[str, float]
    precision: dict[str, float]
    confusion: list[list[int]]
    """Rows are true labels, columns predicted, both in :data:`CLASS_NAMES` order."""

    def to_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "recall": {k: round(v, 4) for k, v in self.recall.items()},
            "precision": {k: round(v, 4) for k, v in self.precision.items()},
            "confusion": self.confusion,
            "labels": list(CLASS_NAMES),
        }


def score(truth: Sequence[int], predicted: Sequence[int]) -> Scores:
    """Macro-F1 averages F1 over the three classes, so a model cannot win by ignoring one."""
    confusion = np.zeros((3, 3), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        confusion[t, p] += 1
    tp = np.diag(confusion).astype(np.float64)
    actual, chosen = confusion.sum(axis=1), confusion.sum(axis=0)
    recall = np.divide(tp, actual, out=np.zeros(3), where=actual > 0)
    precision = np.divide(tp, chosen, out=np.zeros(3), where=chosen > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(3), where=(precision + recall) > 0)
    total = int(confusion.sum())
    return Scores(
        count=total,
        macro_f1=float(f1.mean()),
        accuracy=float(tp.sum() / total) if total else 0.0,
        recall=dict(zip(CLASS_NAMES, map(float, recall), strict=True)),
        precision=dict(zip(CLASS_NAMES, map(float, precision), strict=True)),
        confusion=confusion.tolist(),
    )
