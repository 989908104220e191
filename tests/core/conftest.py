"""The core driven directly, with a keyword classifier so tests do not depend on a model's judgement."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from connectors.sandbox import SandboxConnector
from sentiment.base import Intent, Label, Verdict
from socialcare import config as configuration
from socialcare.app import App
from tests.conftest import Workspace

ITALIAN = {"il", "non", "ciao", "grazie", "rimborso", "vergogna", "pacco"}


class KeywordClassifier:
    """Decides by a few words, so a test knows what verdict each message gets."""

    name, version, source = "keywords", "test", "tests/core/conftest.py"

    def classify(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Verdict]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> Verdict:
        words = set(text.lower().replace("!", " ").replace("?", " ? ").split())
        language = "it" if words & ITALIAN else "en"
        if words & {"lawyer", "avvocato", "fraud"}:
            intent, label = Intent.URGENT, Label.NEGATIVE
        elif words & {"refund", "rimborso"}:
            intent, label = Intent.REFUND, Label.NEGATIVE
        elif words & {"broken", "vergogna", "useless"}:
            intent, label = Intent.COMPLAINT, Label.NEGATIVE
        elif words & {"thanks", "grazie", "love"}:
            intent, label = Intent.PRAISE, Label.POSITIVE
        elif "?" in words:
            intent, label = Intent.QUESTION, Label.NEUTRAL
        else:
            intent, label = Intent.OTHER, Label.NEUTRAL
        scores = {k.value: (0.8 if k == label else 0.1) for k in Label}
        return Verdict(label, scores, label == Label.NEGATIVE, intent, language, self.name, self.version, (intent,))


@pytest.fixture
def app(workspace: Workspace) -> App:
    application = App(configuration.load(workspace.config))
    application.sync_accounts()
    application.__dict__["classifier"] = KeywordClassifier()
    return application


@pytest.fixture
def sandbox(app: App) -> SandboxConnector:
    connector = app.channels["sandbox"]
    assert isinstance(connector, SandboxConnector)
    return connector
