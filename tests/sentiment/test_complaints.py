"""The complaint model: a calibrated probability and a threshold, fitted and chosen the way the model card says."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment import Intent
from sentiment.complaints import FEATURES, ComplaintModel, check_threshold, choose_threshold, features, fit, trade_off


def test_features_read_scores_as_log_odds_and_intents_as_flags() -> None:
    x = features(np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]]), [(Intent.COMPLAINT, Intent.QUESTION), ()])
    assert x.shape == (2, len(FEATURES))
    assert x[0, 0] == pytest.approx(0.0) and x[0, 1] == pytest.approx(np.log(1 / 3))
    assert x[0, FEATURES.index("complaint")] == 1 and x[0, FEATURES.index("question")] == 1
    assert x[1, 0] < -9  # a certain "not negative" is clipped, not -inf
    assert not x[1, 2:].any()


def test_fit_learns_that_complaint_phrases_raise_the_probability() -> None:
    rng = np.random.default_rng(0)
    negative = rng.random(400) < 0.5
    probs = np.where(negative[:, None], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]) + rng.normal(0, 0.05, (400, 3))
    probs = np.clip(probs, 0.01, None) / np.clip(probs, 0.01, None).sum(axis=1, keepdims=True)
    found = [(Intent.COMPLAINT,) if neg and rng.random() < 0.7 else () for neg in negative]
    weights, bias = fit(features(probs, found), negative)
    model = ComplaintModel(weights, bias, 0.5)
    assert weights[FEATURES.index("negative_logodds")] > 0
    assert weights[FEATURES.index("complaint")] > 0
    p = model.probability(probs, found)
    assert trade_off(p, negative, 0.5)["recall"] > 0.9


def test_spam_is_never_a_complaint_whatever_its_scores() -> None:
    model = ComplaintModel(tuple([1.0] * len(FEATURES)), 5.0, 0.5)
    p = model.probability(np.array([[0.9, 0.05, 0.05]] * 2), [(Intent.SPAM,), (Intent.COMPLAINT, Intent.SPAM)])
    assert p[0] == 0.0 and p[1] > 0.99


def test_the_chosen_threshold_is_the_highest_that_meets_recall_everywhere() -> None:
    a = (np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1]), np.array([1, 1, 1, 0, 1, 0], dtype=bool))
    b = (np.array([0.95, 0.5, 0.3]), np.array([1, 1, 0], dtype=bool))
    threshold = choose_threshold([a, b], recall=0.75)
    assert threshold == 0.5
    assert trade_off(*a, threshold)["recall"] >= 0.75 and trade_off(*b, threshold)["recall"] == 1.0
    assert trade_off(*a, 0.51)["recall"] >= 0.75 and trade_off(*b, 0.51)["recall"] < 0.75


def test_round_trip_and_validation() -> None:
    model = ComplaintModel(tuple(float(i) for i in range(len(FEATURES))), -1.0, 0.3, fitted_on="test")
    assert ComplaintModel.from_json(model.to_json()) == model
    assert model.with_threshold(0.7).threshold == 0.7
    for bad in (0, 1, "0.5", None, False):
        with pytest.raises(ValueError, match="between 0 and 1"):
            check_threshold(bad)
    with pytest.raises(ValueError, match="features"):
        ComplaintModel.from_json({**model.to_json(), "features": ["negative_logodds"]})


def test_a_refund_phrase_never_lowers_the_probability() -> None:
    # in this data refund phrases come with happy messages, but the sign constraint holds the weight at 0
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.3, 0.6]] * 50)
    negative = np.array([True, False] * 50)
    found = [(), (Intent.REFUND,)] * 50
    weights, _ = fit(features(probs, found), negative)
    assert weights[FEATURES.index("refund")] == 0.0
    assert weights[FEATURES.index("negative_logodds")] > 0
