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


@pytest.mark.parametrize(
    "text",
    [
        "I'm in the ER after a car accident during my ride, your driver was on his phone",
        "Your driver sexually assaulted me last night",
        "The driver had a gun in the car and I was terrified",
        "The driver threatened me when I asked him to slow down",
        "I called the police after your courier pushed me",
        "I was hit by your delivery van outside my house",
        "I'm being harassed by one of your agents, he keeps texting me",
        "My laptop is smoking and smells of burning plastic",
        "There is a fraudulent charge on my card from your store",
        "Ho avuto un incidente con il vostro taxi, sono al pronto soccorso",
        "El conductor me amenazó y tuve que ir a urgencias",
        "Le chauffeur m'a agressée, j'ai appelé la police",
        "Der Fahrer hat mich bedroht, ich hatte einen Unfall",
        "O motorista me ameaçou e eu fiz um boletim de ocorrência",
    ],
)
def test_safety_reports_are_urgent(text: str) -> None:
    assert primary(detect(normalise(text))) is Intent.URGENT


@pytest.mark.parametrize(
    "text",
    [
        "My bid was flagged as fraudulent and now I can't buy anything",
        "I love the police box design on the new mugs",
        "My order is an accident waiting to happen, the box is falling apart",
        "I ordered two by accident, can I cancel one?",
        "The glue gun I bought stopped heating after a day",
        "The new weapons in the last update are broken",
        "Is smoking allowed in the hotel rooms?",
        "Le fromage, espèce menacée",
        "Un nouveau directeur au Commissariat à l'énergie atomique",
    ],
)
def test_look_alikes_of_safety_words_are_not_urgent(text: str) -> None:
    assert Intent.URGENT not in detect(normalise(text))


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for the help!",
        "Thank you so much for all your help",
        "Danke für die schnelle Hilfe!",
        "muito obrigada pela ajuda!",
        "Grazie mille per l'aiuto",
        "Gracias por tu ayuda",
        "Merci pour votre aide",
        "Vielen Dank für eure Hilfe!",
        "Vi ringrazio per l'aiuto",
        "grazie per l'aiuto",
        "gracias por la ayuda",
        "merci pour l'aide",
    ],
)
def test_thanks_for_help_is_praise_not_a_complaint(text: str) -> None:
    assert detect(normalise(text)) == (Intent.PRAISE,)


@pytest.mark.parametrize(
    "text",
    [
        "Please help! my account is locked",
        "thanks for nothing, I need help!",
        "Thanks, but I still need help",
        "Hilfe! Mein Konto ist gesperrt",
        "Ajuda! não consigo entrar",
        "Aiuto, non riesco ad accedere",
    ],
)
def test_a_request_for_help_stays_a_complaint(text: str) -> None:
    assert Intent.COMPLAINT in detect(normalise(text))


def test_a_solved_problem_with_thanks_is_not_a_question() -> None:
    assert detect(normalise("it's ok I fixed it, thanks")) == (Intent.PRAISE,)


@pytest.mark.parametrize(
    "text",
    [
        "EARN $500/DAY click here",
        "Follow us for giveaways https://t.co/abc123",
        "RT @bigsale: Win a free trip to Rome! Enter now https://t.co/x",
        "Use code SAVE20 for 20% off everything, shop now",
        "Partecipa al concorso a premi, vinci un iPhone!",
        "Gewinnspiel! Folgt uns und gewinnt",
    ],
)
def test_broadcasts_and_promotions_are_spam(text: str) -> None:
    assert primary(detect(normalise(text))) is Intent.SPAM


@pytest.mark.parametrize(
    "text",
    [
        "Here is my order https://acme.com/orders/88231",
        "my order https://acme.com/o/123 never arrived",
        "follow me back so I can DM you my order number",
    ],
)
def test_a_customer_with_a_link_is_not_spam(text: str) -> None:
    assert Intent.SPAM not in detect(normalise(text))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Bonjour, ma commande est arrivée abîmée. Comment faire pour un échange ?", Intent.REFUND),
        ("Wann kommt meine Bestellung? Ich warte schon seit zehn Tagen.", Intent.COMPLAINT),
        ("The parcel arrived damaged, I'd like a replacement", Intent.REFUND),
    ],
)
def test_damaged_goods_and_long_waits(text: str, intent: Intent) -> None:
    assert primary(detect(normalise(text))) is intent


def test_every_help_word_is_seen_by_the_quick_check() -> None:
    from sentiment import intents

    words = intents._HELP.split("|")
    assert all(any(stem in word for stem in intents._HELP_STEMS) for word in words), words
