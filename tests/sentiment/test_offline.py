"""The default backend as the core uses it: load() with no options, verdicts a care team can act on."""

from __future__ import annotations

import logging

import pytest

import sentiment
from sentiment import BackendUnavailable, Intent, Label, Verdict


@pytest.fixture(scope="module")
def offline() -> sentiment.Classifier:
    return sentiment.load()


def test_load_logs_backend_version_and_source(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="socialcare.sentiment"):
        classifier = sentiment.load("offline")
    assert isinstance(classifier, sentiment.Classifier)
    assert classifier.name == "offline"
    assert classifier.source.endswith(".npz")
    assert f"offline {classifier.version} loaded from {classifier.source}" in caplog.text


def test_italian_complaint_is_negative_refund_complaint(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["Vergogna! Il pacco non è mai arrivato e nessuno risponde, voglio il rimborso"])
    assert v.label is Label.NEGATIVE
    assert v.is_complaint
    assert v.intent is Intent.REFUND
    assert Intent.COMPLAINT in v.intents
    assert v.language == "it"
    assert v.backend == "offline" and v.backend_version == offline.version


def test_italian_praise_is_positive(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["Grazie mille, servizio fantastico!"])
    assert (v.label, v.intent, v.is_complaint, v.language) == (Label.POSITIVE, Intent.PRAISE, False, "it")


def test_english_question_is_neutral(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["What time do you open on Sunday?"])
    assert (v.label, v.intent, v.is_complaint, v.language) == (Label.NEUTRAL, Intent.QUESTION, False, "en")


def test_polite_refund_wait_is_a_complaint(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["I've been waiting 3 weeks for my refund"])
    assert v.is_complaint
    assert v.intent is Intent.REFUND


def test_urgent_outranks_complaint(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["The charger you sold me caught fire, this is unacceptable. My lawyer will call you."])
    assert v.intent is Intent.URGENT
    assert Intent.COMPLAINT in v.intents
    assert v.is_complaint


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀", "x" * 100_000, "\ud800", "abc\udfffdef", "Great service but il pacco è arrivato rotto"],
    ids=["empty", "blank", "emoji", "100k", "lone-surrogate", "surrogate-inside", "mixed-languages"],
)
def test_bad_input_gets_a_verdict(offline: sentiment.Classifier, text: str) -> None:
    (v,) = offline.classify([text])
    assert isinstance(v, Verdict)
    assert abs(sum(v.scores.values()) - 1) < 1e-6
    assert set(v.scores) == {"negative", "neutral", "positive"}


