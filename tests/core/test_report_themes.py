"""Complaint themes: meaningful phrases shared by complaints, in the six languages, one example each."""

from __future__ import annotations

from socialcare.themes import phrases, top_themes, words


def test_words_leave_out_links_handles_numbers_and_elided_articles() -> None:
    """A link, handle or hashtag breaks a phrase as a full stop does."""
    assert words("@acme l'ordine #fail 3 settimane https://x.co/a?b=1 mail me at a@b.com. Ciao!") == [
        ["ordine"],
        ["settimane"],
        ["mail", "me", "at"],
        ["ciao"],
    ]


def test_a_phrase_never_starts_or_ends_with_a_stop_word_and_a_negation_never_stands_alone() -> None:
    found = phrases("My package never arrived, still waiting for the refund")
    assert {"package", "package never arrived", "never arrived", "still waiting", "refund", "waiting"} <= found
    assert not found & {"never", "still", "my package", "for the refund", "waiting for", "the refund"}
    assert "non funziona" in phrases("L'app non funziona")
    assert "nunca llegó" in phrases("Mi pedido nunca llegó")


def test_themes_in_each_language() -> None:
    samples = {
        "en": (["The app keeps crashing", "app keeps crashing again!!", "Where is my refund"], "app keeps crashing"),
        "it": (["Il pacco non è arrivato", "pacco non arrivato, vergogna"], "pacco non arrivato"),
        "es": (["El pedido nunca llegó", "Mi pedido nunca llegó todavía"], "pedido nunca llegó"),
        "fr": (["Le colis n'est jamais arrivé", "colis jamais arrivé"], "jamais arrivé"),
        "de": (["Das Paket ist nie angekommen", "Paket nie angekommen!"], "nie angekommen"),
        "pt": (["O pedido não chegou", "meu pedido não chegou ainda"], "pedido não chegou"),
    }
    for language, (texts, phrase) in samples.items():
        found = top_themes(texts, [0.5] * len(texts))
        assert found and found[0].phrase == phrase, (language, found)


def test_one_theme_per_thing_said_most_shared_first_with_the_most_negative_example() -> None:
    texts = [
        "app crashing at login",
        "the app keeps crashing",
        "App crashing, useless",
        "refund never came",
        "where is my refund",
        "hello",
    ]
    found = top_themes(texts, [0.2, 0.9, 0.5, 0.4, 0.6, 0.1], limit=5)
    assert [(t.phrase, t.messages, t.example) for t in found] == [("app", 3, 1), ("refund", 2, 4)]
    assert top_themes(["only one complaint"], [1.0]) == []
    assert top_themes(texts, [0.5] * 6, limit=1)[0].phrase == "app"
