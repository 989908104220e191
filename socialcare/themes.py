"""The day's complaint themes: words and short phrases many complaints share, per language.

A theme is a phrase of one to three words that neither starts nor ends with a stop word (articles,
pronouns, auxiliaries, greetings) in any of the six languages, within one sentence, counted once
per message that contains it. A negation or "still" may start a phrase ("never arrived", "still
waiting", "non funziona") but is never a theme alone. The most shared phrases win; a phrase inside
one already chosen (or holding one), or found in mostly the same messages, is left out, so five
themes say five different things.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

_STOP = {
    "en": """a about above after again against all also am an and any are aren't as at be because been before
        being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
        during each few for from further get got had hadn't has hasn't have haven't having he he's her here hers
        herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more
        most my myself now of off on once only or other ought our ours ourselves out over own same she she's
        should shouldn't so some such than that that's the their theirs them themselves then there there's these
        they they'd they'll they're they've this those through to too under until up us very was wasn't we we'd
        we'll we're we've were weren't what what's when where which while who whom why will with won't would
        wouldn't you you'd you'll you're you've your yours yourself yourselves hi hello hey dear please pls plz
        thanks thank thx guys team anyone someone one get got going gonna wanna yes ok okay im ive dont cant
        even really also still just like all every any thing things""",
    "it": """a ad al allo ai agli all alla alle anche che chi ci come con così cui da dal dallo dai dagli dall dalla
        dalle de del dello dei degli dell della delle di dove e è ed era erano essere gli ha hanno ho
        i il in io l la le lei li lo loro lui ma me mi mia mie miei mio ne nei negli nel nello nell nella nelle
        noi nostro nostra o per perché più poi qua quale quando quanto quella quelle quelli quello questa
        queste questi questo qui se sei si sia siamo siete sono su sua sue sui sul sullo sull sulla sulle suo
        suoi ti tra tu tua tue tuo tuoi un una uno vi voi vostro vostra ciao salve buongiorno buonasera grazie
        prego per favore ancora già solo anche molto ho hai abbiamo avete sto sta stai state tutto tutti tutta
        tutte""",
    "es": """a al algo ante antes como con contra cual cuando de del desde donde durante e el él ella ellas ellos
        en entre era eran es esa esas ese eso esos esta está están estas este esto estos estoy fue fueron ha
        han has hay he la las le les lo los me mi mis muy nos nosotros o os otra otro para pero poco por porque
        que qué quien se sea ser si sí sin sobre son su sus también te tengo tiene tienen ti tu tus u un una uno
        unos unas y ya yo hola buenas buenos días gracias favor ahora todavía aún solo mucho todo todos toda
        todas""",
    "fr": """à a ai as au aux avec avez avons ce ces c cet cette d dans de des du elle elles en est et été être
        eu il ils j je l la le les leur leurs lui m ma mais me mes moi mon n ne nos notre nous on ont ou où par
        pas pour qu que qui s sa se ses si son sont sur t ta te tes toi ton tu un une vos votre vous y bonjour
        bonsoir salut merci svp plaît plait toujours encore déjà très suis es sommes êtes fait faire tout tous
        toute toutes""",
    "de": """aber als am an auch auf aus bei bin bis bist da damit dann das dass dein deine dem den der des dich
        die dir doch du ein eine einem einen einer eines er es euch euer für hab habe haben hat hatte ich ihr
        ihre im in ist ja jetzt man mein meine meinem meinen meiner mich mir mit nach noch nun nur oder schon
        sehr sein seine sich sie sind so um und uns unser vom von vor war waren was wie wir wird wo zu zum zur
        hallo hi danke bitte guten tag immer alle alles""",
    "pt": """a à ao aos as às até com como da das de do dos e é ela elas ele eles em era eram essa esse esta está
        estão este estou eu foi for foram há isso isto já lhe lhes mais mas me meu meus minha minhas muito na
        nas no nos nós o os ou para pela pelas pelo pelos por porque que quem se sem ser seu seus só sua suas
        também te tem têm tenho teu tu um uma umas uns vocês você olá oi bom dia boa tarde obrigado obrigada
        favor ainda agora tudo todos toda todas""",
}
_LEAD = {
    "en": "not no never still nothing nobody again",
    "it": "non mai niente nessuno nessun ancora",
    "es": "no nunca nada nadie ningún ninguna todavía aún",
    "fr": "ne pas jamais rien personne aucun aucune toujours encore",
    "de": "nicht nie kein keine keinen nichts noch immer",
    "pt": "não nunca nada nenhum nenhuma ninguém ainda",
}
STOP_WORDS = frozenset(word for words in _STOP.values() for word in words.split())
LEAD_WORDS = frozenset(word for words in _LEAD.values() for word in words.split())
"""One set for all six languages: a complaint mixing two of them loses both languages' function words."""

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+|[@#]\w+", re.UNICODE)
_SENTENCES = re.compile(r"[.!?;:()\[\]\"“”«»…\n]+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
SAME_THEME = 0.6
"""Two phrases found in the same messages this often (shared over either) are one theme."""
_ELISION = re.compile(r"^(?:l|d|c|j|m|n|s|t|qu|un|dell|all|dall|nell|sull|dev|po)'", re.UNICODE)


@dataclass(frozen=True)
class Theme:
    phrase: str
    messages: int
    """How many of the complaints contain the phrase."""
    example: int
    """Index (in the texts given) of the example: the most negative message with the phrase."""


def words(text: str) -> list[list[str]]:
    """The text's sentences as lists of lower-case words: links, handles, hashtags and numbers left out."""
    text = _NOISE.sub(" . ", text.replace("’", "'").lower())
    found = []
    for sentence in _SENTENCES.split(text):
        tokens = [_ELISION.sub("", token) for token in _WORD.findall(sentence)]
        found.append([token for token in tokens if len(token) > 1])
    return [sentence for sentence in found if sentence]


def phrases(text: str, longest: int = 3) -> set[str]:
    """Every candidate phrase in a text, once."""
    found = set()
    for sentence in words(text):
        for start, first in enumerate(sentence):
            if first in STOP_WORDS and first not in LEAD_WORDS:
                continue
            for size in range(1, longest + 1):
                chunk = sentence[start : start + size]
                if len(chunk) < size:
                    break
                last = chunk[-1]
                if last in STOP_WORDS or last in LEAD_WORDS or (size == 1 and first in LEAD_WORDS):
                    continue
                found.add(" ".join(chunk))
    return found


def top_themes(texts: Sequence[str], negativity: Sequence[float], limit: int = 5, least: int = 2) -> list[Theme]:
    """The ``limit`` phrases found in the most texts (at least ``least``), with the most negative text as example."""
    holders: dict[str, set[int]] = defaultdict(set)
    for index, text in enumerate(texts):
        for phrase in phrases(text):
            holders[phrase].add(index)
    ranked = sorted(
        (phrase for phrase, found in holders.items() if len(found) >= least),
        key=lambda phrase: (-len(holders[phrase]), -phrase.count(" "), phrase),
    )
    chosen: list[str] = []
    for phrase in ranked:
        if len(chosen) == limit:
            break
        if not any(_same_theme(phrase, other, holders) for other in chosen):
            chosen.append(phrase)
    themes = []
    for phrase in chosen:
        example = min(holders[phrase], key=lambda i: (-negativity[i], len(texts[i]), i))
        themes.append(Theme(phrase, len(holders[phrase]), example))
    return themes


def _same_theme(phrase: str, other: str, holders: dict[str, set[int]]) -> bool:
    """One inside the other ("arrived" in "never arrived"), or said by mostly the same messages ("app", "crashing")."""
    if f" {phrase} " in f" {other} " or f" {other} " in f" {phrase} ":
        return True
    mine, theirs = holders[phrase], holders[other]
    return len(mine & theirs) >= SAME_THEME * len(mine | theirs)
