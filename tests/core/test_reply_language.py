"""The reply's language comes from the conversation, not from the last few words."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.sandbox import SandboxConnector
from sentiment.base import Intent, Label, Verdict
from socialcare import cases
from socialcare.app import App
from socialcare.cases import QueueFilter
from socialcare.db import session_scope
from socialcare.languages import Said, conversation_language

KNOWN = ("en", "it", "es", "fr", "de", "pt")
GUESSES = {"I did": "pt", "PAY ATTENTION TO ME": "fr", "Obrigada": "pt"}
"""What a detector really says about these few words."""


class GuessingClassifier:
    """English for every sentence, and the detector's real wrong guesses for a few short texts."""

    name, version, source = "guessing", "test", __file__

    def classify(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Verdict]:
        return [
            Verdict(
                Label.NEUTRAL,
                {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
                False,
                Intent.OTHER,
                GUESSES.get(t, "it" if "ciao" in t.lower() else "en"),
                self.name,
                self.version,
                (),
            )
            for t in texts
        ]


def test_a_short_reply_does_not_flip_an_english_conversation() -> None:
    said = [Said("My order from last week has not arrived yet, can you check it?", "en"), Said("I did", "pt")]
    assert conversation_language(said, [], KNOWN) == "en"


def test_shouting_alone_does_not_decide() -> None:
    assert conversation_language([Said("PAY ATTENTION TO ME", "fr")], [], KNOWN) is None


def test_a_short_message_follows_the_platform_tag_then_earlier_cases() -> None:
    assert conversation_language([Said("I did", "pt", "en")], [], KNOWN) == "en"
    assert conversation_language([Said("I did", "pt")], ["it"], KNOWN) == "it"


def test_a_customer_who_writes_a_longer_message_in_another_language_is_followed() -> None:
    said = [
        Said("Hello there, quick one", "en"),
        Said("Scusate, preferisco scrivere in italiano: dov'è il pacco?", "it"),
    ]
    assert conversation_language(said, [], KNOWN) == "it"


def test_a_few_clear_words_are_taken_when_nothing_else_is_known() -> None:
    assert conversation_language([Said("Grazie mille!", "it")], [], KNOWN) == "it"


def test_the_draft_stays_in_the_conversations_language(app: App, sandbox: SandboxConnector) -> None:
    app.__dict__["classifier"] = GuessingClassifier()
    first = sandbox.post("ann", "My order from last week has not arrived yet, did you ship it?")
    app.poll("sandbox")
    app.process()
    sandbox.post("ann", "I did", reply_to=first)
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        [row] = cases.queue(session, QueueFilter())
    assert row["language"] == "en" and row["draft"].startswith("Hi ann,")


def test_shouting_gets_the_accounts_language(app: App, sandbox: SandboxConnector) -> None:
    app.__dict__["classifier"] = GuessingClassifier()
    sandbox.post("bob", "PAY ATTENTION TO ME")
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        [row] = cases.queue(session, QueueFilter())
    assert row["draft"].startswith("Hi ")
