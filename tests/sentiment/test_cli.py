"""`sentiment eval` / `sentiment train` as a user runs them, on small folders written per test."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import sentiment
from sentiment.cli import app

runner = CliRunner()

NEGATIVE = [
    "Vergogna! Il pacco non è mai arrivato",
    "Worst service ever, still waiting for my refund",
    "Non funziona niente, che schifo",
    "Terrible app, it keeps crashing",
    "I hate this, awful support",
]
NEUTRAL = ["What time do you open on Sunday?", "A che ora aprite domenica?", "Where is your store in Milan?"]
POSITIVE = ["Grazie mille, servizio fantastico!", "Thank you, great support!", "Love it, amazing team 😍"]


def _write(folder: Path, name: str, texts: list[str], labels: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_text.txt").write_text("\n".join(texts), encoding="utf-8")
    (folder / f"{name}_labels.txt").write_text("\n".join(labels), encoding="utf-8")


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    texts = NEGATIVE + NEUTRAL + POSITIVE
    labels = ["0"] * len(NEGATIVE) + ["1"] * len(NEUTRAL) + ["2"] * len(POSITIVE)
    _write(tmp_path / "data", "val", texts, labels)
    return tmp_path / "data"


def test_eval_json_reports_macro_f1_recall_and_confusion(labelled: Path) -> None:
    result = runner.invoke(app, ["eval", "--data", str(labelled), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["backend"] == "offline" and report["count"] == 11 and report["files"] == ["val"]
    assert sum(map(sum, report["confusion"])) == 11
    assert [sum(row) for row in report["confusion"]] == [5, 3, 3]
    assert report["recall"]["negative"] >= 0.8
    assert 0.5 <= report["macro_f1"] <= 1.0


def test_eval_table_for_people(labelled: Path) -> None:
    result = runner.invoke(app, ["eval", "--data", str(labelled)])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "confusion matrix" in result.stdout
    assert "negative" in result.stdout and "recall" in result.stdout


def test_eval_uses_the_configured_classifier(labelled: Path) -> None:
    calls = []

    def configured() -> sentiment.Classifier:
        calls.append(1)
        return sentiment.load("offline")

    result = runner.invoke(app, ["eval", "--data", str(labelled), "--json"], obj=SimpleNamespace(classifier=configured))
    assert result.exit_code == 0, result.output
    assert calls == [1]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "data folder not found"),
        (lambda d: _write(d, "val", ["a", "b"], ["0"]), "has 2 lines but val_labels.txt has 1"),
        (lambda d: _write(d, "val", ["a", "b"], ["0", "negative"]), "val_labels.txt:2: label 'negative'"),
        (lambda d: d.mkdir(), "no *_text.txt / *_labels.txt pairs"),
    ],
    ids=["missing-folder", "line-mismatch", "bad-label", "empty-folder"],
)
def test_eval_bad_data_is_one_line_and_exit_1(tmp_path: Path, setup, message: str) -> None:
    folder = tmp_path / "d"
    setup(folder)
    result = runner.invoke(app, ["eval", "--data", str(folder)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_eval_unknown_backend_is_an_error(labelled: Path) -> None:
    result = runner.invoke(app, ["eval", "--data", str(labelled), "--backend", "vader"])
    assert result.exit_code == 1
    assert "unknown sentiment backend 'vader'" in result.stderr


def test_train_writes_a_model_that_load_and_eval_use(tmp_path: Path, labelled: Path) -> None:
    data = tmp_path / "team"
    # a team's own data: every message says "banana" when positive, so the model must learn that
    texts = [f"banana {w}" for w in ("one", "two", "three", "four")] + [f"kiwi {w}" for w in ("one", "two", "three")]
    texts += [f"plum {w}" for w in ("one", "two", "three")]
    _write(data, "train", texts, ["2"] * 4 + ["0"] * 3 + ["1"] * 3)
    _write(data, "val", ["banana five", "kiwi four"], ["2", "0"])
    out = tmp_path / "model.npz"
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "trained on 10 messages from train" in result.stdout and "held-out val: macro-F1" in result.stdout
    clf = sentiment.load("offline", model=out)
    assert clf.source == str(out)
    assert [v.label.value for v in clf.classify(["banana six", "kiwi six"])] == ["positive", "negative"]
    evaluated = runner.invoke(app, ["eval", "--data", str(data), "--model", str(out), "--json"])
    assert json.loads(evaluated.stdout)["version"] == clf.version


def test_train_needs_all_three_classes(tmp_path: Path) -> None:
    _write(tmp_path / "d", "mine", ["good", "bad"], ["2", "0"])
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "m.npz")])
    assert result.exit_code == 1
    assert "no neutral examples" in result.stderr
