"""Satisfaction follow-ups on a frozen clock: "was this helpful?" sent once after the delay as timed work, never twice
to one customer within the period (across linked identities), never on public channels unless enabled, not outside
the channel's window, not after thanks, not long after; the answer (yes, no, a score) recorded with no case opened,
anything else a normal message; "stop" in each language honoured for good."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from socialcare import lifecycle, report, satisfaction, triage
from socialcare.db import session_scope
from socialcare.drafting import Drafter
from socialcare.models import Customer, Event, ReplyKind, ReplyStatus, Satisfaction, SatisfactionAnswer
from socialcare.worker import CARE_LANE
from tests.core.test_customers import T0, Team, make_team

ON = 'enabled = true\ndelay = "2h"\nperiod = "30d"\n'
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def team(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(tmp_path, database_url, monkeypatch, ON)


def answered(team: Team, account: str, author: str, text: str, at, **extra: str) -> int:  # type: ignore[no-untyped-def]
    """The customer writes at ``at``, the team approves the draft, it is sent five minutes later: the case id."""
    team.post(account, author, text, at, **extra)
    team.at(at + MINUTE)
    case = team.cases()[-1]
    team.approve(case.id)
    team.at(at + 5 * MINUTE)
    assert team.cases()[-1].status == "answered"
    return case.id


def followups(team: Team) -> list:  # type: ignore[type-arg]
    return team.replies(ReplyKind.FOLLOWUP)


def surveys(team: Team) -> list[Satisfaction]:
    with session_scope(team.app.engine) as session:
        return list(session.exec(select(Satisfaction).order_by(Satisfaction.id)))


def test_a_followup_goes_once_after_the_delay_on_a_private_channel(team: Team) -> None:
    case_id = answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 4 * MINUTE)
    assert followups(team) == [], "not before the delay"
    team.at(T0 + 2 * HOUR + 5 * MINUTE)  # answered at 10:05, plus 2 h
    (followup,) = followups(team)
    assert followup.status == ReplyStatus.SENT and followup.case_id == case_id and followup.language == "en"
    assert followup.text.startswith("Hi Ann, was our answer helpful?")
    (answer_post, followup_post) = team.posted("dm")
    assert followup_post["text"] == followup.text and followup_post["reply_to"] == 1001, "in the customer's thread"
    for later in (T0 + 3 * HOUR, T0 + DAY, T0 + 3 * DAY):
        team.at(later)
    assert len(followups(team)) == 1 and len(team.posted("dm")) == 2, "once"
    (case,) = team.cases()
    assert case.status == "answered"
    (asked,) = surveys(team)
    assert asked.asked_at == T0 + 2 * HOUR + 5 * MINUTE and asked.answer is None
    with session_scope(team.app.engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(Event.id))]
    assert kinds.count("case.answered") == 1, "a follow-up answers nothing"


def test_the_followup_is_in_the_customers_language(team: Team) -> None:
    answered(team, "dm", "maria", "Ciao, il pacco non è arrivato", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    (followup,) = followups(team)
    assert followup.language == "it" and followup.text.startswith("Ciao Maria, la nostra risposta ti è stata utile?")


@pytest.mark.parametrize("language", ["en", "it", "es", "fr", "de", "pt"])
def test_each_bundled_followup_names_words_that_are_understood(language: str) -> None:
    text, used = Drafter().system(ReplyKind.FOLLOWUP, language, "Ann", lambda _language: "")
    assert used == language and text.startswith(
        ("Hi Ann", "Ciao Ann", "Hola Ann", "Bonjour Ann", "Hallo Ann", "Olá Ann")
    )
    yes, no, stop = {
        "en": ("yes", "no", "stop"),
        "it": ("sì", "no", "basta"),
        "es": ("sí", "no", "para"),
        "fr": ("oui", "non", "stop"),
        "de": ("ja", "nein", "Stopp"),
        "pt": ("sim", "não", "parar"),
    }[language]
    for word, answer in ((yes, SatisfactionAnswer.YES), (no, SatisfactionAnswer.NO), (stop, SatisfactionAnswer.STOP)):
        assert re.search(rf"\b{word}\b", text) and satisfaction.recognise(word) == (answer, None), word
    assert "1" in text and "5" in text and satisfaction.recognise("4") == (SatisfactionAnswer.SCORE, 4)


def test_never_twice_to_one_customer_within_the_period_on_any_of_their_identities(team: Team) -> None:
    answered(team, "dm", "ann", "Where is my parcel?", T0, email="ann@example.com")
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    assert len(followups(team)) == 1
    day = T0 + 3 * DAY
    answered(team, "dm", "annie", "Where is my other parcel?", day, email="ann@example.com")  # linked by email
    team.at(day + 2 * HOUR + 5 * MINUTE)
    assert len(followups(team)) == 1, "asked three days ago"
    month = T0 + 31 * DAY
    answered(team, "dm", "ann", "And this one?", month)
    team.at(month + 2 * HOUR + 5 * MINUTE)
    assert len(followups(team)) == 2, "the period is over"


def test_public_channels_get_no_followup(team: Team) -> None:
    answered(team, "forum", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    assert followups(team) == [] and len(team.posted("forum")) == 1


def test_public_channels_get_one_when_the_team_enables_it(tmp_path: Path, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    team = make_team(tmp_path, database_url, monkeypatch, ON + "public = true\n")
    answered(team, "forum", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    assert len(followups(team)) == 1 and len(team.posted("forum")) == 2


def test_an_account_can_turn_them_off(tmp_path: Path, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    team = make_team(tmp_path, database_url, monkeypatch, ON + "\n[accounts.dm.satisfaction]\nenabled = false\n")
    assert team.app.config.satisfaction_for("dm").delay == 2 * HOUR, "the team's keys stand where it sets none"
    answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    assert followups(team) == []


def test_off_by_default(tmp_path: Path, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    team = make_team(tmp_path, database_url, monkeypatch)
    answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 3 * HOUR)
    assert followups(team) == []


def test_no_followup_after_thanks_outside_the_channels_window_or_long_after(team: Team) -> None:
    answered(team, "dm", "ann", "Thanks, I love it", T0)  # low priority: nothing was fixed
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    assert followups(team) == []

    team.post("dm", "bob", "Where is my parcel?", T0)
    team.at(T0 + MINUTE)
    bob = team.cases()[-1]
    team.approve(bob.id)
    team.at(T0 + 23 * HOUR)  # answered late: 2 h more is past Messenger's 24 h window
    team.at(T0 + 25 * HOUR + MINUTE)
    assert followups(team) == []

    team.post("dm", "carl", "Where is my parcel?", T0 + DAY)
    team.at(T0 + DAY + MINUTE)
    carl = team.cases()[-1]
    team.approve(carl.id)
    team.worker.run_due({"send"}, T0 + DAY + 2 * MINUTE)
    team.worker.run_due({"send", "followup"}, T0 + 3 * DAY)  # the daemon was down for two days
    assert followups(team) == []


@pytest.mark.parametrize(
    ("text", "answer", "score"),
    [
        ("Yes, thanks!", SatisfactionAnswer.YES, None),
        ("no", SatisfactionAnswer.NO, None),
        ("4/5", SatisfactionAnswer.SCORE, 4),
        ("⭐⭐⭐⭐⭐", SatisfactionAnswer.SCORE, 5),
        ("Sì, grazie", SatisfactionAnswer.YES, None),
    ],
)
def test_the_answer_is_recorded_and_opens_no_case(team: Team, text: str, answer: SatisfactionAnswer, score) -> None:  # type: ignore[no-untyped-def]
    case_id = answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    (followup,) = followups(team)
    drafts = len(team.replies(ReplyKind.ANSWER))
    team.post("dm", "ann", text, T0 + 3 * HOUR, reply_to=int(followup.external_id))
    team.at(T0 + 3 * HOUR + MINUTE)
    (asked,) = surveys(team)
    assert (asked.answer, asked.score, asked.answered_at) == (answer, score, T0 + 3 * HOUR)
    (case,) = team.cases()
    assert case.id == case_id and case.status == "answered", "no case for the team"
    assert len(team.replies(ReplyKind.ANSWER)) == drafts, "and no draft"
    with session_scope(team.app.engine) as session:
        (event,) = session.exec(select(Event).where(Event.kind == "satisfaction.answered")).all()
    assert (event.case_id, event.reply_id, event.detail["answer"]) == (case_id, followup.id, answer)
    thread = team.show(case_id)["messages"]
    assert thread[-1]["text"] == text and thread[-1]["answered_at"] is not None, "kept in the case's thread"
    assert team.show(case_id)["customer"]["followups_stopped_at"] is None


def test_anything_else_is_a_normal_message(team: Team) -> None:
    answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    (followup,) = followups(team)
    team.post("dm", "ann", "No, it is still broken", T0 + 3 * HOUR, reply_to=int(followup.external_id))
    team.at(T0 + 3 * HOUR + MINUTE)
    (case,) = team.cases()
    assert case.status == "open" and case.priority == "complaint"
    assert team.replies(ReplyKind.ANSWER)[-1].status == ReplyStatus.DRAFT, "a draft for the team"
    (asked,) = surveys(team)
    assert asked.answer is None
    team.post("dm", "ann", "yes", T0 + 3 * HOUR + 2 * MINUTE, reply_to=1001)  # to the open conversation, not us
    team.at(T0 + 3 * HOUR + 3 * MINUTE)
    assert surveys(team)[0].answer is None


def test_an_answer_after_the_team_wrote_again_is_for_the_team(team: Team) -> None:
    answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    (followup,) = followups(team)
    asked = team.post(
        "dm", "acme", "Did the courier call?", T0 + 2 * HOUR + 30 * MINUTE, reply_to=1001
    )  # on the platform
    team.post("dm", "ann", "yes", T0 + 3 * HOUR, reply_to=asked)
    team.at(T0 + 3 * HOUR + MINUTE)
    assert surveys(team)[0].answer is None
    assert team.cases()[-1].status == "open"


@pytest.mark.parametrize("word", ["stop", "Basta!", "para", "alto", "Arrêtez", "Stopp", "parar"])
def test_stop_in_each_language_ends_followups_for_good(team: Team, word: str) -> None:
    answered(team, "dm", "ann", "Where is my parcel?", T0, email="ann@example.com")
    team.at(T0 + 2 * HOUR + 5 * MINUTE)
    (followup,) = followups(team)
    team.post("dm", "ann", word, T0 + 3 * HOUR, reply_to=int(followup.external_id))
    team.at(T0 + 3 * HOUR + MINUTE)
    (asked,) = surveys(team)
    assert asked.answer == SatisfactionAnswer.STOP and len(team.cases()) == 1
    with session_scope(team.app.engine) as session:
        customer = session.get(Customer, team.customer_of("ann"))
    assert customer.followups_stopped_at == T0 + 3 * HOUR
    assert [a.customer_id for a in team.audit("customer.followups_stopped")] == [customer.id]
    year = T0 + 365 * DAY
    answered(team, "dm", "ann", "Where is my new parcel?", year)
    answered(team, "dm", "annie", "And my other one?", year + HOUR, email="ann@example.com")  # linked later
    team.at(year + 5 * HOUR)
    assert len(followups(team)) == 1, "never asked again, on any of their identities"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("@acme yes!", (SatisfactionAnswer.YES, None)),
        ("Oui, merci beaucoup", (SatisfactionAnswer.YES, None)),
        ("Sí", (SatisfactionAnswer.YES, None)),
        ("ja", (SatisfactionAnswer.YES, None)),
        ("Sim, obrigada", (SatisfactionAnswer.YES, None)),
        ("👍", (SatisfactionAnswer.YES, None)),
        ("nope", (SatisfactionAnswer.NO, None)),
        ("Non", (SatisfactionAnswer.NO, None)),
        ("Nein, danke", (SatisfactionAnswer.NO, None)),
        ("Não", (SatisfactionAnswer.NO, None)),
        ("per niente", (SatisfactionAnswer.NO, None)),
        ("3", (SatisfactionAnswer.SCORE, 3)),
        ("5 stelle", (SatisfactionAnswer.SCORE, 5)),
        ("2 out of 5", (SatisfactionAnswer.SCORE, 2)),
        ("stop please", (SatisfactionAnswer.STOP, None)),
        ("ARRÊTEZ !", (SatisfactionAnswer.STOP, None)),
        ("no, it is still broken", None),
        ("yes but where is my refund?", None),
        ("thanks", None),
        ("10", None),
        ("0", None),
        ("", None),
        ("yes " * 40, None),
    ],
)
def test_what_counts_as_an_answer(text: str, found) -> None:  # type: ignore[no-untyped-def]
    assert satisfaction.recognise(text) == found


def test_a_followup_not_yet_sent_when_the_customer_writes_again_is_withdrawn(team: Team) -> None:
    answered(team, "dm", "ann", "Where is my parcel?", T0)
    team.worker.run_due(CARE_LANE, T0 + 2 * HOUR + 5 * MINUTE)  # approved, not sent yet
    (followup,) = followups(team)
    assert followup.status == ReplyStatus.APPROVED
    team.post("dm", "ann", "It is still broken", T0 + 2 * HOUR + 5 * MINUTE, reply_to=1001)
    team.at(T0 + 2 * HOUR + 6 * MINUTE)
    (followup,) = followups(team)
    assert followup.status == ReplyStatus.WITHDRAWN and len(team.posted("dm")) == 1
    assert team.cases()[0].status == "open"


def test_a_failed_followup_leaves_a_holding_promise_standing(team: Team) -> None:
    team.post("dm", "ann", "My parcel arrived broken", T0)
    team.at(T0 + MINUTE)
    with session_scope(team.app.engine) as session:
        case = lifecycle.lock_case(session, team.cases()[0].id)
        to = triage.latest_waiting(session, case)
        followup = lifecycle.system_reply(session, case, to, "Was it helpful?", "en", ReplyKind.FOLLOWUP, T0)
        holding = lifecycle.system_reply(session, case, to, "By 12:00", "en", ReplyKind.HOLDING, T0)
        lifecycle.promise(session, case, T0 + 2 * HOUR, holding)
        lifecycle.claim_for_sending(session, followup.id, "outbox", T0)
        lifecycle.fail(session, followup, "outbox", "the conversation is gone", T0)
        assert case.promised_at == T0 + 2 * HOUR


def test_the_daily_report_counts_the_days_questions_and_answers(team: Team) -> None:
    for author, answer in (("ann", "yes"), ("bob", "2/5"), ("cy", "⭐⭐⭐⭐⭐"), ("dee", "stop"), ("eve", None)):
        answered(team, "dm", author, "Where is my parcel?", T0)
        team.at(T0 + 2 * HOUR + 5 * MINUTE)
        if answer is not None:
            team.post("dm", author, answer, T0 + 3 * HOUR, reply_to=int(followups(team)[-1].external_id))
            team.at(T0 + 3 * HOUR + MINUTE)
    built = report.build(team.app.engine, team.app.config, T0.date(), now=T0 + DAY)
    figures = built.to_json()["total"]["satisfaction"]
    assert figures == {
        "asked": 5,
        "answered": 4,
        "helpful": 2,  # yes, five stars
        "unhelpful": 1,  # two of five
        "helpful_share": pytest.approx(2 / 3),  # of the three who rated it; "stop" rates nothing
        "scored": 2,
        "mean_score": pytest.approx(3.5),
        "stopped": 1,
    }
    assert figures == built.to_json()["channels"]["dm"]["satisfaction"]
    assert "5 asked, 4 answered, 67 % helpful, mean score 3.5 of 5, 1 stopped follow-ups" in report.render_text(built)