def test_empty_text_is_neutral_without_language(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify([""])
    assert (v.label, v.language, v.intent, v.is_complaint) == (Label.NEUTRAL, None, Intent.OTHER, False)


def test_batch_keeps_length_and_order(offline: sentiment.Classifier) -> None:
    texts = ["Grazie mille, servizio fantastico!", "", "What time do you open on Sunday?"] * 120
    verdicts = offline.classify(texts)
    assert len(verdicts) == len(texts)
    assert [v.label for v in verdicts[:3]] == [Label.POSITIVE, Label.NEUTRAL, Label.NEUTRAL]
    assert verdicts[:3] == verdicts[-3:]
    assert offline.classify([]) == []


def test_verdict_json_round_trips_scores(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["Vergogna!"])
    data = v.to_json()
    assert data["label"] == "negative" and data["backend"] == "offline"
    assert set(data) >= {"label", "scores", "is_complaint", "intent", "intents", "language", "backend"}


def test_missing_model_file_is_an_error_not_a_fallback(tmp_path) -> None:
    with pytest.raises(BackendUnavailable, match="sentiment train"):
        sentiment.load("offline", model=tmp_path / "nope.npz")


def test_corrupt_model_file_is_an_error(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(BackendUnavailable, match="cannot read offline model"):
        sentiment.load("offline", model=bad)


def test_unknown_backend_and_option_are_errors() -> None:
    with pytest.raises(BackendUnavailable, match="unknown sentiment backend"):
        sentiment.load("vader")
    with pytest.raises(
        BackendUnavailable,
        match=r"'offline' has no option 'device' \(it takes: model, batch_size, complaint_threshold\)",
    ):
        sentiment.load("offline", device="cpu")
    with pytest.raises(BackendUnavailable, match="bad option for sentiment backend 'offline'"):
        sentiment.load("offline", batch_size="lots")


def test_unreadable_lexicon_fails_at_load_not_mid_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentiment.lexicon as lexicon_module

    def broken() -> None:
        raise FileNotFoundError("vader_valence.txt")

    monkeypatch.setattr(lexicon_module, "_vader", broken)
    lexicon_module.lexicon.cache_clear()
    try:
        with pytest.raises(BackendUnavailable, match="lexicons cannot be read.*reinstall socialcare"):
            sentiment.load("offline")
    finally:
        monkeypatch.undo()
        lexicon_module.lexicon.cache_clear()


def test_repeated_texts_are_scored_once_and_each_gets_its_own_verdict(
    offline: sentiment.Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[int] = []
    predict = offline._predict  # type: ignore[attr-defined]

    def counting(norms, languages, found):  # type: ignore[no-untyped-def]
        scored.append(len(norms))
        return predict(norms, languages, found)

    monkeypatch.setattr(offline, "_predict", counting)
    storm = ["RT this is a scam, don't buy", "Where is my order?", "RT this is a scam, don't buy  "] * 50
    verdicts = offline.classify(storm)
    assert sum(scored) == 2
    assert len(verdicts) == len(storm)
    assert verdicts[0] == verdicts[2] == verdicts[-1] and verdicts[1] != verdicts[0]
    assert verdicts[0].scores is not verdicts[2].scores


def test_thank_you_notes_are_praise_not_complaints(offline: sentiment.Classifier) -> None:
    notes = ["Thanks for the help!", "Danke für die Hilfe!", "muito obrigada pela ajuda!", "it's ok I fixed it, thanks"]
    for v in offline.classify(notes):
        assert (v.intent, v.is_complaint) == (Intent.PRAISE, False)
        assert v.label is Label.POSITIVE


def test_safety_report_is_urgent_and_a_complaint(offline: sentiment.Classifier) -> None:
    (v,) = offline.classify(["I'm in the ER after a car accident during my ride, the driver was texting"])
    assert v.intent is Intent.URGENT
    assert v.is_complaint


def test_promotions_are_spam_and_never_complaints(offline: sentiment.Classifier) -> None:
    promos = [
        "EARN $500/DAY click here",
        "Follow us for giveaways https://t.co/abc123",
        "RT @deals: Win a free trip! Enter now",
    ]
    for v in offline.classify(promos):
        assert v.intent is Intent.SPAM
        assert not v.is_complaint and v.complaint_probability == 0.0


def test_complaint_flag_is_the_probability_against_the_threshold(offline: sentiment.Classifier) -> None:
    texts = [
        "Your app has crashed every time I open it since yesterday's update. Absolutely useless.",
        "What time does the store open on Sunday?",
        "the delivery was ok I guess",
        "Grazie mille, servizio fantastico!",
    ]
    threshold = offline.complaints.threshold  # type: ignore[attr-defined]
    found = offline.classify(texts)
    for v in found:
        assert v.complaint_probability is not None and 0.0 <= v.complaint_probability <= 1.0
        assert v.is_complaint == (v.complaint_probability >= threshold)
    assert found[0].is_complaint and not found[1].is_complaint and not found[3].is_complaint
    assert found[0].to_json()["complaint_probability"] == round(found[0].complaint_probability, 4)


def test_complaint_threshold_option_moves_the_decision() -> None:
    text = ["the delivery was late again"]
    (p,) = [v.complaint_probability for v in sentiment.load("offline").classify(text)]
    assert p is not None
    (strict,) = sentiment.load("offline", complaint_threshold=min(0.99, p + 0.01)).classify(text)
    (lenient,) = sentiment.load("offline", complaint_threshold=max(0.01, p - 0.01)).classify(text)
    assert (strict.is_complaint, lenient.is_complaint) == (False, True)
    assert strict.complaint_probability == lenient.complaint_probability == p


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, "high", True])
def test_complaint_threshold_must_be_between_0_and_1(value: object) -> None:
    with pytest.raises(BackendUnavailable, match="complaint_threshold must be a number between 0 and 1"):
        sentiment.load("offline", complaint_threshold=value)
