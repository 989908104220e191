"""The transformers backend, on tiny random models saved to a temporary folder: no network, ever."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import logging
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

import sentiment  # noqa: E402
from sentiment import BackendUnavailable, Intent, Label, Verdict  # noqa: E402
from sentiment.hf import map_labels  # noqa: E402

WORDS = "the a brand love hate good bad great awful service not very grazie vergogna rimborso".split()


def _tiny_model(folder: Path, id2label: dict[int, str]) -> Path:
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = transformers.BertTokenizer(vocab=vocab)
    cfg = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    transformers.BertForSequenceClassification(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # capitalised and in a non-standard order, as real models ship them
    return _tiny_model(tmp_path_factory.mktemp("tiny"), {0: "Positive", 1: "NEGATIVE", 2: "neutral"})


@pytest.fixture(scope="module")
def classifier(tiny: Path) -> sentiment.Classifier:
    return sentiment.load("transformers", model=str(tiny), batch_size=4, device="cpu")


def test_loads_local_folder_and_logs_it(tiny: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="socialcare.sentiment"):
        clf = sentiment.load("transformers", model=str(tiny))
    assert (clf.name, clf.source) == ("transformers", str(tiny))
    assert clf.version.startswith(tiny.name)
    assert f"sentiment backend transformers {clf.version} loaded from {tiny}" in caplog.text


def test_scores_mapped_by_name_and_batched_in_order(classifier: sentiment.Classifier, tiny: Path) -> None:
    texts = ["the service is great", "awful brand", "not very good", "grazie", "hate", "love", "bad", "a"]
    verdicts = classifier.classify(texts)
    assert len(verdicts) == len(texts)
    pipe = transformers.pipeline("text-classification", model=str(tiny))
    for text, verdict in zip(texts, verdicts, strict=True):
        raw = {d["label"].lower(): d["score"] for d in pipe(text, top_k=None)}
        if verdict.intents:  # complaint rules may shift scores; compare only rule-free texts
            continue
        assert verdict.scores == pytest.approx(raw, abs=1e-5)
        assert verdict.label.value == max(raw, key=raw.get)
        assert verdict.backend == "transformers"


def test_rules_shared_with_offline(classifier: sentiment.Classifier) -> None:
    (v,) = classifier.classify(["Vergogna! Il pacco non è mai arrivato e nessuno risponde, voglio il rimborso"])
    assert (v.label, v.intent, v.is_complaint, v.language) == (Label.NEGATIVE, Intent.REFUND, True, "it")


@pytest.mark.parametrize("text", ["", "😀", "love " * 20_000, "\ud800", "great service ma il pacco è rotto"])
def test_bad_input_gets_a_verdict(classifier: sentiment.Classifier, text: str) -> None:
    (v,) = classifier.classify([text])
    assert isinstance(v, Verdict)
    assert sum(v.scores.values()) == pytest.approx(1.0)


def test_failed_batch_is_retried_per_message(classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    real = classifier._run

    def flaky(texts: list[str]):
        if any("kaboom" in t for t in texts):
            raise RuntimeError("model blew up")
        return real(texts)

    monkeypatch.setattr(classifier, "_run", flaky)
    verdicts = classifier.classify(["love", "kaboom", "hate", "great"])
    assert len(verdicts) == 4
    assert verdicts[1].label is Label.NEUTRAL and verdicts[1].scores["neutral"] == 1.0
    assert verdicts[0].scores == classifier.classify(["love"])[0].scores


def test_unmappable_labels_are_refused_by_name(tmp_path: Path) -> None:
    folder = _tiny_model(tmp_path, {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(BackendUnavailable, match=r"LABEL_0, LABEL_1, LABEL_2"):
        sentiment.load("transformers", model=str(folder))


def test_two_class_model_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="cannot be mapped"):
        map_labels({0: "negative", 1: "positive"})


def test_missing_model_is_an_error_not_a_download(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="cannot load sentiment model"):
        sentiment.load("transformers", model=str(tmp_path / "absent"))
    with pytest.raises(BackendUnavailable, match="HF_HUB_OFFLINE"):
        sentiment.load("transformers", model="nobody/not-a-cached-model")
