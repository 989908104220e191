"""`socialcare classify`: one verdict per input line, in order, with the documented JSON keys."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from socialcare.cli import main

LINES = [
    "Vergogna! Il pacco non è mai arrivato e nessuno risponde, voglio il rimborso.",
    "",
    "{{ 7*7 }}",
    "Thank you so much, the support team was fantastic!",
]


def classify(monkeypatch: pytest.MonkeyPatch, tmp_path, *args: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """Run as someone with no config would: the default (offline) backend is used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOCIALCARE_CONFIG", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["classify", *args]) == 0
    return out.getvalue()


def test_classify_json_lines_keep_order_and_keys(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    output = classify(monkeypatch, tmp_path, "--json", text="\n".join(LINES) + "\n")
    verdicts = [json.loads(line) for line in output.splitlines()]
    assert len(verdicts) == len(LINES)
    assert all(set(v) == {"label", "scores", "is_complaint", "intent", "language", "backend"} for v in verdicts)
    assert verdicts[0]["label"] == "negative" and verdicts[0]["is_complaint"] and verdicts[0]["language"] == "it"
    assert verdicts[1]["label"] == "neutral" and verdicts[1]["language"] is None
    assert verdicts[3]["label"] == "positive" and not verdicts[3]["is_complaint"]
    assert {v["backend"] for v in verdicts} == {"offline"}


def test_classify_plain_prints_one_line_per_text(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    output = classify(monkeypatch, tmp_path, text="\n".join(LINES))
    rows = [line.split("\t") for line in output.splitlines()]
    assert len(rows) == len(LINES) and rows[0][:3] == ["negative", rows[0][1], "complaint"]
