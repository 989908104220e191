"""Drafts greet by name, apologise for complaints, speak the customer's language, never run customer text."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcare.config import ConfigError
from socialcare.drafting import Drafter, DraftRequest, first_name


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
