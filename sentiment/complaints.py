"""Is a message a complaint? One calibrated probability, compared with a threshold the team can set.

A care team acts on a yes/no per message (apologise, answer within the complaint target), and
wants to catch nearly every unhappy customer without flooding the queue. Neither the model's
label nor a phrase alone does that well: "still waiting for my refund, thanks" sounds polite,
"the worst day ever lol" has a complaint word and no complaint. So the evidence is weighed
together by a small logistic regression: the model's negative and positive scores (as log-odds,
before the complaint rule moves them) and which intent rules fired. It is fitted on tweets the
sentiment model never trained on, and the threshold is chosen for care work (``MODEL_CARD.md``
has the trade-off). A promotion (``spam`` as the primary intent) is never a complaint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .base import Intent

__all__ = ["FEATURES", "SIGNS", "ComplaintModel", "check_threshold", "choose_threshold", "features", "fit", "trade_off"]

FEATURES = ("negative_logodds", "positive_logodds", "urgent", "refund", "complaint", "question", "praise")
SIGNS = (0, 0, 1, 1, 1, -1, -1)
"""Allowed sign of each weight (0: either): an urgent, refund or complaint phrase can only raise the
probability, a question or thanks only lower it. The weights are fitted on general tweets, where
these phrases are rare and noisy; unconstrained, the refund weight came out at -0.15."""
_INTENTS = (Intent.URGENT, Intent.REFUND, Intent.COMPLAINT, Intent.QUESTION, Intent.PRAISE)
_EPS = 1e-4


def features(probs: np.ndarray, found: Sequence[tuple[Intent, ...]]) -> np.ndarray:
    """(n, len(FEATURES)) evidence for (n, 3) negative/neutral/positive ``probs`` and each text's intents."""
    clipped = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    out = np.zeros((len(clipped), len(FEATURES)))
    out[:, 0] = np.log(clipped[:, 0] / (1 - clipped[:, 0]))
    out[:, 1] = np.log(clipped[:, 2] / (1 - clipped[:, 2]))
    for i, present in enumerate(found):
        for j, intent in enumerate(_INTENTS):
            out[i, 2 + j] = intent in present
    return out


@dataclass(frozen=True)
class ComplaintModel:
    """``P(complaint) = sigmoid(weights · features + bias)``; a message is a complaint at ``threshold`` or above."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a complaint model needs {len(FEATURES)} weights, got {len(self.weights)}")
        check_threshold(self.threshold)

    def probability(self, probs: np.ndarray, found: Sequence[tuple[Intent, ...]]) -> np.ndarray:
        z = features(probs, found) @ np.asarray(self.weights) + self.bias
        p = 1.0 / (1.0 + np.exp(-z))
        spam = np.array([bool(f) and f[0] is Intent.SPAM for f in found], dtype=bool)
        return np.where(spam, 0.0, p)

    def with_threshold(self, threshold: float) -> ComplaintModel:
        return replace(self, threshold=check_threshold(threshold))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComplaintModel:
        if list(data.get("features", ())) != list(FEATURES):
            raise ValueError(f"complaint model features {data.get('features')} are not {list(FEATURES)}")
        return cls(
            tuple(float(w) for w in data["weights"]),
            float(data["bias"]),
            float(data["threshold"]),
            str(data.get("fitted_on", "")),
        )


def check_threshold(value: object) -> float:
    """A threshold is a number strictly between 0 and 1 (0 would flag everything, 1 nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"complaint_threshold must be a number between 0 and 1 (exclusive), not {value!r}")
    return float(value)


def fit(
    x: np.ndarray, negative: np.ndarray, signs: Sequence[int] = SIGNS, l2: float = 1.0
) -> tuple[tuple[float, ...], float]:
    """L2-regularised logistic regression with sign constraints (:data:`SIGNS`).

    A weight whose sign comes out wrong is fixed at 0 and the rest refitted, until none is wrong.
    """
    free = list(range(x.shape[1]))
    while True:
        weights, bias = _newton(x[:, free], np.asarray(negative, dtype=np.float64), l2)
        wrong = [j for j, w in zip(free, weights, strict=True) if signs[j] * w < 0]
        if not wrong:
            full = np.zeros(x.shape[1])
            full[free] = weights
            return tuple(float(w) for w in full), bias
        free = [j for j in free if j not in wrong]


def _newton(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 50) -> tuple[np.ndarray, float]:
    n, k = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.diag([l2] * k + [0.0])
    w = np.zeros(k + 1)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:k], float(w[k])


def trade_off(p: np.ndarray, negative: np.ndarray, threshold: float) -> dict[str, float]:
    """Recall and precision on negative messages, and the share of all messages flagged, at ``threshold``."""
    flagged = np.asarray(p) >= threshold
    truth = np.asarray(negative, dtype=bool)
    caught = int((flagged & truth).sum())
    return {
        "threshold": threshold,
        "recall": caught / max(1, int(truth.sum())),
        "precision": caught / max(1, int(flagged.sum())),
        "flagged": float(flagged.mean()) if len(flagged) else 0.0,
    }


def choose_threshold(parts: Sequence[tuple[np.ndarray, np.ndarray]], recall: float) -> float:
    """The highest threshold (fewest false alarms) that still catches ``recall`` of the negatives in every part."""
    candidates = np.unique(np.round(np.concatenate([p for p, _ in parts]), 4))
    best = 0.0
    for threshold in candidates:
        if 0 < threshold < 1 and all(trade_off(p, y, threshold)["recall"] >= recall for p, y in parts):
            best = max(best, float(threshold))
    if best == 0.0:
        raise ValueError(f"no threshold catches {recall:.0%} of the negatives in every part")
    return best
