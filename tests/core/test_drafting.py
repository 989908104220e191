"""Drafts greet by name, apologise for complaints, speak the customer's language, never run customer text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from connectors.sandbox import SandboxConnector
from sentiment.base import Intent, Verdict
from socialcare import cases
from socialcare.app import App
from socialcare.cases import QueueFilter
from socialcare.config import ConfigError
from socialcare.db import session_scope
from socialcare.drafting import Choice, Drafter, DraftRequest, Reading, body, choose, first_name, greeting_name
from tests.core.conftest import KeywordClassifier


def request(**kw: object) -> DraftRequest:
    base = {
        "language": "en",
        "intent": "question",
        "is_complaint": False,
        "customer_name": "Ann",
        "channel": "x",
        "handle": "ann",
    }
    return DraftRequest(**{**base, **kw})  # type: ignore[arg-type]


def test_drafts_in_the_customers_language_with_their_name() -> None:
    drafter = Drafter()
    text, language = drafter.draft(request(language="it", intent="refund", is_complaint=True, customer_name="Maria"))
    assert language == "it" and text.startswith("Ciao Maria,") and "rimborso" in text


def test_complaints_get_an_apology_and_unknown_languages_fall_back() -> None:
    text, language = Drafter().draft(request(language="sw", intent="other", is_complaint=True))
    assert language == "en" and "sorry" in text


def test_customer_text_in_a_name_is_never_evaluated() -> None:
    text, _ = Drafter().draft(request(customer_name="{{ 7*7 }}{% raw %}"))
    assert text.startswith("Hi {{ 7*7 }}{% raw %},")


def test_a_team_template_overrides_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "question.j2").write_text("Hello {{ name }} from the team.\n")
    text, _ = Drafter(tmp_path).draft(request())
    assert text == "Hello Ann from the team."


def test_a_broken_template_fails_at_start_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "praise.j2").write_text("Thanks {{ name }\n")
    with pytest.raises(ConfigError, match=r"template en/praise.j2, line 1"):
        Drafter(tmp_path)


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "question.j2").write_text("{{ name.__class__.__mro__ }}")
    with pytest.raises(Exception, match="unsafe|not safely|has no attribute"):
        Drafter(tmp_path).draft(request())


@pytest.mark.parametrize(
    ("name", "handle", "greeting"), [("Maria Rossi", "mr", "Maria"), (None, "mr", "mr"), ("  ", "mr", "mr")]
)
def test_greets_by_first_name_else_handle(name: str | None, handle: str, greeting: str) -> None:
    assert first_name(name, handle) == greeting


def read(text: str, label: str, intent: str, complaint: bool = False, intents: tuple[str, ...] = ()) -> Reading:
    return Reading(label=label, intent=intent, intents=intents or (intent,), is_complaint=complaint, text=text)


def drafted(priority: str, *readings: Reading, language: str = "en") -> str:
    choice = choose(priority, readings)
    text, _ = Drafter().draft(request(language=language, intent=choice.template, is_complaint=choice.apology))
    return text


def test_a_complaint_is_never_thanked_for_kind_words() -> None:
    sarcastic = read("Thanks a lot for losing my parcel", "negative", "praise", complaint=True)
    text = drafted("complaint", sarcastic)
    assert "kind words" not in text and "sorry" in text.lower()


def test_praise_never_gets_an_apology() -> None:
    text = drafted("low", read("Love the new collection, delivery was fast too!", "positive", "praise"))
    assert "kind words" in text or "made our day" in text
    assert "sorry" not in text.lower() and "apolog" not in text.lower()


@pytest.mark.parametrize(
    ("text", "language", "glad"),
    [
        ("it's ok I fixed it, thanks", "en", "glad to hear"),
        ("Thanks for the help!", "en", "glad to hear"),
        ("Danke für die Hilfe!", "de", "schön zu hören"),
        ("muito obrigada pela ajuda!", "pt", "ficamos contentes"),
        ("grazie per l'aiuto", "it", "che bello sentirlo"),
        ("gracias por la ayuda", "es", "nos alegra saberlo"),
        ("merci pour l'aide", "fr", "ravis de l'apprendre"),
    ],
)
def test_a_thank_you_note_gets_a_short_glad_reply_not_a_question_or_an_apology(
    text: str, language: str, glad: str
) -> None:
    reply = drafted("low", read(text, "positive", "praise"), language=language)
    assert glad in reply.lower()
    assert "question" not in reply and "domanda" not in reply and "sorry" not in reply.lower()


def test_a_neutral_question_is_answered_without_an_apology_even_when_flagged() -> None:
    text = drafted("complaint", read("Also, is there parking nearby?", "neutral", "question", complaint=True))
    assert "question" in text and "sorry" not in text.lower()


def test_an_exchange_is_not_answered_about_a_refund() -> None:
    asking = read("ma commande est arrivée abîmée. Comment faire pour un échange ?", "negative", "refund", True)
    text = drafted("complaint", asking, language="fr")
    assert "échange" in text and "rembours" not in text


def test_urgent_follows_the_priority_whatever_the_intent() -> None:
    assert choose("urgent", [read("I was in the ER after the ride", "negative", "other")]).template == "urgent"


def test_spam_is_suggested_for_rejection_and_a_real_customer_is_not() -> None:
    spam = read("EARN $500/DAY FROM HOME!!! Click here", "positive", "spam")
    assert choose("low", [spam]).reject is not None
    assert choose("normal", [spam, read("where is my order?", "neutral", "question")]).reject is None


def test_every_bundled_language_has_every_reply() -> None:
    drafter = Drafter()
    for language in ("en", "it", "es", "fr", "de", "pt"):
        for template in ("default", "complaint", "question", "praise", "thanks", "refund", "exchange", "urgent"):
            text, used = drafter.draft(request(language=language, intent=template))
            assert used == language and len(text.split()) >= 8


def test_the_wording_the_customer_saw_last_is_not_drafted_again() -> None:
    drafter = Drafter()
    first, _ = drafter.draft(request(intent="complaint"))
    second, _ = drafter.draft(request(intent="complaint", seen=[first]))
    third, _ = drafter.draft(request(intent="complaint", seen=[first, second]))
    assert len({first, second, third}) == 3


def test_people_in_one_thread_get_different_wordings_despite_different_names() -> None:
    drafter = Drafter()
    seen: list[str] = []
    for name in ("Ann", "Bob", "Cy"):
        text, _ = drafter.draft(request(intent="complaint", customer_name=name, seen=seen))
        seen.append(text)
    assert len({body(t) for t in seen}) == 3


def test_a_draft_fits_the_channel() -> None:
    text, _ = Drafter().draft(request(intent="urgent", fits=lambda t: len(t) <= 140))
    assert len(text) <= 140 and "sorry" in text.lower()


def test_x_greets_by_handle_other_channels_by_first_name() -> None:
    assert greeting_name("x", "Ann Lee", "ann_l") == "@ann_l"
    assert greeting_name("facebook", "Ann Lee", "ann_l") == "Ann"


def test_a_broadcast_gets_no_draft_and_is_suggested_for_rejection(app: App, sandbox: SandboxConnector) -> None:
    app.__dict__["classifier"] = SpamAware()
    sandbox.post("deals", "EARN $500/DAY FROM HOME!!! Click here")
    sandbox.post("ann", "Where is my order?")
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        rows = {row["handle"]: row for row in cases.queue(session, QueueFilter())}
        shown = cases.show(session, rows["deals"]["id"])
    assert rows["deals"]["draft"] is None and "spam" in rows["deals"]["suggestion"]
    assert "spam" in shown["suggestion"] and shown["replies"] == []
    assert rows["ann"]["suggestion"] is None and "question" in rows["ann"]["draft"]


class SpamAware(KeywordClassifier):
    def _one(self, text: str) -> Verdict:
        verdict = super()._one(text)
        if "click here" in text.lower():
            return replace(verdict, intent=Intent.SPAM, intents=(Intent.SPAM,))
        return verdict


def test_a_conversation_that_ends_in_thanks_gets_the_glad_reply() -> None:
    before = read("songs keep skipping, tried everything", "negative", "complaint", complaint=True)
    solved = read("@SpotifyCares Brilliant thanks 😊", "positive", "praise")
    assert choose("complaint", [before, solved]).template == "thanks"
    assert choose("normal", [read("Thank you for the answer!!", "positive", "praise")]).template == "thanks"
    working = read("seems to be working at this stage. Will let you know. Cheers", "neutral", "other", True)
    assert choose("complaint", [working]).template == "thanks"
    assert choose("complaint", [read("Super help - problem solved 😀", "positive", "other")]).template == "thanks"


def test_a_jab_after_a_complaint_is_not_thanked_as_a_question() -> None:
    earlier = [read("Got ID'd for one beer. Is being blind part of the job-spec?", "negative", "question", True)]
    jab = read("Maybe hire colleagues who can see?", "neutral", "question")
    choice = choose("normal", [jab], earlier)
    assert choice.template == "default" and choice.apology


def test_a_complaint_flagged_by_the_model_alone_still_gets_an_apology() -> None:
    hoping = read("I really hope you all change but I'm sure you won't!", "positive", "other", complaint=True)
    assert choose("complaint", [hoping]) == Choice("default", True)


def test_the_channel_does_not_read_like_one_canned_text() -> None:
    drafter = Drafter()
    elsewhere: list[str] = []
    for name in ("Ann", "Bob", "Cy"):
        text, _ = drafter.draft(request(intent="complaint", customer_name=name, elsewhere=elsewhere))
        elsewhere.append(text)
    assert len({body(t) for t in elsewhere}) == 3


def test_a_withdrawn_draft_is_not_drafted_again_after_the_team_answered_on_the_platform(
    app: App, sandbox: SandboxConnector
) -> None:
    first = sandbox.post("ann", "My parcel arrived broken")
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        [before] = cases.queue(session, QueueFilter())
    answer = sandbox.post("acme", "Sorry Ann, can you DM us the order number?", reply_to=first)
    sandbox.post("ann", "Still broken, and the box was open too", reply_to=answer)
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        [after] = cases.queue(session, QueueFilter())
    assert body(after["draft"]) != body(before["draft"]) and "sorry" in after["draft"].lower()


def test_a_refund_reply_is_sorry_for_the_wait_only_when_the_customer_waited() -> None:
    drafter = Drafter()
    for text, wait in [
        ("I've been waiting three weeks for my refund on order 88231", True),
        ("the service was down for 40 min, can I get a refund", False),
    ]:
        choice = choose("complaint", [read(text, "negative", "refund", True)])
        reply, _ = drafter.draft(request(intent=choice.template, is_complaint=True, waited=choice.waited))
        assert ("wait" in reply) is wait, reply


def test_a_saved_answer_too_long_for_the_channel_gives_way_to_the_template() -> None:
    long_answer = "Our stores open at ten on Sundays. " * 12
    text, _ = Drafter().draft(request(answer=long_answer, fits=lambda t: len(t) <= 280))
    assert len(text) <= 280 and "question" in text


def test_customers_replying_in_one_public_thread_get_different_wordings(app: App, sandbox: SandboxConnector) -> None:
    post = sandbox.post("acme", "Our new app is out today!")
    for who in ("ann", "bob", "cy"):
        sandbox.post(who, "the new app is broken for me", reply_to=post)
        app.poll("sandbox")
        app.process()
    with session_scope(app.engine) as session:
        drafts = [row["draft"] for row in cases.queue(session, QueueFilter())]
    assert len(drafts) == 3 and len({body(d) for d in drafts}) == 3


def test_a_long_message_does_not_make_the_thank_you_pattern_backtrack() -> None:
    import time

    from socialcare.drafting import _SOLVED_OR_THANKED

    started = time.perf_counter()
    assert _SOLVED_OR_THANKED.search("a" * 100_000) is None
    assert _SOLVED_OR_THANKED.search("ok thanks!") is not None
    assert time.perf_counter() - started < 1
