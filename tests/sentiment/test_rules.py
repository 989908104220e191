"""Intent rules and language detection in the six languages customers write in."""

from __future__ import annotations

import pytest

from sentiment import Intent
from sentiment.intents import PRECEDENCE, detect, primary
from sentiment.language import detect_languages
from sentiment.text import MAX_CHARS, clean, normalise


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I've been waiting 3 weeks for my refund", Intent.REFUND),
        ("Voglio il rimborso, il prodotto è difettoso", Intent.REFUND),
        ("Quiero un reembolso ya", Intent.REFUND),
        ("Je veux être remboursé", Intent.REFUND),
        ("Ich will mein Geld zurück", Intent.REFUND),
        ("Quero o reembolso do pedido", Intent.REFUND),
        ("The app is still not working after the update", Intent.COMPLAINT),
        ("Il modem non funziona da tre giorni", Intent.COMPLAINT),
        ("El pedido nunca llegó y nadie responde", Intent.COMPLAINT),
        ("Ça ne fonctionne pas depuis hier", Intent.COMPLAINT),
        ("Das Paket ist nie angekommen", Intent.COMPLAINT),
        ("O pedido nunca chegou", Intent.COMPLAINT),
        ("Someone made an unauthorized charge on my card", Intent.URGENT),
        ("Il caricabatterie ha preso fuoco, chiamo l'avvocato", Intent.URGENT),
        ("Voy a llamar a mi abogado", Intent.URGENT),
        ("Mon compte a été piraté", Intent.URGENT),
        ("Ich schalte meinen Anwalt ein", Intent.URGENT),
        ("Minha conta foi hackeada", Intent.URGENT),
        ("@brand what time do you open on Sunday?", Intent.QUESTION),
        ("Quando aprite domani", Intent.QUESTION),
        ("Thank you so much, great support", Intent.PRAISE),
        ("Grazie mille, gentilissimi", Intent.PRAISE),
        ("Follow me for free followers, link in bio", Intent.SPAM),
    ],
)
def test_primary_intent(text: str, intent: Intent) -> None:
    assert primary(detect(normalise(text))) is intent


def test_precedence_urgent_first_and_all_intents_kept() -> None:
    found = detect(normalise("My card was charged twice, this is a scam! Can I get a refund? Terrible service"))
    assert found[0] is Intent.URGENT
    assert {Intent.URGENT, Intent.REFUND, Intent.COMPLAINT, Intent.QUESTION} <= set(found)
    assert list(found) == sorted(found, key=PRECEDENCE.index)


@pytest.mark.parametrize(
    "text", ["type something nice", "the brand new phone", "problem solved, thanks!", "ciao a tutti"]
)
def test_no_false_complaint_on_look_alikes(text: str) -> None:
    assert Intent.COMPLAINT not in detect(normalise(text)) and Intent.URGENT not in detect(normalise(text))


def test_no_rule_means_other() -> None:
    assert primary(detect(normalise("ok"))) is Intent.OTHER


def test_languages_of_short_messages() -> None:
    texts = [
        "Where is my parcel? It was due yesterday",
        "Dov'è il mio pacco? Doveva arrivare ieri",
        "¿Dónde está mi paquete? Tenía que llegar ayer",
        "Où est mon colis ? Il devait arriver hier",
        "Wo ist mein Paket? Es sollte gestern kommen",
        "Cadê minha encomenda? Era para chegar ontem",
    ]
    assert detect_languages(texts) == ["en", "it", "es", "fr", "de", "pt"]


@pytest.mark.parametrize("text", ["", "ok", "😀😀😀", "@user http", "#MasterChefBR", "12345"])
def test_no_language_when_nothing_to_go_on(text: str) -> None:
    assert detect_languages([text]) == [None]


def test_clean_makes_any_input_safe() -> None:
    assert clean(None) == ""
    assert clean("a\ud800b") == "a\ufffdb"
    assert len(clean("x" * 100_000)) == MAX_CHARS
    assert clean("  café  ") == "café"
    clean("\udfff" * 10).encode("utf-8")


def test_a_long_clear_message_is_decided_by_the_fast_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentiment.language as language

    language.warm_up()

    class Unused:
        def compute_language_confidence_values_in_parallel(self, texts: list[str]) -> list[object]:
            raise AssertionError(f"high-accuracy pass asked about {texts}")

    monkeypatch.setitem(language._detectors, "full", Unused())
    text = "Buongiorno, il mio ordine non è ancora arrivato e nessuno risponde alle mie email da una settimana"
    assert detect_languages([text]) == ["it"]
